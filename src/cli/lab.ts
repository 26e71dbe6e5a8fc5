/**
 * `tsraft lab`: runs the MIT 6.824 Lab 2 scenarios against tsraft's Raft, once per seed (printing the course's
 * lines) or as a sweep over many seeds (printing progress and a summary), in parallel worker processes.
 */
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { type Command, Option } from "commander";
import {
  type ClockMode,
  clockModeFromEnv,
  findScenarios,
  type LabScenario,
  replayCommand,
} from "../lab/scenarios/index.ts";
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from "./exit-status.ts";
import { type PoolOutcome, runPool } from "./lab-pool.ts";
import type { LabJob, LabRunRecord } from "./lab-protocol.ts";
import {
  failureLines,
  OrderedPrinter,
  type SweepProgress,
  sortRecords,
  summaryLines,
  sweepProgress,
} from "./lab-report.ts";
import { integerOption, positiveOption, SEED_MAX, seedOption } from "./parse.ts";

/** The settings of one `tsraft lab` invocation, after parsing. */
export interface LabOptions {
  /** Regular expression (or substring) selecting scenarios by name; `undefined` selects all. */
  readonly run: string | undefined;
  /** The seed of a single run, or the first seed of a sweep. */
  readonly seed: number;
  /** When set, a sweep over `seeds` consecutive seeds starting at `seed`. */
  readonly seeds: number | undefined;
  /** Worker processes; 1 runs everything in this process. */
  readonly jobs: number;
  readonly clock: ClockMode;
  readonly failFast: boolean;
  /** Where to write every result as JSON; `undefined` for nowhere. */
  readonly json: string | undefined;
}

/** The options as commander hands them over (camel-cased long names; absent when not given and no default). */
interface RawLabOptions {
  readonly run?: string;
  readonly seed: number;
  readonly seeds?: number;
  readonly jobs: number;
  readonly clock?: ClockMode;
  readonly failFast?: true;
  readonly json?: string;
}

const HELP_AFTER = `
Examples:
  tsraft lab                                  every scenario once, seed 1
  tsraft lab --run 2B --seed 7                the 2B scenarios with seed 7
  tsraft lab --run '^Backup2B$' --seeds 500   a sweep of seeds 1..500
  tsraft lab --clock real --run 2A --jobs 1   on the system clock, one at a time

A failure prints its seed and the command that replays it (exactly, on the virtual clock).
Exit status: ${EXIT_OK} every run passed, ${EXIT_FAILURE} a run failed, ${EXIT_USAGE} usage error, ${EXIT_INTERRUPTED} interrupted.`;

/** Adds the `lab` subcommand to `program`. */
export function registerLabCommand(program: Command): void {
  program
    .command("lab")
    .description("run the MIT 6.824 Lab 2 tests against tsraft's Raft")
    .option(
      "--run <pattern>",
      "only scenarios whose name matches this regular expression (e.g. 2A, Backup2B)",
    )
    .option("--seed <n>", "the seed of each run, or the first seed of a sweep", seedOption, 1)
    .option(
      "--seeds <count>",
      "sweep: run each scenario with seeds seed..seed+count-1, showing progress instead of test output",
      positiveOption,
    )
    .option(
      "--jobs <n>",
      "parallel worker processes; 1 runs in this process",
      integerOption(1, 256),
      defaultJobs(),
    )
    .addOption(
      new Option(
        "--clock <mode>",
        "virtual (fast, replayable) or real time (default: $TSRAFT_CLOCK, else virtual)",
      ).choices(["virtual", "real"]),
    )
    .option("--fail-fast", "stop at the first failure")
    .option("--json <file>", "write every run's result to this file as JSON")
    .addHelpText("after", HELP_AFTER)
    .action(async (raw: RawLabOptions, command: Command) => {
      let clock: ClockMode;
      try {
        clock = raw.clock ?? clockModeFromEnv(process.env.TSRAFT_CLOCK);
      } catch (error) {
        command.error(`error: ${error instanceof Error ? error.message : String(error)}`, {
          exitCode: EXIT_USAGE,
        });
      }
      const code = await runLab({
        run: raw.run,
        seed: raw.seed,
        seeds: raw.seeds,
        jobs: raw.jobs,
        clock,
        failFast: raw.failFast === true,
        json: raw.json,
      });
      if (code === EXIT_INTERRUPTED) {
        // A run in this process cannot be cancelled and may hold the event loop open for a long while.
        process.exit(code);
      }
      process.exitCode = code;
    });
}

/** One worker per processor: the runs are CPU-bound on the virtual clock. */
function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Runs `tsraft lab` with parsed options, writing to stdout and stderr. Resolves to the exit status:
 * {@link EXIT_OK} iff every selected run passed.
 */
