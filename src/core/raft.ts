import { assert, unreachable } from "../util/assert.ts";
import { type RaftConfig, type ResolvedRaftConfig, resolveConfig } from "./config.ts";
import {
  abortTransfer,
  handleTimeoutNow,
  maybeSendTimeoutNow,
  sendTimeoutNow,
  startTransfer,
  type TransferResult,
  tickTransfer,
} from "./leader-transfer.ts";
import {
  allMembers,
  decodeMembership,
  encodeMembership,
  isJoint,
  isVotingMember,
  leaveJoint,
  type Membership,
  type MembershipChange,
  type MembershipChangeResult,
  membershipOf,
  planMembershipChange,
  tallyVotes,
  votingMembers,
} from "./membership.ts";
import { isRequest, type Message } from "./messages.ts";
import { handlePreVote, handlePreVoteReply, startPreVote } from "./pre-vote.ts";
import { RaftLog } from "./raft-log.ts";
import { acceptRead, type ReadIndexResult, ReadOnlyState, startRound } from "./read-only.ts";
import type { Ready } from "./ready.ts";
import { handleVoteReply } from "./step-candidate.ts";
import {
  handleAppendEntries,
  handleInstallSnapshot,
  handleRequestVote,
  ignoresForLeaderStickiness,
  rejectStaleRequest,
  sendVoteReply,
} from "./step-follower.ts";
import {
  announceCommit,
  broadcastAppend,
  broadcastHeartbeat,
  handleAppendReply,
  handleSnapshotReply,
  maybeCommit,
  maybeStepDown,
  noteActive,
  tickFollowers,
} from "./step-leader.ts";
import { Progress } from "./tracker/progress.ts";
import {
  asIndex,
  asTerm,
  type HardState,
  type LogIndex,
  type NodeId,
  type Role,
  type Snapshot,
  type SoftState,
  type Term,
} from "./types.ts";

/**
 * The outcome of {@link RaftNode.propose}. Every refusal names a node to try instead: the leader this node
 * knows of ("not-leader"), or, while this leader hands over leadership ("transferring", thesis §3.10), the
 * transfer's target, the likely next leader.
 */
export type ProposeResult =
  | { readonly accepted: true; readonly index: LogIndex; readonly term: Term }
  | { readonly accepted: false; readonly reason: "not-leader"; readonly leader: NodeId | null }
  | { readonly accepted: false; readonly reason: "transferring"; readonly leader: NodeId };

/** The outcome of {@link RaftNode.compact}. */
export type CompactResult =
  | { readonly compacted: true }
  | { readonly compacted: false; readonly reason: "already-compacted" | "not-applied" };

/**
 * The Raft algorithm as a pure state machine (model: etcd-io/raft). It never reads a clock, draws no
 * randomness but from its seeded config, and does no I/O: time comes in through {@link tick}, messages
 * through {@link step}, client commands through {@link propose}, and everything it wants done comes out as a
 * {@link Ready} that the driver carries out and acknowledges with {@link advance}.
 *
 * Role-specific handling lives in step-follower.ts, step-candidate.ts and step-leader.ts; PreVote (thesis §9.6)
 * in pre-vote.ts; leadership transfer (§3.10) in leader-transfer.ts; ReadIndex and lease reads (§6.4) in
 * read-only.ts; membership changes (chapter 4) in membership.ts and the membership section below. CheckQuorum and leader stickiness (thesis
 * §6.2, §4.2.3) are spread over `tick`, `step`, step-leader.ts (`noteActive`, `maybeStepDown`) and
 * step-follower.ts (`heardFromLeaderRecently`).
 */
