import { allMembers, asNodeId, describeMembership, type Entry, type NodeId } from "../../core/index.ts";
import { deriveSeed, Random } from "../../util/random.ts";
import { VirtualClock, type YieldToHost } from "../virtual-clock.ts";
import { SwarmChecker } from "./checker.ts";
import { Client, decodeCommand } from "./client.ts";
import { includesQuorum } from "./config-checker.ts";
import { emptyCounts, type RunCounts } from "./coverage.ts";
import { Flapper } from "./flapper.ts";
import { Operator } from "./membership-ops.ts";
import { Nemesis } from "./nemesis.ts";
import { describePlan, planRun, type SwarmPlan, type SwarmSettings } from "./plan.ts";
import { ReadProbe } from "./read-probe.ts";
import { replayCommand } from "./replay.ts";
import { SwarmCluster } from "./swarm-cluster.ts";
import { type SwarmTraceEvent, TRACE_FORMAT_VERSION, type TraceSink, traceTime } from "./trace-events.ts";
import type { Violation } from "./violation.ts";

/**
 * Once the faults heal, a leader must be elected and a command proposed after the heal must be committed
 * (applied by a majority) within this many virtual milliseconds: room for the longest-held message of the
 * fault phase (five of the longest election timeouts, 1.8 s) to land and depose a leader, plus six more
 * election timeouts for split votes and for a node that campaigned alone to force one more election with its
 * higher term. Measured over 17,500 correct runs: at most 1.18 s.
 */
export const LIVENESS_COMMIT_BOUND_MS = 4_000;

/** ... and every node must have applied such a command within this many (measured: at most 1.28 s). */
export const LIVENESS_CONVERGE_BOUND_MS = 6_000;

/**
 * The event rate is measured over windows of this many events...
 */
export const EVENT_WINDOW = 20_000;

/**
 * ... and a run whose window averages more than this many events per virtual millisecond is stopped as a
 * runaway (a message storm or a timer loop). Correct runs peak far below it (see docs/simulation.md); a storm
 * caught this way costs a few hundred milliseconds of wall time instead of minutes.
 */
export const EVENTS_PER_VIRTUAL_MS_MAX = 50;

/** What happened after the heal, in virtual milliseconds since it (null: did not happen). */
export interface LivenessTimes {
  /** Until a node led in the highest term any node had. */
  readonly leaderMs: number | null;
  /** Until a command proposed after the heal was applied by a majority. */
  readonly commitMs: number | null;
  /** Until every node had applied such a command. */
  readonly convergeMs: number | null;
}

/** How one seed's run ended, and what it did. Plain data, so it crosses process boundaries as JSON. */
export interface SwarmResult {
  readonly settings: SwarmSettings;
  /** The plan the seed drew, one line per decision. */
  readonly plan: readonly string[];
  readonly passed: boolean;
  /** The first broken property, or null when the run passed. */
  readonly violation: Violation | null;
  readonly counts: Readonly<RunCounts>;
  /** Virtual milliseconds from the start to the end of the run. */
  readonly virtualMs: number;
  /** Events the virtual clock ran. */
  readonly events: number;
  /** The highest event rate over a window of {@link EVENT_WINDOW} events, per virtual millisecond (0 if none closed). */
  readonly peakEventsPerMs: number;
  /** Null if the run stopped before the heal. */
  readonly liveness: LivenessTimes | null;
  /** The command that replays the run exactly. */
  readonly replay: string;
}

/** What {@link runSwarmSeed} needs. */
export interface SwarmRunOptions {
  readonly settings: SwarmSettings;
  /** The host's macrotask source: the virtual clock runs one event per macrotask (see VirtualClock). */
  readonly yieldToHost: YieldToHost;
  /** Receives every trace event; leave it out for speed. */
  readonly trace?: TraceSink;
}

