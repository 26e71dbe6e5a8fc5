import type { RequestVoteReply } from "./messages.ts";
import type { RaftNode } from "./raft.ts";

/** Candidate: records one vote of this term and acts on the tally (§5.2). Duplicated replies count once. */
export function handleVoteReply(node: RaftNode, reply: RequestVoteReply): void {
  if (node.votes.has(reply.from)) return;
  node.votes.set(reply.from, reply.voteGranted);
  node.tallyVotes();
}
