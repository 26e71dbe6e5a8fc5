import { unreachable } from "../util/assert.ts";
import { tallyVotes, votingMembers } from "./membership.ts";
import type { RequestVote, RequestVoteReply } from "./messages.ts";
import type { RaftNode } from "./raft.ts";
import { candidateLogOk, heardFromLeaderRecently, sendVoteReply } from "./step-follower.ts";
import { asTerm } from "./types.ts";

/**
 * PreVote (Raft thesis §9.6): before a node raises its term to campaign, it asks the voters whether they would
 * vote for it in term + 1. Asking and answering change nothing anywhere — no term, no vote, no timer, nothing
 * to persist — so a node that could not win (cut off from the majority, or behind in its log) never raises
 * terms, and when it comes back it does not force a healthy leader to step down.
 *
 * A pre-candidate is a follower with {@link RaftNode.preCandidate} set: its role, term and vote are those of a
 * follower, it knows no leader, and `votes` counts pre-votes. Pre-vote messages are RequestVote and
 * RequestVoteReply with `preVote` set; their `term` is the proposed term (see messages.ts).
 */

/** Election timeout with pre-vote on: become a pre-candidate and ask every other voter for a pre-vote. */
export function startPreVote(node: RaftNode): void {
  node.becomePreCandidate();
  const term = asTerm(node.term + 1);
  const lastLogIndex = node.log.lastIndex();
  const lastLogTerm = node.log.lastTerm();
  for (const to of votingMembers(node.membership)) {
    if (to === node.id) continue;
    node.send({ type: "RequestVote", from: node.id, to, term, lastLogIndex, lastLogTerm, preVote: true });
  }
  // A single voter is its own majority.
  tallyPreVotes(node);
}

/**
 * Pre-vote receiver, whatever its role and term: grants iff the proposed term is above ours, we have not heard
 * from a live leader within the minimum election timeout (leader stickiness), and the candidate's log is at
 * least as up to date as ours (§5.4.1). Nothing changes here either way. A grant carries the proposed term, a
 * refusal ours — which tells a pre-candidate that is behind our term to catch up.
 */
export function handlePreVote(node: RaftNode, request: RequestVote): void {
  const grant = request.term > node.term && !heardFromLeaderRecently(node) && candidateLogOk(node, request);
  sendVoteReply(node, request, grant, grant ? request.term : node.term);
}

/**
 * Pre-candidate: records one answer to its pre-vote and acts on the tally. A grant counts only if it was for
 * the term we propose now (ours + 1); a refusal only if it carries our term (`RaftNode.step` has already made
 * us adopt a higher one, and dropped a lower one as stale). Duplicates count once.
 */
export function handlePreVoteReply(node: RaftNode, reply: RequestVoteReply): void {
  if (!node.preCandidate) return;
  const expectedTerm = reply.voteGranted ? node.term + 1 : node.term;
  if (reply.term !== expectedTerm || node.votes.has(reply.from)) return;
  node.votes.set(reply.from, reply.voteGranted);
  tallyPreVotes(node);
}

/** Won: start the real election (term + 1). Lost: back to waiting as a follower, in the same term. */
function tallyPreVotes(node: RaftNode): void {
  const result = tallyVotes(node.membership, node.votes);
  switch (result) {
    case "won":
      node.startElection();
      return;
    case "lost":
      // The election timer keeps running from the start of the pre-vote: we try again after a full timeout.
      node.becomeFollower(node.term, null);
      return;
    case "pending":
      return;
    default:
      unreachable(result);
  }
}
