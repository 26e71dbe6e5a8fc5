import {
  asIndex,
  isJoint,
  isVotingMember,
  type LogIndex,
  type Membership,
  type MembershipChange,
  type MembershipRefusal,
  type NodeId,
} from "../core/index.ts";
import type { MemberAddresses } from "./command.ts";
import type { KvService, ServiceError } from "./kv-service.ts";

/**
 * Membership changes as an operator asks for them (Raft thesis §4), on top of the core's one-step changes:
 * record the new member's addresses through the log, add it as a learner, wait for it to catch up, promote
 * it; or remove a member; each call resolves once the resulting configuration is committed and settled (the
 * joint configuration left). Only the leader can do any of it; elsewhere the answer is `not-leader`.
 */

/** The outcome of a membership operation. */
export type MemberOutcome =
  | { readonly ok: true; readonly membership: Membership; readonly index: LogIndex }
  | ServiceError
  /** The core refused the change (see MembershipRefusal), or the learner did not catch up in time. */
  | { readonly error: "refused"; readonly reason: MembershipRefusal };

/** How the operations wait. */
export interface MemberAdminOptions {
  /** How often to look whether a change has settled, or to retry a promotion, in clock milliseconds. */
  readonly pollMs: number;
  /** How long one operation may take in all, in clock milliseconds. */
  readonly timeoutMs: number;
}

export const DEFAULT_MEMBER_ADMIN_OPTIONS: MemberAdminOptions = { pollMs: 20, timeoutMs: 30_000 };

/**
 * Adds `node`: records its addresses in the replicated address book, so every member can reach it, then adds
 * it as a learner, and unless `learnerOnly`, promotes it to voter once it has caught up (thesis §4.2.1).
 */
export async function addMember(
  service: KvService,
  node: NodeId,
  addresses: MemberAddresses,
  learnerOnly: boolean,
  options: MemberAdminOptions = DEFAULT_MEMBER_ADMIN_OPTIONS,
): Promise<MemberOutcome> {
  const recorded = await service.execute({ kind: "set-member", node, ...addresses });
  if ("error" in recorded) return recorded;
  // Idempotent, so that a client may retry after a timeout: a node already added is not added again.
  const current = service.peer.node.membership;
  if (!current.learners.includes(node) && !isVotingMember(current, node)) {
    const added = await changeAndSettle(service, { type: "add-learner", node }, options);
    if (!("ok" in added)) return added;
  }
  if (learnerOnly || isVotingMember(service.peer.node.membership, node)) return settled(service);
  return promoteMember(service, node, options);
}

/**
 * Promotes the learner `node` to voter through the joint configuration. While it is still catching up (or the
 * previous change is still settling) the request is retried every `pollMs` until `timeoutMs`.
 */
export async function promoteMember(
  service: KvService,
  node: NodeId,
  options: MemberAdminOptions = DEFAULT_MEMBER_ADMIN_OPTIONS,
): Promise<MemberOutcome> {
  const deadline = service.clock.now() + options.timeoutMs;
  for (;;) {
    const outcome = await changeAndSettle(service, { type: "promote", node }, options);
    const retry =
      "error" in outcome &&
      outcome.error === "refused" &&
      (outcome.reason === "not-caught-up" || outcome.reason === "change-in-progress");
    if (!retry || service.clock.now() + options.pollMs > deadline) return outcome;
    await sleep(service, options.pollMs);
  }
}

/** Removes `node` (a voter through the joint configuration, a learner directly). A removed leader steps down. */
export function removeMember(
  service: KvService,
  node: NodeId,
  options: MemberAdminOptions = DEFAULT_MEMBER_ADMIN_OPTIONS,
): Promise<MemberOutcome> {
  return changeAndSettle(service, { type: "remove", node }, options);
}

/**
 * Makes one change and waits until the configuration it leads to is committed and settled: the change's
 * entry (and for a change of voters, the leader's entry leaving the joint configuration) is committed.
 */
async function changeAndSettle(
  service: KvService,
  change: MembershipChange,
  options: MemberAdminOptions,
): Promise<MemberOutcome> {
  if (service.peer.stopped) return { error: "stopped" };
  const result = service.peer.changeMembership(change);
  if (!result.accepted) {
    if (result.reason === "not-leader" || result.reason === "transferring") {
      return { error: "not-leader", leader: result.leader };
    }
    return { error: "refused", reason: result.reason };
  }
  const node = service.peer.node;
  const term = node.term;
  const deadline = service.clock.now() + options.timeoutMs;
  for (;;) {
    if (service.peer.stopped) return { error: "stopped" };
    if (node.log.term(asIndex(result.index)) !== term && node.log.offset < result.index) {
      // Our entry was overwritten by another leader's: the change did not happen.
      return { error: "lost-leadership", leader: node.leader };
    }
    const membership = node.membership;
    if (
      node.log.committed >= node.membershipIndex() &&
      !isJoint(membership) &&
      node.log.committed >= result.index
    ) {
      return { ok: true, membership, index: node.membershipIndex() };
    }
    if (service.clock.now() >= deadline) return { error: "timeout" };
    await sleep(service, options.pollMs);
  }
}

/** The configuration in force, as a success. */
function settled(service: KvService): MemberOutcome {
  const node = service.peer.node;
  return { ok: true, membership: node.membership, index: node.membershipIndex() };
}

function sleep(service: KvService, ms: number): Promise<void> {
  return service.clock.sleep(ms);
}
