import type { NodeId } from "../../core/index.ts";
import type { Clock } from "../../peer/index.ts";
import type { Random } from "../../util/random.ts";
import { PARTITION_KINDS } from "./fault-kinds.ts";
import { drawPartition } from "./partition-shapes.ts";
import type { SwarmPlan } from "./plan.ts";
import type { SwarmCluster } from "./swarm-cluster.ts";

/** One thing the nemesis can do next, and how much it weighs in the draw. */
interface Action {
  readonly weight: number;
  readonly run: () => void;
}

/** Crashes that come back quickly (this many milliseconds at most) make up half of all downtimes. */
const QUICK_RESTART_MS_MAX = 50;

/**
 * The fault schedule (Jepsen's "nemesis"): every so often, a seeded gap apart, it draws one action among those
 * the seed enabled — start or heal a partition, crash a node (at once, or timed to land inside a write), tear a
 * write, pause a process — often aimed at the current leader. What it draws depends on the cluster's state
 * (who leads, who is up), which is itself a function of the seed, so the schedule replays exactly.
 */
export class Nemesis {
  readonly #cluster: SwarmCluster;
  readonly #plan: SwarmPlan;
  readonly #clock: Clock;
  readonly #random: Random;
  #running = false;

  constructor(cluster: SwarmCluster, plan: SwarmPlan, clock: Clock, random: Random) {
    this.#cluster = cluster;
    this.#plan = plan;
    this.#clock = clock;
    this.#random = random;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
  }

  /**
   * Node `id` just became leader: as often as the plan says, strike it before its first AppendEntries land —
   * isolate it (which also cuts the messages already on the wire), or else crash it. Its own term's entries
   * then stay on it alone, the first step of Figure 8.
   */
  leaderElected(id: NodeId): void {
    if (!this.#running || !this.#random.chance(this.#plan.strikeNewLeaderPercent, 100)) return;
    const { enabled } = this.#plan;
    const cluster = this.#cluster;
    this.#clock.setTimer(() => {
      if (!this.#running || !cluster.isUp(id)) return;
      if (enabled.includes("isolate"))
        cluster.setPartition(drawPartition("isolate", this.#partitionIds(), id, this.#random));
      else if (enabled.includes("crash")) cluster.crash(id, false, this.#downtime());
    }, 0);
  }

  #schedule(): void {
    this.#clock.setTimer(
      () => {
        if (!this.#running) return;
        this.#step();
        this.#schedule();
      },
      this.#random.intBetween(1, 2 * this.#plan.nemesisIntervalMs),
    );
  }

  #step(): void {
    const actions = this.#actions();
    const total = actions.reduce((sum, action) => sum + action.weight, 0);
    if (total === 0) return;
    let draw = this.#random.int(total);
    for (const action of actions) {
      if (draw < action.weight) {
        action.run();
        return;
      }
      draw -= action.weight;
    }
  }

  #actions(): Action[] {
    const { enabled, weights } = this.#plan;
    const cluster = this.#cluster;
    const random = this.#random;
    const actions: Action[] = [];
    const shapes = PARTITION_KINDS.filter((kind) => enabled.includes(kind));
    if (shapes.length > 0) {
      if (cluster.partition !== null)
        actions.push({ weight: weights.heal, run: () => cluster.healPartition() });
      actions.push({
        weight: weights.partition,
        run: () =>
          cluster.setPartition(
            drawPartition(random.pick(shapes), this.#partitionIds(), this.#target(), random),
          ),
      });
    }
    const up = cluster.ids.filter((id) => cluster.isUp(id));
    if (up.length === 0) return actions;
    if (enabled.includes("crash")) {
      actions.push({
        weight: weights.crash,
        run: () => {
          const node = this.#target() ?? random.pick(up);
          const downtime = this.#downtime();
          const { midWritePercent, afterSyncPercent } = this.#plan.crashTiming;
          const draw = random.int(100);
          if (draw < midWritePercent) cluster.armCrash(node, "mid-write", false, downtime);
          else if (draw < midWritePercent + afterSyncPercent)
            cluster.armCrash(node, "after-sync", false, downtime);
          else cluster.crash(node, false, downtime);
        },
      });
    }
    if (enabled.includes("torn-write")) {
      actions.push({
        weight: weights.tear,
        run: () => cluster.armCrash(this.#target() ?? random.pick(up), "mid-write", true, this.#downtime()),
      });
    }
    const running = up.filter((id) => !cluster.isPaused(id));
    if (enabled.includes("pause") && running.length > 0) {
      actions.push({
        weight: weights.pause,
        run: () => {
          const target = this.#target();
          const node = target !== null && running.includes(target) ? target : random.pick(running);
          cluster.pause(node, random.intBetween(1, this.#plan.pauseMaxMs));
        },
      });
    }
    return actions;
  }

  /**
   * The nodes a partition is drawn over: those the operator has not stopped — unless it stopped so many that
   * fewer than three are left, too few for every shape; then every node there ever was.
   */
  #partitionIds(): readonly NodeId[] {
    const active = this.#cluster.activeIds;
    return active.length >= 3 ? active : this.#cluster.ids;
  }

  /** The leader, as often as the plan aims at it (when there is one); otherwise null, for a random pick. */
  #target(): NodeId | null {
    const leader = this.#cluster.leader();
    return leader !== null && this.#random.chance(this.#plan.leaderBiasPercent, 100) ? leader : null;
  }

  /** How long a crashed node stays down: half of the time briefly, as a supervisor's restart would be. */
  #downtime(): number {
    const max = this.#plan.downtimeMaxMs;
    return this.#random.chance(1, 2)
      ? this.#random.intBetween(1, Math.min(QUICK_RESTART_MS_MAX, max))
      : this.#random.intBetween(1, max);
  }
}
