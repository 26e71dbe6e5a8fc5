import type { PlantedBug } from "../../core/index.ts";
import { assert } from "../../util/assert.ts";
import { deriveSeed, Random } from "../../util/random.ts";
import { FAULT_KINDS, type FaultKind, isOperationKind, OPERATION_KINDS } from "./fault-kinds.ts";

/**
 * What one swarm seed runs: the settings a person chooses (on the command line) and the plan the seed draws
 * from them — cluster size, which faults and how often, link qualities, disk speed, client rate. Swarm
 * testing (Groce et al., "Swarm Testing", ISSTA 2012): every seed enables a different random subset of the
 * faults rather than all of them at once, which reaches states that an everything-on mix drowns out.
 */

/** Milliseconds of virtual time per core tick: the paper's timing (§5.6, §9.3) with 10 ms ticks. */
export const TICK_MS = 10;
/** Shortest election timeout in ticks; each timeout is drawn from [15, 30] ticks, 150–300 ms. */
export const ELECTION_TICKS = 15;
/** Width of the election timeout's range in ticks. */
export const ELECTION_JITTER_TICKS = 15;
/** Heartbeat interval in ticks (30 ms). */
export const HEARTBEAT_TICKS = 3;
/** Slowest and fastest node clocks, in thousandths of real rate (the `skew` fault). */
export const SKEW_PER_MILLE_MIN = 800;
export const SKEW_PER_MILLE_MAX = 1200;
/** The longest election timeout any node can have, in virtual milliseconds: the unit of "several timeouts". */
export const ELECTION_TIMEOUT_MAX_MS =
  ((ELECTION_TICKS + ELECTION_JITTER_TICKS) * TICK_MS * SKEW_PER_MILLE_MAX) / 1000;

/** The cluster sizes a seed chooses from. */
export const CLUSTER_SIZES = [3, 5, 7] as const;

/** Longest fault phase a run accepts, in virtual milliseconds (an hour; a bound on every schedule). */
export const FAULT_PHASE_MS_MAX = 3_600_000;

/**
 * How a seed weighs its faults: `default` enables every allowed fault kind with even odds and a moderate pace;
 * `durability`, `amnesia` and `churn` are biased towards the faults that expose one kind of mistake, and
 * `membership` always runs the operator's membership changes and leader transfers and a flapping node, at a
 * brisk pace, on top of the usual faults (see MIX_PROFILES below).
 */
export const MIXES = ["default", "durability", "amnesia", "churn", "membership"] as const;

/** A fault mix; see {@link MIXES}. */
export type Mix = (typeof MIXES)[number];

/** Whether `name` is a mix. */
export function isMix(name: string): name is Mix {
  return (MIXES as readonly string[]).includes(name);
}

/** The settings of a run, as chosen on the command line. Together with the code, they determine the run. */
export interface SwarmSettings {
  /** The seed: every random choice of the run derives from it. */
  readonly seed: number;
  /** Virtual milliseconds of the fault phase; the liveness phase follows. */
  readonly timeMs: number;
  /** Cluster size, or `null` to let the seed choose among {@link CLUSTER_SIZES}. */
  readonly nodes: number | null;
  /** The fault kinds the seed may enable (it enables a random subset of them). */
  readonly faults: readonly FaultKind[];
  /** How the seed weighs its faults. */
  readonly mix: Mix;
  /** TEST ONLY: a known-wrong core variant, for calibration; "none" is correct Raft. */
  readonly plantedBug: PlantedBug;
}

/** The faults of one directed link during the fault phase. */
export interface LinkPlan {
  /** Thousandths of the messages lost. */
  readonly lossPerMille: number;
  /** Thousandths of the delivered messages delivered twice. */
  readonly duplicatePerMille: number;
  /** Network delay is drawn from [1, delayMaxMs]; above 1, messages on the link reorder. */
  readonly delayMaxMs: number;
  /** Thousandths of the messages held back for a long delay (the long tail). */
  readonly holdPerMille: number;
}

