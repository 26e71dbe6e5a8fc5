/**
 * `tsraft lab`: runs the MIT 6.824 Lab 2 (Raft) and Lab 3 (kvraft) scenarios against tsraft, in parallel worker
 * processes. With no selection (none of --run, --seed, --seeds, --clock) it makes the report: every scenario
 * once with seed 1 on the virtual clock and then on the real clock, and our figures next to the course's
 * reference figures, a table per lab. Otherwise it runs the selection once per seed (printing the course's
 * lines and the comparison for that clock) or as a sweep over many seeds (printing progress and a summary).
 * Each lab runs as a pass of its own (Lab 2, then Lab 3), so that each lab's wall and CPU time are its own.
 */
import { writeFile } from "node:fs/promises";
import { availableParallelism, cpus, platform, release, totalmem } from "node:os";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { LabFeatures } from "../lab/raft.ts";
import {
  allKvraftScenarios,
  allScenarios,
  type ClockMode,
  clockModeFromEnv,
  replayCommand,
} from "../lab/scenarios/index.ts";
import {
  KVRAFT_REFERENCE_FIGURES,
  KVRAFT_REFERENCE_TOTAL_SECONDS,
  REFERENCE_FIGURES,
} from "../lab/scenarios/reference-figures.ts";
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from "./exit-status.ts";
import {
  type ClockPass,
  comparisonLines,
  comparisonMarkdown,
  type KvraftTestInfo,
  kvraftComparisonLines,
  kvraftComparisonMarkdown,
  type MachineFacts,
} from "./lab-comparison.ts";
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
  /**
   * Regular expression (or substring) selecting scenarios of both labs by name (a scenario's exact name selects
   * it alone); `undefined` selects all.
   */
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
  /**
   * The report: every scenario once with `seed` on the virtual clock, then (with `real`) on the real clock,
   * and the comparison with the course's figures. `run`, `seeds` and `clock` are then ignored.
   */
  readonly report: boolean;
  /** In a report, whether to make the real-clock pass too (`--no-real` skips it). */
  readonly real: boolean;
  /** Where to write the comparison as Markdown; `undefined` for nowhere. Not for sweeps. */
  readonly reportFile: string | undefined;
  /** Production features every run turns on (`--features pre-vote,check-quorum`); none by default. */
  readonly features?: LabFeatures;
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
  /** `--no-real` makes this false; true otherwise. */
  readonly real: boolean;
  readonly reportFile?: string;
  readonly features?: LabFeatures;
}

/** The options that select what to run; giving any of them leaves the report for that selection. */
const SELECTION_OPTIONS = ["run", "seed", "seeds", "clock"] as const;

const HELP_AFTER = `
With none of --run, --seed, --seeds, --clock, it makes the report: every scenario of Lab 2, then of Lab 3,
once with seed 1 on the virtual clock, then on the real clock (in parallel workers; several minutes), then a
table per lab of our figures next to the course's published ones, the totals of each clock and the Lab 2
benchmark targets (figures: a missed target does not change the exit status). $TSRAFT_CLOCK applies only to
selections. --run searches both labs' names (2B, 3A, Basic3A); a pattern that is exactly a scenario's name
selects that scenario alone (so Unreliable3A does not also run PersistConcurrentUnreliable3A).

Examples:
  tsraft lab                                    the report, on both clocks (a few minutes)
  tsraft lab --no-real                          the report on the virtual clock only (seconds)
  tsraft lab --report-file docs/lab-report.md   the report, also written as Markdown
  tsraft lab --run 2B --seed 7                  the 2B scenarios with seed 7, and their comparison
  tsraft lab --run 3A --jobs 2                  the Lab 3 (kvraft) 3A scenarios, in two workers
  tsraft lab --run '^Backup2B$' --seeds 500     a sweep of seeds 1..500
  tsraft lab --clock real --run 2A --jobs 1     on the system clock, one at a time

A failure prints its seed and the command that replays it (exactly, on the virtual clock).
Exit status: ${EXIT_OK} every run passed, ${EXIT_FAILURE} a run failed, ${EXIT_USAGE} usage error, ${EXIT_INTERRUPTED} interrupted.`;

