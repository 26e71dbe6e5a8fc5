import type { Entry, LogIndex, NodeId, Term } from "./types.ts";

/**
 * The messages of Figure 2 and §7, and those of the thesis' ReadIndex (§6.4) and leadership transfer (§3.10),
 * as one discriminated union.
 * Every request gets exactly one reply, and every reply carries enough to be understood on its own (which
 * request it answers, the responder's term), because the network may drop, duplicate and reorder them.
 */
export type Message =
  | RequestVote
  | RequestVoteReply
  | AppendEntries
  | AppendEntriesReply
  | InstallSnapshot
  | InstallSnapshotReply
  | ReadIndex
  | ReadIndexReply
  | TimeoutNow;

/** Messages that ask for a reply. */
export type Request = RequestVote | AppendEntries | InstallSnapshot;
/** Messages that answer a request. */
export type Reply = RequestVoteReply | AppendEntriesReply | InstallSnapshotReply;

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /**
   * The sender's currentTerm when it sent the message; for pre-votes and granted pre-votes, the term proposed
   * instead (see {@link RequestVote.preVote}).
   */
  readonly term: Term;
}

/**
 * Sent by candidates to gather votes (§5.2), and by pre-candidates to ask whether they would get them (a
 * pre-vote, thesis §9.6). At most one of `preVote` and `transfer` is present.
 */
export interface RequestVote extends Envelope {
  readonly type: "RequestVote";
  readonly lastLogIndex: LogIndex;
  readonly lastLogTerm: Term;
  /**
   * Present on a pre-vote: `term` is then the term the sender would campaign in (its own term + 1), not a
   * term it holds, so no receiver adopts it, and answering changes nothing at the receiver. Absent on a real
   * vote request.
   */
  readonly preVote?: true;
  /**
   * Present on the real vote requests of an election started by {@link TimeoutNow} (leadership transfer,
   * thesis §3.10): the leader itself asked for this election, so receivers grant it despite leader stickiness
   * (thesis §4.2.3) — the live leader they hear from is the one stepping aside. Absent otherwise, and never
   * with `preVote` (a transfer skips the pre-vote).
   */
  readonly transfer?: true;
}

/**
 * The answer to a {@link RequestVote}. A granted pre-vote carries the term it was granted for (the request's),
 * so the pre-candidate can tell it belongs to its current pre-vote; every other answer carries the responder's
 * current term.
 */
export interface RequestVoteReply extends Envelope {
  readonly type: "RequestVoteReply";
  readonly voteGranted: boolean;
  /** Present when this answers a pre-vote (echoes the request's flag); absent for a real vote. */
  readonly preVote?: true;
}

/** Sent by the leader to replicate entries (§5.3) and as a heartbeat (§5.2) when `entries` is empty. */
export interface AppendEntries extends Envelope {
  readonly type: "AppendEntries";
  readonly prevLogIndex: LogIndex;
  readonly prevLogTerm: Term;
  readonly entries: readonly Entry[];
  readonly leaderCommit: LogIndex;
  /**
   * The leader's read round when it sent this (thesis §6.4): an acknowledgement echoing round r proves the
   * follower still took us for leader after every read of round r arrived. 0 before any read.
   */
  readonly readRound: number;
}

/**
 * The answer to an AppendEntries. On success, `matchIndex` is the last index this request proved the follower
 * shares with the leader. On rejection, the conflict fields let the leader skip back a whole term at a time
 * (the "fast backup" of §5.3's closing paragraph).
 */
export interface AppendEntriesReply extends Envelope {
  readonly type: "AppendEntriesReply";
  readonly success: boolean;
  /** Echo of the request's prevLogIndex, so the leader can tell which request a rejection answers. */
  readonly prevLogIndex: LogIndex;
  /** On success: the highest index known to match the leader's log. */
  readonly matchIndex: LogIndex;
  /** On rejection: the term of the follower's entry at prevLogIndex, or 0 if its log is shorter. */
  readonly conflictTerm: Term;
  /** On rejection: the first index the follower holds with `conflictTerm` (when conflictTerm is not 0). */
  readonly conflictIndex: LogIndex;
  /** On rejection: the follower's last log index. */
  readonly lastLogIndex: LogIndex;
  /** Echo of the request's readRound. */
  readonly readRound: number;
}

/** Sent by the leader to a follower whose next entries it has compacted away (§7). Whole, not chunked. */
export interface InstallSnapshot extends Envelope {
  readonly type: "InstallSnapshot";
  readonly lastIncludedIndex: LogIndex;
  readonly lastIncludedTerm: Term;
  /** The snapshot's configuration, `SnapshotMeta.membership` (absent when the snapshot has none). */
  readonly membership?: Uint8Array;
  readonly data: Uint8Array;
}

export interface InstallSnapshotReply extends Envelope {
  readonly type: "InstallSnapshotReply";
  /** The highest index the follower now shares with the leader (at least the snapshot's, if installed). */
  readonly matchIndex: LogIndex;
}

/**
 * Sent by a follower to the leader to learn a read index for one of its clients' reads (thesis §6.4): the
 * leader confirms its leadership as for its own reads and answers with its commit index at that moment.
 */
export interface ReadIndex extends Envelope {
  readonly type: "ReadIndex";
  /** Chosen by the follower; echoed in the reply. Unique among the follower's outstanding reads. */
  readonly requestId: number;
}

/** The leader's answer to a {@link ReadIndex}: the follower may serve the read once it has applied `index`. */
export interface ReadIndexReply extends Envelope {
  readonly type: "ReadIndexReply";
  readonly requestId: number;
  readonly index: LogIndex;
}

/**
 * Sent by a leader to the follower it hands leadership to (thesis §3.10), once that follower's log matches
 * the leader's to its last entry: start an election now, without waiting for an election timeout and without
 * a pre-vote. One-way: the answer is the election itself.
 */
export interface TimeoutNow extends Envelope {
  readonly type: "TimeoutNow";
}

/** True for the messages that expect a reply. */
export function isRequest(message: Message): message is Request {
  return (
    message.type === "RequestVote" || message.type === "AppendEntries" || message.type === "InstallSnapshot"
  );
}
