import {
  allMembers,
  isMember,
  type Membership,
  type MembershipChange,
  type MembershipChangeResult,
  type NodeId,
  type RaftNode,
} from "../../core/index.ts";
import type { Clock } from "../../peer/index.ts";
import type { Random } from "../../util/random.ts";
import type { RunCounts } from "./coverage.ts";
import { RUNNING_NODES_MAX } from "./node-slots.ts";
import { ELECTION_TIMEOUT_MAX_MS, HEARTBEAT_TICKS, type SwarmPlan, TICK_MS } from "./plan.ts";
import type { SwarmCluster } from "./swarm-cluster.ts";
import { type SwarmTraceEvent, traceTime } from "./trace-events.ts";

/**
 * The operator: a person (or a control plane) changing the cluster while the nemesis does its worst. It only
 * does what `tsraft member` and `tsraft leader transfer` let a real operator do, with what such an operator
 * sees — the node that leads as far as clients can tell, and what that node reports.
 *
 * - Membership (the `membership` kind): starts a brand-new node with a fresh id and no configuration and asks
 *   the leader to add it as a learner, retrying until it is a member; promotes learners, retrying while they
 *   have not caught up; removes voters (the leader itself too) and learners; keeps between 1 and 7 voters.
 *   Sometimes it asks again at once without waiting for the last change (an impatient operator, or two), which
 *   the leader must refuse while a change is in flight. A node whose removal it sees committed it stops, after
 *   a while, as one decommissions a machine — or leaves running, removed, as happens too.
 * - Transfers (the `transfer` kind): asks the leader to hand over to a random voter.
 *
 * Every choice is drawn from the operator's own random stream, and what it sees is a function of the seed, so
 * a run replays exactly.
 */

/** Most voters the operator lets a configuration have, and fewest. */
export const VOTERS_MAX = 7;
export const VOTERS_MIN = 1;

/** Milliseconds between two retries of a pending addition or promotion: a few heartbeats. */
const RETRY_MS = 3 * HEARTBEAT_TICKS * TICK_MS;

/** The operator gives up adding a node after this long (and stops it, if it is still no member). */
const JOIN_GIVE_UP_MS = 10 * ELECTION_TIMEOUT_MAX_MS;

/** ... and promoting a learner after this long. */
const PROMOTE_GIVE_UP_MS = 10 * ELECTION_TIMEOUT_MAX_MS;

/** Learners and joining nodes at most, so that additions do not crowd out the rest. */
const NEWCOMERS_MAX = 2;

/** A transfer counts as completed if its target wins within this long. */
const TRANSFER_COMPLETE_MS = 2 * ELECTION_TIMEOUT_MAX_MS;

/** Everything an {@link Operator} needs. */
export interface OperatorOptions {
  readonly cluster: SwarmCluster;
  readonly plan: SwarmPlan;
  readonly clock: Clock;
  readonly random: Random;
  readonly counts: RunCounts;
  readonly trace: ((event: SwarmTraceEvent) => void) | null;
}

/** What the operator sees: the leader as clients find it, and its configuration. */
interface View {
  readonly leader: NodeId;
  readonly raft: RaftNode;
  readonly membership: Membership;
  /** Whether the leader reports that configuration committed. */
  readonly committed: boolean;
  /** The index of the configuration's entry (0 for the starting one). */
  readonly index: number;
}

/** One thing the operator may do next, and how much it weighs in the draw. */
interface Action {
  readonly weight: number;
  readonly run: () => void;
}

/** The membership and transfer operator; see the file comment. */
export class Operator {
  readonly #cluster: SwarmCluster;
  readonly #plan: SwarmPlan;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #counts: RunCounts;
  readonly #trace: ((event: SwarmTraceEvent) => void) | null;
  readonly #membership: boolean;
  readonly #transfers: boolean;
  #running = false;
  /** Nodes it started and wants added, with when it started each. */
  readonly #joining = new Map<NodeId, number>();
  /** Learners it wants promoted, with when it began. */
  readonly #promoting = new Map<NodeId, number>();
  /** Every node it has seen in a committed configuration: once one is missing from it, it was removed. */
  readonly #members = new Set<NodeId>();
  /**
   * The index of the newest committed configuration it has seen. A leader deposed without knowing it may still
   * report an older one, committed too but since replaced: the operator must not take that for news.
   */
  #seenIndex = 0;
  /** Removed nodes already dealt with (stopped, to be stopped, or left running). */
  readonly #removed = new Set<NodeId>();
  /** The transfer in progress: its target, the term of the leader that accepted it, and when. */
  #transfer: { readonly target: NodeId; readonly term: number; readonly at: number } | null = null;

