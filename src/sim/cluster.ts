import {
  asIndex,
  asNodeId,
  type Entry,
  type LogIndex,
  type Message,
  type NodeId,
  type Role,
  type Snapshot,
  type SoftState,
  type Term,
} from "../core/index.ts";
import { type Clock, Peer } from "../peer/index.ts";
import { AssertionFailure } from "../util/assert.ts";
import { deriveSeed, Random } from "../util/random.ts";
import { MemoryLogStore } from "./memory-log-store.ts";
import { type LinkFaults, type NetworkCounters, type NetworkEvent, SimNetwork } from "./network.ts";
import { SafetyChecker, SafetyViolation, sameBytes } from "./safety-checker.ts";

/** How fast simulated nodes run. */
export interface ClusterTiming {
  /** Milliseconds of virtual time per core tick. */
  readonly tickMs: number;
  /** Election timeout in ticks; each timeout is drawn from [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  /** Heartbeat interval in ticks. */
  readonly heartbeatTicks: number;
}

/**
 * The paper's timing (§5.6, §9.3): heartbeats every 30 ms and election timeouts drawn from [150, 300) ms,
 * well above the simulated network's few milliseconds of delay.
 */
export const SIM_TIMING: ClusterTiming = { tickMs: 10, electionTicks: 15, heartbeatTicks: 3 };

/** Largest cluster the simulator builds; a bound on every per-node loop. */
export const CLUSTER_NODES_MAX = 15;

/** Something the simulator did to the cluster. */
export type Fault =
  | { readonly kind: "crash"; readonly node: NodeId; readonly role: Role; readonly term: Term }
  | { readonly kind: "restart"; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: "isolate"; readonly node: NodeId }
  | { readonly kind: "block"; readonly from: NodeId; readonly to: NodeId }
  | { readonly kind: "partition"; readonly groups: readonly (readonly NodeId[])[] }
  | { readonly kind: "heal" };

/** How far the cluster has got: the highest index applied by a majority, and by how many nodes in all. */
export interface CommitStatus {
  /** The highest index that a majority of nodes have applied (so it is committed); 0 before any. */
  readonly index: LogIndex;
  /** How many nodes have applied `index` (counting what a crashed node applied before it went down). */
  readonly appliedOn: number;
  /** Cluster size. */
  readonly nodes: number;
}

/** What happened in a {@link SimCluster}, for timelines, traces and tests. `time` is virtual milliseconds. */
export type ClusterEvent =
  /** A node's role, term or known leader changed. */
  | {
      readonly kind: "role";
      readonly time: number;
      readonly node: NodeId;
      readonly role: Role;
      readonly term: Term;
      readonly leader: NodeId | null;
      readonly previousRole: Role;
      readonly previousTerm: Term;
    }
  /** A node's state machine applied entries `first..last`. */
  | {
      readonly kind: "apply";
      readonly time: number;
      readonly node: NodeId;
      readonly first: LogIndex;
      readonly last: LogIndex;
    }
  /** The highest index applied by a majority advanced. */
  | ({ readonly kind: "commit"; readonly time: number } & CommitStatus)
  /** The simulator injected a fault; `commit` is the cluster's progress just before it. */
  | { readonly kind: "fault"; readonly time: number; readonly fault: Fault; readonly commit: CommitStatus }
  /** A safety property broke or a node stopped on a broken invariant; the cluster is frozen. */
  | { readonly kind: "failure"; readonly time: number; readonly message: string };

/** One node as the simulator sees it. */
export interface NodeStatus {
  readonly id: NodeId;
  readonly up: boolean;
  /** 1 for the first boot, one more for each restart. */
  readonly incarnation: number;
  readonly role: Role;
  readonly term: Term;
  readonly leader: NodeId | null;
  /** The node's commitIndex. */
  readonly commitIndex: LogIndex;
  /** The last index this incarnation's state machine applied. */
  readonly lastApplied: LogIndex;
  /** The last index on the node's disk. */
  readonly lastLogIndex: LogIndex;
}

/** The outcome of {@link SimCluster.propose}. */
export type ClusterProposeResult =
  | { readonly accepted: true; readonly node: NodeId; readonly index: LogIndex; readonly term: Term }
  | {
      readonly accepted: false;
      readonly node: NodeId | null;
      readonly reason: "no-leader" | "not-leader" | "down";
    };

