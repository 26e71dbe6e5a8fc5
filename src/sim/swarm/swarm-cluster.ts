import {
  asNodeId,
  type Entry,
  type Message,
  type NodeId,
  type RaftNode,
  type ReadState,
  type Snapshot,
} from "../../core/index.ts";
import { type Clock, Peer, type PeerOptions, type StorageUpdate } from "../../peer/index.ts";
import { assert } from "../../util/assert.ts";
import { deriveSeed, Random } from "../../util/random.ts";
import { type LinkFaults, type NetworkEvent, SimNetwork } from "../network.ts";
import type { SwarmChecker } from "./checker.ts";
import { commandText } from "./client.ts";
import type { RunCounts } from "./coverage.ts";
import { NodeProcess } from "./node-runtime.ts";
import { clockRateOf, linkPlanOf, NODE_SLOTS_MAX } from "./node-slots.ts";
import type { PartitionShape } from "./partition-shapes.ts";
import {
  ELECTION_JITTER_TICKS,
  ELECTION_TICKS,
  ELECTION_TIMEOUT_MAX_MS,
  HEARTBEAT_TICKS,
  type SwarmPlan,
  TICK_MS,
} from "./plan.ts";
import { SimDisk } from "./sim-disk.ts";
import {
  entryRange,
  type SwarmTraceEvent,
  type TracedDropReason,
  tracedHardState,
  traceMessage,
} from "./trace-events.ts";

/** A message on the simulated network, with the id and send time that traces and coverage need. */
export interface Envelope {
  /** Unique per send; a duplicated copy keeps its original's id. */
  readonly id: number;
  readonly message: Message;
  /** Virtual milliseconds when the node sent it. */
  readonly sentAt: number;
}

/**
 * The network once faults have healed: nothing lost, duplicated or reordered (a fixed delay keeps each link
 * first-in first-out, as a TCP connection is), 2 ms a hop.
 */
export const HEALED_LINK: LinkFaults = {
  dropProbability: 0,
  duplicateProbability: 0,
  delayMinMs: 2,
  delayMaxMs: 2,
};

/** Shortest hold of a long-delayed message, in milliseconds (the longest is the plan's `holdMaxMs`). */
const HOLD_MIN_MS = 5 * TICK_MS;

/**
 * When an armed crash lands: in the middle of the node's next write (before it syncs, so it is lost or torn),
 * or right after the next write syncs and the node has acted on it (sent the acknowledgements it held back).
 */
export type CrashTiming = "mid-write" | "after-sync";

/** A crash armed to land in a node's next write waits this long for one, then lands anyway. */
const ARMED_CRASH_WAIT_MS = 2 * ELECTION_TIMEOUT_MAX_MS;

/** A node that crashes right after syncing a new term or vote (amnesia) is back within this many milliseconds. */
const AMNESIA_DOWNTIME_MS_MAX = 3;

/** Bound on node ids, for the per-link key (ids stay within NODE_SLOTS_MAX). */
const LINK_KEY_SPAN = 64;

/** A crash set to land in or right after a node's next write, and when the node comes back. */
interface ArmedCrash {
  readonly timing: CrashTiming;
  /** Tear the write (mid-write crashes only). */
  readonly tear: boolean;
  readonly restartAfterMs: number;
}

/** One running incarnation of a node. */
interface Live {
  readonly number: number;
  readonly runtime: NodeProcess;
  readonly peer: Peer;
  /** Stops the incarnation's peer and whatever a host built around it (see {@link SwarmClusterOptions.host}). */
  readonly stop: () => void;
}

/** What a {@link SwarmClusterOptions.host} is given for one incarnation of a node. */
export interface NodeHostContext {
  readonly id: NodeId;
  /** 1 for the first boot, one more for each restart. */
  readonly incarnation: number;
  /**
   * The peer the cluster would run: core config, the incarnation's clock, transport, storage and a state
   * machine that reports applied entries to the checker (a host that brings its own state machine may feed
   * it the entries it applied, to keep the apply checks).
   */
  readonly peerOptions: PeerOptions;
  /** The incarnation's process: outside inputs (client requests) enter through `run(input, true)`. */
  readonly process: NodeProcess;
}

