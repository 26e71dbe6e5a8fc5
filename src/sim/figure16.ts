import {
  asNodeId,
  EMPTY_HARD_STATE,
  type Message,
  type NodeId,
  RaftNode,
  type Ready,
  type Role,
  type SoftState,
} from "../core/index.ts";
import type { Clock, TimerHandle } from "../peer/index.ts";
import { assert, unreachable } from "../util/assert.ts";
import { deriveSeed, Random } from "../util/random.ts";
import { EventQueue } from "./event-queue.ts";
import { SimNetwork } from "./network.ts";
import { SafetyChecker } from "./safety-checker.ts";

/**
 * Figure 16 of the extended Raft paper (§9.3, "Performance"), reproduced on virtual time: how long a five-node
 * cluster is without a leader after its leader crashes, for several ranges of election timeouts.
 *
 * The paper's setup: five servers, a broadcast time of roughly 15 ms, the leader crashed uniformly at random
 * within its heartbeat interval (half the minimum election timeout) just after a synchronized broadcast,
 * 1000 trials per range (100 for 150–150 ms). Our setup, trial by trial:
 *
 * 1. five real {@link RaftNode}s on a fresh virtual clock with a 1 ms tick, each election timeout drawn
 *    uniformly from the range's [min, max] ms, joined by a {@link SimNetwork} that loses nothing; the
 *    {@link LatencyModel} puts the ~15 ms broadcast time on the wire (one-way delays of 5–10 ms, the
 *    default) or mostly in a disk write before each reply;
 * 2. one node campaigns at once and wins; the leader replicates a few commands, one per heartbeat interval,
 *    and runs for at least two maximum election timeouts, and then we wait until every follower holds the
 *    leader's whole log and knows it committed;
 * 3. the leader replicates one more command (the synchronized broadcast: every follower's election timer
 *    restarts at about the same time) and crashes at a moment drawn uniformly from the next half minimum
 *    election timeout;
 * 4. we measure the virtual time from the crash until a node becomes leader, capping the trial at
 *    {@link Figure16Options.capMs}.
 *
 * Each trial has its own seed derived from the experiment's seed, the range and the trial's number, so the
 * results are a pure function of the seed and do not depend on which trials run or in what order.
 *
 * The nodes run through the core's Ready contract (send, persist, send replies, apply, advance) driven
 * synchronously by a small discrete-event loop ({@link TrialWorld}) rather than through `Peer`: a `Peer`
 * needs one host macrotask per event, which would make 10 000 trials take many minutes; with one input per
 * event the order of work is the same.
 */

// ---- the experiment's parameters ---------------------------------------------------------------------------

/** An election-timeout range: each timeout is drawn uniformly from [minMs, maxMs] (whole milliseconds). */
export interface TimeoutRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/** The two graphs of Figure 16: top, the amount of randomness; bottom, the scale of the minimum timeout. */
export type Figure16Panel = "randomness" | "scale";

/** A statement the paper's text makes about one range (§9.3); the figure's other curves have none. */
export type PaperClaim =
  | { readonly kind: "median"; readonly ms: number }
  | { readonly kind: "max"; readonly ms: number }
  | { readonly kind: "mean"; readonly ms: number }
  | { readonly kind: "above"; readonly ms: number };

/** One line of Figure 16. */
export interface Figure16Series {
  readonly range: TimeoutRange;
  /** The graphs the paper draws this range in (150–300 ms appears in both). */
  readonly panels: readonly Figure16Panel[];
  /** What §9.3's text says about this range. */
  readonly paper: readonly PaperClaim[];
  /** How many trials the paper ran for this range. */
  readonly paperTrials: number;
}

/** The ten ranges of Figure 16 with what the paper says about each. */
export const FIGURE16_SERIES: readonly Figure16Series[] = [
  {
    range: { minMs: 150, maxMs: 150 },
    panels: ["randomness"],
    paper: [{ kind: "above", ms: 10_000 }],
    paperTrials: 100,
  },
  { range: { minMs: 150, maxMs: 151 }, panels: ["randomness"], paper: [], paperTrials: 1000 },
  {
    range: { minMs: 150, maxMs: 155 },
    panels: ["randomness"],
    paper: [{ kind: "median", ms: 287 }],
    paperTrials: 1000,
  },
  { range: { minMs: 150, maxMs: 175 }, panels: ["randomness"], paper: [], paperTrials: 1000 },
  {
    range: { minMs: 150, maxMs: 200 },
    panels: ["randomness"],
    paper: [{ kind: "max", ms: 513 }],
    paperTrials: 1000,
  },
  { range: { minMs: 150, maxMs: 300 }, panels: ["randomness", "scale"], paper: [], paperTrials: 1000 },
  {
    range: { minMs: 12, maxMs: 24 },
    panels: ["scale"],
    paper: [
      { kind: "mean", ms: 35 },
      { kind: "max", ms: 152 },
    ],
    paperTrials: 1000,
  },
  { range: { minMs: 25, maxMs: 50 }, panels: ["scale"], paper: [], paperTrials: 1000 },
  { range: { minMs: 50, maxMs: 100 }, panels: ["scale"], paper: [], paperTrials: 1000 },
  { range: { minMs: 100, maxMs: 200 }, panels: ["scale"], paper: [], paperTrials: 1000 },
];

/** Cluster size (the paper's five servers). */
export const FIGURE16_NODES = 5;

