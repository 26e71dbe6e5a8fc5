import { randomInt } from "node:crypto";
import { test } from "node:test";
import { clockModeFromEnv, runScenario } from "../../src/lab/scenarios/run.ts";
import type { LabScenario } from "../../src/lab/scenarios/scenario.ts";

/**
 * Which seeds the lab tests run. On virtual time: a fixed list (regressions and a spread) plus a short batch
 * of fresh random seeds, so every run of `npm test` also explores; a failing seed is printed with the command
 * that replays it, and is then added to FIXED_SEEDS once fixed. On the real clock: one seed per test, since
 * each run takes the course's real time.
 *
 * Environment: TSRAFT_CLOCK=real|virtual, TSRAFT_SEEDS=1,2,3 (replaces the list), TSRAFT_RANDOM_SEEDS=N
 * (size of the random batch, default 2).
 */
const FIXED_SEEDS = [1, 2, 3];

/** Seeds that once failed a scenario, kept as regressions (each with the bug it found). */
const REGRESSION_SEEDS: Readonly<Record<string, readonly number[]>> = {
  // A refused vote restarted the election timer: stale candidates livelocked the election.
  Figure8Unreliable2C: [285, 385, 572],
};

export function labSeeds(): number[] {
  const clock = clockModeFromEnv(process.env.TSRAFT_CLOCK);
  const listed = process.env.TSRAFT_SEEDS;
  if (listed !== undefined && listed !== "")
    return listed.split(",").map((seed) => Number.parseInt(seed, 10));
  if (clock === "real") return [1];
  const randomCount = Number.parseInt(process.env.TSRAFT_RANDOM_SEEDS ?? "2", 10);
  const random = Array.from({ length: randomCount }, () => randomInt(1, 2 ** 31 - 1));
  return [...FIXED_SEEDS, ...random];
}

/** Registers one node:test test per scenario and seed. */
export function registerLabTests(scenarios: readonly LabScenario[]): void {
  const clock = clockModeFromEnv(process.env.TSRAFT_CLOCK);
  const seeds = labSeeds();
  for (const scenario of scenarios) {
    const regressions = clock === "virtual" ? (REGRESSION_SEEDS[scenario.name] ?? []) : [];
    for (const seed of [...seeds, ...regressions]) {
      test(`${scenario.name} (seed ${seed}, ${clock} clock)`, async () => {
        const result = await runScenario(scenario, { seed, clock });
        if (!result.passed) throw result.error;
      });
    }
  }
}