/** A service a host built around one incarnation's peer. */
export interface HostedNode {
  /** The peer the cluster runs, checks and starts (built from the context's `peerOptions`). */
  readonly peer: Peer;
  /** The incarnation died (a crash, or the end of the run): stop the peer and the service around it. */
  stop(): void;
}

/** A node slot: its disk and clock rate outlive every incarnation. */
interface SwarmNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  readonly ratePerMille: number;
  /** Incarnations booted so far. */
  incarnations: number;
  live: Live | null;
  /** The term and vote of the node's last write that carried a hard state (what it last promised). */
  promised: { readonly term: number; readonly vote: NodeId | null };
  /** A crash waiting for the node's next write. */
  armed: ArmedCrash | null;
  /** Added by the operator: it boots with no configuration and waits for a leader to add it. */
  readonly joining: boolean;
  /** Stopped for good by the operator after its removal: never restarted. */
  retired: boolean;
}

/** Everything a {@link SwarmCluster} needs. */
export interface SwarmClusterOptions {
  readonly plan: SwarmPlan;
  readonly clock: Clock;
  readonly checker: SwarmChecker;
  /** What the run did; the cluster counts into it. */
  readonly counts: RunCounts;
  /** Receives trace events, or null when the run is not traced (then none are built). */
  readonly trace: ((event: SwarmTraceEvent) => void) | null;
  /** Told of every entry a node applies (for the liveness check). */
  readonly onApplied: (id: NodeId, entries: readonly Entry[]) => void;
  /** Told when a node reports that it became leader (the nemesis may strike at once). */
  readonly onLeader?: (id: NodeId) => void;
  /** Told of the reads a node confirmed (the read probe checks them). */
  readonly onReadStates?: (id: NodeId, states: readonly ReadState[]) => void;
  /**
   * Builds each incarnation's peer, with a service around it (the key-value service, say); without it every
   * node runs a bare peer whose state machine only reports to the checker.
   */
  readonly host?: (context: NodeHostContext) => HostedNode;
}

/**
 * A Raft cluster for the swarm: nodes 1..n, each a real {@link Peer} running the real core inside a
 * {@link NodeProcess} (pausable, with its own clock rate), with an honest {@link SimDisk}, connected by a
 * {@link SimNetwork} with per-link loss, duplication and jitter, plus a long tail of held messages. It carries
 * out the faults the nemesis asks for, feeds the checker every write, sync, apply and input, and traces it all.
 */
export class SwarmCluster {
  /** The starting configuration's voters, 1..n. */
  readonly initialIds: readonly NodeId[];
  /** Every node slot's id in order: the starting nodes, then those the operator added. */
  readonly #slotIds: NodeId[];
  /** Node `id` is cut off from every other node, on top of the partition (the flapping node), or null. */
  #flapCut: NodeId | null = null;
  readonly network: SimNetwork<Envelope>;
  readonly #plan: SwarmPlan;
  readonly #clock: Clock;
  readonly #checker: SwarmChecker;
  readonly #counts: RunCounts;
  readonly #trace: ((event: SwarmTraceEvent) => void) | null;
  readonly #onApplied: (id: NodeId, entries: readonly Entry[]) => void;
  readonly #onLeader: ((id: NodeId) => void) | undefined;
  readonly #onReadStates: ((id: NodeId, states: readonly ReadState[]) => void) | undefined;
  readonly #host: ((context: NodeHostContext) => HostedNode) | undefined;
  readonly #nodes = new Map<NodeId, SwarmNode>();
  /** Draws which messages are held back, and for how long. */
  readonly #holdRandom: Random;
  /** Draws when an armed crash lands within its write. */
  readonly #crashRandom: Random;
  /** Draws which hard-state syncs a crash follows, and how soon the node is back. */
  readonly #amnesiaRandom: Random;
  /** The highest message id handled on each directed link, to count reordering. */
  readonly #lastHandled = new Map<number, number>();
  #nextMessageId = 0;
  #faultPhase = true;
  #partition: PartitionShape | null = null;
  #frozen = false;