/** The outcome of {@link SimCluster.checkConvergence}. */
export type ConvergenceResult =
  | { readonly agreed: true; readonly entries: number }
  | { readonly agreed: false; readonly detail: string };

/** Everything a {@link SimCluster} needs. */
export interface SimClusterOptions {
  /** The virtual clock everything runs on. The caller owns it and stops it when done. */
  readonly clock: Clock;
  /** The seed of the run: every random choice (network faults, each node's election jitter) derives from it. */
  readonly seed: number;
  /** How many nodes; their ids are 1..nodes. */
  readonly nodes: number;
  /** Network faults on every link. Default: reliable, 1 ms. */
  readonly faults?: LinkFaults;
  /** Default {@link SIM_TIMING}. */
  readonly timing?: ClusterTiming;
  /** Called on every cluster event. More can be added with {@link SimCluster.onEvent}. */
  readonly observer?: (event: ClusterEvent) => void;
  /** Called on every network send, delivery and drop (verbose; for traces). */
  readonly onNetworkEvent?: (event: NetworkEvent<Message>) => void;
}

/** One run of one node, from boot to crash: the peer and what its state machine applied. */
interface Incarnation {
  readonly number: number;
  readonly peer: Peer;
  /** `applied[i]` is the data applied at index i + 1 (no snapshots in the simulator, so it starts at 1). */
  readonly applied: Uint8Array[];
  up: boolean;
}

/** A node slot: its disk outlives every incarnation. */
interface NodeSlot {
  readonly id: NodeId;
  /** What the node has persisted; everything saved is synced, so a crash loses nothing here. */
  readonly disk: MemoryLogStore;
  incarnation: Incarnation | null;
  /** The last soft state reported, to tell what changed. */
  soft: SoftState;
  /** The highest index any incarnation of this node applied. */
  highestApplied: number;
}

/**
 * A Raft cluster in the simulator: nodes 1..n, each a real {@link Peer} running the real core, connected by a
 * seeded {@link SimNetwork}, with an in-memory disk that survives crashes and a recording state machine.
 * The simulator crashes and restarts nodes and partitions the network; after every role change and every
 * apply the {@link SafetyChecker} tests Election Safety and State Machine Safety, and the first violation (or
 * a node stopping on a broken invariant) freezes the cluster and is thrown, with the seed, from the next
 * {@link runFor}, {@link waitFor} or {@link throwIfFailed}.
 *
 * All messages travel one way through the network, replies included, and arrive through `Peer.receive`.
 */
export class SimCluster {
  /** The seed of the run. */
  readonly seed: number;
  /** Every node id, 1..n. */
  readonly ids: readonly NodeId[];
  /** The network between the nodes; use it directly for finer faults (per-link settings). */
  readonly network: SimNetwork<Message>;
  /** The safety checker fed by every node. */
  readonly checker: SafetyChecker;
  readonly #clock: Clock;
  readonly #timing: ClusterTiming;
  readonly #slots = new Map<NodeId, NodeSlot>();
  readonly #observers: Array<(event: ClusterEvent) => void> = [];
  #commitIndex = 0;
  #failure: Error | null = null;
  #started = false;