/** Adds the `lab` subcommand to `program`. */
export function registerLabCommand(program: Command): void {
  program
    .command("lab")
    .description("run the MIT 6.824 Lab 2 (Raft) and Lab 3 (kvraft) tests against tsraft")
    .option(
      "--run <pattern>",
      "only scenarios whose name matches this regular expression (e.g. 2A, Backup2B, 3A, Basic3A)",
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
    .option("--report-file <file>", "also write the comparison with the course's figures as Markdown")
    .option("--no-real", "the report only: skip the real-clock pass")
    .option(
      "--features <list>",
      "turn on production features the course's Raft lacks: pre-vote, check-quorum (comma-separated)",
      parseFeatures,
    )
    .addHelpText("after", HELP_AFTER)
    .action(async (raw: RawLabOptions, command: Command) => {
      const report = SELECTION_OPTIONS.every((name) => command.getOptionValueSource(name) !== "cli");
      let clock: ClockMode;
      try {
        // The report runs both clocks whatever TSRAFT_CLOCK says.
        clock = report ? "virtual" : (raw.clock ?? clockModeFromEnv(process.env.TSRAFT_CLOCK));
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
        report,
        real: raw.real,
        reportFile: raw.reportFile,
        ...(raw.features === undefined ? {} : { features: raw.features }),
      });
      if (code === EXIT_INTERRUPTED) {
        // A run in this process cannot be cancelled and may hold the event loop open for a long while.
        process.exit(code);
      }
      process.exitCode = code;
    });
}

/** Which of the course's labs a scenario belongs to: 2 (Raft) or 3 (kvraft). */
type LabNumber = 2 | 3;

/** The Lab 2 scenarios' names, in the course's order. */
const LAB2_NAMES: readonly string[] = allScenarios.map((scenario) => scenario.name);
/** The Lab 3 scenarios' names, in the course's order. */
const LAB3_NAMES: readonly string[] = allKvraftScenarios.map((scenario) => scenario.name);
/** Every scenario's name: Lab 2's, then Lab 3's. */
const ALL_NAMES: readonly string[] = [...LAB2_NAMES, ...LAB3_NAMES];

/**
 * Selects scenarios by name, as `go test -run` does (`pattern` a regular expression searched for anywhere in
 * the name; one that is not valid is taken as a plain substring; absent or empty selects all), except that a
 * pattern that is exactly a scenario's name selects that scenario alone: the replay command a failure prints
 * (`--run NAME --seed N`) must replay that run only, and some Lab 3 names are inside others (`Unreliable3A`
 * in `PersistPartitionUnreliable3A`). Keeps the order of `names`.
 */
export function selectScenarioNames(
  pattern: string | undefined,
  names: readonly string[] = ALL_NAMES,
): string[] {
  if (pattern === undefined || pattern === "") return [...names];
  if (names.includes(pattern)) return [pattern];
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch {
    return names.filter((name) => name.includes(pattern));
  }
  return names.filter((name) => regex.test(name));
}

/** One lab's part of a selection: its scenarios' names, in the course's order. */
interface LabGroup {
  readonly lab: LabNumber;
  readonly names: readonly string[];
}

/** The selected names split by lab, Lab 2 first, leaving out a lab with none selected. */
function labGroups(names: readonly string[]): LabGroup[] {
  const groups: LabGroup[] = [
    { lab: 2, names: names.filter((name) => LAB2_NAMES.includes(name)) },
    { lab: 3, names: names.filter((name) => LAB3_NAMES.includes(name)) },
  ];
  return groups.filter((group) => group.names.length > 0);
}

/** The Lab 3 scenarios named in `names`, as the comparison needs them. */
function kvraftTests(names: readonly string[]): KvraftTestInfo[] {
  return allKvraftScenarios.filter((scenario) => names.includes(scenario.name));
}