export class RaftNode {
  readonly config: ResolvedRaftConfig;
  readonly id: NodeId;
  /** currentTerm (Figure 2). */
  term: Term;
  /** votedFor (Figure 2): whom this node voted for in `term`. */
  vote: NodeId | null;
  role: Role = "follower";
  /**
   * A follower running a pre-vote for term + 1 (thesis §9.6, see pre-vote.ts). Invariant: only with role
   * "follower" and no known leader. Volatile, and invisible in SoftState: to the outside a pre-candidate is a
   * follower, since its term and vote are unchanged.
   */
  preCandidate = false;
  /** The leader of `term` as far as this node knows. */
  leader: NodeId | null = null;
  readonly log: RaftLog;
  /**
   * Followers and candidates: ticks since the last valid leader contact, vote granted, or start of a (pre-)
   * campaign. Leaders: ticks since the last quorum check (CheckQuorum), always below electionTicks.
   */
  electionElapsed = 0;
  /** Ticks this node has seen since it started; the clock of lease reads. */
  ticks = 0;
  /**
   * Lease reads: the node counts its start as contact with a leader, so it refuses to help elect anyone for an
   * election timeout after a restart as it would have before (see `heardFromLeaderRecently`). Cleared when its
   * election timer restarts or it campaigns.
   */
  leaderContactAssumed: boolean;
  /** Leader: it sent TimeoutNow in this term, so it holds no read lease any more (see read-only.ts). */
  leaseRevoked = false;
  /** Ticks since the last heartbeat round (leader). */
  heartbeatElapsed = 0;
  /** This term's election timeout in ticks, in [electionTicks, electionTicks + electionJitterTicks]. */
  randomizedElectionTimeout: number;
  /** Candidate: votes received in this term; pre-candidate: pre-votes (true granted, false refused). */
  readonly votes = new Map<NodeId, boolean>();
  /** Leader: replication state of every member (learners included), this node always among them. */
  readonly progress = new Map<NodeId, Progress>();
  /**
   * Leader: the voter it is handing leadership to (thesis §3.10, see leader-transfer.ts), or null. While set,
   * proposals are refused. Invariant: null unless role is "leader".
   */
  transferTarget: NodeId | null = null;
  /** Leader: ticks since the transfer to {@link transferTarget} began; it is aborted at electionTicks. */
  transferElapsed = 0;
  /** Leader: reads waiting for confirmation (thesis §6.4); any role: confirmed reads to hand out. */
  readonly readOnly = new ReadOnlyState();
  /** Outgoing requests, sent before persisting. */
  messages: Message[] = [];
  /** Outgoing replies, sent only after persisting. */
  messagesAfterPersist: Message[] = [];

  #readyInFlight = false;
  #lastReadyHardState: HardState;
  #durableHardState: HardState;
  #lastSoftState: SoftState;
  #snapshotToApply: Snapshot | null = null;
  /** The configuration of RaftConfig, in force while neither the log nor the snapshot holds one. */
  readonly #startingMembership: Membership;
  /** The latest decoded configuration and the bytes it was decoded from (decoding is done once per entry). */
  #membershipCache: { readonly bytes: Uint8Array | undefined; readonly membership: Membership };
  /** Leader: proposals were appended since the last Ready and have not been sent yet. */
  #appendPending = false;
  /**
   * Leader: the commit index advanced. Followers that can use it hear of it at the next tick, unless new
   * entries (which carry the commit index too) reach them first: prompt without doubling the messages when
   * proposals keep coming.
   */
  commitAnnouncePending = false;

  constructor(config: RaftConfig) {
    this.config = resolveConfig(config);
    this.id = this.config.id;
    const { hardState } = this.config.initialState;
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.log = new RaftLog(this.config.initialState);
    this.#startingMembership = membershipOf(this.config.voters, this.config.learners);
    this.#membershipCache = { bytes: undefined, membership: this.#startingMembership };
    this.#lastReadyHardState = this.hardState();
    this.#durableHardState = this.#lastReadyHardState;
    this.#lastSoftState = this.softState();
    this.randomizedElectionTimeout = this.#drawElectionTimeout();
    this.leaderContactAssumed = this.config.leaseReads;
  }

  // ---- inputs ------------------------------------------------------------------------------------------

  /** Advances logical time by one tick: followers and candidates count toward an election, leaders heartbeat. */
  tick(): void {
    this.ticks++;
    if (this.role === "leader") {
      tickTransfer(this);
      this.electionElapsed++;
      if (this.electionElapsed >= this.config.electionTicks) {
        this.electionElapsed = 0;
        if (this.config.checkQuorum && maybeStepDown(this)) return;
      }
      this.heartbeatElapsed++;
      const round = this.heartbeatElapsed >= this.config.heartbeatTicks;
      if (round) this.heartbeatElapsed = 0;
      // Lease reads renew the lease with every heartbeat interval's messages: each interval is a new round.
      if (round && this.config.leaseReads) startRound(this);
      tickFollowers(this, round);
      // After the heartbeats, which carry the commit index too: a follower that just got one needs no other.
      if (this.commitAnnouncePending) {
        this.commitAnnouncePending = false;
        announceCommit(this);
      }
      return;
    }
    this.electionElapsed++;
    // Learners and nodes outside the configuration do not campaign (thesis §4.2.1; see mayCampaign); they keep
    // counting so that leader stickiness still knows how long ago they heard from a leader.
    if (this.electionElapsed >= this.randomizedElectionTimeout && this.mayCampaign()) {
      this.campaign();
    }
  }