/** A range of whole milliseconds, drawn from uniformly. */
export interface MsRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * Where the ~15 ms broadcast time goes. The paper's "broadcast time" is the time to send RPCs to every server
 * in parallel and receive their responses; on its cluster that was a fast LAN plus a disk write (its
 * replies wait for the write).
 */
export interface LatencyModel {
  /** A short name for tables and the command line. */
  readonly name: string;
  /** One-way message delay (at least 1 ms). */
  readonly networkMs: MsRange;
  /** Time to make a Ready durable before its replies leave (0 for instant storage). */
  readonly diskMs: MsRange;
}

/** All 15 ms on the wire: one-way delays uniform in 5–10 ms, instant storage. */
export const NETWORK_LATENCY: LatencyModel = {
  name: "network",
  networkMs: { minMs: 5, maxMs: 10 },
  diskMs: { minMs: 0, maxMs: 0 },
};

/** The paper's cluster: a 1 ms hop (the clock's resolution) and a 12–14 ms disk write before every reply. */
export const DISK_LATENCY: LatencyModel = {
  name: "disk",
  networkMs: { minMs: 1, maxMs: 1 },
  diskMs: { minMs: 12, maxMs: 14 },
};

/** The latency models by name. */
export const LATENCY_MODELS: readonly LatencyModel[] = [NETWORK_LATENCY, DISK_LATENCY];

/** Virtual milliseconds per core tick. */
export const FIGURE16_TICK_MS = 1;

/** Default cap on one trial's time without a leader: 60 s of virtual time. */
export const FIGURE16_CAP_MS = 60_000;

/** Bound on the setup before the crash, in multiples of the maximum election timeout (plus one second). */
const WARMUP_TIMEOUTS_MAX = 100;

/** Commands the leader replicates before the crash, one per heartbeat interval. */
const WARMUP_COMMANDS = 4;

/**
 * The followers' logs at the crash: `equal`, every follower holds the leader's last entry; `two-behind`, as
 * in the paper's runs, two of the four lack it (so only the other two can win an election).
 */
export type LogsSetup = "equal" | "two-behind";

/** Settings of one run of the experiment. */
export interface Figure16Options {
  /** The seed every random choice derives from. */
  readonly seed: number;
  /** Trials per range. Default 1000. */
  readonly trials?: number;
  /** The lines to run. Default {@link FIGURE16_SERIES}. */
  readonly series?: readonly Figure16Series[];
  /** Cap on one trial's time without a leader, in ms. Default {@link FIGURE16_CAP_MS}. */
  readonly capMs?: number;
  /** Where the broadcast time goes. Default {@link NETWORK_LATENCY}. */
  readonly latency?: LatencyModel;
  /** The followers' logs at the crash. Default `equal`. */
  readonly logs?: LogsSetup;
  /** Called after each range with its results (for progress output). */
  readonly onSeries?: (result: SeriesResult, index: number, of: number) => void;
}

/**
 * The core's heartbeat setting for a range: half the minimum election timeout, the paper's setting. The core
 * sends a follower a heartbeat whenever it has been sent nothing for this long, so that is the longest gap.
 */
export function heartbeatTicksFor(range: TimeoutRange): number {
  return Math.max(1, Math.floor(range.minMs / 2 / FIGURE16_TICK_MS));
}

/** The window the crash is drawn from, after the last broadcast: half the minimum timeout, as in the paper. */
export function crashWindowMsFor(range: TimeoutRange): number {
  return Math.max(1, Math.floor(range.minMs / 2));
}

/** "150–155 ms". */
export function rangeLabel(range: TimeoutRange): string {
  return `${range.minMs}–${range.maxMs} ms`;
}

// ---- results -----------------------------------------------------------------------------------------------

/** What one trial measured. Times are virtual milliseconds. */
export interface TrialResult {
  /** When the leader crashed, after its last broadcast: uniform in [0, crash window). */
  readonly crashOffsetMs: number;
  /** From the crash until a node became leader; null if the trial hit the cap first. */
  readonly electedMs: number | null;
  /** From the crash until every live node followed one leader; null if that did not happen by the cap. */
  readonly heardMs: number | null;
  /** Terms the election went through (1: the first candidate won); when capped, the terms started so far. */
  readonly terms: number;
  /** Leader changes during the setup, before the crash (a sign the timing requirement is not met). */
  readonly setupElections: number;
}

/** Summary of one range. Percentiles are nearest-rank; capped trials count as longer than every other. */
export interface SeriesStats {
  readonly trials: number;
  readonly capped: number;
  /** Null when the percentile falls on a capped trial (it is then "more than the cap"). */
  readonly medianMs: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** Mean counting capped trials at the cap: a lower bound when any are capped. */
  readonly meanMs: number;
  readonly minMs: number | null;
  /** Mean time until every live node followed one leader, over the trials where that happened (null if none). */
  readonly meanHeardMs: number | null;
  /** Mean number of terms per trial. */
  readonly meanTerms: number;
  /** Trials whose election took more than one term (a split vote or a failed candidate first). */
  readonly multiTerm: number;
  /** Leader changes before the crash, over all trials. */
  readonly setupElections: number;
}

/** One range's trials and their summary. */
export interface SeriesResult {
  readonly series: Figure16Series;
  readonly trials: readonly TrialResult[];
  readonly stats: SeriesStats;
  /**
   * Trials whose setup never settled under one leader (no leader with every follower caught up) and that
   * were therefore run again from another seed. Happens only below the timing requirement, where the
   * broadcast time exceeds the minimum timeout and leaders keep being deposed.
   */
  readonly resetups: number;
}

