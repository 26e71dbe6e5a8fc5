import { assert, unreachable } from "../util/assert.ts";
import { isVotingMember } from "./membership.ts";
import type { AppendEntries, AppendEntriesReply, InstallSnapshot, Request, RequestVote } from "./messages.ts";
import type { RaftNode } from "./raft.ts";
import { asIndex, asTerm, type LogIndex, type Term } from "./types.ts";

/**
 * Handling of the requests every node answers (Figure 2's receiver implementations). Each request yields
 * exactly one reply; the term check against the sender has already been done by `RaftNode.step`, so here
 * `request.term === node.term`.
 */

/** RequestVote receiver (§5.2, §5.4.1): one vote per term, only for a candidate at least as up to date. */
export function handleRequestVote(node: RaftNode, request: RequestVote): void {
  const canVote = node.vote === null || node.vote === request.from;
  // A node that follows a live leader of this term has voted in it already; the check above covers it.
  const grant = canVote && candidateLogOk(node, request);
  if (grant) {
    node.vote = request.from;
    // Granting a vote counts as hearing from a would-be leader: do not start a competing election right away.
    node.restartElectionTimer();
  }
  sendVoteReply(node, request, grant, node.term);
}

/**
 * The election restriction (§5.4.1): whether the candidate's log is at least as up to date as ours. Pre-votes
 * apply it too, and so does the planted `vote-without-restriction` bug, so that the bug stays reachable with
 * pre-vote on.
 */
export function candidateLogOk(node: RaftNode, request: RequestVote): boolean {
  return (
    node.config.plantedBug === "vote-without-restriction" ||
    node.log.isUpToDate(request.lastLogIndex, request.lastLogTerm)
  );
}

/**
 * Whether this node heard from a current leader within the minimum election timeout (thesis §4.2.3); a
 * leader counts as hearing from itself (its timer restarts at every quorum check). Such a node refuses
 * pre-votes, and with CheckQuorum real votes of higher terms: the leader it hears from is alive, so whoever
 * asks is cut off from it or out of date.
 */
export function heardFromLeaderRecently(node: RaftNode): boolean {
  return (
    (node.leader !== null || node.leaderContactAssumed) && node.electionElapsed < node.config.electionTicks
  );
}

/**
 * CheckQuorum's leader stickiness (thesis §4.2.3): whether to refuse a real RequestVote of a higher term
 * without even adopting its term, because this node heard from a live leader within the minimum election
 * timeout. Without CheckQuorum it still applies to candidates that do not vote in our configuration: the
 * disruptive servers of §4.2.3, removed members that never learned it (they may campaign in the
 * configuration their log last committed, see `RaftNode.mayCampaign`) and would otherwise depose a healthy
 * leader again and again (found by the key-value simulator, seed 305449). The refusal still goes out (with our lower term, so the candidate drops it as stale): every request
 * gets one reply, which RPC-style drivers rely on to match replies to calls.
 *
 * A leadership transfer's vote requests (thesis §3.10, `transfer` set) always get through: the live leader
 * we hear from is the one that asked for this election. Every other request of a higher term is still held off.
 */
export function ignoresForLeaderStickiness(node: RaftNode, request: RequestVote): boolean {
  return (
    (node.config.checkQuorum || !isVotingMember(node.membership, request.from)) &&
    request.transfer !== true &&
    request.term > node.term &&
    heardFromLeaderRecently(node)
  );
}

/** Answers a RequestVote, real or pre-vote (the reply says which), with `term`. */
export function sendVoteReply(node: RaftNode, request: RequestVote, voteGranted: boolean, term: Term): void {
  node.send({
    type: "RequestVoteReply",
    from: node.id,
    to: request.from,
    term,
    voteGranted,
    ...(request.preVote === true ? { preVote: true } : {}),
  });
}