  constructor(options: SwarmClusterOptions) {
    const { plan, clock } = options;
    this.#plan = plan;
    this.#clock = clock;
    this.#checker = options.checker;
    this.#counts = options.counts;
    this.#trace = options.trace;
    this.#onApplied = options.onApplied;
    this.#onLeader = options.onLeader;
    this.#onReadStates = options.onReadStates;
    this.#host = options.host;
    const seed = plan.settings.seed;
    this.initialIds = Array.from({ length: plan.nodes }, (_, i) => asNodeId(i + 1));
    this.#slotIds = [];
    this.#holdRandom = new Random(deriveSeed(seed, "hold"));
    this.#crashRandom = new Random(deriveSeed(seed, "armed-crash"));
    this.#amnesiaRandom = new Random(deriveSeed(seed, "amnesia"));
    this.network = new SimNetwork<Envelope>({
      clock,
      random: new Random(deriveSeed(seed, "network")),
      nodes: this.ids,
      faults: HEALED_LINK,
      observer: (event) => this.#networkEvent(event),
    });
    for (const id of this.initialIds) this.#addSlot(id, false);
  }

  /** Every node slot's id in order: the starting nodes 1..n, then those the operator added. */
  get ids(): readonly NodeId[] {
    return this.#slotIds;
  }

  /** The slots not retired: the nodes partitions and crashes are drawn over. */
  get activeIds(): NodeId[] {
    return this.#slotIds.filter((id) => !this.#node(id).retired);
  }

