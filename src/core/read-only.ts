import { hasQuorum, quorumValue } from "./membership.ts";
import type { RaftNode } from "./raft.ts";
import type { LogIndex, NodeId } from "./types.ts";

/**
 * Linearizable reads without the log: the ReadIndex algorithm of the Raft thesis §6.4.
 *
 * A read may be served at the leader's commit index once the leader (1) has committed an entry of its own
 * term, so its commit index is at least that of every earlier leader, and (2) has heard from a majority
 * after the read arrived, so no newer leader existed at that moment. For (2) the leader numbers its
 * heartbeat rounds: every AppendEntries carries the current round and every reply echoes it, and the reads
 * of round r are confirmed once a majority has echoed r or later. A follower forwards its reads to the
 * leader ({@link ReadIndex}) and serves them at the index the leader returns.
 */

/** A read the caller may serve once its state machine has applied `index` (thesis §6.4 step 4). */
export interface ReadState {
  /** The id the caller gave {@link RaftNode.readIndex}. */
  readonly requestId: number;
  readonly index: LogIndex;
}

/** The outcome of {@link RaftNode.readIndex}. */
export type ReadIndexResult =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: "no-leader" | "too-many-reads" };

/** A read the leader took on for itself or a follower (`from`), waiting for its round to be confirmed. */
interface PendingRead {
  readonly requestId: number;
  readonly from: NodeId;
  readonly index: LogIndex;
  readonly round: number;
}

/** Reads waiting for the leader's first commit in its term (a read with no round yet). */
interface EarlyRead {
  readonly requestId: number;
  readonly from: NodeId;
}

/** The leader's read bookkeeping; reset whenever the node changes role. */
export class ReadOnlyState {
  /** The current heartbeat round: the one every AppendEntries carries. */
  round = 0;
  /**
   * Lease reads only: the leader's tick count ({@link RaftNode.ticks}) when each round not yet acknowledged by
   * a quorum began. A follower echoing round r received a message sent at or after that tick.
   */
  readonly roundStartTicks = new Map<number, number>();
  /** Reads were taken on since the last round began: start a new round with the next Ready. */
  roundPending = false;
  /** Reads waiting for a confirmation, in round order. */
  readonly pending: PendingRead[] = [];
  /** Reads waiting for the first commit of this term. */
  readonly early: EarlyRead[] = [];
  /** Confirmed reads of this node's own callers, handed out with the next Ready. */
  readStates: ReadState[] = [];

  /** Reads this node holds and has not answered. */
  get outstanding(): number {
    return this.pending.length + this.early.length;
  }

  /** Forgets every read not yet confirmed (the node lost or changed role; its callers will time out). */
  reset(): void {
    this.round = 0;
    this.roundStartTicks.clear();
    this.roundPending = false;
    this.pending.length = 0;
    this.early.length = 0;
  }
}

/** The most reads one node holds unanswered; more are refused rather than queued without bound. */
export const READS_OUTSTANDING_MAX = 10_000;

/**
 * Takes on a read from this node's caller or a follower. With a valid lease (see {@link leaseHolds}) it is
 * answered at once; otherwise it waits for a heartbeat round (ReadIndex).
 */
export function acceptRead(node: RaftNode, requestId: number, from: NodeId): ReadIndexResult {
  const reads = node.readOnly;
  if (reads.outstanding >= READS_OUTSTANDING_MAX) return { accepted: false, reason: "too-many-reads" };
  if (node.log.term(node.log.committed) !== node.term) {
    reads.early.push({ requestId, from });
    return { accepted: true };
  }
  if (leaseHolds(node)) {
    answerRead(node, { requestId, from, index: node.log.committed });
    return { accepted: true };
  }
  addPending(node, requestId, from);
  return { accepted: true };
}

/**
 * Starts a new heartbeat round: the messages sent from now on carry it. Lease reads note when it began.
 */
export function startRound(node: RaftNode): void {
  const reads = node.readOnly;
  reads.round++;
  if (node.config.leaseReads) reads.roundStartTicks.set(reads.round, node.ticks);
}

/**
 * Lease reads (thesis §6.4.1, {@link RaftConfig.leaseReads}): whether the leader may answer a read from its
 * commit index without a heartbeat round. Every member of some quorum echoed a round that began at tick s,
 * so each received a message of ours at or after s and, with leader stickiness, refuses to help elect anyone
 * else for electionTicks of its own ticks from then (and a restarted node for electionTicks after it starts,
 * see `heardFromLeaderRecently`). So no other leader can exist before about s + electionTicks; the lease ends
 * `leaseMarginTicks` earlier for tick granularity and clock drift. A leader that sent TimeoutNow gave its
 * successor leave to skip stickiness, so it holds no lease for the rest of its term.
 */
export function leaseHolds(node: RaftNode): boolean {
  const { config, readOnly: reads } = node;
  if (!config.leaseReads || node.role !== "leader" || node.leaseRevoked || node.transferTarget !== null) {
    return false;
  }
  const start = reads.roundStartTicks.get(quorumRound(node));
  return start !== undefined && node.ticks < start + config.electionTicks - config.leaseMarginTicks;
}

/** The highest round a quorum has echoed (the leader counts as echoing the current one). */
function quorumRound(node: RaftNode): number {
  const reads = node.readOnly;
  return quorumValue(node.membership, (id) =>
    id === node.id ? reads.round : (node.progress.get(id)?.readRoundAcked ?? 0),
  );
}

/** Called when the commit index advances: reads that waited for this term's first commit can go ahead. */
export function releaseEarlyReads(node: RaftNode): void {
  const reads = node.readOnly;
  if (reads.early.length === 0 || node.log.term(node.log.committed) !== node.term) return;
  for (const read of reads.early.splice(0)) addPending(node, read.requestId, read.from);
}

function addPending(node: RaftNode, requestId: number, from: NodeId): void {
  const reads = node.readOnly;
  reads.pending.push({ requestId, from, index: node.log.committed, round: reads.round + 1 });
  reads.roundPending = true;
  // A leader that is a majority by itself (a single voter) has nothing to wait for.
  if (hasQuorum(node.membership, (id) => id === node.id)) {
    startRound(node);
    reads.roundPending = false;
    confirmReads(node);
  }
}

/**
 * Answers every pending read whose round a quorum has acknowledged, and forgets the start ticks of rounds
 * older than that one (the lease only ever looks at the latest round a quorum echoed).
 */
export function confirmReads(node: RaftNode): void {
  const reads = node.readOnly;
  if (reads.pending.length === 0 && reads.roundStartTicks.size === 0) return;
  const confirmed = quorumRound(node);
  for (const round of reads.roundStartTicks.keys()) {
    if (round < confirmed) reads.roundStartTicks.delete(round);
  }
  let done = 0;
  for (const read of reads.pending) {
    if (read.round > confirmed) break;
    done++;
    answerRead(node, read);
  }
  if (done > 0) reads.pending.splice(0, done);
}

/** Hands a confirmed read to this node's caller, or to the follower that asked. */
function answerRead(node: RaftNode, read: Omit<PendingRead, "round">): void {
  if (read.from === node.id) {
    node.readOnly.readStates.push({ requestId: read.requestId, index: read.index });
  } else {
    node.send({
      type: "ReadIndexReply",
      from: node.id,
      to: read.from,
      term: node.term,
      requestId: read.requestId,
      index: read.index,
    });
  }
}