/** AppendEntries receiver (§5.3): consistency check, conflict-only truncation, commit propagation. */
export function handleAppendEntries(node: RaftNode, request: AppendEntries): void {
  acceptLeader(node, request.from);
  const { log } = node;
  let prevIndex = request.prevLogIndex;
  let prevTerm = request.prevLogTerm;
  let entries = request.entries;
  if (prevIndex < log.offset) {
    // The request starts inside our snapshot. Everything through the snapshot is committed, hence in the
    // leader's log too (Leader Completeness): skip to the boundary and check only what follows.
    const skip = entries.findIndex((entry) => entry.index > log.offset);
    if (skip === -1) {
      reply(node, request, { success: true, matchIndex: log.offset });
      return;
    }
    // The leader's entry at our boundary must carry our snapshot's term; the check below confirms it.
    const atBoundary = entries[skip - 1];
    assert(
      atBoundary !== undefined && atBoundary.index === log.offset,
      "handleAppendEntries: gap at boundary",
    );
    entries = entries.slice(skip);
    prevIndex = atBoundary.index;
    prevTerm = atBoundary.term;
  }
  if (!log.matchTerm(prevIndex, prevTerm)) {
    rejectAppend(node, request, prevIndex);
    return;
  }
  if (node.config.plantedBug === "truncate-on-stale-append") log.truncateAfterForTest(prevIndex, entries);
  const lastNew = log.appendAfter(prevIndex, entries);
  log.commitTo(asIndex(Math.min(request.leaderCommit, lastNew)));
  reply(node, request, { success: true, matchIndex: lastNew });
}

/** InstallSnapshot receiver (§7): install it unless our committed log already covers it. */
export function handleInstallSnapshot(node: RaftNode, request: InstallSnapshot): void {
  acceptLeader(node, request.from);
  const { log } = node;
  const index = request.lastIncludedIndex;
  if (index > log.committed) {
    const term = request.lastIncludedTerm;
    const meta =
      request.membership === undefined ? { index, term } : { index, term, membership: request.membership };
    const snapshot = { meta, data: request.data };
    log.installSnapshot(snapshot);
    node.setSnapshotToApply(snapshot);
  }
  // Either way we now share the leader's log through max(commit, snapshot index).
  node.send({
    type: "InstallSnapshotReply",
    from: node.id,
    to: request.from,
    term: node.term,
    matchIndex: asIndex(Math.max(log.committed, index)),
  });
}

/** Answers a request from an older term with our term, which tells its sender to step down (Figure 2). */
export function rejectStaleRequest(node: RaftNode, request: Request): void {
  switch (request.type) {
    case "RequestVote":
      sendVoteReply(node, request, false, node.term);
      return;
    case "AppendEntries":
      reply(node, request, { success: false, matchIndex: asIndex(0) });
      return;
    case "InstallSnapshot":
      node.send({
        type: "InstallSnapshotReply",
        from: node.id,
        to: request.from,
        term: node.term,
        matchIndex: asIndex(0),
      });
      return;
    default:
      unreachable(request);
  }
}

/** A valid AppendEntries or InstallSnapshot of our term comes from this term's one leader. */
function acceptLeader(node: RaftNode, leader: RaftNode["id"]): void {
  assert(
    node.role !== "leader",
    () => `node ${node.id}: two leaders in term ${node.term} (${leader} and us)`,
  );
  // A candidate or pre-candidate of this term learns it lost: someone else won the term (§5.2, thesis §9.6).
  if (node.role === "candidate" || node.preCandidate) node.becomeFollower(node.term, leader);
  node.leader = leader;
  node.restartElectionTimer();
}

/** Rejects an AppendEntries whose consistency check failed at `prevIndex`, with the hints for fast backup. */
function rejectAppend(node: RaftNode, request: AppendEntries, prevIndex: LogIndex): void {
  const { log } = node;
  const conflictTerm = log.term(prevIndex);
  const hints =
    conflictTerm === undefined
      ? { conflictTerm: asTerm(0), conflictIndex: asIndex(log.lastIndex() + 1) }
      : { conflictTerm, conflictIndex: log.firstIndexOfTermAt(prevIndex) };
  reply(node, request, { success: false, matchIndex: asIndex(0), ...hints });
}

function reply(
  node: RaftNode,
  request: AppendEntries,
  fields: Partial<Pick<AppendEntriesReply, "conflictTerm" | "conflictIndex">> &
    Pick<AppendEntriesReply, "success" | "matchIndex">,
): void {
  node.send({
    type: "AppendEntriesReply",
    from: node.id,
    to: request.from,
    term: node.term,
    prevLogIndex: request.prevLogIndex,
    conflictTerm: asTerm(0),
    conflictIndex: asIndex(0),
    lastLogIndex: node.log.lastIndex(),
    // Read rounds are numbered afresh in every term: echoing a round of an older term (a stale request
    // rejected with our newer term) would credit the sender, should it lead our term, with a round of ours it
    // never sent, and its reads would wait for ever or be confirmed without a quorum (found by the
    // key-value simulator, seed 4908).
    readRound: request.term === node.term ? request.readRound : 0,
    ...fields,
  });
}
