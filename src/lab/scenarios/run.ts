import type { Clock } from "../../peer/index.ts";
import { makeRealClock, makeVirtualClock } from "../clocks.ts";
import { type Config, makeConfig, type TestFigures } from "../tester/config.ts";
import { LabTestFailure } from "../tester/failure.ts";
import type { LabScenario } from "./scenario.ts";

/** Which time a lab run uses: virtual (fast, replayable from the seed) or the system clock. */
export type ClockMode = "virtual" | "real";

export interface RunOptions {
  readonly seed: number;
  readonly clock: ClockMode;
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
export function replayCommand(name: string, seed: number, clock: ClockMode): string {
  return `npm run lab -- --run ${name} --seed ${seed}${clock === "real" ? " --clock real" : ""}`;
}

/** Reads `TSRAFT_CLOCK` (virtual unless it says "real"). */
export function clockModeFromEnv(value: string | undefined): ClockMode {
  if (value === undefined || value === "" || value === "virtual") return "virtual";
  if (value === "real") return "real";
  throw new Error(`TSRAFT_CLOCK must be "virtual" or "real", got "${value}"`);
}

/**
 * Runs one scenario with one seed: builds its config on a fresh clock, runs its steps, and stops at the first
 * fatal error anywhere (a tester check, an apply error, a broken invariant in a peer). Always cleans up.
 */
export async function runScenario(scenario: LabScenario, options: RunOptions): Promise<ScenarioResult> {
  const virtual = options.clock === "virtual" ? makeVirtualClock() : null;
  const clock: Clock = virtual ?? makeRealClock();
  const started = globalThis.performance.now();
  const clockStart = clock.now();
  let cfg: Config | null = null;
  let error: Error | undefined;
  try {
    cfg = makeConfig(scenario.servers, scenario.unreliable, scenario.snapshot, {
      clock,
      seed: options.seed,
      ...(options.print === undefined ? {} : { print: options.print }),
    });
    await Promise.race([scenario.body.call(scenario, cfg), cfg.failure]);
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
  const result = {
    name: scenario.name,
    seed: options.seed,
    clock: options.clock,
    wallMs: globalThis.performance.now() - started,
    clockMs: clock.now() - clockStart,
  };
  if (error !== undefined) {
    const replay = replayCommand(scenario.name, options.seed, options.clock);
    const failure = new LabTestFailure(
      `${scenario.name} failed (seed ${options.seed}, ${options.clock} clock): ${error.message}\n  replay: ${replay}`,
    );
    if (!(error instanceof LabTestFailure) && error.stack !== undefined)
      failure.stack = `${failure.message}\n${error.stack}`;
    return { ...result, passed: false, error: failure };
  }
  return { ...result, passed: true, ...(cfg?.figures ? { figures: cfg.figures } : {}) };
}
