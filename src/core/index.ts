/** The Raft core: a pure, deterministic state machine. See DESIGN.md §2. */
export { PLANTED_BUGS, type PlantedBug, type RaftConfig, resolveConfig } from "./config.ts";
export type { TransferRefusal, TransferResult } from "./leader-transfer.ts";
export {
  allMembers,
  decodeMembership,
  describeMembership,
  encodeMembership,
  isJoint,
  isMember,
  isVotingMember,
  type Membership,
  type MembershipChange,
  type MembershipChangeResult,
  type MembershipRefusal,
  membershipOf,
  membershipProblem,
  votingMembers,
} from "./membership.ts";
export type {
  AppendEntries,
  AppendEntriesReply,
  InstallSnapshot,
  InstallSnapshotReply,
  Message,
  ReadIndex,
  ReadIndexReply,
  Reply,
  Request,
  RequestVote,
  RequestVoteReply,
  TimeoutNow,
} from "./messages.ts";
export { isRequest } from "./messages.ts";
export { type CompactResult, type ProposeResult, RaftNode } from "./raft.ts";
export { READS_OUTSTANDING_MAX, type ReadIndexResult, type ReadState } from "./read-only.ts";
export type { Ready } from "./ready.ts";
export * from "./types.ts";
