import { assert } from "../util/assert.ts";
import type { RaftNode } from "./raft.ts";
import { sendAppendNow } from "./step-leader.ts";
import type { NodeId } from "./types.ts";

/**
 * Leadership transfer (Raft thesis §3.10), the way etcd-raft does it (MsgTransferLeader, MsgTimeoutNow):
 *
 * 1. The leader records the target and stops taking proposals, so its log stops growing.
 * 2. It brings the target up to date with the usual replication, sending it entries at once.
 * 3. As soon as the target's match index reaches the leader's last index, it sends the target
 *    a TimeoutNow message.
 * 4. The target starts a real election at once (term + 1), without a pre-vote, and its vote requests carry
 *    `transfer`, which gets them past leader stickiness (thesis §4.2.3). Its log is as up to date as any, so
 *    it wins unless a message is lost; the old leader steps down on seeing the higher term, as for any
 *    election. The voters still apply the election restriction (§5.4.1): a TimeoutNow delayed past its
 *    transfer's abort may start an election, but one the target wins only if its log is still up to date.
 *    Such a late election deposes the leader either way — its term is higher — so when the target has
 *    fallen behind meanwhile and loses, the cluster has no leader until the next election timeout. etcd-raft
 *    has the same window; it is the price of letting a transfer skip stickiness and pre-vote.
 *
 * A transfer that has not completed within one election timeout (`electionTicks`) is aborted and the leader
 * takes proposals again: the target may be down or cut off. Any change of role ends the transfer too.
 */

/** Why {@link RaftNode.transferLeader} refused. */
export type TransferRefusal =
  /** This node is not the leader; `leader` is the one it knows, if any. Followers forward nothing. */
  | "not-leader"
  /** The target is not a voter of this cluster. */
  | "unknown-target"
  /** The target is this node, which leads already. */
  | "target-is-self"
  /** A transfer to this same target is under way; it goes on with its own deadline, not a new one. */
  | "transfer-in-progress";

/** The outcome of {@link RaftNode.transferLeader}. Every refusal names the leader as this node knows it. */
export type TransferResult =
  /** The transfer started; `target` should lead within an election timeout, or the transfer is aborted. */
  | { readonly accepted: true; readonly target: NodeId }
  | { readonly accepted: false; readonly reason: TransferRefusal; readonly leader: NodeId | null };

/** Leader: starts handing leadership to `target`, or says why not. See {@link RaftNode.transferLeader}. */
export function startTransfer(node: RaftNode, target: NodeId): TransferResult {
  if (node.role !== "leader") return { accepted: false, reason: "not-leader", leader: node.leader };
  if (target === node.id) return { accepted: false, reason: "target-is-self", leader: node.id };
  const progress = node.progress.get(target);
  if (progress === undefined || !node.membership.voters.includes(target)) {
    return { accepted: false, reason: "unknown-target", leader: node.id };
  }
  if (node.transferTarget === target) {
    return { accepted: false, reason: "transfer-in-progress", leader: node.id };
  }
  // A transfer to another target is replaced: its deadline starts over with the new one.
  node.transferTarget = target;
  node.transferElapsed = 0;
  if (progress.match === node.log.lastIndex()) {
    sendTimeoutNow(node, target);
    return { accepted: true, target };
  }
  // Entries counted as in flight to a behind target may have been lost; probing resends from its match index
  // now instead of after the heartbeat round that would notice.
  if (progress.state === "replicate") progress.becomeProbe();
  sendAppendNow(node, target, progress);
  return { accepted: true, target };
}

/**
 * Leader, after an acknowledgement from `from`: if `from` is the transfer target and now holds our whole log,
 * tells it to campaign. Every such acknowledgement (heartbeat answers included) sends one again while the
 * transfer lasts, so a lost TimeoutNow is made good at the next heartbeat; a duplicate reaching the target
 * after it raised its term is stale and dropped.
 */
export function maybeSendTimeoutNow(node: RaftNode, from: NodeId): void {
  if (node.role !== "leader" || node.transferTarget !== from) return;
  const progress = node.progress.get(from);
  assert(progress !== undefined, () => `maybeSendTimeoutNow: no progress for transfer target ${from}`);
  if (progress.match === node.log.lastIndex()) sendTimeoutNow(node, from);
}

/** Leader's tick: aborts a transfer that has lasted an election timeout, so proposals are taken again. */
export function tickTransfer(node: RaftNode): void {
  if (node.transferTarget === null) return;
  node.transferElapsed++;
  if (node.transferElapsed >= node.config.electionTicks) abortTransfer(node);
}

/** Forgets the transfer in progress, if any. */
export function abortTransfer(node: RaftNode): void {
  node.transferTarget = null;
  node.transferElapsed = 0;
}

/**
 * A TimeoutNow of our term: the leader chose us. A follower (pre-candidate included) starts the
 * election at once, skipping the pre-vote; a candidate of this term is campaigning already.
 */
export function handleTimeoutNow(node: RaftNode): void {
  if (node.role !== "follower" || !node.mayCampaign()) return;
  node.startElection({ transfer: true });
}

/** Tells `to` to campaign at once, past leader stickiness (see above). */
export function sendTimeoutNow(node: RaftNode, to: NodeId): void {
  // The target may now be elected past leader stickiness: no read lease can be trusted in this term any more.
  node.leaseRevoked = true;
  node.send({ type: "TimeoutNow", from: node.id, to, term: node.term });
}
