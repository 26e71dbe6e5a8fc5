import { type RunOptions, runFailure, runOnFreshClock } from "../scenarios/run.ts";
import { type KvraftSection, makeKvraftConfig } from "./config.ts";
import type { HistoryCheck } from "./op-log.ts";
import type { KvraftScenario } from "./scenario.ts";

/** The outcome of one kvraft scenario run. */
export interface KvraftScenarioResult {
  readonly name: string;
  readonly seed: number;
  readonly clock: RunOptions["clock"];
  readonly passed: boolean;
  /** The failure, its message ending with the seed and the commands that replay it. */
  readonly error?: Error;
  /** The figures of each section that passed, in order (all of them when the run passed). */
  readonly sections: readonly KvraftSection[];
  /** The linearizability checks the run made. */
  readonly checks: readonly HistoryCheck[];
  /** Wall-clock milliseconds the run took. */
  readonly wallMs: number;
  /** Milliseconds of the run's own clock (virtual or real) from start to end. */
  readonly clockMs: number;
}

/** A second way to replay a kvraft run: through its test file under node:test, with the same seed and clock. */
export function kvraftTestReplayCommand(
  scenario: KvraftScenario,
  seed: number,
  clock: RunOptions["clock"],
): string {
  const file = scenario.part === "3A" ? "test/lab/lab3a.test.ts" : "test/lab/lab3b.test.ts";
  const clockSetting = clock === "real" ? " TSRAFT_CLOCK=real" : "";
  return `TSRAFT_SEEDS=${seed}${clockSetting} node --import tsx --test --test-name-pattern="^${scenario.name} " ${file}`;
}

/**
 * Runs one kvraft scenario with one seed: builds its config on a fresh clock, runs its steps, and stops at the
 * first failure anywhere (a tester check, a client, a server's broken invariant). Always cleans up. A scenario
 * that never checks its history fails: every kvraft test here is checked for linearizability.
 */
export async function runKvraftScenario(
  scenario: KvraftScenario,
  options: RunOptions,
): Promise<KvraftScenarioResult> {
  const run = await runOnFreshClock(
    options,
    (clock) =>
      makeKvraftConfig(scenario.servers, scenario.unreliable, scenario.maxRaftState, {
        clock,
        seed: options.seed,
        ...(options.print === undefined ? {} : { print: options.print }),
        ...(options.features === undefined ? {} : { features: options.features }),
      }),
    async (cfg) => {
      await scenario.body.call(scenario, cfg);
      if (cfg.checks.length === 0) cfg.fatal("the scenario never checked its history for linearizability");
    },
  );
  const result = {
    name: scenario.name,
    seed: options.seed,
    clock: options.clock,
    sections: run.cfg?.sections ?? [],
    checks: run.cfg?.checks ?? [],
    wallMs: run.wallMs,
    clockMs: run.clockMs,
  };
  if (run.error === undefined) return { ...result, passed: true };
  const testReplay = `\n  or: ${kvraftTestReplayCommand(scenario, options.seed, options.clock)}`;
  return { ...result, passed: false, error: runFailure(scenario.name, options, run.error, testReplay) };
}