/** Everything a seed decided before the run starts. */
export interface SwarmPlan {
  readonly settings: SwarmSettings;
  /** Cluster size; node ids are 1..nodes. */
  readonly nodes: number;
  /** The fault kinds this seed enabled: a subset of `settings.faults`. */
  readonly enabled: readonly FaultKind[];
  /** `links[from - 1][to - 1]`: the faults of each directed link. */
  readonly links: readonly (readonly LinkPlan[])[];
  /** Longest hold of a long-delayed message, in milliseconds. */
  readonly holdMaxMs: number;
  /** Each node's clock rate in thousandths (1000 without the `skew` fault); index id - 1. */
  readonly skewPerMille: readonly number[];
  /** Each write's time to sync is drawn from [syncMinUs, syncMaxUs] microseconds. */
  readonly syncMinUs: number;
  readonly syncMaxUs: number;
  /** RaftConfig.entriesPerMessageMax for every node. */
  readonly entriesPerMessageMax: number;
  /** RaftConfig.inflightMessagesMax for every node. */
  readonly inflightMessagesMax: number;
  /** Mean milliseconds between client proposals. */
  readonly clientIntervalMs: number;
  /** Most commands the client proposes at once. */
  readonly clientBurstMax: number;
  /** Mean milliseconds between two fault actions. */
  readonly nemesisIntervalMs: number;
  /** How the nemesis weighs its actions (each only when its fault kind is enabled). */
  readonly weights: NemesisWeights;
  /**
   * How crashes are timed: this percent lands while a write is unsynced, this percent right after a write
   * synced and its acknowledgements left; the rest at a random moment.
   */
  readonly crashTiming: { readonly midWritePercent: number; readonly afterSyncPercent: number };
  /**
   * Percent of a follower's synced writes carrying a hard state (a new term or vote) after which it crashes at
   * once, restarting within a few milliseconds: a voter that forgets what it promised is found out at once.
   */
  readonly amnesiaPercent: number;
  /** Percent of new leaders the nemesis isolates (or crashes) the moment they are elected. */
  readonly strikeNewLeaderPercent: number;
  /** Percent of targeted faults (crash, pause, isolate) aimed at the current leader. */
  readonly leaderBiasPercent: number;
  /** Longest a crashed node stays down, in milliseconds. */
  readonly downtimeMaxMs: number;
  /** Longest a process pause lasts, in milliseconds. */
  readonly pauseMaxMs: number;
  /** The core's optional protocol features every node runs with. */
  readonly protocol: ProtocolPlan;
  /** The operator's membership changes and transfers, and the flapping node (each only when enabled). */
  readonly operations: OperationsPlan;
}

/**
 * The optional protocol features of RaftConfig a seed's nodes run with: runs mix PreVote and CheckQuorum on and
 * off (alone and together), and lease reads on top of CheckQuorum, since each changes who may be elected when.
 */
export interface ProtocolPlan {
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Only with `checkQuorum` (RaftConfig refuses it otherwise). */
  readonly leaseReads: boolean;
}

/** How a flapping node flaps: its links are cut, its process crashes, or either at each flap. */
export type FlapMode = "cut" | "crash" | "both";

/** The operator's pace and habits (the `membership` and `transfer` kinds) and the flapping node (`flap`). */
export interface OperationsPlan {
  /** Mean milliseconds between two membership actions. */
  readonly membershipIntervalMs: number;
  /**
   * Percent of membership actions followed at once by another, without waiting for the first to commit: an
   * impatient operator, or two of them, which the leader must refuse while a change is in flight.
   */
  readonly burstPercent: number;
  /** Percent of voter removals aimed at the leader itself. */
  readonly removeLeaderPercent: number;
  /** Percent of removed nodes the operator stops once their removal committed; the rest are left running. */
  readonly stopRemovedPercent: number;
  /** Longest wait between seeing a removal committed and stopping the node, in milliseconds. */
  readonly stopDelayMaxMs: number;
  /** Mean milliseconds between two leader transfers. */
  readonly transferIntervalMs: number;
  readonly flapMode: FlapMode;
  /** Milliseconds from one flap of the node to the next: a few election timeouts. */
  readonly flapPeriodMs: number;
  /** How long each flap keeps the node cut off or down, in milliseconds. */
  readonly flapDownMs: number;
  /**
   * Mean milliseconds between two linearizable reads of the read probe (read-probe.ts), or 0 for a run
   * without reads. Runs with lease reads always read.
   */
  readonly readIntervalMs: number;
}

/** Percent chance that a seed enables an allowed fault kind that its mix does not force. */
const ENABLE_PERCENT = 60;

