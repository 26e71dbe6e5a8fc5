import type { NodeId } from "../../core/index.ts";
import type { Clock } from "../../peer/index.ts";
import type { Random } from "../../util/random.ts";
import type { RunCounts } from "./coverage.ts";
import type { SwarmPlan } from "./plan.ts";
import type { SwarmCluster } from "./swarm-cluster.ts";
import { type SwarmTraceEvent, traceTime } from "./trace-events.ts";

/**
 * The `flap` kind: one node that keeps dropping out and coming back — a bad network card, a crash-looping
 * process — every few election timeouts, on top of whatever else the nemesis does. Each flap cuts its links
 * both ways and reconnects it later, or crashes it and lets it restart, as the plan says. Without PreVote
 * such a node forces an election every time it returns with a higher term; with it, it should not.
 */
export class Flapper {
  readonly #cluster: SwarmCluster;
  readonly #plan: SwarmPlan;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #counts: RunCounts;
  readonly #trace: ((event: SwarmTraceEvent) => void) | null;
  #running = false;
  /** The flapping node; another is chosen if the operator stops it. */
  #node: NodeId | null = null;
  /** Counts the cuts, so that a reconnection due after a later cut began leaves that one alone. */
  #cuts = 0;

  constructor(
    cluster: SwarmCluster,
    plan: SwarmPlan,
    clock: Clock,
    random: Random,
    counts: RunCounts,
    trace: ((event: SwarmTraceEvent) => void) | null,
  ) {
    this.#cluster = cluster;
    this.#plan = plan;
    this.#clock = clock;
    this.#random = random;
    this.#counts = counts;
    this.#trace = trace;
  }

  /** Whether the plan has a flapping node. */
  get active(): boolean {
    return this.#plan.enabled.includes("flap");
  }

  start(): void {
    if (this.#running || !this.active) return;
    this.#running = true;
    this.#node = this.#random.pick(this.#cluster.initialIds);
    this.#schedule();
  }

  /** No more flaps; the heal reconnects the node and restarts it. */
  stop(): void {
    this.#running = false;
  }

  /** The next flap, about one period from now (between half and one and a half periods). */
  #schedule(): void {
    const period = this.#plan.operations.flapPeriodMs;
    this.#clock.setTimer(
      () => {
        if (!this.#running) return;
        this.#flap();
        this.#schedule();
      },
      this.#random.intBetween(Math.ceil(period / 2), Math.ceil((3 * period) / 2)),
    );
  }

  #flap(): void {
    const cluster = this.#cluster;
    let node = this.#node;
    if (node === null || cluster.isRetired(node)) {
      const candidates = cluster.activeIds;
      if (candidates.length === 0) return;
      node = this.#random.pick(candidates);
      this.#node = node;
    }
    const { flapMode, flapDownMs } = this.#plan.operations;
    const mode = flapMode === "both" ? this.#random.pick(["cut", "crash"] as const) : flapMode;
    const downMs = this.#random.intBetween(Math.ceil(flapDownMs / 2), flapDownMs);
    if (mode === "crash") {
      // A node the nemesis already crashed cannot flap this time.
      if (!cluster.isUp(node)) return;
      this.#counts.flaps++;
      this.#emit(node, mode, downMs);
      cluster.crash(node, false, downMs);
      return;
    }
    this.#counts.flaps++;
    this.#emit(node, mode, downMs);
    const cut = node;
    const number = ++this.#cuts;
    cluster.setFlapCut(cut);
    this.#clock.setTimer(() => {
      if (!this.#running || number !== this.#cuts) return;
      cluster.setFlapCut(null);
      this.#emit(cut, "reconnect", 0);
    }, downMs);
  }

  #emit(node: NodeId, action: "cut" | "reconnect" | "crash", ms: number): void {
    this.#trace?.({ t: traceTime(this.#clock.now()), kind: "flap", node, action, ms });
  }
}