/** Thrown by {@link runTrial} when the cluster never settles under one leader before the crash. */
export class SetupUnsettled extends Error {
  override name = "SetupUnsettled";
}

/** How many times one trial's setup is retried from another seed before the experiment gives up. */
const SETUP_ATTEMPTS_MAX = 20;

/** A whole run of the experiment. */
export interface Figure16Result {
  readonly seed: number;
  readonly trialsPerSeries: number;
  readonly capMs: number;
  readonly latency: LatencyModel;
  readonly logs: LogsSetup;
  readonly series: readonly SeriesResult[];
}

// ---- running -----------------------------------------------------------------------------------------------

/** Runs every range of the experiment. Pure and deterministic: the same options give the same result. */
export function runFigure16(options: Figure16Options): Figure16Result {
  const trials = options.trials ?? 1000;
  const capMs = options.capMs ?? FIGURE16_CAP_MS;
  const latency = options.latency ?? NETWORK_LATENCY;
  const logs = options.logs ?? "equal";
  const all = options.series ?? FIGURE16_SERIES;
  assert(Number.isSafeInteger(trials) && trials >= 1, () => `figure16: trials must be >= 1, got ${trials}`);
  const series: SeriesResult[] = [];
  all.forEach((one, index) => {
    const result = runSeries(one, { seed: options.seed, trials, capMs, latency, logs });
    series.push(result);
    options.onSeries?.(result, index, all.length);
  });
  return { seed: options.seed, trialsPerSeries: trials, capMs, latency, logs, series };
}

/** Settings of {@link runSeries}. */
export interface SeriesSettings {
  readonly seed: number;
  readonly trials: number;
  readonly capMs: number;
  readonly latency: LatencyModel;
  readonly logs: LogsSetup;
}

/** Runs the trials of one range. */
export function runSeries(series: Figure16Series, settings: SeriesSettings): SeriesResult {
  const trials: TrialResult[] = [];
  let resetups = 0;
  for (let trial = 0; trial < settings.trials; trial++) {
    for (let attempt = 0; ; attempt++) {
      try {
        const seed = trialSeed(settings.seed, series.range, trial + attempt * settings.trials);
        trials.push(runTrial(series.range, seed, settings));
        break;
      } catch (error) {
        if (!(error instanceof SetupUnsettled) || attempt + 1 >= SETUP_ATTEMPTS_MAX) throw error;
        resetups++;
      }
    }
  }
  return { series, trials, stats: summarize(trials, settings.capMs), resetups };
}

/** The seed of one trial: independent of every other trial's. */
export function trialSeed(seed: number, range: TimeoutRange, trial: number): number {
  return deriveSeed(seed, `figure16/${range.minMs}-${range.maxMs}/${trial}`);
}

/** Runs one trial (steps 1–4 of the module comment) on a fresh cluster. */
export function runTrial(
  range: TimeoutRange,
  seed: number,
  settings: Pick<SeriesSettings, "capMs" | "latency" | "logs">,
): TrialResult {
  validateRange(range);
  const world = new TrialWorld(range, seed, settings.latency);
  const harness = new Random(deriveSeed(seed, "harness"));
  const heartbeatMs = heartbeatTicksFor(range) * FIGURE16_TICK_MS;
  const setupDeadline = WARMUP_TIMEOUTS_MAX * range.maxMs + 1000;
  const fail = (what: string) => `figure16 ${rangeLabel(range)} seed ${seed}: ${what}`;

  // Step 2: a leader, replicating.
  world.campaign(harness.pick(world.ids));
  if (!world.runUntil(() => world.stableLeader() !== null, setupDeadline)) {
    throw new SetupUnsettled(fail("no stable leader"));
  }
  const changesWhenStable = world.leaderChanges;
  const steadyUntil = world.now() + 2 * range.maxMs;
  let commands = 0;
  let nextCommandAt = world.now();
  world.runUntil(() => {
    const leader = world.stableLeader();
    if (leader !== null && commands < WARMUP_COMMANDS && world.now() >= nextCommandAt) {
      if (world.propose(leader)) commands++;
      nextCommandAt = world.now() + heartbeatMs;
    }
    return world.now() >= steadyUntil && commands >= WARMUP_COMMANDS;
  }, setupDeadline);
  if (!world.runUntil(() => world.settledLeader() !== null, setupDeadline)) {
    throw new SetupUnsettled(fail("the followers never caught up"));
  }

  // Step 3: the last broadcast, then the crash somewhere in the next heartbeat interval.
  const oldLeader = world.settledLeader();
  assert(oldLeader !== null, () => fail("lost the leader"));
  if (settings.logs === "two-behind") {
    const followers = world.ids.filter((id) => id !== oldLeader);
    const behind = new Set<NodeId>();
    while (behind.size < 2) behind.add(harness.pick(followers));
    world.withholdNewEntries(oldLeader, behind);
  }
  assert(world.propose(oldLeader), () => fail("the leader refused a command"));
  const crashOffsetMs = harness.int(crashWindowMsFor(range));
  world.runUntil(() => false, world.now() + crashOffsetMs);
  // Below the timing requirement a follower may have deposed the leader meanwhile: crash whoever leads now.
  const setupElections = world.leaderChanges - changesWhenStable;
  const termAtCrash = world.highestTerm();
  world.crash(world.currentLeader() ?? oldLeader);
  const crashedAt = world.now();
  const changesAtCrash = world.leaderChanges;

  // Step 4: time until a new leader (the first elected after the crash), and until every live node follows
  // one leader (the paper's thesis measures to the other servers' first heartbeat from the new leader).
  const elected = world.runUntil(() => world.election(changesAtCrash) !== null, crashedAt + settings.capMs);
  const first = world.election(changesAtCrash);
  if (!elected || first === null) {
    const terms = world.highestTerm() - termAtCrash;
    return { crashOffsetMs, electedMs: null, heardMs: null, terms, setupElections };
  }
  const heard = world.runUntil(() => world.stableLeader() !== null, crashedAt + settings.capMs);
  return {
    crashOffsetMs,
    electedMs: first.electedAt - crashedAt,
    heardMs: heard ? world.now() - crashedAt : null,
    terms: first.term - termAtCrash,
    setupElections,
  };
}