/** The relative weights of the nemesis's actions. */
export interface NemesisWeights {
  /** Start a partition (of an enabled shape). */
  readonly partition: number;
  /** Heal the partition in force. */
  readonly heal: number;
  readonly crash: number;
  /** Crash in the middle of a write, tearing it. */
  readonly tear: number;
  readonly pause: number;
}

/** An inclusive range `[low, high]` to draw from. */
type Range = readonly [number, number];

/** Everything a mix decides about its seeds' plans: the ranges and choices each seed draws from. */
interface MixProfile {
  /** Fault kinds always enabled (when allowed); the others are in with {@link ENABLE_PERCENT} odds. */
  readonly forced: readonly FaultKind[];
  readonly clusterSizes: readonly number[];
  /** The seed's base rates, in thousandths; each link gets 0, 1 or 2 times its base. */
  readonly lossPerMille: Range;
  readonly duplicatePerMille: Range;
  /** The longest network delay of the seed's worst link, when messages reorder. */
  readonly delayMaxMs: Range;
  /** Thousandths of messages held back, on the links that have the long tail. */
  readonly holdPerMille: Range;
  /** Shortest sync, and the range the seed's longest sync is drawn from, in microseconds. */
  readonly syncMinUs: number;
  readonly syncMaxUs: Range;
  readonly entriesPerMessageMax: readonly number[];
  readonly clientIntervalMs: readonly number[];
  readonly nemesisIntervalMs: Range;
  readonly weights: NemesisWeights;
  readonly crashTiming: SwarmPlan["crashTiming"];
  readonly strikeNewLeaderPercent: number;
  /** The choices of {@link SwarmPlan.amnesiaPercent} (when crashes are enabled). */
  readonly amnesiaPercent: readonly number[];
  readonly leaderBiasPercent: number;
  readonly downtimeMaxMs: number;
  readonly pauseMaxMs: readonly number[];
  /** Percent chance that a seed enables an allowed operation kind its mix does not force. */
  readonly operationsPercent: number;
  /** The range of {@link OperationsPlan.membershipIntervalMs}. */
  readonly membershipIntervalMs: Range;
  /** The choices of {@link OperationsPlan.burstPercent}. */
  readonly burstPercent: readonly number[];
  /** The range of {@link OperationsPlan.transferIntervalMs}. */
  readonly transferIntervalMs: Range;
}

/** The default mix: every fault kind in moderation. */
const DEFAULT_PROFILE: MixProfile = {
  forced: [],
  clusterSizes: CLUSTER_SIZES,
  lossPerMille: [10, 200],
  duplicatePerMille: [10, 100],
  delayMaxMs: [2, 20],
  holdPerMille: [5, 50],
  syncMinUs: 100,
  syncMaxUs: [500, 5000],
  entriesPerMessageMax: [4, 16, 64, 256],
  clientIntervalMs: [5, 20, 60, 200],
  nemesisIntervalMs: [100, 600],
  weights: { partition: 2, heal: 2, crash: 2, tear: 1, pause: 1 },
  crashTiming: { midWritePercent: 40, afterSyncPercent: 20 },
  strikeNewLeaderPercent: 10,
  amnesiaPercent: [0],
  leaderBiasPercent: 50,
  downtimeMaxMs: 2000,
  pauseMaxMs: [100, 500, 1500],
  operationsPercent: 35,
  membershipIntervalMs: [200, 1000],
  burstPercent: [0, 10],
  transferIntervalMs: [300, 1500],
};

/**
 * The mixes. Each biased mix is tuned to expose one kind of mistake soonest (measured: docs/simulation.md):
 * - durability (acknowledging before the write is durable): crashes landing inside writes or right after
 *   them, torn writes, duplicated and long-delayed messages;
 * - amnesia (forgetting a promise across a restart): followers crash the moment they synced a new term or vote
 *   and are back within milliseconds, while jitter and duplication bring late copies of other candidates'
 *   requests; clusters of 5 and 7 (forgetting a vote can elect two leaders only when three votes are given
 *   twice, which three nodes do not have);
 * - churn (committing an old term's entry by counting, Figure 8): leaders paused, crashed and isolated the
 *   moment they are elected, so their own entries stay on them alone; small AppendEntries batches, so a lagging
 *   follower acknowledges old entries before the new leader's own.
 */