export async function runLab(options: LabOptions): Promise<number> {
  const scenarios = findScenarios(options.run);
  if (scenarios.length === 0) {
    const names = findScenarios(undefined).map((scenario) => scenario.name);
    printErr(`tsraft lab: no scenario matches --run "${options.run ?? ""}". Scenarios: ${names.join(", ")}`);
    return EXIT_USAGE;
  }
  const sweep = options.seeds !== undefined;
  const seedCount = options.seeds ?? 1;
  if (options.seed + seedCount - 1 > SEED_MAX) {
    printErr(
      `tsraft lab: seeds must stay at most ${SEED_MAX}; --seed ${options.seed} --seeds ${seedCount} passes it`,
    );
    return EXIT_USAGE;
  }
  const jobs = planJobs(scenarios, options.seed, seedCount, options.clock, !sweep);
  const workers = Math.min(options.jobs, jobs.length);

  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    printErr("\ntsraft lab: interrupted; stopping (press Ctrl-C again to quit at once)");
    interrupt.abort();
  };
  process.on("SIGINT", onSigint);

  let outcome: PoolOutcome;
  try {
    outcome = sweep
      ? await runSweep(jobs, workers, options, interrupt.signal)
      : await runOnce(jobs, workers, options, interrupt.signal);
  } catch (error) {
    // The pool itself broke (a worker could not start): no verdict on the code under test is possible.
    printErr(`tsraft lab: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  } finally {
    process.off("SIGINT", onSigint);
  }

  const names = scenarios.map((scenario) => scenario.name);
  const records = sortRecords(outcome.records, names);
  const mainCpu = process.cpuUsage();
  // Since this process started (as process.cpuUsage counts): loading the TypeScript is part of the cost.
  const wallMs = globalThis.performance.now();
  const summary = summaryLines({
    records,
    planned: jobs.length,
    scenarios: scenarios.length,
    firstSeed: options.seed,
    seedCount,
    clock: options.clock,
    workers,
    stop: outcome.stop,
    wallMs,
    mainCpuMicros: mainCpu.user + mainCpu.system,
    workerCpuMicros: outcome.workerCpu.user + outcome.workerCpu.system,
    // A single-seed run has printed each failure where it happened; a sweep has printed nothing yet.
    repeatFailures: sweep,
  });
  if (!sweep) summary.unshift(...briefFailures(records));
  print("");
  for (const line of summary) print(line);

  if (options.json !== undefined) {
    const written = await writeJson(options.json, options, records, outcome, wallMs, mainCpu);
    if (!written) return EXIT_USAGE;
  }
  if (outcome.stop === "interrupted") return EXIT_INTERRUPTED;
  const complete = outcome.stop === "done" && records.length === jobs.length;
  return complete && records.every((record) => record.passed) ? EXIT_OK : EXIT_FAILURE;
}

/**
 * The runs to make. A sweep goes seed by seed across every scenario (all scenarios with the first seed, then
 * the second...), so an early stop or a glance at the progress has seen every scenario; a single seed goes in
 * the course's order. Ids follow this order.
 */
function planJobs(
  scenarios: readonly LabScenario[],
  firstSeed: number,
  seedCount: number,
  clock: ClockMode,
  lines: boolean,
): LabJob[] {
  const jobs: LabJob[] = [];
  for (let seed = firstSeed; seed < firstSeed + seedCount; seed++) {
    for (const scenario of scenarios) jobs.push({ id: jobs.length, name: scenario.name, seed, clock, lines });
  }
  return jobs;
}

/** One seed: the course's lines as they come, in order, each failure right after its test's lines. */
function runOnce(
  jobs: readonly LabJob[],
  workers: number,
  options: LabOptions,
  signal: AbortSignal,
): Promise<PoolOutcome> {
  const printer = new OrderedPrinter({ write: print });
  return runPool({
    jobs,
    workers,
    failFast: options.failFast,
    signal,
    onLine: (job, line) => printer.line(job.id, line),
    onResult: (job, record) => printer.finish(job.id, record.passed ? [] : failureLines(record)),
  }).finally(() => printer.flush());
}

/** Many seeds: no test output, a progress display on stderr. */
function runSweep(
  jobs: readonly LabJob[],
  workers: number,
  options: LabOptions,
  signal: AbortSignal,
): Promise<PoolOutcome> {
  const progress: SweepProgress = sweepProgress(jobs.length, process.stderr);
  return runPool({
    jobs,
    workers,
    failFast: options.failFast,
    signal,
    onResult: (_job, record) => progress.tick(record),
  }).finally(() => progress.stop());
}

/** The closing list of a single-seed run's failures: which, and how to replay each. */
function briefFailures(records: readonly LabRunRecord[]): string[] {
  const failed = records.filter((record) => !record.passed);
  if (failed.length === 0) return [];
  return failed.map(
    (record) =>
      `--- FAIL: ${record.name} (seed ${record.seed})  replay: ${replayCommand(record.name, record.seed, record.clock)}`,
  );
}

/** Writes the `--json` report; reports (and returns false) if it cannot. */
async function writeJson(
  path: string,
  options: LabOptions,
  records: readonly LabRunRecord[],
  outcome: PoolOutcome,
  wallMs: number,
  mainCpu: NodeJS.CpuUsage,
): Promise<boolean> {
  const passed = records.filter((record) => record.passed).length;
  const report = {
    run: options.run ?? null,
    firstSeed: options.seed,
    seedCount: options.seeds ?? 1,
    clock: options.clock,
    jobs: options.jobs,
    stop: outcome.stop,
    runs: records.length,
    passed,
    failed: records.length - passed,
    wallMs,
    cpuMicros: { main: mainCpu, workers: outcome.workerCpu },
    results: records,
  };
  try {
    await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
    return true;
  } catch (error) {
    printErr(
      `tsraft lab: cannot write --json ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return false;
  }
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function printErr(line: string): void {
  process.stderr.write(`${line}\n`);
}