/**
 * Runs one seed: a cluster of real peers under the seed's faults for `settings.timeMs` of virtual time, with
 * every safety property checked after every event; then heals everything and checks liveness. Resolves with
 * the result at the first violation or once the liveness phase is over. Deterministic: the same settings give
 * the same result and the same trace, byte for byte.
 */
export async function runSwarmSeed(options: SwarmRunOptions): Promise<SwarmResult> {
  const plan = planRun(options.settings);
  let run: SwarmRun | null = null;
  const clock = checkedClock(options.yieldToHost, () => run);
  run = new SwarmRun(plan, clock, options.trace ?? null);
  return await run.start();
}

/** One seed's run: the cluster, the client, the nemesis, the checker, and the two phases. */
class SwarmRun {
  readonly #plan: SwarmPlan;
  readonly #clock: VirtualClock;
  readonly #trace: TraceSink | null;
  readonly #counts = emptyCounts();
  readonly #checker: SwarmChecker;
  readonly #cluster: SwarmCluster;
  readonly #client: Client;
  readonly #nemesis: Nemesis;
  readonly #operator: Operator;
  readonly #flapper: Flapper;
  readonly #reads: ReadProbe;
  /** When the current event-rate window began (virtual milliseconds) and the busiest rate so far. */
  #windowStartMs = 0;
  #windowStartEvents = 0;
  #peakEventsPerMs = 0;
  #resolve: ((result: SwarmResult) => void) | null = null;
  #finished = false;
  /** Set at the heal. */
  #healAt: number | null = null;
  /** The first command proposed after the heal. */
  #firstFreshCommand = 0;
  /** Nodes that applied a command proposed after the heal. */
  readonly #caughtUp = new Set<NodeId>();
  #leaderMs: number | null = null;
  #commitMs: number | null = null;
  #convergeMs: number | null = null;