  /** Creates node slot `id` (not booted): its disk, its clock rate, and its links to every other slot. */
  #addSlot(id: NodeId, joining: boolean): SwarmNode {
    const plan = this.#plan;
    if (this.#faultPhase) {
      for (const other of this.#slotIds) {
        for (const [from, to] of [
          [id, other],
          [other, id],
        ] as const) {
          const link = linkPlanOf(plan, from, to);
          assert(link !== undefined, "SwarmCluster: the plan has no link");
          this.network.setLinkFaults(from, to, {
            dropProbability: link.lossPerMille / 1000,
            duplicateProbability: link.duplicatePerMille / 1000,
            delayMinMs: 1,
            delayMaxMs: link.delayMaxMs,
          });
        }
      }
    }
    this.#slotIds.push(id);
    const ratePerMille = clockRateOf(plan, id);
    if (ratePerMille !== 1000) this.#counts.skewedNodes++;
    const disk = new SimDisk(
      this.#clock,
      new Random(deriveSeed(plan.settings.seed, `disk-${id}`)),
      plan.syncMinUs,
      plan.syncMaxUs,
    );
    const node: SwarmNode = {
      id,
      disk,
      ratePerMille,
      incarnations: 0,
      live: null,
      armed: null,
      promised: { term: 0, vote: null },
      joining,
      retired: false,
    };
    this.#nodes.set(id, node);
    return node;
  }

  /** Boots every node. */
  start(): void {
    for (const node of this.#nodes.values()) this.#boot(node);
  }

  // ---- what clients and the nemesis see -----------------------------------------------------------------

  /** The leader a client would find: of the running nodes that believe they lead, the one with the highest term. */
  leader(): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const node of this.#nodes.values()) {
      const raft = node.live?.peer.node;
      if (raft === undefined || raft.role !== "leader") continue;
      if (best === null || raft.term > best.term) best = { id: node.id, term: raft.term };
    }
    return best?.id ?? null;
  }

  /** Whether node `id` is running (up, paused or not). */
  isUp(id: NodeId): boolean {
    return this.#node(id).live !== null;
  }

  /** Whether node `id` is up and paused. */
  isPaused(id: NodeId): boolean {
    return this.#node(id).live?.runtime.paused === true;
  }

  /** The current partition, or null when every link is open. */
  get partition(): PartitionShape | null {
    return this.#partition;
  }

  /** Every running node's term, role and commit index, for a liveness report. */
  describeNodes(): string {
    return this.ids
      .map((id) => {
        const node = this.#node(id);
        const live = node.live;
        if (live === null) return `${id}: ${node.retired ? "stopped" : "down"}`;
        const raft = live.peer.node;
        return `${id}: ${raft.role} term ${raft.term} commit ${raft.log.committed}/${raft.log.lastIndex()}`;
      })
      .join(", ");
  }

  /** Node `id`'s current term, or 0 while it is down. */
  termOf(id: NodeId): number {
    return this.#node(id).live?.peer.node.term ?? 0;
  }

  /** The highest term of any running node. */
  highestTerm(): number {
    let term = 0;
    for (const node of this.#nodes.values()) term = Math.max(term, node.live?.peer.node.term ?? 0);
    return term;
  }

  /** Hands a client command to the node the client believes leads (it queues there if that node is paused). */
  propose(data: Uint8Array): void {
    this.#counts.proposals++;
    const target = this.leader();
    const live = target === null ? null : this.#node(target).live;
    if (target === null || live === null) return;
    const queued = live.runtime.run(() => {
      const result = live.peer.propose(data);
      this.#emit({
        t: this.#now(),
        kind: "input",
        node: target,
        input: "propose",
        command: commandText(data),
        index: result.accepted ? result.index : null,
      });
      this.#checker.observe(target);
    }, true);
    if (queued && live.runtime.paused) this.#counts.pausedInputs++;
  }

  // ---- the operator (membership-ops.ts) and the flapping node (flapper.ts) -----------------------------

  /** Node `id`'s running core, or null while it is down: what an operator's status query shows. Read only. */
  raftOf(id: NodeId): RaftNode | null {
    return this.#node(id).live?.peer.node ?? null;
  }

  /**
   * Starts a brand-new node with the next free id and no configuration (RaftConfig.voters empty): it waits
   * for a leader to add it. Returns its id, or null once {@link NODE_SLOTS_MAX} slots exist or the run is over.
   */
  addNode(): NodeId | null {
    if (this.#frozen || !this.#faultPhase || this.#slotIds.length >= NODE_SLOTS_MAX) return null;
    const id = asNodeId(Math.max(...this.#slotIds) + 1);
    const node = this.#addSlot(id, true);
    this.#boot(node);
    return id;
  }

  /**
   * Hands an operator's request (a membership change, a leadership transfer) to node `id`'s process — queued
   * while it is paused — and lets the checker look at the node afterwards. False if the node is down.
   */
  request(id: NodeId, input: (peer: Peer) => void): boolean {
    const live = this.#node(id).live;
    if (live === null) return false;
    const queued = live.runtime.run(() => {
      input(live.peer);
      this.#checker.observe(id);
    }, true);
    if (queued && live.runtime.paused) this.#counts.pausedInputs++;
    return queued;
  }

  /** Whether the operator stopped node `id` for good. */
  isRetired(id: NodeId): boolean {
    return this.#node(id).retired;
  }

  /** Stops node `id` for good, as an operator decommissions a removed node: it is never restarted. */
  retire(id: NodeId): void {
    const node = this.#node(id);
    if (node.retired || this.#frozen) return;
    node.retired = true;
    node.armed = null;
    const live = node.live;
    if (live === null) return;
    live.runtime.kill();
    live.stop();
    this.network.unregister(id);
    node.live = null;
    node.disk.crash(false);
    this.#checker.detach(id, node.disk.durable.entries);
  }

  /** Cuts node `id` off from every other node both ways, on top of any partition; null reconnects it. */
  setFlapCut(id: NodeId | null): void {
    if (id !== null && !this.#faultPhase) return;
    this.#flapCut = id;
    this.#applyBlocks();
  }

  /** Blocks exactly the partition's links and the flapping node's. */
  #applyBlocks(): void {
    this.network.heal();
    for (const [from, to] of this.#partition?.blocked ?? []) this.network.block(from, to);
    const cut = this.#flapCut;
    if (cut === null) return;
    for (const other of this.#slotIds) {
      this.network.block(cut, other);
      this.network.block(other, cut);
    }
  }

  // ---- faults ------------------------------------------------------------------------------------------

  /**
   * Crashes node `id` now: every unsynced write is lost (with `tear`, the oldest is torn). It restarts after
   * `restartAfterMs`, unless the fault phase has ended by then (the heal restarts it).
   */
  crash(id: NodeId, tear: boolean, restartAfterMs: number): void {
    const node = this.#node(id);
    const live = node.live;
    if (live === null || this.#frozen || !this.#faultPhase) return;
    const raft = live.peer.node;
    const { role, term } = raft;
    this.#counts.crashes++;
    if (role === "leader") this.#counts.leaderCrashes++;
    live.runtime.kill();
    live.stop();
    this.network.unregister(id);
    node.live = null;
    node.armed = null;
    const loss = node.disk.crash(tear);
    const durable = node.disk.durable.hardState;
    node.promised = { term: durable.term, vote: durable.vote };
    if (loss.lostWrites > 0) this.#counts.crashesLosingWrites++;
    if (loss.torn !== null) this.#counts.tornWrites++;
    this.#checker.detach(id, node.disk.durable.entries);
    this.#emit({
      t: this.#now(),
      kind: "crash",
      node: id,
      role,
      term,
      lostWrites: loss.lostWrites,
      lostEntries: loss.lostEntries,
      torn: loss.torn === null ? null : { kept: loss.torn.keptEntries, of: loss.torn.ofEntries },
    });
    const incarnation = node.incarnations;
    this.#clock.setTimer(() => {
      if (this.#faultPhase && node.live === null && node.incarnations === incarnation) this.restart(id);
    }, restartAfterMs);
  }

  /**
   * Arms a crash of node `id` for its next write (see {@link CrashTiming}); `tear` tears a mid-write crash's
   * write. If no write comes within {@link ARMED_CRASH_WAIT_MS}, it crashes anyway.
   */
  armCrash(id: NodeId, timing: CrashTiming, tear: boolean, restartAfterMs: number): void {
    const node = this.#node(id);
    const live = node.live;
    if (live === null || node.armed !== null) return;
    const armed = { timing, tear, restartAfterMs };
    node.armed = armed;
    this.#clock.setTimer(() => {
      if (node.armed === armed && node.live === live && this.#faultPhase)
        this.crash(id, false, restartAfterMs);
    }, ARMED_CRASH_WAIT_MS);
  }

  /** Restarts crashed node `id` from its disk. */
  restart(id: NodeId): void {
    const node = this.#node(id);
    if (node.live !== null || this.#frozen || node.retired) return;
    this.#counts.restarts++;
    this.#boot(node);
  }

  /** Pauses node `id`'s process for `ms`; it resumes then (or at the heal, whichever is first). */
  pause(id: NodeId, ms: number): void {
    const live = this.#node(id).live;
    if (live === null || live.runtime.paused) return;
    this.#counts.pauses++;
    if (live.peer.node.role === "leader") this.#counts.leaderPauses++;
    live.runtime.pause();
    this.#emit({ t: this.#now(), kind: "pause", node: id, ms });
    this.#clock.setTimer(() => this.#resume(id, live), ms);
  }

  /** Replaces the partition with `shape`. */
  setPartition(shape: PartitionShape): void {
    this.#partition = shape;
    this.#applyBlocks();
    switch (shape.kind) {
      case "isolate":
        this.#counts.isolations++;
        break;
      case "split":
        this.#counts.splits++;
        break;
      case "bridge":
        this.#counts.bridges++;
        break;
      case "one-way":
        this.#counts.oneWayPartitions++;
        break;
    }
    this.#emit({
      t: this.#now(),
      kind: "partition",
      shape: shape.kind,
      description: shape.description,
      blocked: shape.blocked.map(([from, to]) => [from, to] as const),
    });
  }

  /** Opens every link. */
  healPartition(): void {
    if (this.#partition === null) return;
    this.#partition = null;
    this.#applyBlocks();
    this.#emit({ t: this.#now(), kind: "heal" });
  }

  /**
   * Ends the fault phase: opens every link, makes every link clean, stops holding messages back, resumes every
   * paused process and restarts every crashed node. Messages already on the wire still arrive.
   */
  healAll(): void {
    this.#faultPhase = false;
    this.#flapCut = null;
    this.healPartition();
    this.#applyBlocks();
    for (const from of this.ids) for (const to of this.ids) this.network.setLinkFaults(from, to, undefined);
    this.network.setFaults(HEALED_LINK);
    for (const node of this.#nodes.values()) {
      node.armed = null;
      if (node.live !== null) this.#resume(node.id, node.live);
      else this.restart(node.id);
    }
  }

  /** Stops every node for good, at the end of the run. */
  freeze(): void {
    this.#frozen = true;
    for (const node of this.#nodes.values()) {
      if (node.live === null) continue;
      node.live.runtime.kill();
      node.live.stop();
    }
    this.#counts.messagesDuplicated = this.network.counters.duplicated;
  }

  // ---- nodes -------------------------------------------------------------------------------------------

  #node(id: NodeId): SwarmNode {
    const node = this.#nodes.get(id);
    assert(node !== undefined, () => `SwarmCluster: no node ${id}`);
    return node;
  }

  #boot(node: SwarmNode): void {
    const { id } = node;
    const number = ++node.incarnations;
    const initialState = node.disk.durable.initialState();
    const nodeProcess = new NodeProcess(this.#clock, node.ratePerMille, (tick) => {
      if (this.#trace !== null) this.#emit({ t: this.#now(), kind: "input", node: id, input: "tick" });
      tick();
      this.#checker.observe(id);
    });
    const plan = this.#plan;
    const peerOptions: PeerOptions = {
      raft: {
        id,
        // A node the operator added starts with no configuration and waits for a leader to add it.
        voters: node.joining ? [] : this.initialIds,
        electionTicks: ELECTION_TICKS,
        electionJitterTicks: ELECTION_JITTER_TICKS,
        heartbeatTicks: HEARTBEAT_TICKS,
        // Each incarnation draws its own election jitter, so a restart does not replay the old timeouts.
        random: new Random(deriveSeed(plan.settings.seed, `node-${id}-incarnation-${number}`)),
        initialState,
        noopOnElection: true,
        entriesPerMessageMax: plan.entriesPerMessageMax,
        inflightMessagesMax: plan.inflightMessagesMax,
        plantedBug: plan.settings.plantedBug,
        preVote: plan.protocol.preVote,
        checkQuorum: plan.protocol.checkQuorum,
        leaseReads: plan.protocol.leaseReads,
      },
      clock: nodeProcess.clock,
      tickMs: TICK_MS,
      transport: {
        send: (message) => {
          if (nodeProcess.alive) this.#send(message);
        },
      },
      storage: { save: (update) => this.#save(node, nodeProcess, update) },
      stateMachine: {
        apply: (entries, snapshot) => {
          if (nodeProcess.alive) this.#apply(id, entries, snapshot);
        },
      },
      onSoftState: (state) => {
        if (!nodeProcess.alive) return;
        this.#emit({
          t: this.#now(),
          kind: "role",
          node: id,
          role: state.role,
          term: state.term,
          leader: state.leader,
        });
        if (state.role === "leader") {
          this.#counts.elections++;
          this.#checker.observeLeaderReport(id, state.term);
          if (this.#faultPhase) this.#onLeader?.(id);
        }
      },
      onReadStates: (states) => {
        if (nodeProcess.alive) this.#onReadStates?.(id, states);
      },
      onFatal: (error) => {
        if (nodeProcess.alive) this.#checker.nodeFailed(id, error);
      },
    };
    const hosted =
      this.#host?.({ id, incarnation: number, peerOptions, process: nodeProcess }) ?? barePeer(peerOptions);
    const peer = hosted.peer;
    const live: Live = { number, runtime: nodeProcess, peer, stop: () => hosted.stop() };
    node.live = live;
    this.network.register(id, (envelope) => this.#arrive(id, live, envelope));
    if (number > 1) {
      const { hardState, entries } = initialState;
      this.#emit({
        t: this.#now(),
        kind: "restart",
        node: id,
        incarnation: number,
        term: hardState.term,
        vote: hardState.vote,
        commit: hardState.commit,
        lastIndex: entries[entries.length - 1]?.index ?? 0,
      });
    }
    this.#checker.attach(id, peer.node);
    peer.start();
  }

  #resume(id: NodeId, live: Live): void {
    if (this.#node(id).live !== live || !live.runtime.paused) return;
    const queued = live.runtime.queued;
    live.runtime.resume();
    this.#emit({ t: this.#now(), kind: "resume", node: id, queued });
  }

  /** The peer's storage port: issue the write, resolve once it is durable (and the process runs). */
  #save(node: SwarmNode, nodeProcess: NodeProcess, update: StorageUpdate): Promise<void> {
    const { id } = node;
    this.#checker.onWrite(id, update);
    if (this.#trace !== null)
      this.#emit({
        t: this.#now(),
        kind: "persist",
        node: id,
        phase: "write",
        ...entryRange(update.entries),
        hardState: tracedHardState(update.hardState),
      });
    const armed = this.#crashForWrite(node, update);
    const live = node.live;
    return new Promise<void>((resolve) => {
      const latencyMs = node.disk.write(update, () => {
        const queued = nodeProcess.run(() => {
          const durable = node.disk.durable.hardState;
          this.#checker.onSync(id, durable.commit, durable.term);
          if (this.#trace !== null)
            this.#emit({
              t: this.#now(),
              kind: "persist",
              node: id,
              phase: "sync",
              ...entryRange(update.entries),
              hardState: tracedHardState(update.hardState),
            });
          resolve();
          // After the peer's continuation (sending what waited for this write) has run: the next event.
          if (armed?.timing === "after-sync") {
            this.#clock.setTimer(() => {
              if (node.live === live) this.crash(id, false, armed.restartAfterMs);
            }, 0);
          }
        });
        if (queued && nodeProcess.paused) this.#counts.pausedInputs++;
      });
      if (armed?.timing === "mid-write") {
        // Strictly before the sync: the write is in flight, not yet durable.
        const atMs = this.#crashRandom.int(Math.max(1, Math.floor(latencyMs * 1000))) / 1000;
        this.#clock.setTimer(() => {
          if (node.live === live) this.crash(id, armed.tear, armed.restartAfterMs);
        }, atMs);
      }
    });
  }

  /**
   * The crash, if any, that lands in or right after this write: one the nemesis armed, or (amnesia) one that
   * strikes a follower right after it syncs a new term or vote — a voter, not a candidate mid-campaign.
   */
  #crashForWrite(node: SwarmNode, update: StorageUpdate): ArmedCrash | null {
    const armed = this.#faultPhase ? node.armed : null;
    node.armed = null;
    const promise = update.hardState;
    const promised = node.promised;
    if (promise === undefined) return armed;
    node.promised = { term: promise.term, vote: promise.vote };
    const newPromise = promise.term !== promised.term || promise.vote !== promised.vote;
    const { amnesiaPercent } = this.#plan;
    if (
      armed !== null ||
      !newPromise ||
      !this.#faultPhase ||
      amnesiaPercent === 0 ||
      node.live?.peer.node.role !== "follower" ||
      !this.#amnesiaRandom.chance(amnesiaPercent, 100)
    ) {
      return armed;
    }
    return {
      timing: "after-sync",
      tear: false,
      restartAfterMs: this.#amnesiaRandom.intBetween(1, AMNESIA_DOWNTIME_MS_MAX),
    };
  }

  #apply(id: NodeId, entries: readonly Entry[], snapshot: Snapshot | undefined): void {
    assert(snapshot === undefined, "SwarmCluster: the swarm never compacts, so no snapshot is applied");
    this.#checker.onApply(id, entries);
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined) return;
    if (this.#trace !== null)
      this.#emit({ t: this.#now(), kind: "apply", node: id, first: first.index, last: last.index });
    this.#onApplied(id, entries);
  }

  // ---- messages ----------------------------------------------------------------------------------------

  #send(message: Message): void {
    const envelope: Envelope = { id: this.#nextMessageId++, message, sentAt: this.#now() };
    this.#counts.messagesSent++;
    const { from, to } = message;
    const link = linkPlanOf(this.#plan, from, to);
    const holdMs =
      this.#faultPhase &&
      link !== undefined &&
      link.holdPerMille > 0 &&
      this.#holdRandom.chance(link.holdPerMille, 1000)
        ? this.#holdRandom.intBetween(HOLD_MIN_MS, this.#plan.holdMaxMs)
        : 0;
    if (this.#trace !== null) {
      const msg = traceMessage(message);
      this.#emit({
        t: envelope.sentAt,
        kind: "send",
        id: envelope.id,
        from,
        to,
        msg,
        ...(holdMs > 0 ? { holdMs } : {}),
      });
    }
    if (holdMs === 0) {
      this.network.send(from, to, envelope);
      return;
    }
    this.#counts.messagesHeld++;
    this.#clock.setTimer(() => this.network.send(from, to, envelope), holdMs);
  }

  /** The network hands a message to node `id`'s process; it is handled now, or once the process resumes. */
  #arrive(id: NodeId, live: Live, envelope: Envelope): void {
    const queued = live.runtime.run(() => this.#handle(id, live, envelope), true);
    if (!queued) {
      this.#counts.overflowDrops++;
      this.#drop(envelope, "overflow");
    } else if (live.runtime.paused) {
      this.#counts.pausedInputs++;
    }
  }

  #handle(id: NodeId, live: Live, envelope: Envelope): void {
    const now = this.#now();
    const { from, to } = envelope.message;
    if (now - envelope.sentAt > ELECTION_TIMEOUT_MAX_MS) this.#counts.lateDeliveries++;
    const link = from * LINK_KEY_SPAN + to;
    const highest = this.#lastHandled.get(link) ?? -1;
    if (envelope.id < highest) this.#counts.messagesReordered++;
    else this.#lastHandled.set(link, envelope.id);
    if (this.#trace !== null)
      this.#emit({ t: now, kind: "deliver", id: envelope.id, from, to, sentAt: envelope.sentAt });
    live.peer.receive(envelope.message);
    this.#checker.observe(id);
  }

  #networkEvent(event: NetworkEvent<Envelope>): void {
    if (event.kind !== "drop") return;
    switch (event.reason) {
      case "loss":
        this.#counts.messagesLost++;
        break;
      case "partition":
        this.#counts.partitionDrops++;
        break;
      case "down":
        this.#counts.downDrops++;
        break;
    }
    this.#drop(event.message, event.reason);
  }

  #drop(envelope: Envelope, reason: TracedDropReason): void {
    if (this.#trace === null) return;
    const { from, to } = envelope.message;
    this.#emit({ t: this.#now(), kind: "drop", id: envelope.id, from, to, reason });
  }

  #emit(event: SwarmTraceEvent): void {
    if (this.#trace !== null && !this.#frozen) this.#trace(event);
  }

  #now(): number {
    return Math.round(this.#clock.now() * 1000) / 1000;
  }
}

/** A peer with nothing around it: what each node runs unless the cluster has a host. */
function barePeer(options: PeerOptions): HostedNode {
  const peer = new Peer(options);
  return { peer, stop: () => peer.stop() };
}
