import { majorityValue, type VoteResult, voteResult } from "./quorum.ts";
import type { NodeId } from "./types.ts";

/**
 * Cluster membership (Raft thesis chapter 4): who votes, who only receives the log, and the joint
 * configuration C_old,new that every change of voters passes through (§4.3).
 *
 * A configuration lives in the log as an entry of kind "membership" and takes effect on every node as soon as
 * that entry is in its log, committed or not (§4.1): a node always uses the latest one its log holds, so a
 * truncated configuration entry takes its configuration back with it. A snapshot records the configuration
 * in force at its last included index.
 *
 * Changes go one at a time. Any change of voters enters the joint configuration first — `voters` is C_new,
 * `outgoing` is C_old, and elections and commitment need a majority of each — and the leader leaves it on
 * its own, by appending C_new, as soon as the joint entry commits. Adding or removing a learner changes no
 * majority and takes one entry. A new member joins as a learner and is promoted once it has caught up, so it
 * never holds up commitment (§4.2.1).
 */
export interface Membership {
  /** The voting members; while joint, C_new. Never empty. */
  readonly voters: readonly NodeId[];
  /** While joint, the voters of C_old; empty otherwise. */
  readonly outgoing: readonly NodeId[];
  /** Non-voting members: they receive the log but neither vote nor count toward any majority. */
  readonly learners: readonly NodeId[];
}

/** One change a leader can be asked to make; see {@link planMembershipChange}. */
export type MembershipChange =
  /** A new node joins as a learner. */
  | { readonly type: "add-learner"; readonly node: NodeId }
  /** A learner that has caught up becomes a voter (through the joint configuration). */
  | { readonly type: "promote"; readonly node: NodeId }
  /** A voter (through the joint configuration) or a learner (directly) leaves. */
  | { readonly type: "remove"; readonly node: NodeId };

/** Why a membership change was refused. */
export type MembershipRefusal =
  | "not-leader"
  /** Leadership is being handed over (thesis §3.10); ask the new leader. */
  | "transferring"
  /**
   * A configuration entry is not committed yet, or the joint configuration has not been left yet, or this
   * leader has not committed an entry of its own term (before that it cannot know its configuration is the
   * cluster's).
   */
  | "change-in-progress"
  /** The node is already a member (add-learner) or not a learner (promote). */
  | "already-member"
  | "not-a-learner"
  | "not-a-member"
  /** The learner's log is behind the commit index: promoting it now would stall commitment. */
  | "not-caught-up"
  /** The change would leave no voter. */
  | "last-voter";

/** The outcome of {@link RaftNode.changeMembership}. Every refusal names the leader as this node knows it. */
export type MembershipChangeResult =
  | { readonly accepted: true; readonly index: number; readonly membership: Membership }
  | { readonly accepted: false; readonly reason: MembershipRefusal; readonly leader: NodeId | null };

/** A membership with the given voters and nothing else. */
export function membershipOf(voters: readonly NodeId[], learners: readonly NodeId[] = []): Membership {
  return { voters: [...voters], outgoing: [], learners: [...learners] };
}

export function isJoint(membership: Membership): boolean {
  return membership.outgoing.length > 0;
}

/** Every node whose vote counts in some majority: the voters, and while joint, the outgoing voters. */
export function votingMembers(membership: Membership): NodeId[] {
  const ids = [...membership.voters];
  for (const id of membership.outgoing) if (!ids.includes(id)) ids.push(id);
  return ids;
}

/** Every member: the voting members and the learners. */
export function allMembers(membership: Membership): NodeId[] {
  const ids = votingMembers(membership);
  for (const id of membership.learners) if (!ids.includes(id)) ids.push(id);
  return ids;
}

export function isVotingMember(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id) || membership.outgoing.includes(id);
}

export function isMember(membership: Membership, id: NodeId): boolean {
  return isVotingMember(membership, id) || membership.learners.includes(id);
}

/** The highest value a majority of `voters` has reached; none at all when there are no voters. */
function simpleMajorityValue(voters: readonly NodeId[], reached: (id: NodeId) => number): number {
  return voters.length === 0 ? Number.NEGATIVE_INFINITY : majorityValue(voters, reached);
}

/**
 * The highest value that a majority has reached, in the joint sense while joint (a majority of C_new and a
 * majority of C_old, §4.3): commit indexes, confirmed read rounds, lease starts.
 */
export function quorumValue(membership: Membership, reached: (id: NodeId) => number): number {
  const incoming = simpleMajorityValue(membership.voters, reached);
  if (!isJoint(membership)) return incoming;
  return Math.min(incoming, simpleMajorityValue(membership.outgoing, reached));
}

/** Whether the nodes for which `yes` holds form a quorum (of both configurations while joint). */
export function hasQuorum(membership: Membership, yes: (id: NodeId) => boolean): boolean {
  return quorumValue(membership, (id) => (yes(id) ? 1 : 0)) === 1;
}

