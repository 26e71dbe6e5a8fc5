/**
 * The vocabulary of the Raft paper as types. Terms, log indexes and node ids are all plain numbers at run
 * time; the brands stop one from being passed where another is meant.
 */

/** A Raft term (§5.1): a logical clock that only moves forward. 0 before any election. */
export type Term = number & { readonly __brand: "Term" };

/** A position in the replicated log (§5.3). The first entry is at 1; 0 means "before the first entry". */
export type LogIndex = number & { readonly __brand: "LogIndex" };

/** The identity of a cluster member. The lab uses 0..n-1; real clusters use any non-negative integers. */
export type NodeId = number & { readonly __brand: "NodeId" };

export const asTerm = (value: number): Term => value as Term;
export const asIndex = (value: number): LogIndex => value as LogIndex;
export const asNodeId = (value: number): NodeId => value as NodeId;

/**
 * One log entry (§5.3). Usually `data` is a command, opaque to Raft, and an empty `data` is a no-op entry
 * (§8). An entry of kind "membership" holds a cluster configuration instead (thesis §4, see membership.ts),
 * encoded by `encodeMembership`; state machines skip it.
 */
export interface Entry {
  readonly index: LogIndex;
  readonly term: Term;
  readonly data: Uint8Array;
  /** Absent for commands and no-ops. */
  readonly kind?: "membership";
}

/**
 * The state a node must persist before it answers any RPC (Figure 2, "persistent state on all servers"),
 * plus the commit index, which is not required for safety but spares re-applying after a restart.
 */
export interface HardState {
  /** currentTerm: the latest term this node has seen. */
  readonly term: Term;
  /** votedFor: the candidate this node voted for in `term`, or null. */
  readonly vote: NodeId | null;
  /** The highest index this node knows to be committed. */
  readonly commit: LogIndex;
}

/** Where a snapshot ends: the last log entry it includes (§7, lastIncludedIndex and lastIncludedTerm). */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  /**
   * The configuration in force at `index` (thesis §4.1), encoded by `encodeMembership`, which the snapshot
   * replaces the log's configuration entries with. Absent in snapshots of a cluster whose log never held a
   * configuration entry: the configuration is then the one the nodes started with.
   */
  readonly membership?: Uint8Array;
}

/** A state-machine snapshot covering every entry through `meta.index` (§7). `data` is opaque to Raft. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** The roles of §5.1. */
export type Role = "follower" | "candidate" | "leader";

/** Volatile state worth showing to people and tests; it changes often and is never persisted. */
export interface SoftState {
  readonly role: Role;
  /** The leader this node currently follows (itself when leader), or null when it knows none. */
  readonly leader: NodeId | null;
  readonly term: Term;
}

/** What a node starts from: its persisted state as its storage holds it (empty on a first boot). */
export interface InitialState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot, in index order and without gaps. */
  readonly entries: readonly Entry[];
}

export const EMPTY_HARD_STATE: HardState = { term: asTerm(0), vote: null, commit: asIndex(0) };
