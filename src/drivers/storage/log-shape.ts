import {
  asIndex,
  asTerm,
  type Entry,
  type LogIndex,
  type SnapshotMeta,
  type Term,
} from "../../core/index.ts";

/**
 * The shape of the log without its data: the snapshot boundary, the last index, and the term of every entry
 * as runs (a run is a first index and the term every entry from there to the next run has). The disk log
 * keeps this instead of the entries, so it can validate a save and decide whether a snapshot continues the
 * log without holding the log in memory a second time. Terms only grow along a Raft log, so there are about
 * as many runs as elections this log has seen.
 */
export class LogShape {
  /** The snapshot's last included index; 0 without a snapshot. Entries are (offset, lastIndex]. */
  #offset: LogIndex;
  /** The snapshot's last included term; 0 without a snapshot. */
  #offsetTerm: Term;
  #lastIndex: LogIndex;
  /** Runs in index order; the first starts at offset + 1 whenever there is an entry. */
  #runs: { firstIndex: LogIndex; term: Term }[] = [];

  constructor(snapshot: SnapshotMeta | null, entries: readonly Entry[]) {
    this.#offset = snapshot?.index ?? asIndex(0);
    this.#offsetTerm = snapshot?.term ?? asTerm(0);
    this.#lastIndex = this.#offset;
    this.append(entries);
  }

  get offset(): LogIndex {
    return this.#offset;
  }

  get lastIndex(): LogIndex {
    return this.#lastIndex;
  }

  /** The term of the entry at `index`: the snapshot's at the boundary, undefined outside (offset, lastIndex]. */
  termAt(index: number): Term | undefined {
    if (index === this.#offset) return this.#offsetTerm;
    if (index < this.#offset || index > this.#lastIndex) return undefined;
    let low = 0;
    let high = this.#runs.length - 1;
    // Binary search for the last run starting at or before `index`; bounded by log2(runs) halvings.
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      const run = this.#runs[middle];
      if (run !== undefined && run.firstIndex <= index) low = middle;
      else high = middle - 1;
    }
    return this.#runs[low]?.term;
  }

  /**
   * Whether installing a snapshot with `meta` keeps the entries after it: ours at its index has its term
   * (the rule of StorageUpdate and of MemoryLogStore).
   */
  snapshotKeepsLog(meta: SnapshotMeta): boolean {
    return meta.index >= this.#offset && this.termAt(meta.index) === meta.term;
  }

  /** Moves the boundary to `meta`, keeping the later entries or dropping the whole log. */
  installSnapshot(meta: SnapshotMeta, keepsLog: boolean): void {
    if (keepsLog) {
      const firstKept = meta.index + 1;
      const kept = this.#runs.filter((_run, k) => (this.#runs[k + 1]?.firstIndex ?? Infinity) > firstKept);
      const first = kept[0];
      if (first !== undefined && first.firstIndex < firstKept) first.firstIndex = asIndex(firstKept);
      this.#runs = firstKept > this.#lastIndex ? [] : kept;
    } else {
      this.#runs = [];
      this.#lastIndex = meta.index;
    }
    this.#offset = meta.index;
    this.#offsetTerm = meta.term;
  }

  /** Discards every entry at or after `entries[0].index`, then appends `entries` (consecutive indexes). */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.#runs = this.#runs.filter((run) => run.firstIndex < first.index);
    this.#lastIndex = asIndex(first.index - 1);
    for (const entry of entries) {
      if (this.termAt(entry.index - 1) !== entry.term || this.#runs.length === 0) {
        this.#runs.push({ firstIndex: entry.index, term: entry.term });
      }
      this.#lastIndex = entry.index;
    }
  }
}