function validateRange(range: TimeoutRange): void {
  const { minMs, maxMs } = range;
  if (!Number.isSafeInteger(minMs) || !Number.isSafeInteger(maxMs) || minMs < 2 || maxMs < minMs) {
    throw new RangeError(`figure16: bad election timeout range ${minMs}–${maxMs} ms`);
  }
}

// ---- the simulated cluster ---------------------------------------------------------------------------------

/** A node becoming leader. */
interface Election {
  readonly id: NodeId;
  readonly term: number;
  /** Virtual ms. */
  readonly electedAt: number;
}

/** One node of a {@link TrialWorld}. */
interface Slot {
  readonly id: NodeId;
  readonly node: RaftNode;
  /** The stream disk write latencies are drawn from. */
  readonly disk: Random;
  up: boolean;
  /** The last role, term and leader this node reported. */
  soft: SoftState;
}

/**
 * Five {@link RaftNode}s, a {@link SimNetwork} and virtual time, driven synchronously. Each millisecond the
 * loop delivers the messages due, then ticks every live node; after every input the node's Ready is carried
 * out at once in the core's order (send, persist, send replies, apply, advance). Storage is instant and the
 * state machine discards what it is given: elections do not depend on either.
 *
 * It is the {@link Clock} of its own network, so message delays are events in its queue.
 */
class TrialWorld implements Clock {
  readonly ids: readonly NodeId[];
  readonly #slots: readonly Slot[];
  readonly #queue = new EventQueue();
  readonly #cancelled = new Set<number>();
  readonly #network: SimNetwork<Message>;
  readonly #checker: SafetyChecker;
  readonly #diskMs: MsRange;
  /** Set by {@link withholdNewEntries}. */
  #withheld: { readonly from: NodeId; readonly to: ReadonlySet<NodeId>; readonly after: number } | null =
    null;
  #now = 0;
  #sequence = 0;
  /** Every time a node became leader, in order. */
  readonly #elections: Election[] = [];

