import { FAULT_KINDS, formatFaultKinds, mixForPlantedBug, type SwarmSettings } from "../sim/swarm/index.ts";

/**
 * What one key-value simulation seed runs, as a person chooses it on the command line: the swarm's settings
 * (seed, fault phase, cluster size, fault kinds, mix, planted core bug) plus the key-value harness's own.
 * Together with the code they determine the run.
 */

/** The cluster sizes a key-value seed chooses from when none is asked for. */
export const KV_CLUSTER_SIZES = [3, 5] as const;

/**
 * TEST ONLY: a known-wrong key-value node, for calibrating the checker.
 * - `none`: the real service.
 * - `local-reads`: every node answers linearizable reads from its own state machine at once, without a read
 *   index (KvService.readLocal): followers and deposed leaders serve stale values.
 */
export const KV_BUGS = ["none", "local-reads"] as const;

/** One of {@link KV_BUGS}. */
export type KvBug = (typeof KV_BUGS)[number];

/** Whether `name` is a {@link KvBug}. */
export function isKvBug(name: string): name is KvBug {
  return (KV_BUGS as readonly string[]).includes(name);
}

/**
 * Which violations end a run.
 * - `all`: the swarm's Raft checks (Figure 3, after every event) and the key-value checks alike; the first
 *   violation of either ends the run.
 * - `kv`: only the key-value checks decide; a Raft violation is noted and the run goes on. For calibrating
 *   the history checker against a planted core bug, which the Raft checks would otherwise catch first.
 */
export type KvVerdictScope = "all" | "kv";

/** The settings of one key-value simulation run. */
export interface KvSimSettings {
  /** The swarm's settings; `nodes: null` lets the seed choose among {@link KV_CLUSTER_SIZES}. */
  readonly swarm: SwarmSettings;
  readonly kvBug: KvBug;
  readonly scope: KvVerdictScope;
}

/** Virtual milliseconds of the fault phase when none is asked for: short, so a CI batch stays in minutes. */
export const KV_DEFAULT_TIME_MS = 5_000;

/** How the replay command starts. */
export const KV_REPLAY_PREFIX = "npx tsraft sim --kv";

/** The settings of `tsraft sim --kv --seed N` with every other option left at its default. */
export function defaultKvSettings(seed: number): KvSimSettings {
  return {
    swarm: {
      seed,
      timeMs: KV_DEFAULT_TIME_MS,
      nodes: null,
      faults: FAULT_KINDS,
      mix: "default",
      plantedBug: "none",
    },
    kvBug: "none",
    scope: "all",
  };
}

/**
 * The one command that replays a key-value run: every setting that shapes it, spelled out when it differs
 * from the default (the time always, so a change of default cannot change what an old command replays).
 */
export function kvReplayCommand(settings: KvSimSettings): string {
  const { swarm } = settings;
  const parts = [KV_REPLAY_PREFIX, `--seed ${swarm.seed}`, `--time ${swarm.timeMs / 1000}`];
  if (swarm.nodes !== null) parts.push(`--nodes ${swarm.nodes}`);
  if (swarm.faults.length !== FAULT_KINDS.length) parts.push(`--faults ${formatFaultKinds(swarm.faults)}`);
  if (swarm.plantedBug !== "none") parts.push(`--planted-bug ${swarm.plantedBug}`);
  if (swarm.mix !== mixForPlantedBug(swarm.plantedBug)) parts.push(`--mix ${swarm.mix}`);
  if (settings.kvBug !== "none") parts.push(`--kv-bug ${settings.kvBug}`);
  if (settings.scope !== "all") parts.push("--kv-checks-only");
  return parts.join(" ");
}
