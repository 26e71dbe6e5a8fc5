import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { test } from "node:test";
import { failureLines } from "../../src/cli/sim-report.ts";
import {
  defaultSettings,
  MIXES,
  type Mix,
  runSwarmSeed,
  type SwarmResult,
} from "../../src/sim/swarm/index.ts";

/**
 * The swarm in CI (TigerBeetle's VOPR style): a fixed list of seeds in every mix, then a time-boxed batch of
 * fresh random seeds, so every `npm test` also explores. A failure prints its seed, the violated property and
 * the command that replays it; once fixed, the seed goes into REGRESSION_SEEDS.
 *
 * Environment: TSRAFT_SIM_SECONDS, the wall-clock seconds of the random batch (default 75; 0 skips it);
 * TSRAFT_SIM_SEED, the batch's first seed (default: random, printed).
 */

const yieldToHost = (callback: () => void): void => {
  setImmediate(callback);
};

/** Seeds every run checks, in each mix. */
const FIXED_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** Seeds that once failed, each with the mix it failed in and what it found. */
const REGRESSION_SEEDS: readonly { readonly seed: number; readonly mix: Mix; readonly found: string }[] = [
  {
    seed: 676,
    mix: "membership",
    found: "stale read: a rejection of an older term's request echoed its read round into a later term",
  },
  {
    seed: 3901,
    mix: "default",
    found: "stale read: a rejection of an older term's request echoed its read round into a later term",
  },
  {
    seed: 4318,
    mix: "default",
    found:
      "no leader for good: a leader that removed itself stepped down before C_new committed, and never campaigned",
  },
  {
    seed: 901,
    mix: "membership",
    found:
      "no leader for good: a leader that removed itself stepped down before C_new committed, and never campaigned",
  },
];

/** Wall-clock seconds of the random batch when TSRAFT_SIM_SECONDS is unset. */
const DEFAULT_BATCH_SECONDS = 75;

/** The mix of seed `seed` in the random batch: the mixes take turns, so each gets a quarter of the batch. */
function mixOf(seed: number): Mix {
  return MIXES[seed % MIXES.length] ?? "default";
}

async function run(seed: number, mix: Mix): Promise<SwarmResult> {
  return await runSwarmSeed({ settings: { ...defaultSettings(seed), mix }, yieldToHost });
}

/** Fails with every failure's report (seed, property, replay command), if there are any. */
function assertNoFailures(failures: readonly SwarmResult[], runs: number): void {
  if (failures.length === 0) return;
  const report = failures.flatMap((result) => [...failureLines(result), ""]).join("\n");
  assert.fail(`${failures.length} of ${runs} swarm runs failed:\n${report}`);
}

test("the fixed seeds pass in every mix", async () => {
  const failures: SwarmResult[] = [];
  let runs = 0;
  for (const mix of MIXES) {
    for (const seed of FIXED_SEEDS) {
      runs++;
      const result = await run(seed, mix);
      if (!result.passed) failures.push(result);
    }
  }
  for (const { seed, mix } of REGRESSION_SEEDS) {
    runs++;
    const result = await run(seed, mix);
    if (!result.passed) failures.push(result);
  }
  assertNoFailures(failures, runs);
});

test("a time-boxed batch of random seeds passes", async (t) => {
  const seconds = Number(process.env.TSRAFT_SIM_SECONDS ?? DEFAULT_BATCH_SECONDS);
  assert.ok(Number.isFinite(seconds) && seconds >= 0, "TSRAFT_SIM_SECONDS must be a number of seconds");
  if (seconds === 0) {
    t.skip("TSRAFT_SIM_SECONDS=0");
    return;
  }
  const first = Number(process.env.TSRAFT_SIM_SEED ?? randomInt(1, 2 ** 31));
  const deadline = performance.now() + seconds * 1000;
  const failures: SwarmResult[] = [];
  let seed = first;
  while (performance.now() < deadline) {
    const result = await run(seed, mixOf(seed));
    if (!result.passed) failures.push(result);
    seed++;
  }
  t.diagnostic(
    `seeds ${first}..${seed - 1} (${seed - first} runs in ${seconds} s), ${failures.length} failed`,
  );
  assertNoFailures(failures, seed - first);
});