  /** Processes one message from another node. */
  step(message: Message): void {
    assert(message.to === this.id, () => `step: message for ${message.to} delivered to ${this.id}`);
    // Messages are processed whoever sends them, member or not (thesis §4.1): a new member must accept its
    // first AppendEntries before its log tells it that it is one, and a node may still be asked to vote by
    // one whose log holds a configuration ours does not have yet.
    if (this.#stepKeepingTerm(message)) return;
    if (message.term > this.term) {
      // Figure 2, all servers: a higher term means we are out of date. A leader's message also names the leader.
      const fromLeader =
        message.type === "AppendEntries" ||
        message.type === "InstallSnapshot" ||
        message.type === "TimeoutNow";
      this.becomeFollower(message.term, fromLeader ? message.from : null);
    } else if (message.term < this.term) {
      // A stale request still gets an answer with our term, so its sender learns it is out of date; stale
      // replies are dropped.
      if (isRequest(message)) rejectStaleRequest(this, message);
      return;
    }
    if (this.role === "leader") noteActive(this, message.from);
    switch (message.type) {
      case "RequestVote":
        handleRequestVote(this, message);
        return;
      case "RequestVoteReply":
        // Pre-vote answers never count as votes, nor votes as pre-votes: a pre-vote won for term t + 1 and the
        // real election of t + 1 carry the same term.
        if (message.preVote === true) handlePreVoteReply(this, message);
        else if (this.role === "candidate") handleVoteReply(this, message);
        return;
      case "AppendEntries":
        handleAppendEntries(this, message);
        return;
      case "AppendEntriesReply":
        if (this.role !== "leader") return;
        handleAppendReply(this, message);
        if (message.success) maybeSendTimeoutNow(this, message.from);
        return;
      case "InstallSnapshot":
        handleInstallSnapshot(this, message);
        return;
      case "InstallSnapshotReply":
        if (this.role !== "leader") return;
        handleSnapshotReply(this, message);
        maybeSendTimeoutNow(this, message.from);
        return;
      case "ReadIndex":
        // A refused read (too many outstanding) gets no answer: the follower's caller times out and retries.
        if (this.role === "leader") acceptRead(this, message.requestId, message.from);
        return;
      case "ReadIndexReply":
        if (this.role === "follower" && this.leader === message.from) {
          this.readOnly.readStates.push({ requestId: message.requestId, index: message.index });
        }
        return;
      case "TimeoutNow":
        handleTimeoutNow(this);
        return;
      default:
        unreachable(message);
    }
  }

  /**
   * Handles the election messages whose term must not be adopted, and returns true if `message` was one:
   * - a pre-vote request, whose term is only proposed (thesis §9.6): answered without any change;
   * - a granted pre-vote, which carries that proposed term back;
   * - with CheckQuorum, a vote request of a higher term while we hear from a live leader (leader stickiness,
   *   thesis §4.2.3): refused without adopting its term — unless it is a leadership transfer's (§3.10).
   * Refused pre-votes carry the responder's real term and go through the usual term rules.
   */
  #stepKeepingTerm(message: Message): boolean {
    if (message.type === "RequestVote") {
      if (message.preVote === true) {
        handlePreVote(this, message);
        return true;
      }
      if (ignoresForLeaderStickiness(this, message)) {
        sendVoteReply(this, message, false, this.term);
        return true;
      }
      return false;
    }
    if (message.type === "RequestVoteReply" && message.preVote === true && message.voteGranted) {
      handlePreVoteReply(this, message);
      return true;
    }
    return false;
  }

  /**
   * Asks to append a command to the log. Only a leader accepts, and not while it hands over leadership (its
   * log must stop growing for the target to catch up, thesis §3.10); the entry may still never commit.
   */
  propose(data: Uint8Array): ProposeResult {
    if (this.role !== "leader") return { accepted: false, reason: "not-leader", leader: this.leader };
    if (this.transferTarget !== null) {
      return { accepted: false, reason: "transferring", leader: this.transferTarget };
    }
    const index = asIndex(this.log.lastIndex() + 1);
    this.log.appendAtEnd([{ index, term: this.term, data }]);
    // Sent with the next Ready, so that proposals arriving together travel in one AppendEntries per follower.
    this.#appendPending = true;
    return { accepted: true, index, term: this.term };
  }

