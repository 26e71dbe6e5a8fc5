import { assert } from "../util/assert.ts";
import {
  asIndex,
  asTerm,
  type Entry,
  type InitialState,
  type LogIndex,
  type Snapshot,
  type Term,
} from "./types.ts";

/**
 * The replicated log of one node (§5.3, §7): a snapshot boundary, the entries after it, which of those are
 * already durable, and how far the log is committed and handed out for applying.
 *
 * Layout: entries cover (offset, lastIndex]; `offset` is the snapshot's last included index (0 without a
 * snapshot). Entries above `stableIndex` are not yet persisted; a Ready hands them to storage.
 */
export class RaftLog {
  /** The latest snapshot, or null. Its index is `offset`; its data is kept to send to lagging followers. */
  snapshot: Snapshot | null;
  /** A snapshot that storage has not yet persisted (taken locally or received from the leader). */
  unstableSnapshot: Snapshot | null = null;
  /** Entries (offset, lastIndex], in order. */
  #entries: Entry[];
  /** Highest index durable in storage; entries above it are unstable. */
  stableIndex: LogIndex;
  /** commitIndex (Figure 2): highest index known to be committed. Never decreases. */
  committed: LogIndex;
  /** lastApplied (Figure 2): highest index handed to the state machine. Never decreases. */
  applied: LogIndex;
  /** Indexes of the held entries of kind "membership", ascending (thesis §4.1: the latest one is in force). */
  #membershipIndexes: LogIndex[] = [];