  constructor(plan: SwarmPlan, clock: VirtualClock, trace: TraceSink | null) {
    this.#plan = plan;
    this.#clock = clock;
    this.#trace = trace;
    const seed = plan.settings.seed;
    this.#checker = new SwarmChecker({
      nodes: Array.from({ length: plan.nodes }, (_, i) => asNodeId(i + 1)),
      now: () => clock.now(),
      onViolation: () => this.#finish(),
    });
    this.#cluster = new SwarmCluster({
      plan,
      clock,
      checker: this.#checker,
      counts: this.#counts,
      trace,
      onApplied: (id, entries) => this.#onApplied(id, entries),
      onLeader: (id) => {
        this.#nemesis.leaderElected(id);
        this.#operator.leaderElected(id);
      },
      onReadStates: (id, states) => this.#reads.confirmed(id, states),
    });
    this.#client = new Client(
      clock,
      new Random(deriveSeed(seed, "client")),
      plan.clientIntervalMs,
      plan.clientBurstMax,
      (data) => this.#cluster.propose(data),
    );
    this.#nemesis = new Nemesis(this.#cluster, plan, clock, new Random(deriveSeed(seed, "nemesis")));
    this.#operator = new Operator({
      cluster: this.#cluster,
      plan,
      clock,
      random: new Random(deriveSeed(seed, "operator")),
      counts: this.#counts,
      trace,
    });
    this.#flapper = new Flapper(
      this.#cluster,
      plan,
      clock,
      new Random(deriveSeed(seed, "flapper")),
      this.#counts,
      trace,
    );
    this.#reads = new ReadProbe(
      this.#cluster,
      this.#checker,
      clock,
      new Random(deriveSeed(seed, "reads")),
      plan.operations.readIntervalMs,
      this.#counts,
    );
  }

  start(): Promise<SwarmResult> {
    const promise = new Promise<SwarmResult>((resolve) => {
      this.#resolve = resolve;
    });
    const { settings } = this.#plan;
    this.#trace?.({
      t: 0,
      kind: "run",
      format: TRACE_FORMAT_VERSION,
      seed: settings.seed,
      nodes: this.#plan.nodes,
      timeMs: settings.timeMs,
      mix: settings.mix,
      plantedBug: settings.plantedBug,
      faults: this.#plan.enabled,
      plan: describePlan(this.#plan),
      replay: replayCommand(settings),
    });
    this.#cluster.start();
    this.#client.start();
    this.#nemesis.start();
    this.#operator.start();
    this.#flapper.start();
    this.#reads.start();
    this.#clock.setTimer(() => this.#heal(), settings.timeMs);
    return promise;
  }

  /** Runs before every event: the checkers, the event bound, and the liveness phase's leader watch. */
  afterEvent(): void {
    if (this.#finished) return;
    this.#checker.observeAll();
    if (this.#finished) return;
    if (this.#clock.eventsRun - this.#windowStartEvents >= EVENT_WINDOW && !this.#checkEventRate()) return;
    if (this.#healAt !== null && this.#leaderMs === null) {
      const leader = this.#cluster.leader();
      if (leader !== null && this.#cluster.termOf(leader) >= this.#cluster.highestTerm()) {
        this.#leaderMs = this.#clock.now() - this.#healAt;
      }
    }
    // A change of configuration (leaving a joint one, say) can complete the liveness goals without an apply.
    if (this.#healAt !== null && this.#caughtUp.size > 0) this.#checkProgress(this.#healAt);
  }

  /** The simulator threw while running an event: the run stops with the error as its failure. */
  harnessError(error: unknown): void {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.#checker.fail({ property: "harness-error", message: text, nodes: [], indexes: [], terms: [] });
  }

  /** Closes an event-rate window: false (after failing) if the run went too fast to be anything but a storm. */
  #checkEventRate(): boolean {
    const now = this.#clock.now();
    const events = this.#clock.eventsRun - this.#windowStartEvents;
    const rate = events / Math.max(now - this.#windowStartMs, 1e-3);
    this.#peakEventsPerMs = Math.max(this.#peakEventsPerMs, rate);
    this.#windowStartMs = now;
    this.#windowStartEvents = this.#clock.eventsRun;
    if (rate <= EVENTS_PER_VIRTUAL_MS_MAX) return true;
    this.#checker.fail({
      property: "event-bound",
      message:
        `${events} events in ${(events / rate).toFixed(1)} ms of virtual time, more than` +
        ` ${EVENTS_PER_VIRTUAL_MS_MAX} per millisecond (a message storm or timer loop?)`,
      nodes: [],
      indexes: [],
      terms: [],
    });
    return false;
  }

  /** Ends the fault phase and starts the liveness phase with its two deadlines. */
  #heal(): void {
    if (this.#finished) return;
    this.#nemesis.stop();
    this.#operator.stop();
    this.#flapper.stop();
    this.#reads.stop();
    this.#cluster.healAll();
    this.#healAt = this.#clock.now();
    this.#firstFreshCommand = this.#client.nextSeq;
    this.#emit({ t: traceTime(this.#healAt), kind: "heal-all", firstCommand: this.#firstFreshCommand });
    this.#clock.setTimer(() => {
      if (this.#commitMs === null) this.#failLiveness(LIVENESS_COMMIT_BOUND_MS, "was committed");
    }, LIVENESS_COMMIT_BOUND_MS);
    this.#clock.setTimer(() => {
      if (this.#convergeMs === null) this.#failLiveness(LIVENESS_CONVERGE_BOUND_MS, "reached every node");
    }, LIVENESS_CONVERGE_BOUND_MS);
  }

  #failLiveness(boundMs: number, what: string): void {
    const leader = this.#cluster.leader();
    this.#checker.fail({
      property: "liveness",
      message:
        `no command proposed after the heal ${what} within ${boundMs / 1000} s ` +
        `(${leader === null ? "no leader" : `leader ${leader}`}${this.#leaderMs === null ? ", none elected in the highest term" : ""}; ` +
        `${this.#caughtUp.size}/${this.#members().length} members applied one` +
        ` (${describeMembership(this.#checker.latestMembership)}); ${this.#cluster.describeNodes()})`,
      nodes: leader === null ? [] : [leader],
      indexes: [],
      terms: [this.#cluster.highestTerm()],
    });
  }

  #onApplied(id: NodeId, entries: readonly Entry[]): void {
    const healAt = this.#healAt;
    if (healAt === null || this.#finished || this.#caughtUp.has(id)) return;
    const fresh = entries.some((entry) => (decodeCommand(entry.data) ?? -1) >= this.#firstFreshCommand);
    if (!fresh) return;
    this.#caughtUp.add(id);
    this.#checkProgress(healAt);
  }

  /**
   * Whether a fresh command has been applied by a quorum of the latest committed configuration, and by every
   * member of it that the operator did not stop; the run is over once it has.
   */
  #checkProgress(healAt: number): void {
    const sinceHeal = this.#clock.now() - healAt;
    const configuration = this.#checker.latestMembership;
    if (this.#commitMs === null && includesQuorum(configuration, (node) => this.#caughtUp.has(node))) {
      this.#commitMs = sinceHeal;
    }
    if (this.#members().every((node) => this.#caughtUp.has(node))) {
      this.#convergeMs = sinceHeal;
      // A last look at every node, then the run is over.
      this.#checker.observeAll();
      this.#finish();
    }
  }

  /** The members of the latest committed configuration that still run (the operator stopped none of them). */
  #members(): NodeId[] {
    return allMembers(this.#checker.latestMembership).filter((id) => !this.#cluster.isRetired(id));
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#client.stop();
    this.#nemesis.stop();
    this.#operator.stop();
    this.#flapper.stop();
    this.#reads.stop();
    this.#cluster.freeze();
    this.#clock.stop();
    this.#counts.committed = this.#checker.committedCount;
    Object.assign(this.#counts, this.#checker.configCounts);
    const violation = this.#checker.violation;
    const now = traceTime(this.#clock.now());
    if (violation !== null) {
      this.#emit({
        t: now,
        kind: "violation",
        property: violation.property,
        message: violation.message,
        nodes: violation.nodes,
        indexes: violation.indexes,
        terms: violation.terms,
      });
    }
    this.#emit({
      t: now,
      kind: "end",
      outcome: violation === null ? "pass" : "fail",
      events: this.#clock.eventsRun,
      committed: this.#counts.committed,
    });
    const { settings } = this.#plan;
    this.#resolve?.({
      settings,
      plan: describePlan(this.#plan),
      passed: violation === null,
      violation,
      counts: { ...this.#counts },
      virtualMs: traceTime(this.#clock.now()),
      events: this.#clock.eventsRun,
      peakEventsPerMs: Math.round(this.#peakEventsPerMs * 10) / 10,
      liveness:
        this.#healAt === null
          ? null
          : { leaderMs: this.#leaderMs, commitMs: this.#commitMs, convergeMs: this.#convergeMs },
      replay: replayCommand(settings),
    });
  }

  #emit(event: SwarmTraceEvent): void {
    this.#trace?.(event);
  }
}

/** What {@link checkedClock} calls around each event of a run. */
export interface EventHooks {
  /** Checks every node; called before each event. */
  afterEvent(): void;
  /** Records a failure of the simulator itself. */
  harnessError(error: unknown): void;
}

/**
 * A virtual clock for one run whose checks run before each event, that is after the previous event and every
 * promise continuation it caused have settled. `run` gives the run's hooks once it exists.
 */
export function checkedClock(
  yieldToHost: (callback: () => void) => void,
  run: () => EventHooks | null,
): VirtualClock {
  return new VirtualClock((pump) =>
    yieldToHost(() => {
      try {
        run()?.afterEvent();
        pump();
      } catch (error) {
        // The peers catch what the core throws; anything reaching here is the simulator's own failure.
        run()?.harnessError(error);
      }
    }),
  );
}