/** Tallies votes (true granted, false refused, absent unanswered); while joint, both majorities must be won. */
export function tallyVotes(membership: Membership, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (membership.voters.length === 0) return "lost";
  const incoming = voteResult(membership.voters, votes);
  if (!isJoint(membership)) return incoming;
  const outgoing = voteResult(membership.outgoing, votes);
  if (incoming === "lost" || outgoing === "lost") return "lost";
  if (incoming === "won" && outgoing === "won") return "won";
  return "pending";
}

/**
 * The configuration that `change` leads to from the settled (not joint) `current`, or why it is refused.
 * A change of voters gives the joint configuration (C_new with C_old as `outgoing`); a change of learners
 * alone gives the new configuration directly. Whether the learner has caught up is the caller's to check.
 */
export function planMembershipChange(
  current: Membership,
  change: MembershipChange,
): Membership | MembershipRefusal {
  const { node } = change;
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== node);
  switch (change.type) {
    case "add-learner":
      if (isMember(current, node)) return "already-member";
      return { voters: current.voters, outgoing: [], learners: [...current.learners, node] };
    case "promote":
      if (!current.learners.includes(node)) return "not-a-learner";
      return {
        voters: [...current.voters, node],
        outgoing: current.voters,
        learners: without(current.learners),
      };
    case "remove":
      if (current.learners.includes(node)) {
        return { voters: current.voters, outgoing: [], learners: without(current.learners) };
      }
      if (!current.voters.includes(node)) return "not-a-member";
      if (current.voters.length === 1) return "last-voter";
      return { voters: without(current.voters), outgoing: current.voters, learners: current.learners };
  }
}

/** The configuration that leaving the joint `current` settles on: C_new alone. */
export function leaveJoint(current: Membership): Membership {
  return { voters: current.voters, outgoing: [], learners: current.learners };
}

export function sameMembership(a: Membership, b: Membership): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]) =>
    x.length === y.length && x.every((id) => y.includes(id));
  return same(a.voters, b.voters) && same(a.outgoing, b.outgoing) && same(a.learners, b.learners);
}

/** One line for logs and traces: `voters=[1,2,3]`, `voters=[1,2,4] outgoing=[1,2,3] learners=[5]`. */
export function describeMembership(membership: Membership): string {
  const list = (ids: readonly NodeId[]) => `[${ids.join(",")}]`;
  let text = `voters=${list(membership.voters)}`;
  if (isJoint(membership)) text += ` outgoing=${list(membership.outgoing)}`;
  if (membership.learners.length > 0) text += ` learners=${list(membership.learners)}`;
  return text;
}

// ---- encoding --------------------------------------------------------------------------------------------

/**
 * The bytes of a membership entry's `data`: the ASCII text of the JSON object
 * `{"voters":[..],"outgoing":[..],"learners":[..]}`. Text keeps the entries readable in a hex dump and the
 * core free of codec dependencies (and of TextEncoder, a host API: the text is plain ASCII, so each character
 * is one byte); the entries are rare and small. Decoding validates everything, since the bytes come from
 * storage or the network.
 */
export function encodeMembership(membership: Membership): Uint8Array {
  const { voters, outgoing, learners } = membership;
  const text = JSON.stringify({ voters, outgoing, learners });
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Decodes {@link encodeMembership}'s bytes; throws a RangeError naming what is wrong. */
export function decodeMembership(bytes: Uint8Array): Membership {
  let text = "";
  for (const byte of bytes) {
    if (byte >= 0x80) throw new RangeError("membership entry is not ASCII text");
    text += String.fromCharCode(byte);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RangeError(`membership entry is not valid JSON: ${String(error)}`);
  }
  if (typeof parsed !== "object" || parsed === null)
    throw new RangeError("membership entry is not an object");
  const field = (name: string): NodeId[] => {
    const value: unknown = Reflect.get(parsed, name);
    if (!Array.isArray(value) || !value.every((id) => Number.isSafeInteger(id) && id >= 0)) {
      throw new RangeError(`membership entry: ${name} is not a list of node ids`);
    }
    return value as NodeId[];
  };
  const membership = { voters: field("voters"), outgoing: field("outgoing"), learners: field("learners") };
  const problem = membershipProblem(membership);
  if (problem !== undefined) throw new RangeError(`membership entry: ${problem}`);
  return membership;
}

/** What makes `membership` impossible, or undefined when it is well formed. */
export function membershipProblem(membership: Membership): string | undefined {
  const { voters, outgoing, learners } = membership;
  const distinct = (ids: readonly NodeId[]) => new Set(ids).size === ids.length;
  if (voters.length === 0) return "no voters";
  if (!distinct(voters) || !distinct(outgoing) || !distinct(learners)) return "a node is listed twice";
  if (learners.some((id) => voters.includes(id) || outgoing.includes(id))) {
    return "a learner is also a voter";
  }
  return undefined;
}