  /**
   * Asks for a read index (thesis §6.4): when it is confirmed, a {@link ReadState} with `requestId` comes out
   * in a later Ready, and the caller may answer the read from its state machine once it has applied that
   * index. A follower forwards the request to its leader. Reads that cannot be confirmed (the leader lost
   * office, a message was lost) never come out: the caller needs a timeout.
   */
  readIndex(requestId: number): ReadIndexResult {
    if (this.role === "leader") return acceptRead(this, requestId, this.id);
    if (this.leader === null) return { accepted: false, reason: "no-leader" };
    this.send({ type: "ReadIndex", from: this.id, to: this.leader, term: this.term, requestId });
    return { accepted: true };
  }

  /**
   * Leader: hands leadership to the voter `target` (thesis §3.10, see leader-transfer.ts). Proposals are
   * refused from now until the transfer ends: `target` wins an election at term + 1 (this node then steps down
   * as usual), or an election timeout passes without that and the transfer is aborted. A second call with the
   * same target changes nothing; with another target it replaces the first. A follower forwards nothing: it
   * refuses with the leader it knows, for the caller to ask there.
   */
  transferLeader(target: NodeId): TransferResult {
    return startTransfer(this, target);
  }

  /**
   * Does what an election timeout does, now: with `preVote`, start a pre-vote (thesis §9.6), which starts the
   * election only if a majority would vote for us; without, start the election (§5.2). A leader has nothing to
   * campaign for.
   */
  campaign(): void {
    if (this.role === "leader" || !this.mayCampaign()) return;
    if (this.config.preVote) startPreVote(this);
    else this.startElection();
  }

  /**
   * Starts a real election (§5.2): next term, vote for ourselves, ask every other voter. Called by
   * {@link campaign}, by a won pre-vote, and on a leader's TimeoutNow (thesis §3.10): that one skips the
   * pre-vote and sets `transfer` on its requests, which gets them past leader stickiness
   * (`ignoresForLeaderStickiness`).
   */
  startElection(options: { readonly transfer?: boolean } = {}): void {
    this.becomeCandidate();
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    const transfer = options.transfer === true ? ({ transfer: true } as const) : {};
    for (const to of votingMembers(this.membership)) {
      if (to === this.id) continue;
      this.send({
        type: "RequestVote",
        from: this.id,
        to,
        term: this.term,
        lastLogIndex,
        lastLogTerm,
        ...transfer,
      });
    }
  }

  /**
   * The state machine has captured everything through `index` in `data` (§7): drop the log through it. The
   * snapshot is persisted with the next Ready. Only applied entries can be compacted.
   */
  compact(index: LogIndex, data: Uint8Array): CompactResult {
    if (index <= this.log.offset) return { compacted: false, reason: "already-compacted" };
    if (index > this.log.applied) return { compacted: false, reason: "not-applied" };
    const term = this.log.term(index);
    assert(term !== undefined, () => `compact: no term for applied index ${index}`);
    // The snapshot replaces the configuration entries it covers, so it records the one in force at its end.
    const membership = this.log.membershipAt(index)?.bytes;
    const meta = membership === undefined ? { index, term } : { index, term, membership };
    this.log.installSnapshot({ meta, data });
    return { compacted: true };
  }

  // ---- role changes ------------------------------------------------------------------------------------

  /**
   * Becomes a follower of `leader` (null if unknown) in `term`. The election timer keeps running: Figure 2
   * restarts it only on hearing from the current leader or granting a vote, which the handlers of those
   * messages do. Restarting it on every higher term would let a candidate with a stale log, campaigning
   * again and again, hold off the election timeout of the one node that could win — a livelock found by
   * Figure8Unreliable2C (seeds 285, 385, 572). A leader steps down with a fresh timer, since it was not
   * counting.
   */
  becomeFollower(term: Term, leader: NodeId | null): void {
    if (this.role === "leader") this.#resetTimers();
    if (term > this.term) {
      this.term = term;
      this.vote = null;
    }
    if (this.role !== "follower" || this.leader !== leader) this.readOnly.reset();
    abortTransfer(this);
    this.role = "follower";
    this.preCandidate = false;
    this.leader = leader;
    this.votes.clear();
    this.progress.clear();
  }