  constructor(range: TimeoutRange, seed: number, latency: LatencyModel) {
    this.ids = Array.from({ length: FIGURE16_NODES }, (_, i) => asNodeId(i + 1));
    this.#checker = new SafetyChecker(seed);
    const { networkMs, diskMs } = latency;
    assert(networkMs.minMs >= 1, "figure16: message delays must be at least 1 ms");
    assert(diskMs.minMs >= 0 && diskMs.maxMs >= diskMs.minMs, "figure16: bad disk latency");
    this.#diskMs = diskMs;
    this.#network = new SimNetwork<Message>({
      clock: this,
      random: new Random(deriveSeed(seed, "network")),
      nodes: this.ids,
      faults: {
        dropProbability: 0,
        duplicateProbability: 0,
        delayMinMs: networkMs.minMs,
        delayMaxMs: networkMs.maxMs,
      },
    });
    this.#slots = this.ids.map((id) => {
      const node = new RaftNode({
        id,
        voters: this.ids,
        electionTicks: range.minMs / FIGURE16_TICK_MS,
        electionJitterTicks: (range.maxMs - range.minMs) / FIGURE16_TICK_MS,
        heartbeatTicks: heartbeatTicksFor(range),
        random: new Random(deriveSeed(seed, `node-${id}`)),
        initialState: { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [] },
      });
      const disk = new Random(deriveSeed(seed, `disk-${id}`));
      const slot: Slot = {
        id,
        node,
        disk,
        up: true,
        soft: { role: "follower", leader: null, term: node.term },
      };
      this.#network.register(id, (message) => this.#deliver(slot, message));
      return slot;
    });
  }

  // ---- Clock ---------------------------------------------------------------------------------------------

  now(): number {
    return this.#now;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(resolve, ms);
    });
  }

  setTimer(callback: () => void, ms: number): TimerHandle {
    const id = this.#sequence++;
    this.#queue.push({ time: this.#now + Math.max(0, ms), sequence: id, action: callback });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.#cancelled.add(handle.id);
  }

  // ---- the harness's view --------------------------------------------------------------------------------

  node(id: NodeId): RaftNode {
    return this.#slot(id).node;
  }

  /**
   * Runs millisecond by millisecond until `done()` holds (checked after each millisecond) or `deadline`
   * passes; returns whether `done()` held.
   */
  runUntil(done: () => boolean, deadline: number): boolean {
    if (done()) return true;
    while (this.#now < deadline) {
      const time = this.#now + FIGURE16_TICK_MS;
      for (;;) {
        const event = this.#queue.peek();
        if (event === undefined || event.time > time) break;
        this.#queue.pop();
        if (this.#cancelled.delete(event.sequence)) continue;
        this.#now = event.time;
        event.action();
      }
      this.#now = time;
      for (const slot of this.#slots) {
        if (!slot.up) continue;
        slot.node.tick();
        this.#flush(slot);
      }
      if (done()) return true;
    }
    return done();
  }

  /** Starts an election at `id` now, as its election timeout would. */
  campaign(id: NodeId): void {
    const slot = this.#slot(id);
    slot.node.campaign();
    this.#flush(slot);
  }

  /** Proposes a command at `id`; true if it was accepted (it is the leader). */
  propose(id: NodeId): boolean {
    const slot = this.#slot(id);
    const accepted = slot.node.propose(new Uint8Array([1])).accepted;
    this.#flush(slot);
    return accepted;
  }

  /**
   * From now on, entries that `from`'s log does not yet hold never reach the nodes in `to`: AppendEntries
   * from `from` to them arrive without those entries (as heartbeats, if nothing else is left). This is how
   * the paper's "servers had different log lengths" is set up: the next command reaches only the others.
   */
  withholdNewEntries(from: NodeId, to: ReadonlySet<NodeId>): void {
    this.#withheld = { from, to, after: this.node(from).log.lastIndex() };
  }

  /** Stops `id` for good: it neither ticks nor receives; what it already sent is still delivered. */
  crash(id: NodeId): void {
    const slot = this.#slot(id);
    slot.up = false;
    this.#network.unregister(id);
  }

  /** The latest leader, if it is up and every live node follows it in its term. */
  stableLeader(): NodeId | null {
    const leader = this.#lastLeader;
    if (leader === null || !this.#slot(leader.id).up) return null;
    for (const slot of this.#slots) {
      if (!slot.up) continue;
      const { node } = slot;
      if (node.term !== leader.term || node.leader !== leader.id) return null;
      if ((node.id === leader.id) !== (node.role === "leader")) return null;
    }
    return leader.id;
  }

  /** The stable leader, once every live node holds its whole log and knows it committed. */
  settledLeader(): NodeId | null {
    const id = this.stableLeader();
    if (id === null) return null;
    const log = this.node(id).log;
    const last = log.lastIndex();
    if (log.committed !== last) return null;
    for (const slot of this.#slots) {
      if (!slot.up) continue;
      const other = slot.node.log;
      if (other.lastIndex() !== last || other.lastTerm() !== log.lastTerm() || other.committed !== last) {
        return null;
      }
    }
    return id;
  }

  /** The node that most recently became leader, if it is up and still leads. */
  currentLeader(): NodeId | null {
    const leader = this.#lastLeader;
    if (leader === null) return null;
    const slot = this.#slot(leader.id);
    return slot.up && slot.node.role === "leader" && slot.node.term === leader.term ? leader.id : null;
  }

  /** The `index`-th time a node became leader (from 0), if it happened yet. */
  election(index: number): Election | null {
    return this.#elections[index] ?? null;
  }

  /** The highest term any live node has reached. */
  highestTerm(): number {
    let highest = 0;
    for (const slot of this.#slots) if (slot.up) highest = Math.max(highest, slot.node.term);
    return highest;
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /** The latest node to become leader, its term and when, if any. */
  get #lastLeader(): Election | null {
    return this.#elections.at(-1) ?? null;
  }

  /** How many times a node became leader so far. */
  get leaderChanges(): number {
    return this.#elections.length;
  }

  #slot(id: NodeId): Slot {
    const slot = this.#slots[id - 1];
    assert(slot !== undefined && slot.id === id, () => `figure16: no node ${id}`);
    return slot;
  }

  #send(message: Message): void {
    this.#network.send(message.from, message.to, message);
  }

  #withhold(message: Message): Message {
    const withheld = this.#withheld;
    if (withheld === null || message.type !== "AppendEntries") return message;
    if (message.from !== withheld.from || !withheld.to.has(message.to)) return message;
    const entries = message.entries.filter((entry) => entry.index <= withheld.after);
    return entries.length === message.entries.length ? message : { ...message, entries };
  }

  #deliver(slot: Slot, message: Message): void {
    if (!slot.up) return;
    slot.node.step(message);
    this.#flush(slot);
  }

  /**
   * Carries out the node's Ready batches until it has none. A batch with something to persist takes a disk
   * write's time (if the world has a disk latency): its replies leave, and the core hears it is done, only
   * then; meanwhile the node keeps ticking and receiving, and what that produces waits for the next batch.
   */
  #flush(slot: Slot): void {
    const { node } = slot;
    while (slot.up && node.hasReady()) {
      const rd = node.ready();
      if (rd.softState !== undefined) this.#softStateChanged(slot, rd.softState);
      const writes = rd.entries.length > 0 || rd.hardState !== undefined || rd.snapshot !== undefined;
      const writeMs = writes ? this.#diskWriteMs(slot) : 0;
      for (const message of rd.messages) this.#send(this.#withhold(message));
      if (writeMs > 0) {
        this.setTimer(() => {
          if (!slot.up) return;
          this.#finish(slot, rd);
          this.#flush(slot);
        }, writeMs);
        return;
      }
      this.#finish(slot, rd);
    }
  }

  /** The rest of a Ready once it is durable: nothing is really written, since no node restarts. */
  #finish(slot: Slot, rd: Ready): void {
    for (const message of rd.messagesAfterPersist) this.#send(message);
    slot.node.advance(rd);
  }

  #diskWriteMs(slot: Slot): number {
    const { minMs, maxMs } = this.#diskMs;
    return maxMs > minMs ? slot.disk.intBetween(minMs, maxMs) : minMs;
  }

  #softStateChanged(slot: Slot, state: SoftState): void {
    const previous: Role = slot.soft.role;
    slot.soft = state;
    if (state.role === "leader" && previous !== "leader") {
      this.#checker.observeLeader(slot.id, state.term);
      this.#elections.push({ id: slot.id, term: state.term, electedAt: this.#now });
    }
  }
}