  constructor(initial: InitialState) {
    this.snapshot = initial.snapshot;
    this.#entries = [...initial.entries];
    const offset = this.offset;
    this.#entries.forEach((entry, i) => {
      assert(
        entry.index === offset + 1 + i,
        `RaftLog: entry ${entry.index} found at position ${offset + 1 + i}`,
      );
    });
    for (const entry of this.#entries) this.#noteAppended(entry);
    this.stableIndex = this.lastIndex();
    this.committed = asIndex(Math.min(Math.max(initial.hardState.commit, offset), this.lastIndex()));
    this.applied = asIndex(offset);
  }

  /** The snapshot's last included index; entries at or below it are compacted away. */
  get offset(): LogIndex {
    return this.snapshot?.meta.index ?? asIndex(0);
  }

  /** The first index still held as an entry. */
  firstIndex(): LogIndex {
    return asIndex(this.offset + 1);
  }

  lastIndex(): LogIndex {
    return asIndex(this.offset + this.#entries.length);
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) ?? asTerm(0);
  }

  /** Number of entries held (not compacted). */
  get length(): number {
    return this.#entries.length;
  }

  /**
   * The term of the entry at `index`: known for the snapshot boundary and every held entry, undefined for
   * compacted indexes below the boundary and for indexes past the end.
   */
  term(index: LogIndex): Term | undefined {
    const offset = this.offset;
    if (index === offset) return this.snapshot?.meta.term ?? asTerm(0);
    // Below the boundary (index 0 included, once there is a snapshot) the term is gone with the entries.
    if (index < offset || index > this.lastIndex()) return undefined;
    return this.#entries[index - offset - 1]?.term;
  }

  entry(index: LogIndex): Entry | undefined {
    return this.#entries[index - this.offset - 1];
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term;
  }

  /**
   * Entries [from, to] (inclusive), at most `countMax` of them and about `bytesMax` of payload, but always at
   * least one if any are in range. `from` must not be compacted.
   */
  slice(
    from: LogIndex,
    to: LogIndex,
    countMax = Number.POSITIVE_INFINITY,
    bytesMax = Number.POSITIVE_INFINITY,
  ): Entry[] {
    assert(from > this.offset, () => `RaftLog.slice: index ${from} is compacted (offset ${this.offset})`);
    const last = Math.min(to, this.lastIndex());
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = from; index <= last && result.length < countMax; index++) {
      const entry = this.#entries[index - this.offset - 1];
      assert(entry !== undefined, "RaftLog.slice: hole in the log");
      bytes += entry.data.length;
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  /** The election restriction (§5.4.1): is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Leader only: appends new entries of its own at the end. */
  appendAtEnd(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(entry.index === this.lastIndex() + 1, "RaftLog.appendAtEnd: entries must follow the last index");
      this.#entries.push(entry);
      this.#noteAppended(entry);
    }
  }

  #noteAppended(entry: Entry): void {
    if (entry.kind === "membership") this.#membershipIndexes.push(entry.index);
  }

  /**
   * The latest configuration this log holds, as the bytes of `encodeMembership`, and the index it was set at:
   * its entry's, or the snapshot's when the snapshot carries it. Undefined when the log has never held one
   * (the nodes' starting configuration is in force).
   */
  latestMembership(): { readonly bytes: Uint8Array; readonly index: LogIndex } | undefined {
    return this.membershipAt(this.lastIndex());
  }

  /** Like {@link latestMembership}, but the configuration in force at `index` (held or the boundary). */
  membershipAt(index: LogIndex): { readonly bytes: Uint8Array; readonly index: LogIndex } | undefined {
    for (let k = this.#membershipIndexes.length - 1; k >= 0; k--) {
      const at = this.#membershipIndexes[k] as LogIndex;
      if (at > index) continue;
      const entry = this.entry(at);
      assert(entry !== undefined, () => `RaftLog: membership entry ${at} is not held`);
      return { bytes: entry.data, index: at };
    }
    const fromSnapshot = this.snapshot?.meta.membership;
    return fromSnapshot === undefined ? undefined : { bytes: fromSnapshot, index: this.offset };
  }

  /**
   * Follower side of AppendEntries, after the consistency check passed at `prevIndex`: skips entries we
   * already hold with the same term, truncates at the first real conflict and appends the rest (§5.3, rules 3
   * and 4). A stale or duplicated request therefore never removes matching entries. Returns the index of the
   * last entry the request covered.
   */
  appendAfter(prevIndex: LogIndex, entries: readonly Entry[]): LogIndex {
    let position = 0;
    // Skip what we already have and what the snapshot already covers.
    while (position < entries.length) {
      const entry = entries[position] as Entry;
      if (entry.index <= this.offset) {
        position++;
        continue;
      }
      const ours = this.term(entry.index);
      if (ours === undefined) break; // past our end: append from here
      if (ours !== entry.term) {
        assert(
          entry.index > this.committed,
          () => `RaftLog: conflict at committed index ${entry.index} (committed ${this.committed})`,
        );
        this.#truncateFrom(entry.index);
        break;
      }
      position++;
    }
    for (; position < entries.length; position++) {
      const entry = entries[position] as Entry;
      assert(entry.index === this.lastIndex() + 1, "RaftLog.appendAfter: request entries are not contiguous");
      this.#entries.push(entry);
      this.#noteAppended(entry);
    }
    return asIndex(prevIndex + entries.length);
  }

  /**
   * TEST ONLY (planted bug `truncate-on-stale-append`): drops every entry after those the request covers,
   * matching or not, as a naive `log = log[..prev] + entries` would. Committed entries go too; that is the
   * point, so the usual assertion is bypassed.
   */
  truncateAfterForTest(prevIndex: LogIndex, entries: readonly Entry[]): void {
    const end = prevIndex + entries.length;
    if (end < this.lastIndex() && end >= this.offset) this.#truncateFrom(asIndex(end + 1));
  }

  #truncateFrom(index: LogIndex): void {
    this.#entries.length = index - this.offset - 1;
    while ((this.#membershipIndexes.at(-1) ?? 0) >= index) this.#membershipIndexes.pop();
    if (this.stableIndex >= index) this.stableIndex = asIndex(index - 1);
  }

  /** Raises the commit index; it never goes down. */
  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    assert(
      index <= this.lastIndex(),
      () => `RaftLog.commitTo(${index}) beyond last index ${this.lastIndex()}`,
    );
    this.committed = index;
    return true;
  }

  /** The first index of the term that the entry at `index` has, not looking below the snapshot boundary. */
  firstIndexOfTermAt(index: LogIndex): LogIndex {
    const term = this.term(index);
    let first = index;
    while (first - 1 > this.offset && this.term(asIndex(first - 1)) === term) first--;
    return asIndex(first);
  }

  /** The last index holding `term`, or undefined if no held entry (or the boundary) has that term. */
  lastIndexOfTerm(term: Term): LogIndex | undefined {
    for (let index = this.lastIndex(); index >= this.offset; index--) {
      const t = this.term(asIndex(index));
      if (t === term) return asIndex(index);
      if (t === undefined || t < term) return undefined;
    }
    return undefined;
  }

  /** Entries not yet handed to storage. */
  unstableEntries(): Entry[] {
    const from = Math.max(this.stableIndex, this.offset) + 1;
    return from > this.lastIndex() ? [] : this.slice(asIndex(from), this.lastIndex());
  }

  /** Storage persisted entries through `index`, which had `term`; ignored if the log changed meanwhile. */
  stableTo(index: LogIndex, term: Term): void {
    if (index > this.stableIndex && this.term(index) === term) this.stableIndex = index;
  }

  /** Committed entries not yet handed out for applying, in order. */
  committedToApply(): Entry[] {
    const from = Math.max(this.applied, this.offset) + 1;
    return from > this.committed ? [] : this.slice(asIndex(from), this.committed);
  }

  appliedTo(index: LogIndex): void {
    if (index > this.applied) {
      assert(index <= this.committed, () => `RaftLog.appliedTo(${index}) beyond commit ${this.committed}`);
      this.applied = index;
    }
  }

  /**
   * Installs a snapshot (§7): the entries it covers go; entries after it stay only if our entry at its last
   * index has its term (the log then continues the snapshot), otherwise the whole log goes. Storage applies
   * the same rule when it persists the snapshot, so both stay in step.
   */
  installSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    assert(index > this.offset, "RaftLog.installSnapshot: snapshot does not move the boundary forward");
    const keeps = this.term(index) === term;
    this.#entries = keeps ? this.#entries.slice(index - this.offset) : [];
    this.#membershipIndexes = keeps ? this.#membershipIndexes.filter((at) => at > index) : [];
    this.snapshot = snapshot;
    this.unstableSnapshot = snapshot;
    if (!keeps) this.stableIndex = index;
    else if (this.stableIndex < index) this.stableIndex = index;
    if (this.committed < index) this.committed = index;
  }
}
