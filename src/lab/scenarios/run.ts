import type { Clock } from "../../peer/index.ts";
import { makeRealClock, makeVirtualClock } from "../clocks.ts";
import type { LabFeatures } from "../raft.ts";
import { makeConfig, type TestFigures } from "../tester/config.ts";
import { LabTestFailure } from "../tester/failure.ts";
import type { LabScenario } from "./scenario.ts";

/** Which time a lab run uses: virtual (fast, replayable from the seed) or the system clock. */
export type ClockMode = "virtual" | "real";

export interface RunOptions {
  readonly seed: number;
  readonly clock: ClockMode;
  /** Production features to turn on (PreVote, CheckQuorum); default none, as in the course. */
  readonly features?: LabFeatures;
  /** Receives the course's output lines; default: discard. */
  readonly print?: (line: string) => void;
}

export interface ScenarioResult {
  readonly name: string;
  readonly seed: number;
  readonly clock: ClockMode;
  readonly passed: boolean;
  /** The failure, its message ending with the seed and the command that replays it. */
  readonly error?: Error;
  readonly figures?: TestFigures;
  /** Wall-clock milliseconds the run took. */
  readonly wallMs: number;
  /** Milliseconds of the run's own clock (virtual or real) from start to end. */
  readonly clockMs: number;
}

/** The one command that replays a lab run. */
export function replayCommand(name: string, seed: number, clock: ClockMode, features?: LabFeatures): string {
  const flags = featureFlags(features);
  return `npm run lab -- --run ${name} --seed ${seed}${clock === "real" ? " --clock real" : ""}${flags}`;
}

/** The `tsraft lab` flags that turn `features` on, with a leading space; empty when none is on. */
function featureFlags(features: LabFeatures | undefined): string {
  const on = [
    ...(features?.preVote === true ? ["pre-vote"] : []),
    ...(features?.checkQuorum === true ? ["check-quorum"] : []),
  ];
  return on.length === 0 ? "" : ` --features ${on.join(",")}`;
}

/** Reads `TSRAFT_CLOCK` (virtual unless it says "real"). */
export function clockModeFromEnv(value: string | undefined): ClockMode {
  if (value === undefined || value === "" || value === "virtual") return "virtual";
  if (value === "real") return "real";
  throw new Error(`TSRAFT_CLOCK must be "virtual" or "real", got "${value}"`);
}

/** What {@link runOnFreshClock} needs of a tester config: a promise that rejects on the first fatal error. */
export interface RunnableConfig {
  readonly failure: Promise<never>;
  cleanup(): void;
}

/** What one run left behind: its config (if it was built), its error (if it failed) and its timings. */
export interface FreshClockRun<C> {
  readonly cfg: C | null;
  readonly error: Error | undefined;
  readonly wallMs: number;
  readonly clockMs: number;
}

/**
 * The runner both labs share: builds a config on a fresh clock of the chosen kind, runs `body` against it,
 * and stops at the first fatal error anywhere (a tester check, a client, a broken invariant in a peer). Always
 * cleans up and stops the clock.
 */
export async function runOnFreshClock<C extends RunnableConfig>(
  options: RunOptions,
  makeCfg: (clock: Clock) => C,
  body: (cfg: C) => Promise<void>,
): Promise<FreshClockRun<C>> {
  const virtual = options.clock === "virtual" ? makeVirtualClock() : null;
  const clock: Clock = virtual ?? makeRealClock();
  const started = globalThis.performance.now();
  const clockStart = clock.now();
  let cfg: C | null = null;
  let error: Error | undefined;
  try {
    cfg = makeCfg(clock);
    await Promise.race([body(cfg), cfg.failure]);
  } catch (caught) {
    error = caught instanceof Error ? caught : new Error(String(caught));
  } finally {
    try {
      cfg?.cleanup();
    } catch (caught) {
      error ??= caught instanceof Error ? caught : new Error(String(caught));
    }
    virtual?.stop();
  }
  return { cfg, error, wallMs: globalThis.performance.now() - started, clockMs: clock.now() - clockStart };
}

/**
 * The failure a run reports: the scenario, seed and clock, the cause, and the command(s) that replay it. An
 * unexpected error (not a tester check) keeps its stack, since the message alone does not say where it was.
 */
export function runFailure(name: string, options: RunOptions, error: Error, moreReplay = ""): LabTestFailure {
  const replay = replayCommand(name, options.seed, options.clock, options.features);
  const failure = new LabTestFailure(
    `${name} failed (seed ${options.seed}, ${options.clock} clock): ${error.message}\n  replay: ${replay}${moreReplay}`,
  );
  if (!(error instanceof LabTestFailure) && error.stack !== undefined) {
    failure.stack = `${failure.message}\n${error.stack}`;
  }
  return failure;
}

/** Runs one Lab 2 scenario with one seed (see {@link runOnFreshClock}). */
export async function runScenario(scenario: LabScenario, options: RunOptions): Promise<ScenarioResult> {
  const run = await runOnFreshClock(
    options,
    (clock) =>
      makeConfig(scenario.servers, scenario.unreliable, scenario.snapshot, {
        clock,
        seed: options.seed,
        ...(options.print === undefined ? {} : { print: options.print }),
        ...(options.features === undefined ? {} : { features: options.features }),
      }),
    (cfg) => scenario.body.call(scenario, cfg),
  );
  const result = {
    name: scenario.name,
    seed: options.seed,
    clock: options.clock,
    wallMs: run.wallMs,
    clockMs: run.clockMs,
  };
  if (run.error !== undefined) {
    return { ...result, passed: false, error: runFailure(scenario.name, options, run.error) };
  }
  return { ...result, passed: true, ...(run.cfg?.figures ? { figures: run.cfg.figures } : {}) };
}