// ---- statistics --------------------------------------------------------------------------------------------

/** Summarizes trials; see {@link SeriesStats}. */
export function summarize(trials: readonly TrialResult[], capMs: number): SeriesStats {
  const times = trials.map((trial) => trial.electedMs ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const finite = times.filter((time) => Number.isFinite(time));
  const heard = trials.flatMap((trial) => (trial.heardMs === null ? [] : [trial.heardMs]));
  const rank = (p: number): number | null => {
    if (times.length === 0) return null;
    const value = times[Math.max(0, Math.ceil((p / 100) * times.length) - 1)];
    return value === undefined || !Number.isFinite(value) ? null : value;
  };
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  const capped = times.length - finite.length;
  return {
    trials: trials.length,
    capped,
    medianMs: rank(50),
    p99Ms: rank(99),
    maxMs: rank(100),
    meanMs: trials.length === 0 ? 0 : (sum(finite) + capped * capMs) / trials.length,
    minMs: finite[0] ?? null,
    meanHeardMs: heard.length === 0 ? null : sum(heard) / heard.length,
    meanTerms: trials.length === 0 ? 0 : sum(trials.map((trial) => trial.terms)) / trials.length,
    multiTerm: trials.filter((trial) => trial.terms > 1).length,
    setupElections: sum(trials.map((trial) => trial.setupElections)),
  };
}

// ---- formatting --------------------------------------------------------------------------------------------

/** "287 ms", "12.3 s". */
export function formatMs(ms: number): string {
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

/** A percentile of {@link SeriesStats}: null means it fell on a capped trial. */
function formatStat(ms: number | null, capMs: number): string {
  return ms === null ? `> ${formatMs(capMs)}` : formatMs(ms);
}

/** What §9.3's text says about a range, in words ("median 287 ms"). */
export function formatPaperClaims(series: Figure16Series): string {
  const claims = series.paper.map((claim) => {
    switch (claim.kind) {
      case "median":
        return `median ${formatMs(claim.ms)}`;
      case "max":
        return `worst ${formatMs(claim.ms)}`;
      case "mean":
        return `mean ${formatMs(claim.ms)}`;
      case "above":
        return `more than ${formatMs(claim.ms)}`;
      default:
        return unreachable(claim);
    }
  });
  return claims.length === 0 ? "—" : claims.join(", ");
}

/** The columns of the results tables. */
const TABLE_HEADER = [
  "timeout",
  "trials",
  "median",
  "p99",
  "max",
  "mean",
  "capped",
  ">1 term",
  "all follow (mean)",
  "unplanned",
  "re-setups",
  "paper (§9.3 text)",
] as const;

function tableRows(result: Figure16Result): string[][] {
  return result.series.map(({ series, stats, resetups }) => [
    rangeLabel(series.range),
    String(stats.trials),
    formatStat(stats.medianMs, result.capMs),
    formatStat(stats.p99Ms, result.capMs),
    formatStat(stats.maxMs, result.capMs),
    `${stats.capped > 0 ? "≥ " : ""}${formatMs(stats.meanMs)}`,
    String(stats.capped),
    `${((100 * stats.multiTerm) / Math.max(1, stats.trials)).toFixed(0)}%`,
    stats.meanHeardMs === null ? "—" : formatMs(stats.meanHeardMs),
    String(stats.setupElections),
    String(resetups),
    formatPaperClaims(series),
  ]);
}

/** A one-line description of a run's setup. */
export function describeRun(result: Figure16Result): string {
  const { networkMs, diskMs } = result.latency;
  const disk = diskMs.maxMs === 0 ? "instant storage" : `a ${msRange(diskMs)} write before replies`;
  return (
    `latency "${result.latency.name}" (one-way ${msRange(networkMs)}, ${disk}), logs ${result.logs}, ` +
    `seed ${result.seed}, ${result.trialsPerSeries} trials per range, cap ${formatMs(result.capMs)}`
  );
}

function msRange(range: MsRange): string {
  return range.minMs === range.maxMs ? `${range.minMs} ms` : `${range.minMs}–${range.maxMs} ms`;
}

/** The results as an aligned plain-text table, for the terminal. */
export function formatFigure16Table(result: Figure16Result): string {
  const rows = [[...TABLE_HEADER], ...tableRows(result)];
  const widths = TABLE_HEADER.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 || column === row.length - 1
          ? cell.padEnd(widths[column] ?? 0)
          : cell.padStart(widths[column] ?? 0),
      )
      .join("  ")
      .trimEnd(),
  );
  return [describeRun(result), "", ...lines].join("\n");
}

/** The results as a Markdown table. */
export function formatFigure16Markdown(result: Figure16Result): string {
  const align = TABLE_HEADER.map((_, column) =>
    column === 0 || column === TABLE_HEADER.length - 1 ? ":--" : "--:",
  );
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [
    `*${describeRun(result)}*`,
    "",
    line(TABLE_HEADER),
    line(align),
    ...tableRows(result).map(line),
  ].join("\n");
}

// ---- the chart ---------------------------------------------------------------------------------------------