  constructor(options: OperatorOptions) {
    this.#cluster = options.cluster;
    this.#plan = options.plan;
    this.#clock = options.clock;
    this.#random = options.random;
    this.#counts = options.counts;
    this.#trace = options.trace;
    this.#membership = options.plan.enabled.includes("membership");
    this.#transfers = options.plan.enabled.includes("transfer");
    for (const id of options.cluster.initialIds) this.#members.add(id);
  }

  /** Whether the plan gives the operator anything to do. */
  get active(): boolean {
    return this.#membership || this.#transfers;
  }

  start(): void {
    if (this.#running || !this.active) return;
    this.#running = true;
    if (this.#membership) {
      this.#every(this.#plan.operations.membershipIntervalMs, () => this.#changeStep());
      this.#every(RETRY_MS / 2, () => this.#retry());
    }
    if (this.#transfers) this.#every(this.#plan.operations.transferIntervalMs, () => this.#transferStep());
  }

  /** No more requests (removed nodes already due to be stopped still are). */
  stop(): void {
    this.#running = false;
  }

  /** Node `id` reported that it leads: a transfer to it is complete if it won soon enough, in a later term. */
  leaderElected(id: NodeId): void {
    const transfer = this.#transfer;
    if (transfer === null || transfer.target !== id) return;
    if (this.#cluster.termOf(id) > transfer.term && this.#clock.now() - transfer.at <= TRANSFER_COMPLETE_MS) {
      this.#counts.transfersCompleted++;
    }
    this.#transfer = null;
  }

  /** Runs `step` again and again, each gap drawn from [1, 2 * meanMs], while the operator runs. */
  #every(meanMs: number, step: () => void): void {
    this.#clock.setTimer(
      () => {
        if (!this.#running) return;
        step();
        this.#every(meanMs, step);
      },
      this.#random.intBetween(1, Math.max(1, Math.round(2 * meanMs))),
    );
  }

  #view(): View | null {
    const leader = this.#cluster.leader();
    const raft = leader === null ? null : this.#cluster.raftOf(leader);
    if (leader === null || raft === null) return null;
    return {
      leader,
      raft,
      membership: raft.membership,
      committed: raft.membershipIndex() <= raft.log.committed,
      index: raft.membershipIndex(),
    };
  }

  // ---- membership changes --------------------------------------------------------------------------------

  /** One membership action, and as often as the plan says, another at once. */
  #changeStep(): void {
    for (let burst = 0; burst < 3; burst++) {
      const view = this.#view();
      if (view === null) return;
      this.#reconcile(view);
      this.#act(view);
      if (!this.#random.chance(this.#plan.operations.burstPercent, 100)) return;
    }
  }