/** One worker per processor: the runs are CPU-bound on the virtual clock. */
function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/** One clock's pass over one lab's scenarios: what the pool did and what it cost. */
interface PassResult {
  readonly outcome: PoolOutcome;
  /** The pass's records, sorted by scenario (in the course's order) and seed. */
  readonly records: readonly LabRunRecord[];
  /** Runs that were planned. */
  readonly planned: number;
  readonly workers: number;
  readonly wallMs: number;
  /** Processor time of this process during the pass. */
  readonly mainCpu: NodeJS.CpuUsage;
}

/**
 * Runs `tsraft lab` with parsed options, writing to stdout and stderr. Resolves to the exit status:
 * {@link EXIT_OK} iff every selected run passed (missed benchmark targets do not count: they are figures).
 */
export async function runLab(options: LabOptions): Promise<number> {
  const names = selectScenarioNames(options.report ? undefined : options.run);
  if (names.length === 0) {
    printErr(
      `tsraft lab: no scenario matches --run "${options.run ?? ""}". Scenarios: ${ALL_NAMES.join(", ")}`,
    );
    return EXIT_USAGE;
  }
  const sweep = !options.report && options.seeds !== undefined;
  const seedCount = sweep ? (options.seeds ?? 1) : 1;
  if (options.seed + seedCount - 1 > SEED_MAX) {
    printErr(
      `tsraft lab: seeds must stay at most ${SEED_MAX}; --seed ${options.seed} --seeds ${seedCount} passes it`,
    );
    return EXIT_USAGE;
  }
  if (sweep && options.reportFile !== undefined) {
    printErr("tsraft lab: --report-file compares one run per test with the course's; it cannot take --seeds");
    return EXIT_USAGE;
  }

  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    printErr("\ntsraft lab: interrupted; stopping (press Ctrl-C again to quit at once)");
    interrupt.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    return options.report
      ? await runReport(names, options, interrupt.signal)
      : await runSelection(names, options, sweep, seedCount, interrupt.signal);
  } catch (error) {
    // The pool itself broke (a worker could not start): no verdict on the code under test is possible.
    printErr(`tsraft lab: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** A pass together with the lab it ran. */
interface LabPass {
  readonly lab: LabNumber;
  readonly names: readonly string[];
  readonly clock: ClockMode;
  readonly pass: PassResult;
}

/**
 * The selected scenarios on one clock, once per seed or as a sweep: Lab 2's pass, then Lab 3's (each lab's
 * comparison needs its own times), then one summary over both.
 */
async function runSelection(
  names: readonly string[],
  options: LabOptions,
  sweep: boolean,
  seedCount: number,
  signal: AbortSignal,
): Promise<number> {
  const results: LabPass[] = [];
  let previousCpu: NodeJS.CpuUsage | null = null;
  for (const group of labGroups(names)) {
    const pass = await runPass(group.names, options, options.clock, sweep, seedCount, signal, previousCpu);
    previousCpu = process.cpuUsage();
    results.push({ ...group, clock: options.clock, pass });
    if (pass.outcome.stop !== "done") break;
  }
  const whole = mergePasses(
    results.map((result) => result.pass),
    names.length * seedCount,
  );
  const summary = passSummary(whole, names.length, options, seedCount, options.clock, sweep);
  if (!sweep) {
    summary.unshift(...briefFailures(whole.records));
    for (const line of selectionComparisonLines(results)) print(line);
  }
  print("");
  for (const line of summary) print(line);

  if (options.json !== undefined) {
    const written = await writeJson(options.json, jsonPass(options, options.clock, seedCount, whole));
    if (!written) return EXIT_USAGE;
  }
  if (!sweep && options.reportFile !== undefined) {
    const written = await writeReport(options.reportFile, results, options.seed);
    if (!written) return EXIT_USAGE;
  }
  if (whole.outcome.stop === "interrupted") return EXIT_INTERRUPTED;
  return passPassed(whole) ? EXIT_OK : EXIT_FAILURE;
}

/** The comparison of each lab that ran in a single-seed selection. */
function selectionComparisonLines(results: readonly LabPass[]): string[] {
  return results.flatMap((result) => {
    const passes = [clockPass(result.clock, result.pass)];
    return result.lab === 2
      ? comparisonLines(result.names, passes, REFERENCE_FIGURES, result.names.length === LAB2_NAMES.length)
      : kvraftComparisonLines(
          kvraftTests(result.names),
          passes,
          KVRAFT_REFERENCE_FIGURES,
          KVRAFT_REFERENCE_TOTAL_SECONDS,
        );
  });
}

/**
 * Passes run one after another as one: their records in order, times and counts added up, and the first
 * early stop. `planned` counts the runs of passes that never started too.
 */
function mergePasses(passes: readonly PassResult[], planned: number): PassResult {
  const add = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => ({
    user: a.user + b.user,
    system: a.system + b.system,
  });
  const zero = { user: 0, system: 0 };
  const records = passes.flatMap((pass) => pass.records);
  return {
    outcome: {
      records,
      workerCpu: passes.reduce((sum, pass) => add(sum, pass.outcome.workerCpu), zero),
      stop: passes.find((pass) => pass.outcome.stop !== "done")?.outcome.stop ?? "done",
    },
    records,
    planned,
    workers: Math.max(0, ...passes.map((pass) => pass.workers)),
    wallMs: passes.reduce((sum, pass) => sum + pass.wallMs, 0),
    mainCpu: passes.reduce((sum, pass) => add(sum, pass.mainCpu), zero),
  };
}

/**
 * The report: every scenario once on the virtual clock, then (unless `--no-real`) once on the real clock, Lab 2
 * and then Lab 3 on each, each pass printing the course's lines as they come; then each lab's comparison with
 * the course's figures.
 */
async function runReport(
  names: readonly string[],
  options: LabOptions,
  signal: AbortSignal,
): Promise<number> {
  const clocks: ClockMode[] = options.real ? ["virtual", "real"] : ["virtual"];
  const groups = labGroups(names);
  print(
    `tsraft lab: the report: every test once with seed ${options.seed} on the ${clocks.join(" clock, then on the ")} clock,` +
      " Lab 2 then Lab 3, then our figures next to the course's (--run, --seed, --seeds or --clock select runs instead)",
  );
  const results: LabPass[] = [];
  let previousCpu: NodeJS.CpuUsage | null = null;
  passes: for (const clock of clocks) {
    for (const group of groups) {
      print("");
      print(passHeading(clock, group, options.jobs));
      const pass = await runPass(group.names, options, clock, false, 1, signal, previousCpu);
      previousCpu = process.cpuUsage();
      results.push({ ...group, clock, pass });
      const summary = passSummary(pass, group.names.length, options, 1, clock, false);
      print("");
      // The verdict comes once, at the very end.
      for (const line of [...briefFailures(pass.records), ...summary.slice(0, -1)]) print(line);
      if (pass.outcome.stop !== "done") break passes;
    }
  }

  const lab2 = results
    .filter((result) => result.lab === 2)
    .map((result) => clockPass(result.clock, result.pass));
  const lab3 = results
    .filter((result) => result.lab === 3)
    .map((result) => clockPass(result.clock, result.pass));
  if (lab2.length > 0)
    for (const line of comparisonLines(LAB2_NAMES, lab2, REFERENCE_FIGURES, true)) print(line);
  if (lab3.length > 0) {
    const tests = kvraftTests(LAB3_NAMES);
    for (const line of kvraftComparisonLines(
      tests,
      lab3,
      KVRAFT_REFERENCE_FIGURES,
      KVRAFT_REFERENCE_TOTAL_SECONDS,
    ))
      print(line);
  }
  const passed =
    results.length === clocks.length * groups.length && results.every((result) => passPassed(result.pass));
  print("");
  print(passed ? "PASS" : "FAIL");

  if (options.json !== undefined) {
    const report = {
      mode: "report",
      passes: results.map((result) => ({
        lab: result.lab,
        ...jsonPass(options, result.clock, 1, result.pass),
      })),
    };
    if (!(await writeJson(options.json, report))) return EXIT_USAGE;
  }
  if (options.reportFile !== undefined) {
    const written = await writeReport(options.reportFile, results, options.seed);
    if (!written) return EXIT_USAGE;
  }
  if (results.some((result) => result.pass.outcome.stop === "interrupted")) return EXIT_INTERRUPTED;
  return passed ? EXIT_OK : EXIT_FAILURE;
}

/** The heading of one of the report's passes. */
function passHeading(clock: ClockMode, group: LabGroup, jobs: number): string {
  const workers = Math.min(jobs, group.names.length);
  const how = workers <= 1 ? "one after another in this process" : `in ${workers} parallel worker processes`;
  const what = `${clock} clock, Lab ${group.lab}: ${group.names.length} tests ${how}`;
  return clock === "real"
    ? `== ${what}; the course runs them one after another, which would take the sum of per-test times shown at the end ==`
    : `== ${what} ==`;
}

/**
 * Runs the scenarios on one clock, once per seed or as a sweep. The wall and processor time of the first pass
 * (`cpuBefore` null) count from this process's start, since loading the TypeScript is part of the cost; a
 * later pass's count from `cpuBefore` and its own start.
 */
async function runPass(
  names: readonly string[],
  options: LabOptions,
  clock: ClockMode,
  sweep: boolean,
  seedCount: number,
  signal: AbortSignal,
  cpuBefore: NodeJS.CpuUsage | null,
): Promise<PassResult> {
  const started = cpuBefore === null ? 0 : globalThis.performance.now();
  const jobs = planJobs(names, options.seed, seedCount, clock, !sweep, options.features);
  const workers = Math.min(options.jobs, jobs.length);
  const outcome = sweep
    ? await runSweep(jobs, workers, options, signal)
    : await runOnce(jobs, workers, options, signal);
  return {
    outcome,
    records: sortRecords(outcome.records, names),
    planned: jobs.length,
    workers,
    wallMs: globalThis.performance.now() - started,
    mainCpu: cpuBefore === null ? process.cpuUsage() : process.cpuUsage(cpuBefore),
  };
}

/** The closing summary of a pass (its last line is the verdict, PASS or FAIL). */
function passSummary(
  pass: PassResult,
  scenarioCount: number,
  options: LabOptions,
  seedCount: number,
  clock: ClockMode,
  sweep: boolean,
): string[] {
  return summaryLines({
    records: pass.records,
    planned: pass.planned,
    scenarios: scenarioCount,
    firstSeed: options.seed,
    seedCount,
    clock,
    workers: pass.workers,
    stop: pass.outcome.stop,
    wallMs: pass.wallMs,
    mainCpuMicros: pass.mainCpu.user + pass.mainCpu.system,
    workerCpuMicros: pass.outcome.workerCpu.user + pass.outcome.workerCpu.system,
    // A single-seed run has printed each failure where it happened; a sweep has printed nothing yet.
    repeatFailures: sweep,
  });
}

/** Whether a pass ran every planned run and every one passed. */
function passPassed(pass: PassResult): boolean {
  const complete = pass.outcome.stop === "done" && pass.records.length === pass.planned;
  return complete && pass.records.every((record) => record.passed);
}

function clockPass(clock: ClockMode, pass: PassResult): ClockPass {
  return {
    clock,
    records: pass.records,
    workers: pass.workers,
    wallMs: pass.wallMs,
    mainCpuMicros: pass.mainCpu.user + pass.mainCpu.system,
    workerCpuMicros: pass.outcome.workerCpu.user + pass.outcome.workerCpu.system,
  };
}

/**
 * The runs to make. A sweep goes seed by seed across every scenario (all scenarios with the first seed, then
 * the second...), so an early stop or a glance at the progress has seen every scenario; a single seed goes in
 * the course's order. Ids follow this order.
 */
function planJobs(
  names: readonly string[],
  firstSeed: number,
  seedCount: number,
  clock: ClockMode,
  lines: boolean,
  features: LabFeatures | undefined,
): LabJob[] {
  const jobs: LabJob[] = [];
  const extra = features === undefined ? {} : { features };
  for (let seed = firstSeed; seed < firstSeed + seedCount; seed++) {
    for (const name of names) jobs.push({ id: jobs.length, name, seed, clock, lines, ...extra });
  }
  return jobs;
}

/** Parses `--features`: a comma-separated list of pre-vote and check-quorum. */
export function parseFeatures(value: string): LabFeatures {
  const features = { preVote: false, checkQuorum: false };
  for (const name of value.split(",").map((part) => part.trim())) {
    if (name === "pre-vote") features.preVote = true;
    else if (name === "check-quorum") features.checkQuorum = true;
    else throw new InvalidArgumentError(`unknown feature "${name}" (known: pre-vote, check-quorum)`);
  }
  return features;
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

/** A pass's results as the `--json` file shows them. */
function jsonPass(options: LabOptions, clock: ClockMode, seedCount: number, pass: PassResult): object {
  const passed = pass.records.filter((record) => record.passed).length;
  return {
    run: options.report ? null : (options.run ?? null),
    firstSeed: options.seed,
    seedCount,
    clock,
    jobs: options.jobs,
    stop: pass.outcome.stop,
    runs: pass.records.length,
    passed,
    failed: pass.records.length - passed,
    wallMs: pass.wallMs,
    cpuMicros: { main: pass.mainCpu, workers: pass.outcome.workerCpu },
    results: pass.records,
  };
}

/** Writes the `--json` report; reports (and returns false) if it cannot. */
async function writeJson(path: string, report: object): Promise<boolean> {
  return await writeOutput("--json", path, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * Writes the `--report-file` Markdown: Lab 2's comparison (with the machine it was measured on), then Lab 3's,
 * for the labs that ran.
 */
async function writeReport(path: string, results: readonly LabPass[], seed: number): Promise<boolean> {
  const command = ["tsraft", ...process.argv.slice(2)].join(" ");
  const machine = machineFacts();
  const passesOf = (lab: LabNumber) =>
    results.filter((result) => result.lab === lab).map((result) => clockPass(result.clock, result.pass));
  const namesOf = (lab: LabNumber) => results.find((result) => result.lab === lab)?.names ?? [];
  const parts: string[] = [];
  const lab2 = passesOf(2);
  if (lab2.length > 0) {
    const names = namesOf(2);
    parts.push(
      comparisonMarkdown({
        names,
        passes: lab2,
        reference: REFERENCE_FIGURES,
        wholeSuite: names.length === LAB2_NAMES.length,
        seed,
        machine,
        command,
      }),
    );
  }
  const lab3 = passesOf(3);
  if (lab3.length > 0) {
    const kvraft = kvraftComparisonMarkdown({
      tests: kvraftTests(namesOf(3)),
      passes: lab3,
      reference: KVRAFT_REFERENCE_FIGURES,
      referenceTotals: KVRAFT_REFERENCE_TOTAL_SECONDS,
      seed,
    });
    // Alone, the Lab 3 part says itself how it was made and where.
    parts.push(lab2.length > 0 ? kvraft : `${kvraft}\n${generatedBy(command, machine)}`);
  }
  return await writeOutput("--report-file", path, parts.join("\n"));
}

/** How a Lab-3-only report was made, and on what machine. */
function generatedBy(command: string, machine: MachineFacts): string {
  const gib = (machine.totalMemoryBytes / 2 ** 30).toFixed(1);
  return (
    `Made by \`${command}\` on ${machine.cpuModel}, ${machine.cores} cores, ${gib} GiB memory,` +
    ` Node ${machine.node} on ${machine.platform}, ${machine.date}.\n`
  );
}

function machineFacts(): MachineFacts {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown processor",
    cores: cpus().length,
    totalMemoryBytes: totalmem(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    date: new Date().toISOString(),
  };
}

/** Writes one of the output files; reports (and returns false) if it cannot. */
async function writeOutput(option: string, path: string, text: string): Promise<boolean> {
  try {
    await writeFile(path, text);
    return true;
  } catch (error) {
    printErr(
      `tsraft lab: cannot write ${option} ${path}: ${error instanceof Error ? error.message : String(error)}`,
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