/** One color per line of {@link FIGURE16_SERIES}, in order; other ranges take the spare ones. */
const SERIES_COLORS = [
  "#d62728",
  "#ff7f0e",
  "#b5a900",
  "#2ca02c",
  "#17becf",
  "#1f77b4",
  "#9467bd",
  "#e377c2",
  "#8c564b",
  "#555555",
] as const;

const PANEL_TITLES: Readonly<Record<Figure16Panel, string>> = {
  randomness: "Varying the randomness (log scale)",
  scale: "Scaling the minimum timeout",
};

/** Plot geometry, in SVG user units. */
const CHART = {
  plotWidth: 330,
  plotHeight: 190,
  left: 56,
  right: 185,
  top: 46,
  bottom: 46,
  headerHeight: 54,
} as const;

function colorOf(series: Figure16Series): string {
  const index = FIGURE16_SERIES.findIndex(
    (known) => known.range.minMs === series.range.minMs && known.range.maxMs === series.range.maxMs,
  );
  return SERIES_COLORS[Math.max(index, 0)] ?? "#000000";
}

/** Escapes text for SVG. */
function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Rounds a coordinate to one decimal, for compact output. */
function c(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

/** A horizontal axis: maps ms to x within [0, plotWidth], with its ticks. */
interface XAxis {
  readonly low: number;
  readonly high: number;
  map(ms: number): number;
  readonly ticks: readonly { readonly ms: number; readonly label: string; readonly major: boolean }[];
}

function logAxis(low: number, high: number): XAxis {
  const span = Math.log10(high) - Math.log10(low);
  const ticks: { ms: number; label: string; major: boolean }[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(low)); decade <= high; decade *= 10) {
    for (let step = 1; step <= 9; step++) {
      const ms = decade * step;
      if (ms < low || ms > high) continue;
      ticks.push({ ms, label: step === 1 ? String(ms) : "", major: step === 1 });
    }
  }
  return {
    low,
    high,
    map: (ms) => ((Math.log10(Math.min(high, Math.max(low, ms))) - Math.log10(low)) / span) * CHART.plotWidth,
    ticks,
  };
}

function linearAxis(high: number): XAxis {
  const step = high <= 600 ? 100 : high <= 1500 ? 250 : 500;
  const ticks: { ms: number; label: string; major: boolean }[] = [];
  for (let ms = 0; ms <= high; ms += step) ticks.push({ ms, label: String(ms), major: true });
  return { low: 0, high, map: (ms) => (Math.min(high, Math.max(0, ms)) / high) * CHART.plotWidth, ticks };
}

/** The step CDF of one range's election times as an SVG path, plus where it ends. */
function cdfPath(result: SeriesResult, axis: XAxis, capMs: number): { path: string; capped: string } {
  const times = result.trials
    .flatMap((trial) => (trial.electedMs === null ? [] : [trial.electedMs]))
    .sort((a, b) => a - b);
  const total = result.trials.length;
  const y = (fraction: number) => CHART.plotHeight * (1 - fraction);
  const parts: string[] = [`M${c(axis.map(axis.low))},${c(y(0))}`];
  let count = 0;
  let index = 0;
  while (index < times.length) {
    const time = times[index] as number;
    while (index < times.length && times[index] === time) index++;
    parts.push(`H${c(axis.map(time))}`);
    count = index;
    parts.push(`V${c(y(count / total))}`);
  }
  const reached = count / total;
  const capped =
    reached < 1 ? `M${c(axis.map(times.at(-1) ?? axis.low))},${c(y(reached))}H${c(axis.map(capMs))}` : "";
  return { path: parts.join(""), capped };
}

/** Marks for what the paper's text says about a range: `under` its CDF (shading) and `over` it (diamonds). */
function paperMarks(series: Figure16Series, axis: XAxis): { under: string[]; over: string[] } {
  const y = (fraction: number) => CHART.plotHeight * (1 - fraction);
  const diamond = (x: number, yy: number) =>
    `<path d="M${c(x)},${c(yy - 5)}l5,5l-5,5l-5,-5z" fill="#ffffff" stroke="#000000" stroke-width="1.2"/>`;
  const under: string[] = [];
  const over: string[] = [];
  for (const claim of series.paper) {
    if (claim.ms < axis.low || claim.ms > axis.high) continue;
    const x = axis.map(claim.ms);
    switch (claim.kind) {
      case "median":
        over.push(diamond(x, y(0.5)));
        break;
      case "max":
        over.push(diamond(x, y(1)));
        break;
      case "mean":
        over.push(
          `<line x1="${c(x)}" y1="${c(y(0))}" x2="${c(x)}" y2="${c(y(1))}" stroke="${colorOf(series)}" stroke-width="1" stroke-dasharray="2,3"/>`,
          diamond(x, y(0)),
        );
        break;
      case "above":
        // Every trial took longer: shade everything to the right of it.
        under.push(
          `<rect x="${c(x)}" y="0" width="${c(CHART.plotWidth - x)}" height="${CHART.plotHeight}" fill="${colorOf(series)}" fill-opacity="0.08"/>`,
          `<text x="${c(x + 4)}" y="${c(y(0.5))}" fill="${colorOf(series)}">${xml(`paper: ${rangeLabel(series.range)}`)}</text>`,
          `<text x="${c(x + 4)}" y="${c(y(0.5) + 13)}" fill="${colorOf(series)}">${xml(`all > ${formatMs(claim.ms)}`)}</text>`,
        );
        break;
      default:
        unreachable(claim);
    }
  }
  return { under, over };
}