  /** Catches up with a committed configuration: newcomers that became members, members that were removed. */
  #reconcile(view: View): void {
    if (!view.committed || view.index < this.#seenIndex) return;
    this.#seenIndex = view.index;
    const { membership } = view;
    const now = this.#clock.now();
    for (const id of allMembers(membership)) this.#members.add(id);
    for (const [id, since] of this.#joining) {
      if (isMember(membership, id)) this.#joining.delete(id);
      else if (now - since > JOIN_GIVE_UP_MS) {
        // It never got in: an operator cleans up the machine.
        this.#joining.delete(id);
        this.#stopNode(id);
      }
    }
    for (const id of this.#members) {
      if (isMember(membership, id) || this.#removed.has(id)) continue;
      this.#removed.add(id);
      const { stopRemovedPercent, stopDelayMaxMs } = this.#plan.operations;
      if (!this.#random.chance(stopRemovedPercent, 100)) continue;
      this.#clock.setTimer(() => this.#stopNode(id), this.#random.intBetween(0, stopDelayMaxMs));
    }
  }

  #stopNode(id: NodeId): void {
    if (this.#cluster.isRetired(id)) return;
    this.#cluster.retire(id);
    this.#counts.removedNodesStopped++;
    this.#emit({ action: "stop-node", node: id, leader: null, result: "stopped" });
  }

  /** Draws one action among those the leader's configuration allows and carries it out. */
  #act(view: View): void {
    const { membership, leader } = view;
    const random = this.#random;
    const voters = membership.voters;
    const learners = membership.learners.filter((id) => !this.#promoting.has(id));
    const running = this.#cluster.activeIds.filter((id) => !this.#removed.has(id)).length;
    const newcomers = this.#joining.size + membership.learners.length;
    const actions: Action[] = [];
    if (running < RUNNING_NODES_MAX && newcomers < NEWCOMERS_MAX) {
      actions.push({ weight: 3, run: () => this.#startNode() });
    }
    if (learners.length > 0 && voters.length + this.#promoting.size < VOTERS_MAX) {
      actions.push({
        weight: 4,
        run: () => {
          const id = random.pick(learners);
          this.#promoting.set(id, this.#clock.now());
          this.#request(leader, { type: "promote", node: id });
        },
      });
    }
    if (voters.length > VOTERS_MIN) {
      actions.push({
        weight: voters.length >= 5 ? 4 : voters.length >= 3 ? 2 : 1,
        run: () => {
          const others = voters.filter((id) => id !== leader);
          const aimAtLeader =
            voters.includes(leader) &&
            (others.length === 0 || random.chance(this.#plan.operations.removeLeaderPercent, 100));
          this.#request(leader, { type: "remove", node: aimAtLeader ? leader : random.pick(others) });
        },
      });
    }
    if (learners.length > 0) {
      actions.push({
        weight: 1,
        run: () => this.#request(leader, { type: "remove", node: random.pick(learners) }),
      });
    }
    const total = actions.reduce((sum, action) => sum + action.weight, 0);
    if (total === 0) return;
    let draw = random.int(total);
    for (const action of actions) {
      if (draw < action.weight) {
        action.run();
        return;
      }
      draw -= action.weight;
    }
  }

  /** Starts a brand-new node and asks the leader to add it. */
  #startNode(): void {
    const id = this.#cluster.addNode();
    if (id === null) return;
    this.#counts.nodesAdded++;
    this.#joining.set(id, this.#clock.now());
    this.#emit({ action: "start-node", node: id, leader: null, result: "started" });
    const view = this.#view();
    if (view !== null) this.#request(view.leader, { type: "add-learner", node: id });
  }

  /** Asks again for the additions and promotions still wanted, as far as the leader's configuration shows. */
  #retry(): void {
    if (this.#joining.size === 0 && this.#promoting.size === 0) return;
    const view = this.#view();
    if (view === null) return;
    const { membership, leader } = view;
    const now = this.#clock.now();
    for (const id of this.#joining.keys()) {
      if (!isMember(membership, id)) this.#request(leader, { type: "add-learner", node: id });
    }
    for (const [id, since] of this.#promoting) {
      if (!membership.learners.includes(id) || now - since > PROMOTE_GIVE_UP_MS) {
        this.#promoting.delete(id);
      } else if (membership.voters.length < VOTERS_MAX) {
        this.#request(leader, { type: "promote", node: id });
      }
    }
  }

  /** Hands `change` to `leader` (queued there while it is paused) and counts the answer. */
  #request(leader: NodeId, change: MembershipChange): void {
    this.#counts.membershipRequests++;
    this.#cluster.request(leader, (peer) => {
      const result = peer.changeMembership(change);
      this.#countAnswer(leader, change, result);
      this.#emit({
        action: change.type,
        node: change.node,
        leader,
        result: result.accepted ? "accepted" : result.reason,
      });
    });
  }

  #countAnswer(leader: NodeId, change: MembershipChange, result: MembershipChangeResult): void {
    const counts = this.#counts;
    if (result.accepted) {
      counts.membershipAccepted++;
      if (change.type === "remove" && change.node === leader) counts.leaderRemovals++;
      if (change.type === "promote") this.#promoting.delete(change.node);
      return;
    }
    if (result.reason === "change-in-progress") counts.refusedInFlight++;
    else if (result.reason === "not-caught-up") counts.refusedNotCaughtUp++;
  }

  // ---- leadership transfers ----------------------------------------------------------------------------

  /** Asks the leader to hand over to a random other voter (up or not: a transfer to a dead node must abort). */
  #transferStep(): void {
    const view = this.#view();
    if (view === null) return;
    const { leader } = view;
    const targets = view.membership.voters.filter((id) => id !== leader);
    if (targets.length === 0) return;
    const target = this.#random.pick(targets);
    this.#cluster.request(leader, (peer) => {
      const result = peer.transferLeader(target);
      if (result.accepted) {
        this.#counts.transfersRequested++;
        this.#transfer = { target, term: peer.node.term, at: this.#clock.now() };
      }
      this.#emit({
        action: "transfer",
        node: target,
        leader,
        result: result.accepted ? "accepted" : result.reason,
      });
    });
  }

  #emit(event: {
    readonly action: "start-node" | "add-learner" | "promote" | "remove" | "transfer" | "stop-node";
    readonly node: NodeId;
    readonly leader: NodeId | null;
    readonly result: string;
  }): void {
    if (this.#trace === null) return;
    this.#trace({ t: traceTime(this.#clock.now()), kind: "operator", ...event });
  }
}
