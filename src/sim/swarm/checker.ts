import type { Entry, LogIndex, Membership, NodeId, RaftNode } from "../../core/index.ts";
import type { StorageUpdate } from "../../peer/index.ts";
import { assert } from "../../util/assert.ts";
import { sameBytes } from "../safety-checker.ts";
import { ConfigChecker, type ConfigCounts, type LeaderView } from "./config-checker.ts";
import type { Violation, ViolationEvidence } from "./violation.ts";
import { WrittenLog } from "./written-log.ts";

/** An entry known to be committed: the first node seen to commit it, and that node's term then. */
interface CommittedRecord {
  readonly term: number;
  readonly data: Uint8Array;
  /**
   * The term of the node that was seen to commit it, at that moment: the entry was committed in this term or
   * an earlier one, so every leader of a later term must hold it (Leader Completeness).
   */
  readonly commitTerm: number;
  readonly node: NodeId;
}

/** An entry some state machine applied, and the first node that applied it. */
interface AppliedRecord {
  readonly term: number;
  readonly data: Uint8Array;
  readonly node: NodeId;
}

/** A node seen as leader: its term and the last entry of its log when last looked at. */
interface LeaderWatch {
  readonly term: number;
  lastIndex: number;
  lastEntry: Entry | undefined;
}

/** What the checker keeps about one node. */
interface NodeWatch {
  readonly id: NodeId;
  /** The running incarnation's core, or null while the node is down. */
  raft: RaftNode | null;
  /** The incarnation's commit index when last looked at. */
  commit: number;
  /** Entries 1..commitChecked of the incarnation's log were checked against {@link CommittedRecord}s. */
  commitChecked: number;
  /** The last index the incarnation's state machine applied. */
  lastApplied: number;
  /** Set while the node is leader. */
  leader: LeaderWatch | null;
  /** The highest commit index the node has synced to its disk, over every incarnation. */
  durableCommit: number;
  /** The term on the node's disk, as far as its syncs and boots have shown it (terms on disk never go back). */
  durableTerm: number;
  /** The node's log as written to storage (synced or not). */
  readonly written: WrittenLog;
}

/** Terms at most this large fit the (index, term) key of the Log Matching table. */
const TERM_KEY_SPAN = 2 ** 21;

/** Everything a {@link SwarmChecker} needs. */
export interface SwarmCheckerOptions {
  /** The starting nodes, which are also the starting configuration's voters; nodes added later are watched from their first boot. */
  readonly nodes: readonly NodeId[];
  /** Virtual time, stamped on violations. */
  readonly now: () => number;
  /** Called once, with the first violation; the caller stops the run. */
  readonly onViolation: (violation: Violation) => void;
}

/**
 * The swarm's safety checkers, all incremental so they can run after every event:
 *
 * - Election Safety: the leader seen for each term, from every look at every node.
 * - Leader Append-Only: while a node leads a term, the last entry it had is still there, unchanged.
 * - Log Matching: every written entry's prefix fingerprint (see {@link WrittenLog}) must equal that of every
 *   other written entry with the same index and term, whichever node wrote it and whenever.
 * - Leader Completeness: a new leader holds every entry committed in an earlier term; and an entry seen
 *   committed later must already be in the logs of current leaders of later terms.
 * - State Machine Safety: nodes commit, write at or below their own commit index, and apply the same entry
 *   at an index; a node never drops an entry at or below its commit index.
 * - Commit and apply monotonicity, apply once: per incarnation, and for the persisted commit across crashes.
 * - Configurations (see {@link ConfigChecker}): committed configurations move by joint-consensus steps, a new
 *   leader's configuration meets the committed one, and no two leaders both hold a majority at any moment.
 *
 * The first violation is reported and every later observation is ignored, so the evidence stays as it was.
 */