const MIX_PROFILES: Readonly<Record<Mix, MixProfile>> = {
  default: DEFAULT_PROFILE,
  durability: {
    ...DEFAULT_PROFILE,
    forced: ["crash", "torn-write", "duplicate", "delay"],
    syncMinUs: 1000,
    syncMaxUs: [2000, 5000],
    nemesisIntervalMs: [30, 250],
    weights: { partition: 1, heal: 2, crash: 4, tear: 2, pause: 1 },
    crashTiming: { midWritePercent: 45, afterSyncPercent: 45 },
    strikeNewLeaderPercent: 0,
    downtimeMaxMs: 300,
  },
  amnesia: {
    ...DEFAULT_PROFILE,
    forced: ["crash", "duplicate", "reorder"],
    clusterSizes: [5, 7],
    lossPerMille: [10, 100],
    duplicatePerMille: [100, 250],
    delayMaxMs: [10, 30],
    syncMaxUs: [500, 2000],
    clientIntervalMs: [20, 60, 200],
    weights: { partition: 1, heal: 2, crash: 1, tear: 1, pause: 1 },
    crashTiming: { midWritePercent: 20, afterSyncPercent: 60 },
    strikeNewLeaderPercent: 0,
    amnesiaPercent: [80, 100],
    downtimeMaxMs: 300,
    pauseMaxMs: [100, 500],
  },
  churn: {
    ...DEFAULT_PROFILE,
    forced: ["isolate", "split", "bridge", "crash", "pause"],
    entriesPerMessageMax: [1, 2, 4],
    clientIntervalMs: [5, 10, 20],
    nemesisIntervalMs: [30, 150],
    weights: { partition: 2, heal: 2, crash: 2, tear: 1, pause: 3 },
    crashTiming: { midWritePercent: 20, afterSyncPercent: 60 },
    strikeNewLeaderPercent: 80,
    leaderBiasPercent: 90,
  },
  // The default mix with the operations always on, and more often.
  membership: {
    ...DEFAULT_PROFILE,
    forced: ["membership", "transfer", "flap"],
    operationsPercent: 100,
    membershipIntervalMs: [60, 400],
    burstPercent: [0, 20, 50],
    transferIntervalMs: [200, 1000],
  },
};

/** Draws the plan of a run from its settings. A pure function of the settings. */
export function planRun(settings: SwarmSettings): SwarmPlan {
  validateSettings(settings);
  const random = new Random(deriveSeed(settings.seed, "plan"));
  const profile = MIX_PROFILES[settings.mix];
  const between = ([low, high]: Range) => random.intBetween(low, high);
  const nodes = settings.nodes ?? random.pick(profile.clusterSizes);
  const enabled = FAULT_KINDS.filter(
    (kind) =>
      !isOperationKind(kind) &&
      settings.faults.includes(kind) &&
      (profile.forced.includes(kind) || random.chance(ENABLE_PERCENT, 100)),
  );
  const on = (kind: FaultKind) => enabled.includes(kind);

  const lossBase = on("loss") ? between(profile.lossPerMille) : 0;
  const duplicateBase = on("duplicate") ? between(profile.duplicatePerMille) : 0;
  const delayMaxBase = on("reorder") ? between(profile.delayMaxMs) : 1;
  const holdBase = on("delay") ? between(profile.holdPerMille) : 0;
  const links = Array.from({ length: nodes }, () =>
    Array.from({ length: nodes }, (): LinkPlan => {
      // Links differ: some are clean, some twice as bad as the seed's base, and only some have the long tail.
      const scale = random.int(3);
      return {
        lossPerMille: Math.min(500, lossBase * scale),
        duplicatePerMille: Math.min(500, duplicateBase * random.int(3)),
        delayMaxMs: Math.max(1, random.intBetween(1, delayMaxBase)),
        holdPerMille: random.chance(1, 2) ? holdBase : 0,
      };
    }),
  );
  const holdMaxMs = random.intBetween(2, 5) * ELECTION_TIMEOUT_MAX_MS;
  const skewPerMille = Array.from({ length: nodes }, () =>
    on("skew") ? random.intBetween(SKEW_PER_MILLE_MIN, SKEW_PER_MILLE_MAX) : 1000,
  );
  return {
    settings,
    nodes,
    enabled,
    links,
    holdMaxMs,
    skewPerMille,
    syncMinUs: profile.syncMinUs,
    syncMaxUs: between(profile.syncMaxUs),
    entriesPerMessageMax: random.pick(profile.entriesPerMessageMax),
    inflightMessagesMax: random.pick([4, 32, 256]),
    clientIntervalMs: random.pick(profile.clientIntervalMs),
    clientBurstMax: random.intBetween(1, 4),
    nemesisIntervalMs: between(profile.nemesisIntervalMs),
    weights: profile.weights,
    crashTiming: profile.crashTiming,
    strikeNewLeaderPercent: profile.strikeNewLeaderPercent,
    amnesiaPercent: on("crash") ? random.pick(profile.amnesiaPercent) : 0,
    leaderBiasPercent: profile.leaderBiasPercent,
    downtimeMaxMs: profile.downtimeMaxMs,
    pauseMaxMs: random.pick(profile.pauseMaxMs),
    ...planOperations(settings, profile, enabled),
  };
}