  constructor(options: SimClusterOptions) {
    if (!Number.isSafeInteger(options.nodes) || options.nodes < 1 || options.nodes > CLUSTER_NODES_MAX) {
      throw new RangeError(
        `SimCluster: nodes must be an integer in [1, ${CLUSTER_NODES_MAX}], got ${options.nodes}`,
      );
    }
    this.seed = options.seed;
    this.#clock = options.clock;
    this.#timing = options.timing ?? SIM_TIMING;
    this.ids = Array.from({ length: options.nodes }, (_, i) => asNodeId(i + 1));
    this.checker = new SafetyChecker(options.seed);
    this.network = new SimNetwork<Message>({
      clock: options.clock,
      random: new Random(deriveSeed(options.seed, "network")),
      nodes: this.ids,
      ...(options.faults === undefined ? {} : { faults: options.faults }),
      ...(options.onNetworkEvent === undefined ? {} : { observer: options.onNetworkEvent }),
    });
    if (options.observer !== undefined) this.#observers.push(options.observer);
    for (const id of this.ids) {
      const disk = new MemoryLogStore();
      this.#slots.set(id, {
        id,
        disk,
        incarnation: null,
        soft: { role: "follower", leader: null, term: disk.hardState.term },
        highestApplied: 0,
      });
    }
  }

  /** Adds an observer of cluster events; returns a function that removes it. */
  onEvent(observer: (event: ClusterEvent) => void): () => void {
    this.#observers.push(observer);
    return () => {
      const at = this.#observers.indexOf(observer);
      if (at >= 0) this.#observers.splice(at, 1);
    };
  }

  /** Boots every node. */
  start(): void {
    if (this.#started) throw new Error("SimCluster.start: already started");
    this.#started = true;
    for (const slot of this.#slots.values()) this.#boot(slot);
  }

  /** The error that froze the cluster, if any. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Throws the error that froze the cluster, if any. */
  throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }

  /** The network's running totals. */
  get networkCounters(): Readonly<NetworkCounters> {
    return this.network.counters;
  }

  /** How far the cluster has got (see {@link CommitStatus}). */
  commitStatus(): CommitStatus {
    return {
      index: asIndex(this.#commitIndex),
      appliedOn: this.#appliedOn(this.#commitIndex),
      nodes: this.ids.length,
    };
  }

  // ---- running -----------------------------------------------------------------------------------------

  /** Lets `ms` milliseconds of virtual time pass, then throws if the cluster failed meanwhile. */
  async runFor(ms: number): Promise<void> {
    await this.#clock.sleep(ms);
    this.throwIfFailed();
  }

  /** Lets virtual time pass until `time` (milliseconds since the clock's origin); no-op if already past. */
  async runUntil(time: number): Promise<void> {
    await this.runFor(Math.max(0, time - this.#clock.now()));
  }

  /**
   * Lets virtual time pass until `predicate` holds, checking every `stepMs`, for at most `timeoutMs`.
   * Resolves true if it came to hold, false on timeout; throws if the cluster failed meanwhile.
   */
  async waitFor(predicate: () => boolean, timeoutMs: number, stepMs = 10): Promise<boolean> {
    const deadline = this.#clock.now() + timeoutMs;
    for (;;) {
      this.throwIfFailed();
      if (predicate()) return true;
      if (this.#clock.now() >= deadline) return false;
      await this.runFor(Math.min(stepMs, deadline - this.#clock.now()));
    }
  }

  // ---- clients -----------------------------------------------------------------------------------------

  /**
   * Proposes `data` at node `via`, or by default at the {@link leader}. Accepted means appended to that
   * leader's log, not committed: the entry may yet be lost if the leader is deposed first. Never throws (a
   * frozen cluster accepts nothing), so clients may call it from clock callbacks.
   */
  propose(data: Uint8Array, via?: NodeId): ClusterProposeResult {
    const target = via ?? this.leader();
    if (target === null) return { accepted: false, node: null, reason: "no-leader" };
    const incarnation = this.#slot(target).incarnation;
    if (incarnation === null || !incarnation.up) return { accepted: false, node: target, reason: "down" };
    const result = incarnation.peer.propose(data);
    if (!result.accepted) return { accepted: false, node: target, reason: "not-leader" };
    return { accepted: true, node: target, index: result.index, term: result.term };
  }

  /**
   * The leader a client would find: among the nodes that are up and believe they lead, the one with the
   * highest term (a deposed leader cut off by a partition may still believe it leads an older term).
   */
  leader(): NodeId | null {
    let best: { id: NodeId; term: Term } | null = null;
    for (const slot of this.#slots.values()) {
      const peer = slot.incarnation?.up === true ? slot.incarnation.peer : null;
      if (peer === null || peer.node.role !== "leader") continue;
      if (best === null || peer.node.term > best.term) best = { id: slot.id, term: peer.node.term };
    }
    return best?.id ?? null;
  }

  /** Every node's state. */
  status(): NodeStatus[] {
    return [...this.#slots.values()].map((slot) => {
      const incarnation = slot.incarnation;
      const node = incarnation?.peer.node;
      return {
        id: slot.id,
        up: incarnation?.up === true,
        incarnation: incarnation?.number ?? 0,
        role: incarnation?.up === true && node !== undefined ? node.role : "follower",
        term: node?.term ?? slot.disk.hardState.term,
        leader: incarnation?.up === true ? (node?.leader ?? null) : null,
        commitIndex: node?.log.committed ?? slot.disk.hardState.commit,
        lastApplied: asIndex(incarnation?.applied.length ?? 0),
        lastLogIndex: asIndex(slot.disk.lastIndex()),
      };
    });
  }

  /** What node `id`'s current (or last) incarnation applied: element i is the data at index i + 1. */
  applied(id: NodeId): readonly Uint8Array[] {
    return this.#slot(id).incarnation?.applied ?? [];
  }

  /** The command committed at `index`, once any node has applied it (applied implies committed). */
  committedAt(index: LogIndex): Uint8Array | undefined {
    return this.checker.appliedAt(index);
  }

  /** Whether node `id` is up. */
  isUp(id: NodeId): boolean {
    return this.#slot(id).incarnation?.up === true;
  }

  /**
   * Whether the cluster has converged: every node is up and has applied the same entries, in the same order,
   * with the same data. On disagreement, says where.
   */
  checkConvergence(): ConvergenceResult {
    const [first, ...rest] = this.ids;
    if (first === undefined) return { agreed: true, entries: 0 };
    for (const id of this.ids) {
      if (!this.isUp(id)) return { agreed: false, detail: `node ${id} is down` };
    }
    const reference = this.applied(first);
    for (const id of rest) {
      const other = this.applied(id);
      const common = Math.min(reference.length, other.length);
      for (let i = 0; i < common; i++) {
        if (!sameBytes(reference[i] as Uint8Array, other[i] as Uint8Array)) {
          return {
            agreed: false,
            detail: `nodes ${first} and ${id} applied different data at index ${i + 1}`,
          };
        }
      }
      if (other.length !== reference.length) {
        return {
          agreed: false,
          detail: `node ${first} applied ${reference.length} entries but node ${id} applied ${other.length}`,
        };
      }
    }
    return { agreed: true, entries: reference.length };
  }

  // ---- faults ------------------------------------------------------------------------------------------
  // Each fault throws the cluster's failure if it has one: a frozen cluster takes no more faults.

  /** Crashes node `id`: its peer stops at once and its messages in flight to it are lost; its disk stays. */
  crash(id: NodeId): void {
    const slot = this.#slot(id);
    this.throwIfFailed();
    const incarnation = slot.incarnation;
    if (incarnation === null || !incarnation.up) throw new Error(`SimCluster.crash: node ${id} is not up`);
    const { role, term } = incarnation.peer.node;
    this.#fault({ kind: "crash", node: id, role, term });
    incarnation.up = false;
    incarnation.peer.stop();
    this.network.unregister(id);
    slot.soft = { role: "follower", leader: null, term };
  }

  /** Restarts crashed node `id` from its disk, with a fresh state machine and a fresh random stream. */
  restart(id: NodeId): void {
    const slot = this.#slot(id);
    this.throwIfFailed();
    if (slot.incarnation?.up === true) throw new Error(`SimCluster.restart: node ${id} is up`);
    this.#fault({ kind: "restart", node: id, incarnation: (slot.incarnation?.number ?? 0) + 1 });
    this.#boot(slot);
  }

  /** Cuts node `id` off from every other node, both ways. */
  isolate(id: NodeId): void {
    this.throwIfFailed();
    this.#fault({ kind: "isolate", node: id });
    this.network.isolate(id);
  }

  /** Blocks the one-way link `from` → `to`. */
  block(from: NodeId, to: NodeId): void {
    this.throwIfFailed();
    this.#fault({ kind: "block", from, to });
    this.network.block(from, to);
  }

  /** Replaces the network's partition: nodes talk only within their group (unlisted nodes to no one). */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.throwIfFailed();
    this.#fault({ kind: "partition", groups: groups.map((group) => [...group]) });
    this.network.partition(groups);
  }

  /** Reconnects every link. */
  heal(): void {
    this.throwIfFailed();
    this.#fault({ kind: "heal" });
    this.network.heal();
  }

  /** Sets the faults of every link. */
  setFaults(faults: LinkFaults): void {
    this.network.setFaults(faults);
  }

  // ---- internals ---------------------------------------------------------------------------------------

  #slot(id: NodeId): NodeSlot {
    const slot = this.#slots.get(id);
    if (slot === undefined)
      throw new RangeError(`SimCluster: no node ${id} (nodes are 1..${this.ids.length})`);
    return slot;
  }

  #boot(slot: NodeSlot): void {
    const number = (slot.incarnation?.number ?? 0) + 1;
    const initialState = slot.disk.initialState();
    if (number > 1) this.checker.observeRestart(slot.id);
    slot.soft = { role: "follower", leader: null, term: initialState.hardState.term };
    // Each incarnation draws its election jitter from its own stream, so a restart does not replay the
    // timeouts of the run before the crash, and no node's draws shift another's.
    const random = new Random(deriveSeed(this.seed, `node-${slot.id}-incarnation-${number}`));
    const applied: Uint8Array[] = [];
    const peer: Peer = new Peer({
      raft: {
        id: slot.id,
        voters: this.ids,
        electionTicks: this.#timing.electionTicks,
        heartbeatTicks: this.#timing.heartbeatTicks,
        random,
        initialState,
        noopOnElection: true,
      },
      clock: this.#clock,
      tickMs: this.#timing.tickMs,
      transport: { send: (message) => this.network.send(message.from, message.to, message) },
      storage: {
        save: (update) => {
          // Everything is synced at once in this version of the simulator: a crash loses no write.
          if (incarnation.up) slot.disk.apply(update);
        },
      },
      stateMachine: {
        apply: (entries, snapshot) => {
          if (incarnation.up) this.#apply(slot, incarnation, entries, snapshot);
        },
      },
      onSoftState: (state) => {
        if (incarnation.up) this.#softStateChanged(slot, state);
      },
      onFatal: (error) => this.#fail(slot.id, error),
    });
    const incarnation: Incarnation = { number, peer, applied, up: true };
    slot.incarnation = incarnation;
    this.network.register(slot.id, (message) => peer.receive(message));
    peer.start();
  }

  #softStateChanged(slot: NodeSlot, state: SoftState): void {
    const previous = slot.soft;
    slot.soft = state;
    if (state.role === "leader") this.checker.observeLeader(slot.id, state.term);
    this.#emit({
      kind: "role",
      time: this.#clock.now(),
      node: slot.id,
      role: state.role,
      term: state.term,
      leader: state.leader,
      previousRole: previous.role,
      previousTerm: previous.term,
    });
  }

  #apply(
    slot: NodeSlot,
    incarnation: Incarnation,
    entries: readonly Entry[],
    snapshot: Snapshot | undefined,
  ): void {
    if (snapshot !== undefined) {
      throw new AssertionFailure(
        `node ${slot.id} was sent a snapshot, but the simulated cluster never compacts`,
      );
    }
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined) return;
    for (const entry of entries) {
      this.checker.observeApply(slot.id, entry.index, entry.data);
      incarnation.applied.push(entry.data);
    }
    slot.highestApplied = Math.max(slot.highestApplied, last.index);
    const time = this.#clock.now();
    this.#emit({ kind: "apply", time, node: slot.id, first: first.index, last: last.index });
    const commitIndex = this.#quorumApplied();
    if (commitIndex > this.#commitIndex) {
      this.#commitIndex = commitIndex;
      this.#emit({ kind: "commit", time, ...this.commitStatus() });
    }
  }

  /** The highest index applied by a majority of nodes (counting what crashed nodes applied before). */
  #quorumApplied(): number {
    const highest = [...this.#slots.values()].map((slot) => slot.highestApplied).sort((a, b) => b - a);
    return highest[Math.floor(this.ids.length / 2)] ?? 0;
  }

  #appliedOn(index: number): number {
    let count = 0;
    for (const slot of this.#slots.values()) if (slot.highestApplied >= index && index > 0) count++;
    return count;
  }

  #fault(fault: Fault): void {
    this.#emit({ kind: "fault", time: this.#clock.now(), fault, commit: this.commitStatus() });
  }

  /** Records the first failure and freezes the cluster, so the evidence stays as it was. */
  #fail(node: NodeId, error: unknown): void {
    if (this.#failure !== null) return;
    const message = error instanceof Error ? error.message : String(error);
    this.#failure =
      error instanceof SafetyViolation
        ? error
        : new Error(`node ${node} stopped on a broken invariant: ${message} (seed ${this.seed})`, {
            cause: error,
          });
    for (const slot of this.#slots.values()) {
      if (slot.incarnation?.up !== true) continue;
      slot.incarnation.up = false;
      slot.incarnation.peer.stop();
    }
    this.#emit({ kind: "failure", time: this.#clock.now(), message: this.#failure.message });
  }

  #emit(event: ClusterEvent): void {
    for (const observer of this.#observers) observer(event);
  }
}