export class SwarmChecker {
  readonly #now: () => number;
  readonly #onViolation: (violation: Violation) => void;
  readonly #watches = new Map<NodeId, NodeWatch>();
  readonly #leaderOfTerm = new Map<number, NodeId>();
  /** `committed[i - 1]`: the entry committed at index i (committed indexes are always a prefix). */
  readonly #committed: CommittedRecord[] = [];
  /** `applied[i - 1]`: the entry applied at index i. */
  readonly #applied: AppliedRecord[] = [];
  /** Log Matching evidence: for each written (index, term), its prefix fingerprint and who wrote it first. */
  readonly #prefixes = new Map<
    number,
    { readonly high: number; readonly low: number; readonly node: NodeId }
  >();
  readonly #configs: ConfigChecker;
  #violation: Violation | null = null;

  constructor(options: SwarmCheckerOptions) {
    this.#now = options.now;
    this.#onViolation = options.onViolation;
    for (const id of options.nodes) this.#addWatch(id);
    this.#configs = new ConfigChecker({
      initialVoters: options.nodes,
      fail: (evidence) => this.fail(evidence),
      leaderOfTerm: (term) => this.#leaderOfTerm.get(term),
    });
  }

  #addWatch(id: NodeId): NodeWatch {
    const watch: NodeWatch = {
      id,
      raft: null,
      commit: 0,
      commitChecked: 0,
      lastApplied: 0,
      leader: null,
      durableCommit: 0,
      durableTerm: 0,
      written: new WrittenLog(),
    };
    this.#watches.set(id, watch);
    return watch;
  }

  /** The latest configuration known committed (the starting one until a membership entry commits). */
  get latestMembership(): Membership {
    return this.#configs.latestCommitted;
  }

  /** What the configuration checks counted so far. */
  get configCounts(): Readonly<ConfigCounts> {
    return this.#configs.counts;
  }

  /** The first violation, once there is one. */
  get violation(): Violation | null {
    return this.#violation;
  }

  /** How many indexes are known committed (the highest index some node committed). */
  get committedCount(): number {
    return this.#committed.length;
  }

  /** Reports a violation found elsewhere (liveness, the event bound), unless one was reported already. */
  fail(evidence: ViolationEvidence): void {
    if (this.#violation !== null) return;
    this.#violation = { ...evidence, timeMs: this.#now() };
    this.#onViolation(this.#violation);
  }

  // ---- incarnations ------------------------------------------------------------------------------------

  /** Node `id` booted (first boot or restart) with `raft` as its core; a node met for the first time is watched from now. */
  attach(id: NodeId, raft: RaftNode): void {
    const watch = this.#watches.get(id) ?? this.#addWatch(id);
    watch.raft = raft;
    watch.durableTerm = Math.max(watch.durableTerm, raft.term);
    watch.commit = raft.log.committed;
    // Check the whole committed prefix it booted with: a restart must not bring back something else.
    watch.commitChecked = 0;
    watch.lastApplied = 0;
    watch.leader = null;
    if (raft.log.committed < watch.durableCommit) {
      this.fail({
        property: "commit-monotonic",
        message:
          `node ${id} restarted with commit index ${raft.log.committed}, below the ${watch.durableCommit} it had` +
          ` persisted (its log ends at ${raft.log.lastIndex()})`,
        nodes: [id],
        indexes: [raft.log.committed, watch.durableCommit],
        terms: [raft.term],
      });
    }
    this.observe(id);
  }

  /** Node `id` crashed; `durable` is what its disk holds now (its written log falls back to it). */
  detach(id: NodeId, durable: readonly Entry[]): void {
    const watch = this.#watch(id);
    watch.raft = null;
    watch.leader = null;
    watch.written.reset(durable);
  }

  // ---- looking at nodes --------------------------------------------------------------------------------

  /** Looks at every running node: call after every event. */
  observeAll(): void {
    for (const id of this.#watches.keys()) this.observe(id);
    if (this.#violation !== null) return;
    const leaders: LeaderView[] = [];
    for (const watch of this.#watches.values()) {
      if (watch.raft?.role === "leader") leaders.push({ id: watch.id, raft: watch.raft });
    }
    this.#configs.checkLeaders(leaders, (id) => this.#watches.get(id)?.durableTerm ?? 0);
  }

  /** Looks at node `id`: call after each input it handled. */
  observe(id: NodeId): void {
    const watch = this.#watch(id);
    const raft = watch.raft;
    if (raft === null || this.#violation !== null) return;
    if (raft.role === "leader") this.#observeLeader(watch, raft);
    else watch.leader = null;
    this.#observeCommit(watch, raft);
  }

  /** Node `id` reported (through its Ready) that it leads `term`. */
  observeLeaderReport(id: NodeId, term: number): void {
    if (this.#violation === null) this.#claimTerm(id, term);
  }

  #observeLeader(watch: NodeWatch, raft: RaftNode): void {
    const term = raft.term;
    if (!this.#claimTerm(watch.id, term)) return;
    const lastIndex = raft.log.lastIndex();
    const previous = watch.leader;
    if (previous === null || previous.term !== term) {
      this.#checkNewLeader(watch.id, raft);
      watch.leader = { term, lastIndex, lastEntry: raft.log.entry(lastIndex as LogIndex) };
      return;
    }
    const kept = raft.log.entry(previous.lastIndex as LogIndex);
    if (lastIndex < previous.lastIndex || kept !== previous.lastEntry) {
      this.fail({
        property: "leader-append-only",
        message:
          lastIndex < previous.lastIndex
            ? `leader ${watch.id} of term ${term} shrank its log from ${previous.lastIndex} to ${lastIndex} entries`
            : `leader ${watch.id} of term ${term} replaced its entry at index ${previous.lastIndex}` +
              ` (term ${previous.lastEntry?.term} became ${kept?.term})`,
        nodes: [watch.id],
        indexes: [previous.lastIndex, lastIndex],
        terms: [term],
      });
      return;
    }
    previous.lastIndex = lastIndex;
    previous.lastEntry = raft.log.entry(lastIndex as LogIndex);
  }

  /** Election Safety: records `id` as the leader of `term`; false (after failing) if another node was. */
  #claimTerm(id: NodeId, term: number): boolean {
    const earlier = this.#leaderOfTerm.get(term);
    if (earlier === undefined) {
      this.#leaderOfTerm.set(term, id);
      return true;
    }
    if (earlier === id) return true;
    this.fail({
      property: "election-safety",
      message: `nodes ${earlier} and ${id} were both leader in term ${term}`,
      nodes: [earlier, id],
      indexes: [],
      terms: [term],
    });
    return false;
  }

  /**
   * Leader Completeness at election: the new leader holds every entry committed in an earlier term. And its
   * configuration's quorums meet the committed configuration's.
   */
  #checkNewLeader(id: NodeId, raft: RaftNode): void {
    for (let index = 1; index <= this.#committed.length; index++) {
      const record = this.#committed[index - 1] as CommittedRecord;
      if (record.commitTerm >= raft.term) continue;
      if (!this.#leaderHolds(id, raft, index, record)) return;
    }
    this.#configs.newLeader(id, raft);
  }

  /** Whether leader `raft` holds committed entry `index`; fails Leader Completeness if not. */
  #leaderHolds(id: NodeId, raft: RaftNode, index: number, record: CommittedRecord): boolean {
    const entry = raft.log.entry(index as LogIndex);
    if (entry !== undefined && entry.term === record.term && sameBytes(entry.data, record.data)) return true;
    this.fail({
      property: "leader-completeness",
      message:
        `node ${id}, leader of term ${raft.term}, ` +
        (entry === undefined
          ? `has no entry at index ${index}`
          : `has (${index}, term ${entry.term}) where it should have`) +
        ` (${index}, term ${record.term}), which node ${record.node} committed by term ${record.commitTerm}`,
      nodes: [id, record.node],
      indexes: [index],
      terms: [raft.term, record.term],
    });
    return false;
  }

  #observeCommit(watch: NodeWatch, raft: RaftNode): void {
    const committed = raft.log.committed;
    if (committed < watch.commit) {
      this.fail({
        property: "commit-monotonic",
        message: `node ${watch.id}'s commit index went back from ${watch.commit} to ${committed}`,
        nodes: [watch.id],
        indexes: [watch.commit, committed],
        terms: [raft.term],
      });
      return;
    }
    watch.commit = committed;
    const lastIndex = raft.log.lastIndex();
    if (committed > lastIndex) {
      this.fail({
        property: "state-machine-safety",
        message: `node ${watch.id} removed committed entries: its commit index is ${committed} but its log ends at ${lastIndex}`,
        nodes: [watch.id],
        indexes: [lastIndex + 1, committed],
        terms: [raft.term],
      });
      return;
    }
    for (let index = watch.commitChecked + 1; index <= committed; index++) {
      const entry = raft.log.entry(index as LogIndex);
      assert(entry !== undefined, "SwarmChecker: a committed entry below the log's end is missing");
      if (!this.#checkCommitted(watch, raft, entry)) return;
    }
    watch.commitChecked = committed;
  }

  /** `watch`'s node holds `entry` as committed: record it, or compare it with what was committed there. */
  #checkCommitted(watch: NodeWatch, raft: RaftNode, entry: Entry): boolean {
    const index = entry.index;
    const record = this.#committed[index - 1];
    if (record === undefined) {
      assert(index === this.#committed.length + 1, "SwarmChecker: committed indexes must form a prefix");
      const added: CommittedRecord = {
        term: entry.term,
        data: entry.data,
        commitTerm: raft.term,
        node: watch.id,
      };
      this.#committed.push(added);
      if (!this.#configs.committed(entry, watch.id, added.commitTerm)) return false;
      // Leaders of later terms, elected before anyone was seen to commit this, must hold it all the same.
      for (const other of this.#watches.values()) {
        const leader = other.raft;
        if (leader === null || leader.role !== "leader" || leader.term <= added.commitTerm) continue;
        if (!this.#leaderHolds(other.id, leader, index, added)) return false;
      }
      return true;
    }
    if (record.term === entry.term && sameBytes(record.data, entry.data)) return true;
    this.fail({
      property: "state-machine-safety",
      message:
        `node ${watch.id} committed (${index}, term ${entry.term}) but node ${record.node}` +
        ` committed (${index}, term ${record.term})`,
      nodes: [watch.id, record.node],
      indexes: [index],
      terms: [entry.term, record.term],
    });
    return false;
  }

  // ---- storage and state machine -----------------------------------------------------------------------

  /** Node `id` issued a write (not yet synced). */
  onWrite(id: NodeId, update: StorageUpdate): void {
    const watch = this.#watch(id);
    const first = update.entries[0];
    if (first === undefined || this.#violation !== null) return;
    const written = watch.written;
    if (first.index > written.lastIndex + 1) {
      this.fail({
        property: "node-invariant",
        message: `node ${id} wrote entry ${first.index} after ${written.lastIndex}, leaving a gap in its log`,
        nodes: [id],
        indexes: [written.lastIndex, first.index],
        terms: [first.term],
      });
      return;
    }
    // Through its own commit index a node knows its entries are committed: a write may neither drop them nor
    // put anything else there. (Above it, a lagging node may well hold and write entries that lose out to
    // others committed meanwhile, and drop them later: that is how Raft repairs logs.)
    const commit = watch.raft?.log.committed ?? 0;
    const newLast = first.index + update.entries.length - 1;
    if (newLast < commit && newLast < written.lastIndex) {
      this.fail({
        property: "state-machine-safety",
        message: `node ${id}'s write cuts its log back to index ${newLast}, below its commit index ${commit}`,
        nodes: [id],
        indexes: [newLast + 1, commit],
        terms: [first.term],
      });
      return;
    }
    written.truncate(first.index - 1);
    for (const entry of update.entries) {
      if (!this.#checkWrittenEntry(watch, entry, commit)) return;
    }
  }

  #checkWrittenEntry(watch: NodeWatch, entry: Entry, commit: number): boolean {
    const record = entry.index <= commit ? this.#committed[entry.index - 1] : undefined;
    if (record !== undefined && (record.term !== entry.term || !sameBytes(record.data, entry.data))) {
      this.fail({
        property: "state-machine-safety",
        message:
          `node ${watch.id} wrote (${entry.index}, term ${entry.term}) at or below its commit index, where node` +
          ` ${record.node} committed (${entry.index}, term ${record.term})`,
        nodes: [watch.id, record.node],
        indexes: [entry.index],
        terms: [entry.term, record.term],
      });
      return false;
    }
    const fingerprint = watch.written.append(entry);
    assert(entry.term < TERM_KEY_SPAN, "SwarmChecker: term too large for the Log Matching table");
    const key = entry.index * TERM_KEY_SPAN + entry.term;
    const known = this.#prefixes.get(key);
    if (known === undefined) {
      this.#prefixes.set(key, { ...fingerprint, node: watch.id });
      return true;
    }
    if (known.high === fingerprint.high && known.low === fingerprint.low) return true;
    const other = this.#watch(known.node).written;
    const differs =
      other.term(entry.index) === entry.term ? watch.written.firstDifference(other, entry.index) : undefined;
    this.fail({
      property: "log-matching",
      message:
        `nodes ${known.node} and ${watch.id} both hold (${entry.index}, term ${entry.term}) but their logs ` +
        (differs === undefined ? "differ before it" : `differ at index ${differs}`),
      nodes: [known.node, watch.id],
      indexes: differs === undefined ? [entry.index] : [entry.index, differs],
      terms: [entry.term],
    });
    return false;
  }

  /** Node `id`'s disk synced a write; `durableCommit` and `durableTerm` are the hard state now on its disk. */
  onSync(id: NodeId, durableCommit: number, durableTerm: number): void {
    const watch = this.#watch(id);
    if (this.#violation !== null) return;
    watch.durableTerm = Math.max(watch.durableTerm, durableTerm);
    if (durableCommit < watch.durableCommit) {
      this.fail({
        property: "commit-monotonic",
        message: `node ${id}'s persisted commit index went back from ${watch.durableCommit} to ${durableCommit}`,
        nodes: [id],
        indexes: [watch.durableCommit, durableCommit],
        terms: [],
      });
      return;
    }
    watch.durableCommit = durableCommit;
  }

  /** Node `id`'s state machine applied `entries`. */
  onApply(id: NodeId, entries: readonly Entry[]): void {
    const watch = this.#watch(id);
    for (const entry of entries) {
      if (this.#violation !== null) return;
      this.#checkApply(watch, entry);
    }
  }

  #checkApply(watch: NodeWatch, entry: Entry): void {
    const index = entry.index;
    if (index <= watch.lastApplied) {
      this.fail({
        property: "apply-once",
        message: `node ${watch.id} applied index ${index} twice (its applied index went back from ${watch.lastApplied})`,
        nodes: [watch.id],
        indexes: [index, watch.lastApplied],
        terms: [entry.term],
      });
      return;
    }
    if (index !== watch.lastApplied + 1) {
      this.fail({
        property: "apply-monotonic",
        message: `node ${watch.id} applied index ${index} right after ${watch.lastApplied}, skipping entries`,
        nodes: [watch.id],
        indexes: [watch.lastApplied, index],
        terms: [entry.term],
      });
      return;
    }
    watch.lastApplied = index;
    const committed = this.#committed[index - 1];
    const first = this.#applied[index - 1];
    const reference = first ?? committed;
    if (first === undefined) {
      assert(index === this.#applied.length + 1, "SwarmChecker: applied indexes must form a prefix");
      this.#applied.push({ term: entry.term, data: entry.data, node: watch.id });
    }
    if (reference === undefined || (reference.term === entry.term && sameBytes(reference.data, entry.data))) {
      return;
    }
    this.fail({
      property: "state-machine-safety",
      message:
        `node ${watch.id} applied (${index}, term ${entry.term}) but node ${reference.node}` +
        ` ${first === undefined ? "committed" : "applied"} (${index}, term ${reference.term})`,
      nodes: [watch.id, reference.node],
      indexes: [index],
      terms: [entry.term, reference.term],
    });
  }

  /** Node `id` stopped on a broken invariant inside its core or peer. */
  nodeFailed(id: NodeId, error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.fail({
      property: "node-invariant",
      message: `node ${id} stopped: ${text}`,
      nodes: [id],
      indexes: [],
      terms: [],
    });
  }

  #watch(id: NodeId): NodeWatch {
    const watch = this.#watches.get(id);
    assert(watch !== undefined, () => `SwarmChecker: no node ${id}`);
    return watch;
  }
}