/**
 * The operation kinds a seed enables (appended to `enabled`, which it extends), its protocol features and the
 * operator's habits: all drawn from a stream of their own, so every decision {@link planRun} made before these
 * existed is still the same for the same seed.
 */
function planOperations(
  settings: SwarmSettings,
  profile: MixProfile,
  enabled: FaultKind[],
): Pick<SwarmPlan, "protocol" | "operations"> {
  const random = new Random(deriveSeed(settings.seed, "plan-operations"));
  for (const kind of OPERATION_KINDS) {
    const allowed = settings.faults.includes(kind);
    if (allowed && (profile.forced.includes(kind) || random.chance(profile.operationsPercent, 100))) {
      enabled.push(kind);
    }
  }
  // Four runs in ten without either feature, one with each alone, two with both, two with lease reads too —
  // unless the seed skews clocks or pauses processes: a lease is sound only while no node's clock runs faster
  // than the leader's by more than its margin (RaftConfig.leaseReads), and a paused leader's clock stops.
  const features = random.int(10);
  const boundedDrift = !enabled.includes("skew") && !enabled.includes("pause");
  const protocol: ProtocolPlan = {
    preVote: features === 4 || features >= 6,
    checkQuorum: features >= 5,
    leaseReads: features >= 8 && boundedDrift,
  };
  const timeouts = (low: number, high: number) =>
    Math.round((random.intBetween(low * 10, high * 10) * ELECTION_TIMEOUT_MAX_MS) / 10);
  const operations: OperationsPlan = {
    membershipIntervalMs: random.intBetween(...profile.membershipIntervalMs),
    burstPercent: random.pick(profile.burstPercent),
    removeLeaderPercent: random.pick([10, 30, 60]),
    stopRemovedPercent: random.pick([50, 80, 100]),
    stopDelayMaxMs: random.pick([1, 300, 2000]),
    transferIntervalMs: random.intBetween(...profile.transferIntervalMs),
    flapMode: random.pick(["cut", "crash", "both"] as const),
    flapPeriodMs: timeouts(1, 4),
    flapDownMs: timeouts(0.5, 2),
    readIntervalMs: random.chance(1, 2) || protocol.leaseReads ? random.pick([10, 50, 200]) : 0,
  };
  return { protocol, operations };
}

function validateSettings(settings: SwarmSettings): void {
  assert(Number.isSafeInteger(settings.seed), () => `swarm: seed must be an integer, got ${settings.seed}`);
  assert(
    Number.isSafeInteger(settings.timeMs) && settings.timeMs >= 0 && settings.timeMs <= FAULT_PHASE_MS_MAX,
    () => `swarm: the fault phase must be 0..${FAULT_PHASE_MS_MAX} ms, got ${settings.timeMs}`,
  );
  assert(
    settings.nodes === null || (CLUSTER_SIZES as readonly number[]).includes(settings.nodes),
    () => `swarm: cluster size must be one of ${CLUSTER_SIZES.join(", ")}, got ${settings.nodes}`,
  );
}