  becomeCandidate(): void {
    assert(this.role !== "leader", "becomeCandidate: a leader does not campaign");
    this.term = asTerm(this.term + 1);
    this.vote = this.id;
    abortTransfer(this);
    this.role = "candidate";
    this.preCandidate = false;
    this.leader = null;
    this.readOnly.reset();
    this.#resetTimers();
    this.votes.clear();
    this.progress.clear();
    // Our own vote counts only once it is durable (see advance): otherwise a crash could let us vote twice.
    this.#countDurableSelfVote();
  }

  /**
   * Becomes a pre-candidate (thesis §9.6): a follower that knows no leader and asks for pre-votes. Nothing
   * persisted changes (term, vote), so a candidate whose election timed out keeps its vote for itself. The
   * election timer restarts with a fresh draw, as for a real campaign. Our own pre-vote counts at once: unlike
   * a real vote it promises nothing that must first be durable.
   */
  becomePreCandidate(): void {
    assert(this.role !== "leader", "becomePreCandidate: a leader does not campaign");
    abortTransfer(this);
    this.role = "follower";
    this.preCandidate = true;
    this.leader = null;
    this.readOnly.reset();
    this.#resetTimers();
    this.votes.clear();
    this.progress.clear();
    this.votes.set(this.id, true);
  }

  becomeLeader(): void {
    assert(this.role === "candidate", "becomeLeader: only a candidate can win");
    abortTransfer(this);
    this.leaseRevoked = false;
    this.role = "leader";
    this.leader = this.id;
    this.readOnly.reset();
    this.#resetTimers();
    this.votes.clear();
    const self = new Progress(asIndex(this.log.lastIndex() + 1), this.config.inflightMessagesMax);
    self.match = this.log.stableIndex;
    self.becomeReplicate();
    this.progress.set(this.id, self);
    this.syncProgress();
    if (this.config.noopOnElection) {
      const next = asIndex(this.log.lastIndex() + 1);
      this.log.appendAtEnd([{ index: next, term: this.term, data: new Uint8Array(0) }]);
    }
    // A joint configuration committed under an earlier leader is left by this one (thesis §4.3).
    this.settleMembership();
    // Announce the win at once (§5.2) instead of waiting for the first heartbeat interval.
    broadcastAppend(this, { evenIfEmpty: true });
  }

  // ---- output ------------------------------------------------------------------------------------------

  /** Queues a message: requests may leave at once, replies wait until the state they report is durable. */
  send(message: Message): void {
    if (!promisesDurability(message) || this.config.plantedBug === "ack-before-persist") {
      this.messages.push(message);
    } else {
      this.messagesAfterPersist.push(message);
    }
    if (message.type === "AppendEntries" || message.type === "InstallSnapshot") {
      const progress = this.progress.get(message.to);
      if (progress !== undefined) progress.idleTicks = 0;
    }
  }

  /**
   * Restarts the election timer with a freshly drawn timeout, as Figure 2 asks on hearing from the current
   * leader or granting a vote: a new random draw each time keeps nodes from staying in lockstep after a
   * split vote.
   */
  restartElectionTimer(): void {
    this.leaderContactAssumed = false;
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.#drawElectionTimeout();
  }

