import { FAULT_KINDS, formatFaultKinds } from "./fault-kinds.ts";
import type { Mix, SwarmSettings } from "./plan.ts";

/** The fault phase when none is asked for: ten seconds of virtual time. */
export const DEFAULT_TIME_MS = 10_000;

/** How the replay command starts: the project's own CLI, run from its directory. */
export const REPLAY_PREFIX = "npx tsraft sim";

/** The settings of `tsraft sim --seed N` with every other option left at its default. */
export function defaultSettings(seed: number): SwarmSettings {
  return {
    seed,
    timeMs: DEFAULT_TIME_MS,
    nodes: null,
    faults: FAULT_KINDS,
    mix: "default",
    plantedBug: "none",
  };
}

/**
 * The mix a planted bug is hunted with unless another is asked for: the faults that expose it soonest
 * (measured; see docs/simulation.md).
 */
export function mixForPlantedBug(plantedBug: SwarmSettings["plantedBug"]): Mix {
  switch (plantedBug) {
    case "forget-vote":
      return "amnesia";
    case "ack-before-persist":
      return "durability";
    case "commit-earlier-term":
      return "churn";
    case "concurrent-membership-changes":
      return "membership";
    default:
      return "default";
  }
}

/**
 * The one command that replays a run: every setting that shapes it, spelled out when it differs from the
 * default (the time always, so a change of default cannot change what an old command replays). Add
 * `--trace FILE` to it for the run's events.
 */
export function replayCommand(settings: SwarmSettings): string {
  const parts = [REPLAY_PREFIX, `--seed ${settings.seed}`, `--time ${settings.timeMs / 1000}`];
  if (settings.nodes !== null) parts.push(`--nodes ${settings.nodes}`);
  if (settings.faults.length !== FAULT_KINDS.length)
    parts.push(`--faults ${formatFaultKinds(settings.faults)}`);
  if (settings.plantedBug !== "none") parts.push(`--planted-bug ${settings.plantedBug}`);
  if (settings.mix !== mixForPlantedBug(settings.plantedBug)) parts.push(`--mix ${settings.mix}`);
  return parts.join(" ");
}