/** One line per decision of the plan, for a failure report and the trace's header. */
export function describePlan(plan: SwarmPlan): string[] {
  const on = (kind: FaultKind) => plan.enabled.includes(kind);
  const links = plan.links.flatMap((row, from) => row.filter((_, to) => to !== from));
  const spread = (pick: (link: LinkPlan) => number, unit: string) => {
    const values = links.map(pick);
    return `${Math.min(...values)}–${Math.max(...values)}${unit}`;
  };
  const network: string[] = [];
  if (on("loss")) network.push(`loss ${spread((l) => l.lossPerMille / 10, "%")} per link`);
  if (on("duplicate")) network.push(`duplication ${spread((l) => l.duplicatePerMille / 10, "%")}`);
  if (on("reorder")) network.push(`delay up to ${spread((l) => l.delayMaxMs, " ms")} per link (reordering)`);
  if (on("delay")) {
    const tailed = links.filter((l) => l.holdPerMille > 0);
    const perMille = tailed[0]?.holdPerMille ?? 0;
    network.push(
      `long delays on ${tailed.length}/${links.length} links (${perMille / 10}% of messages, up to ${plan.holdMaxMs} ms)`,
    );
  }
  const partitions = (["isolate", "split", "bridge", "one-way"] as const).filter(on);
  const nodes: string[] = [];
  if (on("crash")) {
    const { midWritePercent, afterSyncPercent } = plan.crashTiming;
    nodes.push(
      `crashes (${midWritePercent}% mid-write, ${afterSyncPercent}% right after a sync, down up to ${plan.downtimeMaxMs} ms)`,
    );
  }
  if (plan.amnesiaPercent > 0) nodes.push(`${plan.amnesiaPercent}% of term/vote syncs followed by a crash`);
  if (on("torn-write")) nodes.push("torn writes");
  if (on("pause")) nodes.push(`pauses up to ${plan.pauseMaxMs} ms`);
  if (on("skew"))
    nodes.push(`clock rates ${plan.skewPerMille.map((rate) => (rate / 1000).toFixed(3)).join(", ")}`);
  const { settings, protocol, operations } = plan;
  const features = [
    protocol.preVote ? "pre-vote" : "",
    protocol.checkQuorum ? "check-quorum" : "",
    protocol.leaseReads ? "lease reads" : "",
  ].filter((feature) => feature !== "");
  const operator: string[] = [];
  if (on("membership")) {
    operator.push(
      `membership changes every ~${operations.membershipIntervalMs} ms (${operations.burstPercent}% in bursts,` +
        ` ${operations.removeLeaderPercent}% of removals aimed at the leader, ${operations.stopRemovedPercent}%` +
        ` of removed nodes stopped within ${operations.stopDelayMaxMs} ms)`,
    );
  }
  if (on("transfer")) operator.push(`a leader transfer every ~${operations.transferIntervalMs} ms`);
  if (on("flap")) {
    operator.push(
      `a flapping node (${operations.flapMode}) every ${operations.flapPeriodMs} ms for ${operations.flapDownMs} ms`,
    );
  }
  return [
    `${plan.nodes} nodes, ${settings.timeMs / 1000} s of faults (mix ${settings.mix}` +
      `${settings.plantedBug === "none" ? "" : `, planted bug ${settings.plantedBug}`}), then liveness`,
    `network: ${network.length === 0 ? "clean" : network.join(", ")}`,
    `partitions: ${partitions.length === 0 ? "none" : partitions.join(", ")}`,
    `nodes: ${nodes.length === 0 ? "no crashes or pauses" : nodes.join(", ")}`,
    `pace: a fault action every ~${plan.nemesisIntervalMs} ms (${plan.leaderBiasPercent}% aimed at the leader` +
      `${plan.strikeNewLeaderPercent > 0 ? `, ${plan.strikeNewLeaderPercent}% of new leaders struck at once` : ""}),` +
      ` a client burst of 1–${plan.clientBurstMax} commands every ~${plan.clientIntervalMs} ms`,
    `config: ${plan.entriesPerMessageMax} entries per AppendEntries, ${plan.inflightMessagesMax} in flight,` +
      ` fsync ${plan.syncMinUs / 1000}–${plan.syncMaxUs / 1000} ms` +
      `${features.length === 0 ? "" : `, ${features.join(", ")}`}`,
    `operator: ${operator.length === 0 ? "none" : operator.join(", ")}`,
    `reads: ${operations.readIntervalMs === 0 ? "none" : `a linearizable read every ~${operations.readIntervalMs} ms`}`,
  ];
}