  hardState(): HardState {
    const vote = this.config.plantedBug === "forget-vote" ? null : this.vote;
    return { term: this.term, vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }

  /** Whether {@link ready} has anything to hand out. */
  hasReady(): boolean {
    if (this.#readyInFlight) return false;
    return (
      this.#appendPending ||
      this.readOnly.roundPending ||
      this.readOnly.readStates.length > 0 ||
      this.messages.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.log.unstableSnapshot !== null ||
      this.log.stableIndex < this.log.lastIndex() ||
      this.log.committed > this.log.applied ||
      !sameHardState(this.hardState(), this.#lastReadyHardState) ||
      !sameSoftState(this.softState(), this.#lastSoftState)
    );
  }

  /** Hands out the pending work. The previous Ready must have been acknowledged with {@link advance}. */
  ready(): Ready {
    assert(!this.#readyInFlight, "ready: the previous Ready has not been advanced");
    this.#readyInFlight = true;
    if (this.#appendPending) {
      this.#appendPending = false;
      if (this.role === "leader") broadcastAppend(this);
    }
    if (this.readOnly.roundPending) {
      // Start the round the reads taken on since the last Ready wait for: one heartbeat per follower.
      this.readOnly.roundPending = false;
      startRound(this);
      if (this.role === "leader") broadcastHeartbeat(this);
    }

    const hardState = this.hardState();
    const softState = this.softState();
    const snapshot = this.log.unstableSnapshot;
    const rd: Ready = {
      ...(sameSoftState(softState, this.#lastSoftState) ? {} : { softState }),
      ...(sameHardState(hardState, this.#lastReadyHardState) ? {} : { hardState }),
      ...(snapshot === null ? {} : { snapshot }),
      ...(this.#snapshotToApply === null ? {} : { snapshotToApply: this.#snapshotToApply }),
      entries: this.log.unstableEntries(),
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      committedEntries: this.log.committedToApply(),
      readStates: this.readOnly.readStates,
    };
    this.#lastSoftState = softState;
    this.#lastReadyHardState = hardState;
    this.messages = [];
    this.messagesAfterPersist = [];
    this.readOnly.readStates = [];
    this.#snapshotToApply = null;
    return rd;
  }

  /** Acknowledges that a Ready was carried out: persisted, sent and applied. */
  advance(rd: Ready): void {
    assert(this.#readyInFlight, "advance: no Ready in flight");
    this.#readyInFlight = false;
    if (rd.hardState !== undefined) this.#durableHardState = rd.hardState;
    if (rd.snapshot !== undefined && this.log.unstableSnapshot === rd.snapshot)
      this.log.unstableSnapshot = null;
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) this.log.stableTo(lastEntry.index, lastEntry.term);
    if (rd.snapshotToApply !== undefined) this.log.appliedTo(rd.snapshotToApply.meta.index);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);

    if (this.role === "candidate") {
      this.#countDurableSelfVote();
    } else if (this.role === "leader") {
      // The leader counts toward a commit majority only with entries it has itself persisted.
      const self = this.progress.get(this.id);
      assert(self !== undefined, "advance: leader without its own progress");
      if (self.maybeUpdate(this.log.stableIndex)) maybeCommit(this);
    }
  }

  /** Hands a snapshot received from the leader to the state machine with the next Ready. */
  setSnapshotToApply(snapshot: Snapshot): void {
    this.#snapshotToApply = snapshot;
  }

  // ---- membership (thesis §4, see membership.ts) ---------------------------------------------------------

  /** The configuration in force: the latest in the log, else the snapshot's, else the starting one (§4.1). */
  get membership(): Membership {
    const bytes = this.log.latestMembership()?.bytes;
    if (bytes !== this.#membershipCache.bytes) {
      const membership = bytes === undefined ? this.#startingMembership : decodeMembership(bytes);
      this.#membershipCache = { bytes, membership };
    }
    return this.#membershipCache.membership;
  }

  /** The index of the entry that set the configuration in force (the snapshot's, or 0 for the starting one). */
  membershipIndex(): LogIndex {
    return this.log.latestMembership()?.index ?? asIndex(0);
  }

  /** Whether this node's vote counts in the configuration in force (C_old or C_new while joint). */
  isVoter(): boolean {
    return isVotingMember(this.membership, this.id);
  }

  /**
   * Whether this node may campaign: it votes in the configuration in force, or in the latest one it knows
   * committed. The second case is a leader that removed itself and stepped down (CheckQuorum) before its C_new
   * committed: it alone may hold the entry leaving the joint configuration, so the others, still joint, need
   * its vote, which it refuses them (their logs are shorter); it must be able to win instead, finish
   * committing C_new and hand over (found by the key-value simulator, seeds 3102, 6654, 7010). Counting its
   * votes in its latest configuration stays safe: that is what every candidate does (thesis §4.1).
   */
  mayCampaign(): boolean {
    if (this.isVoter()) return true;
    const committed = this.log.membershipAt(this.log.committed)?.bytes;
    if (committed === this.log.latestMembership()?.bytes) return false;
    const membership = committed === undefined ? this.#startingMembership : decodeMembership(committed);
    return isVotingMember(membership, this.id);
  }

  /**
   * Leader: makes one membership change (thesis §4, see membership.ts) by appending its configuration entry,
   * which takes effect at once. Refused unless the configuration in force is settled and committed and this
   * leader has committed an entry of its own term — one change at a time — and, for a promotion, unless the
   * learner holds every committed entry and is being replicated to normally (§4.2.1: it must not hold up
   * commitment once it votes). A change of voters enters the joint configuration; the leader leaves it by
   * itself once it commits.
   */
  changeMembership(change: MembershipChange): MembershipChangeResult {
    if (this.role !== "leader") return { accepted: false, reason: "not-leader", leader: this.leader };
    if (this.transferTarget !== null) {
      return { accepted: false, reason: "transferring", leader: this.transferTarget };
    }
    const refuse = (reason: Exclude<MembershipChangeResult, { accepted: true }>["reason"]) =>
      ({ accepted: false, reason, leader: this.id }) as const;
    const current = this.membership;
    if (
      this.config.plantedBug !== "concurrent-membership-changes" &&
      (isJoint(current) ||
        this.membershipIndex() > this.log.committed ||
        this.log.term(this.log.committed) !== this.term)
    ) {
      return refuse("change-in-progress");
    }
    const next = planMembershipChange(current, change);
    if (typeof next === "string") return refuse(next);
    if (change.type === "promote") {
      const progress = this.progress.get(change.node);
      if (progress === undefined || progress.state !== "replicate" || progress.match < this.log.committed) {
        return refuse("not-caught-up");
      }
    }
    const index = this.#appendMembership(next);
    return { accepted: true, index, membership: next };
  }

  /**
   * Leader, whenever the commit index advances: leaves a committed joint configuration by appending C_new
   * (§4.3), and steps down once a configuration without it has committed (§4.2.2) — until then it goes on
   * managing the cluster, without counting itself toward C_new's majorities. Stepping down, it hands over to
   * a voter that holds its whole log with TimeoutNow (§3.10), so the cluster need not wait an election
   * timeout to notice it is gone.
   */
  settleMembership(): void {
    if (this.role !== "leader" || this.membershipIndex() > this.log.committed) return;
    const current = this.membership;
    if (isJoint(current)) {
      this.#appendMembership(leaveJoint(current));
    } else if (!isVotingMember(current, this.id)) {
      const successor = current.voters.find((id) => this.progress.get(id)?.match === this.log.lastIndex());
      if (successor !== undefined) sendTimeoutNow(this, successor);
      this.becomeFollower(this.term, null);
    }
  }

  #appendMembership(membership: Membership): LogIndex {
    const index = asIndex(this.log.lastIndex() + 1);
    this.log.appendAtEnd([
      { index, term: this.term, data: encodeMembership(membership), kind: "membership" },
    ]);
    this.syncProgress();
    this.#appendPending = true;
    return index;
  }

  /**
   * Leader: tracks the progress of exactly the members of the configuration in force (and itself): a new
   * member starts probing at the end of our log, a departed one is forgotten.
   */
  syncProgress(): void {
    const members = allMembers(this.membership);
    for (const id of members) {
      if (!this.progress.has(id)) {
        this.progress.set(
          id,
          new Progress(asIndex(this.log.lastIndex() + 1), this.config.inflightMessagesMax),
        );
      }
    }
    for (const id of this.progress.keys()) {
      if (id !== this.id && !members.includes(id)) this.progress.delete(id);
    }
  }

  #countDurableSelfVote(): void {
    const durable = this.#durableHardState;
    if (this.role !== "candidate" || durable.term !== this.term || durable.vote !== this.id) return;
    if (this.votes.get(this.id) === true) return;
    this.votes.set(this.id, true);
    this.tallyVotes();
  }

  /** Acts on the votes so far: win, give up, or keep waiting. */
  tallyVotes(): void {
    switch (tallyVotes(this.membership, this.votes)) {
      case "won":
        this.becomeLeader();
        return;
      case "lost":
        this.becomeFollower(this.term, null);
        return;
      case "pending":
        return;
    }
  }

  #resetTimers(): void {
    this.leaderContactAssumed = false;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.#drawElectionTimeout();
  }

  #drawElectionTimeout(): number {
    const { electionTicks, electionJitterTicks, random } = this.config;
    return electionTicks + random.int(electionJitterTicks + 1);
  }
}

/**
 * Whether a message reports state that must be durable before it leaves (Figure 2: "respond to RPCs" after
 * updating stable storage): vote grants, append and snapshot acknowledgements.
 */
function promisesDurability(message: Message): boolean {
  return (
    message.type === "RequestVoteReply" ||
    message.type === "AppendEntriesReply" ||
    message.type === "InstallSnapshotReply"
  );
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}
