import { HistoryRecorder, type KvInput, type KvOutput } from "../check/index.ts";
import { asNodeId } from "../core/index.ts";
import {
  checkedClock,
  describePlan,
  EVENT_WINDOW,
  EVENTS_PER_VIRTUAL_MS_MAX,
  emptyCounts,
  Flapper,
  Nemesis,
  Operator,
  planRun,
  type RunCounts,
  SwarmChecker,
  SwarmCluster,
  type SwarmPlan,
  traceTime,
  type Violation,
} from "../sim/swarm/index.ts";
import type { VirtualClock, YieldToHost } from "../sim/virtual-clock.ts";
import { deriveSeed, Random } from "../util/random.ts";
import { ClientNetwork, type ClientNetworkCounts } from "./client-network.ts";
import { type ClientContext, type OperationEvent, SimulatedClient, WorkloadClient } from "./clients.ts";
import { KvNodes } from "./kv-nodes.ts";
import { endpointOf } from "./node-api.ts";
import { KV_CLUSTER_SIZES, type KvSimSettings, kvReplayCommand } from "./settings.ts";
import type { KvTraceEvent, KvTraceSink } from "./trace-events.ts";
import { checkHistory, type KvProperty, type KvViolation } from "./verdict.ts";
import { describeWorkload, Keyspace, type KvWorkload, planWorkload } from "./workload.ts";

/**
 * One key-value seed, Jepsen style, on the swarm simulator: the real key-value service on every node of a
 * swarm cluster, concurrent real clients doing get/put/append/cas/delete with timeouts and retries while the
 * swarm's nemesis crashes, pauses and partitions nodes and the network loses, duplicates and delays messages;
 * then the heal, a final read of every key, and the verdict on the recorded history. The swarm's Raft checks
 * run after every event meanwhile.
 */

/** A final read must succeed within this many virtual milliseconds of its call (faults are healed by then). */
export const FINAL_READ_DEADLINE_MS = 10_000;

/** The run must be over this long after the heal, whatever happens (a bound on every wait after it). */
export const AFTER_HEAL_MS_MAX = 120_000;

/** What the history held. */
export interface KvHistoryStats {
  /** Operations in the checked history, final reads included. */
  readonly operations: number;
  /** Operations that returned an answer. */
  readonly completed: number;
  /** Operations whose outcome is unknown (the client gave up: timeouts, resets, no leader in time). */
  readonly indeterminate: number;
  /** Indeterminate operations that were writes (put, append, cas, delete): the ones the checker must place. */
  readonly indeterminateWrites: number;
  readonly byKind: Readonly<Record<KvInput["kind"], number>>;
}

/** What the linearizability check did. */
export interface KvCheckStats {
  /** "not-run" when the run stopped before the check. */
  readonly outcome: "ok" | "illegal" | "unknown" | "not-run";
  /** Operations the checker was given: the history less those that cannot change the verdict. */
  readonly operations: number;
  /** Of those, operations that never returned (their effect unknown). */
  readonly indeterminate: number;
  /** Writes left out because they never returned and are known to have had no effect. */
  readonly knownFailed: number;
  /** Appends left out because they never returned and no read showed them. */
  readonly unobservedAppends: number;
  readonly steps: number;
  readonly partitions: number;
  /** Wall milliseconds the check took, when the host gave a clock to measure it; null otherwise. */
  readonly checkerMs: number | null;
}

/** How one key-value seed's run ended. Plain data, so it crosses process boundaries as JSON. */
export interface KvSimResult {
  readonly settings: KvSimSettings;
  /** The cluster size the run used. */
  readonly nodes: number;
  /** The plan the seed drew, one line per decision (the swarm's and the workload's). */
  readonly plan: readonly string[];
  readonly passed: boolean;
  /** The first broken property, or null when the run passed. */
  readonly violation: KvViolation | null;
  /** Further properties the history check found broken (after `violation`). */
  readonly alsoBroken: readonly KvProperty[];
  /** With scope "kv": the first Raft property the swarm's checks saw broken, which did not end the run. */
  readonly raftViolation: Violation | null;
  readonly counts: Readonly<RunCounts>;
  readonly client: Readonly<ClientNetworkCounts>;
  readonly history: KvHistoryStats;
  readonly check: KvCheckStats;
  readonly virtualMs: number;
  readonly events: number;
  /** The highest event rate over a window of {@link EVENT_WINDOW} events, per virtual millisecond. */
  readonly peakEventsPerMs: number;
  readonly replay: string;
}

/** What {@link runKvSeed} needs. */
export interface KvSimRunOptions {
  readonly settings: KvSimSettings;
  /** The host's macrotask source: the virtual clock runs one event per macrotask. */
  readonly yieldToHost: YieldToHost;
  /** Receives every trace event; leave it out for speed. */
  readonly trace?: KvTraceSink;
  /** The host's clock in milliseconds, read only to report how long the check took. */
  readonly hostNowMs?: () => number;
}