/** One graph: the CDFs of the ranges drawn in `panel`, with axes, legend and the paper's marks. */
function renderPanel(result: Figure16Result, panel: Figure16Panel, originX: number, originY: number): string {
  const shown = result.series.filter((one) => one.series.panels.includes(panel));
  const finite = shown.flatMap((one) =>
    one.trials.flatMap((trial) => (trial.electedMs === null ? [] : [trial.electedMs])),
  );
  const smallest = Math.min(...finite, Number.POSITIVE_INFINITY);
  const largest = Math.max(...finite, 0);
  const axis =
    panel === "randomness"
      ? logAxis(smallest < 100 ? 50 : 100, Math.max(100_000, result.capMs))
      : linearAxis(Math.max(600, Math.ceil(largest / 100) * 100));
  const { plotWidth: w, plotHeight: h } = CHART;
  const out: string[] = [`<g transform="translate(${originX},${originY})">`];
  out.push(
    `<text x="${c(w / 2)}" y="-14" text-anchor="middle" font-weight="bold">${xml(PANEL_TITLES[panel])}</text>`,
  );
  out.push(`<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff" stroke="#999999"/>`);
  for (let percent = 0; percent <= 100; percent += 25) {
    const yy = h * (1 - percent / 100);
    out.push(`<line x1="0" y1="${c(yy)}" x2="${w}" y2="${c(yy)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="-6" y="${c(yy + 4)}" text-anchor="end">${percent}</text>`);
  }
  for (const tick of axis.ticks) {
    const x = axis.map(tick.ms);
    if (tick.major) out.push(`<line x1="${c(x)}" y1="0" x2="${c(x)}" y2="${h}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${c(x)}" y1="${h}" x2="${c(x)}" y2="${h + (tick.major ? 5 : 3)}" stroke="#666666"/>`);
    if (tick.label !== "")
      out.push(`<text x="${c(x)}" y="${h + 17}" text-anchor="middle">${xml(tick.label)}</text>`);
  }
  out.push(`<text x="${c(w / 2)}" y="${h + 36}" text-anchor="middle">time without leader (ms)</text>`);
  out.push(
    `<text transform="translate(-40,${c(h / 2)}) rotate(-90)" text-anchor="middle">cumulative percent</text>`,
  );
  // Shading for "every trial took longer than" goes under the curves; the other marks go over them.
  const marks = shown.map((one) => paperMarks(one.series, axis));
  for (const mark of marks) out.push(...mark.under);
  for (const one of shown) {
    const { path, capped } = cdfPath(one, axis, result.capMs);
    const color = colorOf(one.series);
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    if (capped !== "") {
      out.push(
        `<path d="${capped}" fill="none" stroke="${color}" stroke-width="1.6" stroke-dasharray="4,3"/>`,
      );
    }
  }
  for (const mark of marks) out.push(...mark.over);
  // The legend, one line per range, then the paper's mark.
  shown.forEach((one, index) => {
    const yy = 8 + index * 16;
    const color = colorOf(one.series);
    const capped = one.stats.capped > 0 ? ` (${one.stats.capped} capped)` : "";
    out.push(
      `<line x1="${w + 12}" y1="${yy}" x2="${w + 32}" y2="${yy}" stroke="${color}" stroke-width="2"/>`,
    );
    out.push(`<text x="${w + 37}" y="${yy + 4}">${xml(rangeLabel(one.series.range) + capped)}</text>`);
  });
  if (shown.some((one) => one.series.paper.length > 0)) {
    const yy = 8 + shown.length * 16 + 4;
    out.push(
      `<path d="M${w + 22},${yy - 5}l5,5l-5,5l-5,-5z" fill="#ffffff" stroke="#000000" stroke-width="1.2"/>`,
      `<text x="${w + 37}" y="${yy + 4}">stated in §9.3</text>`,
    );
  }
  out.push("</g>");
  return out.join("\n");
}

/**
 * Draws Figure 16 as a standalone SVG: one column per run (say, one per latency model), each with the
 * paper's two graphs, the top one on a log scale as in the paper. Diamonds mark the numbers the paper's
 * text states; a dashed tail marks trials that hit the cap.
 */
export function renderFigure16Svg(results: readonly Figure16Result[]): string {
  const columnWidth = CHART.left + CHART.plotWidth + CHART.right;
  const rowHeight = CHART.top + CHART.plotHeight + CHART.bottom;
  const width = columnWidth * Math.max(1, results.length);
  const height = CHART.headerHeight + 2 * rowHeight;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Time to elect a new leader after the leader crashes (Raft paper, Figure 16, reproduced)</text>`,
  ];
  results.forEach((result, column) => {
    const x = column * columnWidth;
    const { networkMs, diskMs } = result.latency;
    const subtitle =
      diskMs.maxMs === 0
        ? `"${result.latency.name}": one-way delay ${msRange(networkMs)}, instant disk`
        : `"${result.latency.name}": one-way delay ${msRange(networkMs)}, ${msRange(diskMs)} disk write`;
    out.push(
      `<text x="${x + CHART.left + CHART.plotWidth / 2}" y="40" text-anchor="middle">${xml(
        `${subtitle}; ${result.trialsPerSeries} trials per range, seed ${result.seed}`,
      )}</text>`,
    );
    const panels: readonly Figure16Panel[] = ["randomness", "scale"];
    panels.forEach((panel, row) => {
      out.push(renderPanel(result, panel, x + CHART.left, CHART.headerHeight + row * rowHeight + CHART.top));
    });
  });
  out.push("</svg>", "");
  return out.join("\n");
}