/**
 * Runs one key-value seed and resolves with its result. Deterministic: the same settings give the same
 * result (but for the checker's wall time) and the same trace.
 */
export async function runKvSeed(options: KvSimRunOptions): Promise<KvSimResult> {
  const { settings } = options;
  const seed = settings.swarm.seed;
  const nodes = settings.swarm.nodes ?? new Random(deriveSeed(seed, "kv-nodes")).pick(KV_CLUSTER_SIZES);
  const plan = planRun({ ...settings.swarm, nodes });
  let run: KvRun | null = null;
  const clock = checkedClock(options.yieldToHost, () => run);
  run = new KvRun(settings, plan, planWorkload(seed), clock, options);
  return await run.start();
}

/** One key-value run: cluster, services, clients, nemesis, checkers, and the phases. */
class KvRun {
  readonly #settings: KvSimSettings;
  readonly #plan: SwarmPlan;
  readonly #workload: KvWorkload;
  readonly #clock: VirtualClock;
  readonly #trace: KvTraceSink | null;
  readonly #hostNowMs: (() => number) | null;
  readonly #counts = emptyCounts();
  readonly #checker: SwarmChecker;
  readonly #nodes: KvNodes;
  readonly #cluster: SwarmCluster;
  readonly #nemesis: Nemesis;
  readonly #operator: Operator;
  readonly #flapper: Flapper;
  readonly #network: ClientNetwork;
  readonly #history = new HistoryRecorder<KvInput, KvOutput>();
  readonly #context: ClientContext;
  readonly #keyspace: Keyspace;
  readonly #clients: WorkloadClient[];
  #windowStartMs = 0;
  #windowStartEvents = 0;
  #peakEventsPerMs = 0;
  #raftViolation: Violation | null = null;
  #alsoBroken: KvProperty[] = [];
  #check: KvCheckStats = {
    outcome: "not-run",
    operations: 0,
    indeterminate: 0,
    knownFailed: 0,
    unobservedAppends: 0,
    steps: 0,
    partitions: 0,
    checkerMs: null,
  };
  #resolve: ((result: KvSimResult) => void) | null = null;
  #finished = false;

  constructor(
    settings: KvSimSettings,
    plan: SwarmPlan,
    workload: KvWorkload,
    clock: VirtualClock,
    options: KvSimRunOptions,
  ) {
    this.#settings = settings;
    this.#plan = plan;
    this.#workload = workload;
    this.#clock = clock;
    this.#trace = options.trace ?? null;
    this.#hostNowMs = options.hostNowMs ?? null;
    const seed = settings.swarm.seed;
    this.#checker = new SwarmChecker({
      nodes: Array.from({ length: plan.nodes }, (_, i) => asNodeId(i + 1)),
      now: () => clock.now(),
      onViolation: (violation) => this.#onRaftViolation(violation),
    });
    this.#nodes = new KvNodes({
      kvBug: settings.kvBug,
      serviceTimeoutMs: workload.serviceTimeoutMs,
      now: () => clock.now(),
    });
    this.#cluster = new SwarmCluster({
      plan,
      clock,
      checker: this.#checker,
      counts: this.#counts,
      trace: this.#trace,
      onApplied: () => {},
      onLeader: (id) => {
        this.#nemesis.leaderElected(id);
        this.#operator.leaderElected(id);
      },
      host: this.#nodes.host,
    });
    this.#nemesis = new Nemesis(this.#cluster, plan, clock, new Random(deriveSeed(seed, "nemesis")));
    // The swarm's operator (membership changes, leader transfers) and flapping node, when the seed enables them.
    this.#operator = new Operator({
      cluster: this.#cluster,
      plan,
      clock,
      random: new Random(deriveSeed(seed, "operator")),
      counts: this.#counts,
      trace: this.#trace,
    });
    this.#flapper = new Flapper(
      this.#cluster,
      plan,
      clock,
      new Random(deriveSeed(seed, "flapper")),
      this.#counts,
      this.#trace,
    );
    this.#network = new ClientNetwork(
      clock,
      new Random(deriveSeed(seed, "kv-client-network")),
      this.#nodes,
      workload.clientLinkDelayMaxMs,
      (error) => this.harnessError(error),
    );
    this.#context = {
      clock,
      port: (onRequest) => this.#network.port(onRequest),
      // Every node slot the operator has not retired: a crashed node stays listed, as in a client's config.
      endpoints: () => this.#cluster.activeIds.map(endpointOf),
      history: this.#history,
      requests: new Map(),
      events: {
        onRejected: (client, input, message) =>
          this.#fail({
            property: "client-error",
            message: `client ${client} got an answer it cannot use for ${input.kind}(${JSON.stringify(input.key)}): ${message}`,
            details: [],
          }),
        onHarnessError: (error) => this.harnessError(error),
        ...(this.#trace === null
          ? {}
          : { onOperation: (event: OperationEvent) => this.#traceOperation(event) }),
      },
    };
    this.#keyspace = new Keyspace(workload);
    this.#clients = Array.from(
      { length: workload.clients },
      (_, index) =>
        new WorkloadClient(
          index,
          this.#context,
          workload,
          this.#keyspace,
          new Random(deriveSeed(seed, `kv-client-${index}`)),
        ),
    );
  }

  start(): Promise<KvSimResult> {
    const promise = new Promise<KvSimResult>((resolve) => {
      this.#resolve = resolve;
    });
    this.#emit({
      t: 0,
      kind: "kv-run",
      format: 1,
      seed: this.#settings.swarm.seed,
      nodes: this.#plan.nodes,
      plan: this.#planLines(),
      replay: kvReplayCommand(this.#settings),
    });
    this.#cluster.start();
    this.#nemesis.start();
    this.#operator.start();
    this.#flapper.start();
    const loops = this.#clients.map((client) => client.run());
    const timeMs = this.#settings.swarm.timeMs;
    this.#clock.setTimer(() => {
      this.#afterHeal(loops).catch((error: unknown) => this.harnessError(error));
    }, timeMs);
    this.#clock.setTimer(() => {
      this.#fail({
        property: "liveness",
        message: `the run had not ended ${AFTER_HEAL_MS_MAX / 1000} s after the heal (a client or final read hung)`,
        details: [],
      });
    }, timeMs + AFTER_HEAL_MS_MAX);
    return promise;
  }

  /** Runs before every event: the Raft checks, the applies they learn of late, the event-rate bound. */
  afterEvent(): void {
    if (this.#finished) return;
    this.#checker.observeAll();
    if (this.#finished) return;
    this.#nodes.reportApplied();
    if (this.#finished) return;
    if (this.#clock.eventsRun - this.#windowStartEvents >= EVENT_WINDOW) this.#checkEventRate();
  }

  /** The harness threw: the run stops with the error as its failure. */
  harnessError(error: unknown): void {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    const [first = "", ...rest] = text.split("\n");
    this.#fail({ property: "harness-error", message: first, details: rest });
  }

  #checkEventRate(): void {
    const now = this.#clock.now();
    const events = this.#clock.eventsRun - this.#windowStartEvents;
    const rate = events / Math.max(now - this.#windowStartMs, 1e-3);
    this.#peakEventsPerMs = Math.max(this.#peakEventsPerMs, rate);
    this.#windowStartMs = now;
    this.#windowStartEvents = this.#clock.eventsRun;
    if (rate <= EVENTS_PER_VIRTUAL_MS_MAX) return;
    this.#fail({
      property: "event-bound",
      message:
        `${events} events in ${(events / rate).toFixed(1)} ms of virtual time, more than` +
        ` ${EVENTS_PER_VIRTUAL_MS_MAX} per millisecond (a message storm or timer loop?)`,
      details: [],
    });
  }

  #onRaftViolation(violation: Violation): void {
    if (this.#settings.scope === "kv") {
      this.#raftViolation ??= violation;
      return;
    }
    const evidence = [
      violation.nodes.length > 0 ? `nodes ${violation.nodes.join(", ")}` : "",
      violation.indexes.length > 0 ? `indexes ${violation.indexes.join(", ")}` : "",
      violation.terms.length > 0 ? `terms ${violation.terms.join(", ")}` : "",
    ].filter((part) => part !== "");
    this.#fail({
      property: violation.property,
      message: violation.message + (evidence.length > 0 ? ` [${evidence.join("; ")}]` : ""),
      details: [],
    });
  }

  /** The fault phase is over: heal, let the clients finish, read every key, judge the history. */
  async #afterHeal(loops: readonly Promise<void>[]): Promise<void> {
    if (this.#finished) return;
    this.#nemesis.stop();
    this.#operator.stop();
    this.#flapper.stop();
    this.#cluster.healAll();
    for (const client of this.#clients) client.stop();
    this.#emit({ t: this.#now(), kind: "kv-heal" });
    await Promise.all(loops);
    const finalReads = await this.#finalReads();
    if (finalReads === null || this.#finished) return;
    this.#judge(finalReads);
  }

  /**
   * Reads every key once more, one after another, as a new client: the reads every acknowledged write must
   * show. Null (after failing) if one does not succeed within {@link FINAL_READ_DEADLINE_MS}.
   */
  async #finalReads(): Promise<Map<string, number> | null> {
    const reader = new SimulatedClient(this.#context, this.#workload.clients, {
      requestTimeoutMs: 1000,
      deadlineMs: FINAL_READ_DEADLINE_MS,
      attemptsMax: 1000,
      backoffMs: 20,
    });
    const ids = new Map<string, number>();
    for (const key of this.#keyspace.used()) {
      if (this.#finished) return null;
      const { id, output } = await reader.operate({ kind: "get", key });
      if (output === undefined) {
        this.#fail({
          property: "final-read-unavailable",
          message: `the final read of ${JSON.stringify(key)} (op ${id}) got no answer within ${FINAL_READ_DEADLINE_MS / 1000} s of the heal's end`,
          details: [this.#cluster.describeNodes()],
        });
        return null;
      }
      ids.set(key, id);
    }
    return ids;
  }

  #judge(finalReads: ReadonlyMap<string, number>): void {
    const appendReads = new Map(
      [...finalReads].filter(([key]) =>
        this.#workload.appendSlots.some((slot) => key.startsWith(`${slot}.`)),
      ),
    );
    const started = this.#hostNowMs?.() ?? null;
    const verdict = checkHistory(this.#history.operations(), this.#context.requests, appendReads);
    const ended = this.#hostNowMs?.() ?? null;
    this.#check = {
      outcome: verdict.outcome,
      operations: verdict.checkedOperations,
      indeterminate: verdict.checkedIndeterminate,
      knownFailed: verdict.knownFailed,
      unobservedAppends: verdict.unobservedAppends,
      steps: verdict.steps,
      partitions: verdict.partitions,
      checkerMs: started === null || ended === null ? null : Math.round((ended - started) * 10) / 10,
    };
    const [first, ...rest] = verdict.violations;
    this.#alsoBroken = rest.map((violation) => violation.property);
    if (first !== undefined) this.#fail(first);
    else this.#finish(null);
  }

  #fail(evidence: Omit<KvViolation, "timeMs">): void {
    if (this.#finished) return;
    this.#finish({ ...evidence, timeMs: traceTime(this.#clock.now()) });
  }

  #finish(violation: KvViolation | null): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const client of this.#clients) client.stop();
    this.#nemesis.stop();
    this.#operator.stop();
    this.#flapper.stop();
    this.#cluster.freeze();
    this.#clock.stop();
    this.#counts.committed = this.#checker.committedCount;
    const operations = this.#history.operations();
    this.#trace?.({
      t: this.#now(),
      kind: "kv-end",
      outcome: violation === null ? "pass" : "fail",
      property: violation?.property ?? null,
      operations: operations.length,
    });
    const byKind = { get: 0, put: 0, append: 0, delete: 0, cas: 0 };
    let completed = 0;
    let indeterminateWrites = 0;
    for (const operation of operations) {
      byKind[operation.input.kind]++;
      if (operation.returned !== null) completed++;
      else if (operation.input.kind !== "get") indeterminateWrites++;
    }
    this.#resolve?.({
      settings: this.#settings,
      nodes: this.#plan.nodes,
      plan: this.#planLines(),
      passed: violation === null,
      violation,
      alsoBroken: this.#alsoBroken,
      raftViolation: this.#raftViolation,
      counts: { ...this.#counts },
      client: { ...this.#network.counts },
      history: {
        operations: operations.length,
        completed,
        indeterminate: operations.length - completed,
        indeterminateWrites,
        byKind,
      },
      check: this.#check,
      virtualMs: traceTime(this.#clock.now()),
      events: this.#clock.eventsRun,
      peakEventsPerMs: Math.round(this.#peakEventsPerMs * 10) / 10,
      replay: kvReplayCommand(this.#settings),
    });
  }

  #planLines(): string[] {
    // The swarm's own client (bursts of log commands) and read probe do not run here: the clients below do.
    const lines = describePlan(this.#plan)
      .filter((line) => !line.startsWith("reads:"))
      .map((line) => line.replace(/, a client burst of .*$/, ""));
    const { kvBug, scope } = this.#settings;
    const extras = [
      kvBug === "none" ? "" : `kv bug ${kvBug}`,
      scope === "kv" ? "only the key-value checks decide" : "",
    ].filter((part) => part !== "");
    return [
      ...lines,
      describeWorkload(this.#workload) + (extras.length === 0 ? "" : `; ${extras.join("; ")}`),
    ];
  }

  #traceOperation(event: OperationEvent): void {
    const t = this.#now();
    switch (event.kind) {
      case "invoke":
        this.#emit({ t, kind: "kv-invoke", op: event.id, client: event.client, input: event.input });
        return;
      case "ok":
        this.#emit({ t, kind: "kv-ok", op: event.id, output: event.output });
        return;
      case "timeout":
        this.#emit({ t, kind: "kv-timeout", op: event.id, reason: event.reason });
        return;
    }
  }

  #emit(event: KvTraceEvent): void {
    if (!this.#finished) this.#trace?.(event);
  }

  #now(): number {
    return traceTime(this.#clock.now());
  }
}
