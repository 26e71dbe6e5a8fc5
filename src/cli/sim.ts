/**
 * `tsraft sim`: whole-cluster deterministic simulation. One seed runs a cluster of real peers on virtual time
 * under the faults the seed chooses, checking every safety property after every event and liveness after the
 * heal; many seeds run as a swarm in parallel worker processes, with a progress bar and a coverage table. With
 * `--planted-bug` it hunts a known-wrong core and reports the first seed that catches it (calibration).
 *
 * With `--kv`, each seed runs the key-value service on the same cluster and faults instead, with concurrent
 * clients whose history is checked for linearizability and lost writes (src/jepsen); `--kv-bug` hunts a
 * known-wrong key-value node the same way.
 */
import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { type Command, InvalidArgumentError, Option } from "commander";
import { PLANTED_BUGS, type PlantedBug } from "../core/index.ts";
import {
  KV_BUGS,
  KV_DEFAULT_TIME_MS,
  KV_ONLY_PROPERTIES,
  KV_PROPERTY_DESCRIPTIONS,
  type KvBug,
  type KvSimResult,
  kvReplayCommand,
  runKvSeed,
} from "../jepsen/index.ts";
import {
  addToCoverage,
  CLUSTER_SIZES,
  DEFAULT_TIME_MS,
  emptyCoverage,
  FAULT_KIND_DESCRIPTIONS,
  FAULT_KINDS,
  FAULT_PHASE_MS_MAX,
  type FaultKind,
  isMix,
  MIXES,
  type Mix,
  mixForPlantedBug,
  PROPERTY_DESCRIPTIONS,
  type Property,
  parseFaultKinds,
  replayCommand,
  runSwarmSeed,
  type SwarmResult,
  type SwarmSettings,
} from "../sim/swarm/index.ts";
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from "./exit-status.ts";
import { integerOption, positiveOption, SEED_MAX, seedOption } from "./parse.ts";
import { type KvJobSettings, type RunResult, runSimPool, type SimJob } from "./sim-pool.ts";
import {
  addToKvTotals,
  emptyKvTotals,
  failureLines,
  kvFailureLines,
  kvRunLines,
  kvTotalsLines,
  runLines,
  type SwarmProgress,
  swarmProgress,
  swarmSummaryLines,
} from "./sim-report.ts";

/** The settings of one `tsraft sim` invocation, after parsing. */
export interface SimOptions {
  /** The seed of a single run, or the first seed of a swarm. */
  readonly seed: number;
  /** A swarm of this many consecutive seeds; undefined for none. */
  readonly seeds: number | undefined;
  /** A swarm that runs consecutive seeds until this much wall time has passed; undefined for none. */
  readonly budgetMs: number | undefined;
  /** Virtual milliseconds of each run's fault phase. */
  readonly timeMs: number;
  readonly nodes: number | null;
  readonly faults: readonly FaultKind[];
  readonly mix: Mix;
  readonly plantedBug: PlantedBug;
  /** Where to write a single run's events as NDJSON. */
  readonly trace: string | undefined;
  readonly jobs: number;
  readonly failFast: boolean;
  /** Where to write every run's result as JSON. */
  readonly json: string | undefined;
  /** With `--kv`: the key-value harness's settings; null for the swarm's own runs. */
  readonly kv: KvJobSettings | null;
}

/** The options as commander hands them over. */
interface RawSimOptions {
  readonly seed: number;
  readonly seeds?: number;
  readonly budget?: number;
  readonly time?: number;
  readonly nodes?: number;
  readonly faults: readonly FaultKind[];
  readonly mix?: Mix;
  readonly plantedBug: PlantedBug;
  readonly trace?: string;
  readonly jobs: number;
  readonly failFast?: true;
  readonly json?: string;
  readonly kv?: true;
  readonly kvBug: KvBug;
  readonly kvChecksOnly?: true;
}

/** Failures printed in full at the end of a swarm; the rest get one line each. */
const FAILURES_SHOWN_MAX = 10;
/** Failures listed at all at the end of a swarm (the JSON file has every one). */
const FAILURES_LISTED_MAX = 100;
/** Wall-clock seconds a worker may spend on one seed before it is killed as hung (runs take well under one). */
const JOB_WALL_MS_MAX = 120_000;

const HELP_AFTER = `
Fault kinds (--faults; each seed enables a random subset of those allowed):
${FAULT_KINDS.map((kind) => `  ${kind.padEnd(11)} ${FAULT_KIND_DESCRIPTIONS[kind]}`).join("\n")}

Checked after every event (the first violation stops the run):
${(Object.keys(PROPERTY_DESCRIPTIONS) as Property[]).map((p) => `  ${p.padEnd(21)} ${PROPERTY_DESCRIPTIONS[p]}`).join("\n")}

With --kv, each seed runs the key-value service (real KvService, KvStateMachine and KvClient) on the cluster,
with concurrent clients doing get/put/append/cas/delete under the same faults, and also checks:
${KV_ONLY_PROPERTIES.map((p) => `  ${p.padEnd(22)} ${KV_PROPERTY_DESCRIPTIONS[p]}`).join("\n")}

Examples:
  tsraft sim --seed 42                           one run, its report, PASS or the failure
  tsraft sim --seed 42 --trace seed-42.ndjson    the same run with every event written as NDJSON
  tsraft sim --seeds 10000                       a swarm of seeds 1..10000 in parallel workers
  tsraft sim --budget 60                         as many seeds as fit in a minute
  tsraft sim --seeds 500 --faults crash,torn-write --nodes 3
  tsraft sim --planted-bug forget-vote --seeds 200   the first seed that catches a known-wrong core
  tsraft sim --kv --seeds 10000                  key-value histories checked on 10000 seeds
  tsraft sim --kv --seed 42                      replay one key-value seed
  tsraft sim --kv --kv-bug local-reads --seeds 100   the first seed whose history shows stale reads
  tsraft sim --kv --kv-checks-only --planted-bug ack-before-persist --seeds 500
                                                 a wrong core caught by the key-value checks alone

A failure prints its seed, the violated property with the nodes and indexes involved, and the command that
replays it exactly (the same seed and options write the same trace, byte for byte). Format of traces and the
calibration bounds: docs/simulation.md.
Exit status: ${EXIT_OK} every run passed (with --planted-bug: the bug was caught), ${EXIT_FAILURE} otherwise,
${EXIT_USAGE} usage error, ${EXIT_INTERRUPTED} interrupted.`;

/** Adds the `sim` subcommand to `program`. */
export function registerSimCommand(program: Command): void {
  program
    .command("sim")
    .description("deterministic simulation of a whole cluster under faults: one seed or a swarm")
    .option("--seed <n>", "the seed of a single run, or the first seed of a swarm", seedOption, 1)
    .option("--seeds <count>", "swarm: run seeds seed..seed+count-1", positiveOption)
    .option(
      "--budget <seconds>",
      "swarm: run consecutive seeds until this much wall time has passed",
      positiveOption,
    )
    .option(
      "--time <seconds>",
      `virtual seconds of faults in each run before the liveness phase (default: ${DEFAULT_TIME_MS / 1000},` +
        ` with --kv ${KV_DEFAULT_TIME_MS / 1000})`,
      timeOption,
    )
    .option(
      `--nodes <n>`,
      `cluster size, one of ${CLUSTER_SIZES.join(", ")} (default: each seed chooses)`,
      nodesOption,
    )
    .option(
      "--faults <list>",
      "fault kinds the seeds may enable: all, none, or a comma-separated list",
      faultsOption,
      FAULT_KINDS,
    )
    .addOption(
      new Option(
        "--mix <name>",
        "how seeds weigh their faults (default: default, or the planted bug's mix)",
      ).choices(MIXES),
    )
    .addOption(
      new Option(
        "--planted-bug <name>",
        "TEST ONLY: run a known-wrong core and report the first seed that catches it",
      )
        .choices(["none", ...PLANTED_BUGS])
        .default("none"),
    )
    .option("--trace <file>", "write the run's events as NDJSON (a single seed only)")
    .option(
      "--jobs <n>",
      "parallel worker processes for a swarm; 1 runs in this process",
      integerOption(1, 256),
      defaultJobs(),
    )
    .option("--fail-fast", "stop a swarm at its first failure")
    .option("--json <file>", "write every run's result to this file as JSON")
    .option(
      "--kv",
      "run the key-value service with concurrent clients and check their history (Jepsen style)",
    )
    .addOption(
      new Option("--kv-bug <name>", "TEST ONLY, with --kv: run a known-wrong key-value node and hunt it")
        .choices(KV_BUGS)
        .default("none"),
    )
    .option(
      "--kv-checks-only",
      "with --kv: only the key-value checks decide (Raft violations are noted), to calibrate them",
    )
    .addHelpText("after", HELP_AFTER)
    .action(async (raw: RawSimOptions) => {
      if (raw.kv !== true && (raw.kvBug !== "none" || raw.kvChecksOnly === true)) {
        printErr("tsraft sim: --kv-bug and --kv-checks-only need --kv");
        process.exitCode = EXIT_USAGE;
        return;
      }
      const defaultTimeMs = raw.kv === true ? KV_DEFAULT_TIME_MS : DEFAULT_TIME_MS;
      const code = await runSim({
        seed: raw.seed,
        seeds: raw.seeds,
        budgetMs: raw.budget === undefined ? undefined : raw.budget * 1000,
        timeMs: raw.time === undefined ? defaultTimeMs : Math.round(raw.time * 1000),
        nodes: raw.nodes ?? null,
        faults: raw.faults,
        mix: raw.mix ?? mixForPlantedBug(raw.plantedBug),
        plantedBug: raw.plantedBug,
        trace: raw.trace,
        jobs: raw.jobs,
        failFast: raw.failFast === true,
        json: raw.json,
        kv: raw.kv === true ? { kvBug: raw.kvBug, scope: raw.kvChecksOnly === true ? "kv" : "all" } : null,
      });
      if (code === EXIT_INTERRUPTED) process.exit(code);
      process.exitCode = code;
    });
}

/** Parses `--time`: seconds, up to millisecond precision, within the fault phase's bound. */
function timeOption(value: string): number {
  const parsed = /^\d+(\.\d{1,3})?$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(parsed >= 0 && parsed * 1000 <= FAULT_PHASE_MS_MAX)) {
    throw new InvalidArgumentError(
      `expected seconds from 0 to ${FAULT_PHASE_MS_MAX / 1000}, at most 3 decimals.`,
    );
  }
  return parsed;
}

function nodesOption(value: string): number {
  const parsed = Number(value);
  if (!(CLUSTER_SIZES as readonly number[]).includes(parsed)) {
    throw new InvalidArgumentError(`expected one of ${CLUSTER_SIZES.join(", ")}.`);
  }
  return parsed;
}

function faultsOption(value: string): readonly FaultKind[] {
  const parsed = parseFaultKinds(value);
  if ("error" in parsed) {
    throw new InvalidArgumentError(`${parsed.error}; kinds are ${FAULT_KINDS.join(", ")}, or all, or none.`);
  }
  return parsed;
}

/** One worker per processor: runs are CPU-bound. */
function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/** The settings of seed `seed` under these options. */
function settingsFor(options: SimOptions, seed: number): SwarmSettings {
  return {
    seed,
    timeMs: options.timeMs,
    nodes: options.nodes,
    faults: options.faults,
    mix: options.mix,
    plantedBug: options.plantedBug,
  };
}

/** Runs `tsraft sim` with parsed options; resolves to the exit status. */
export async function runSim(options: SimOptions): Promise<number> {
  if (!isMix(options.mix)) {
    printErr(`tsraft sim: unknown mix "${options.mix}"; mixes are ${MIXES.join(", ")}`);
    return EXIT_USAGE;
  }
  const swarm = options.seeds !== undefined || options.budgetMs !== undefined;
  if (swarm && options.trace !== undefined) {
    printErr("tsraft sim: --trace writes one run's events; give it a single --seed, not --seeds or --budget");
    return EXIT_USAGE;
  }
  const lastSeed = options.seed + (options.seeds ?? (swarm ? SEED_MAX : 1)) - 1;
  if (options.seeds !== undefined && lastSeed > SEED_MAX) {
    printErr(
      `tsraft sim: seeds must stay at most ${SEED_MAX}; --seed ${options.seed} --seeds ${options.seeds} passes it`,
    );
    return EXIT_USAGE;
  }
  return swarm ? await runSwarm(options, Math.min(lastSeed, SEED_MAX)) : await runOne(options);
}

/** The job of seed `seed` under these options. */
function jobFor(options: SimOptions, id: number, seed: number): SimJob {
  const settings = settingsFor(options, seed);
  return options.kv === null ? { id, settings } : { id, settings, kv: options.kv };
}

/** The command that replays a job. */
function replayOf(job: SimJob): string {
  return job.kv === undefined
    ? replayCommand(job.settings)
    : kvReplayCommand({ swarm: job.settings, ...job.kv });
}

/** One seed, in this process: its report on stdout (deterministic), the wall time on stderr. */
async function runOne(options: SimOptions): Promise<number> {
  if (options.kv !== null) return await runKvOne(options, options.kv);
  const settings = settingsFor(options, options.seed);
  return finishOne(
    options,
    await withTrace(options.trace, (trace) =>
      runSwarmSeed({ settings, yieldToHost, ...(trace === undefined ? {} : { trace }) }),
    ),
    runLines,
    () => "",
  );
}

/** One key-value seed, in this process: its report on stdout (deterministic), wall times on stderr. */
async function runKvOne(options: SimOptions, kv: KvJobSettings): Promise<number> {
  const settings = { swarm: settingsFor(options, options.seed), ...kv };
  return finishOne(
    options,
    await withTrace(options.trace, (trace) =>
      runKvSeed({
        settings,
        yieldToHost,
        hostNowMs: () => globalThis.performance.now(),
        ...(trace === undefined ? {} : { trace }),
      }),
    ),
    kvRunLines,
    (result) => (result.check.checkerMs === null ? "" : `, checker ${result.check.checkerMs} ms`),
  );
}

/**
 * Runs one seed with `--trace` written as NDJSON (when asked). Resolves with the result and the wall time it
 * took, or null when the trace file could not be written (already reported).
 */
async function withTrace<R>(
  path: string | undefined,
  run: (trace: ((event: unknown) => void) | undefined) => Promise<R>,
): Promise<{ readonly result: R; readonly wallMs: number } | null> {
  const started = globalThis.performance.now();
  const traceFile = path === undefined ? null : createWriteStream(path);
  const traceFailed = traceFile === null ? null : streamError(traceFile);
  const result = await run(
    traceFile === null ? undefined : (event) => traceFile.write(`${JSON.stringify(event)}\n`),
  );
  if (traceFile !== null) {
    const error = await Promise.race([closeStream(traceFile), traceFailed]);
    if (error !== null && error !== undefined) {
      printErr(`tsraft sim: cannot write --trace ${path}: ${error.message}`);
      return null;
    }
  }
  return { result, wallMs: globalThis.performance.now() - started };
}

/** Prints one seed's report (stdout) and wall time (stderr), writes --json, and gives the exit status. */
async function finishOne<R extends SwarmResult | KvSimResult>(
  options: SimOptions,
  ran: { readonly result: R; readonly wallMs: number } | null,
  report: (result: R) => readonly string[],
  timings: (result: R) => string,
): Promise<number> {
  if (ran === null) return EXIT_USAGE;
  const { result, wallMs } = ran;
  for (const line of report(result)) print(line);
  printErr(
    `tsraft sim: wall ${(wallMs / 1000).toFixed(2)} s${timings(result)}` +
      (options.trace === undefined ? "" : `; trace written to ${options.trace}`),
  );
  if (options.json !== undefined && !(await writeJson(options.json, [compactRecord(result, null)])))
    return EXIT_USAGE;
  return result.passed ? EXIT_OK : EXIT_FAILURE;
}

/** A run's result with its wall time, as the JSON file holds it (the plan lines dropped, the replay kept). */
function compactRecord(result: SwarmResult | KvSimResult, wallMs: number | null): object {
  const { plan: _plan, ...rest } = result;
  return { ...rest, wallMs };
}

/** A failed run: its result, or why there is none (its worker died or hung). */
interface Failure {
  readonly seed: number;
  readonly result: RunResult | null;
  readonly lost: string | null;
}

/** The property a failed run broke, for the summary's count. */
function failedProperty(result: RunResult): string {
  return result.result.violation?.property ?? "failed";
}

/**
 * A swarm: seeds from `options.seed` up to `lastSeed` (or until the budget runs out), spread over workers.
 * With a planted bug, it stops handing out seeds above the first one that catches it, waits for the lower
 * seeds still running, and reports the lowest catching seed.
 */
async function runSwarm(options: SimOptions, lastSeed: number): Promise<number> {
  const hunting = options.plantedBug !== "none" || (options.kv !== null && options.kv.kvBug !== "none");
  const started = globalThis.performance.now();
  const deadline = options.budgetMs === undefined ? Number.POSITIVE_INFINITY : started + options.budgetMs;
  const workers = options.jobs;
  print(
    `tsraft sim: ${options.seeds === undefined ? "seeds" : `${options.seeds} seeds`} from ${options.seed}` +
      `${options.budgetMs === undefined ? "" : ` for ${options.budgetMs / 1000} s of wall time`},` +
      ` ${options.timeMs / 1000} s of faults each, mix ${options.mix}` +
      `${options.kv === null ? "" : ", key-value service with clients"}` +
      `${hunting ? `, hunting ${describeHunted(options)}` : ""}` +
      `, ${workers <= 1 ? "in this process" : `${workers} worker processes`}`,
  );
  const coverage = emptyCoverage();
  const kvTotals = emptyKvTotals();
  const failures: Failure[] = [];
  const byProperty = new Map<string, number>();
  const records: object[] = [];
  let nextSeed = options.seed;
  let nextId = 0;
  let runs = 0;
  let lost = 0;
  let virtualMs = 0;
  let highestSeedRun = options.seed - 1;
  /** Set once a run fails under --fail-fast, or (hunting) to the lowest catching seed. */
  let stopAbove = Number.POSITIVE_INFINITY;
  const progress: SwarmProgress = swarmProgress(
    options.seeds ?? null,
    options.budgetMs ?? null,
    process.stderr,
  );
  const noteFailure = (seed: number, result: RunResult | null, reason: string | null): void => {
    failures.push({ seed, result, lost: reason });
    const key = result === null ? "lost" : failedProperty(result);
    byProperty.set(key, (byProperty.get(key) ?? 0) + 1);
    if (hunting || options.failFast) stopAbove = Math.min(stopAbove, seed);
  };

  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    printErr("\ntsraft sim: interrupted; stopping (press Ctrl-C again to quit at once)");
    interrupt.abort();
  };
  process.on("SIGINT", onSigint);
  let outcome: Awaited<ReturnType<typeof runSimPool>>;
  try {
    outcome = await runSimPool({
      workers,
      yieldToHost,
      jobWallMsMax: JOB_WALL_MS_MAX,
      signal: interrupt.signal,
      next: (): SimJob | undefined => {
        if (nextSeed > lastSeed || nextSeed > stopAbove || globalThis.performance.now() >= deadline)
          return undefined;
        return jobFor(options, nextId++, nextSeed++);
      },
      onResult: (job, run, wallMs) => {
        const { result } = run;
        runs++;
        virtualMs += result.virtualMs;
        highestSeedRun = Math.max(highestSeedRun, job.settings.seed);
        addToCoverage(coverage, result.counts);
        if (run.kind === "kv") addToKvTotals(kvTotals, run.result);
        if (!result.passed) noteFailure(job.settings.seed, run, null);
        if (options.json !== undefined) records.push(compactRecord(result, wallMs));
        progress.tick(result.passed);
      },
      onLost: (job, reason) => {
        runs++;
        lost++;
        highestSeedRun = Math.max(highestSeedRun, job.settings.seed);
        noteFailure(job.settings.seed, null, `${reason}\n  replay: ${replayOf(job)}`);
        progress.tick(false);
      },
    });
  } catch (error) {
    progress.stop();
    printErr(`tsraft sim: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  } finally {
    process.off("SIGINT", onSigint);
  }
  progress.stop();
  const wallMs = globalThis.performance.now() - started;
  failures.sort((a, b) => a.seed - b.seed);

  print("");
  if (hunting) printHunt(options, failures[0], runs);
  else printFailures(failures);
  if (options.kv !== null) for (const line of kvTotalsLines(kvTotals)) print(line);
  for (const line of swarmSummaryLines({
    runs,
    failed: failures.length,
    lost,
    firstSeed: options.seed,
    lastSeed: highestSeedRun,
    workers,
    wallMs,
    virtualMs,
    coverage,
    byProperty,
    interrupted: outcome.stop === "interrupted",
  })) {
    // Hunting a planted bug, failures are the point: the verdict is whether it was caught.
    if (hunting && (line === "PASS" || line === "FAIL")) print(failures.length > 0 ? "CAUGHT" : "NOT CAUGHT");
    else print(line);
  }
  if (options.json !== undefined && !(await writeJson(options.json, records))) return EXIT_USAGE;
  if (outcome.stop === "interrupted") return EXIT_INTERRUPTED;
  if (hunting) return failures.length > 0 ? EXIT_OK : EXIT_FAILURE;
  return failures.length === 0 ? EXIT_OK : EXIT_FAILURE;
}

/** What a hunt is after: the planted core bug, the key-value bug, or both. */
function describeHunted(options: SimOptions): string {
  const parts: string[] = [];
  if (options.plantedBug !== "none") parts.push(`planted bug ${options.plantedBug}`);
  if (options.kv !== null && options.kv.kvBug !== "none") parts.push(`kv bug ${options.kv.kvBug}`);
  if (options.kv?.scope === "kv") parts.push("(key-value checks only)");
  return parts.join(" ");
}

/** A failure's full report. */
function failureReport(result: RunResult): string[] {
  return result.kind === "swarm" ? failureLines(result.result) : kvFailureLines(result.result);
}

/** A hunt's verdict: the lowest seed that caught the planted bug, with its failure and replay command. */
function printHunt(options: SimOptions, first: Failure | undefined, runs: number): void {
  const hunted = `${describeHunted(options)} (mix ${options.mix})`;
  if (first === undefined) {
    print(`${hunted}: not caught in ${runs} seeds`);
    return;
  }
  print(
    `${hunted}: caught at seed ${first.seed},` +
      ` the ${first.seed - options.seed + 1}${ordinalSuffix(first.seed - options.seed + 1)} seed from ${options.seed}`,
  );
  if (first.result !== null) for (const line of failureReport(first.result)) print(line);
  else print(`  seed ${first.seed} was lost: ${first.lost ?? ""}`);
  print("");
}

function ordinalSuffix(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return "th";
  return n % 10 === 1 ? "st" : n % 10 === 2 ? "nd" : n % 10 === 3 ? "rd" : "th";
}

/** The swarm's failures: the first few in full, then one line each, then a count of the rest. */
function printFailures(failures: readonly Failure[]): void {
  failures.forEach((failure, index) => {
    if (index >= FAILURES_LISTED_MAX) return;
    if (failure.result === null) {
      print(`FAIL seed ${failure.seed}: lost: ${failure.lost ?? ""}`);
    } else if (index < FAILURES_SHOWN_MAX) {
      for (const line of failureReport(failure.result)) print(line);
    } else {
      print(
        `FAIL seed ${failure.seed}: ${failedProperty(failure.result)}  replay: ${failure.result.result.replay}`,
      );
    }
  });
  if (failures.length > FAILURES_LISTED_MAX) {
    print(`... and ${failures.length - FAILURES_LISTED_MAX} more failures (--json lists every one)`);
  }
  if (failures.length > 0) print("");
}

/** The host's macrotask source: the virtual clock runs one event per macrotask. */
function yieldToHost(callback: () => void): void {
  setImmediate(callback);
}

/** Resolves with the stream's first error, if it ever has one (never resolves otherwise). */
function streamError(stream: NodeJS.WritableStream): Promise<Error> {
  return new Promise((resolve) => stream.once("error", resolve));
}

/** Ends a write stream; resolves once everything is flushed (or with the error that stopped it). */
function closeStream(stream: NodeJS.WritableStream): Promise<Error | null> {
  return new Promise((resolve) => {
    stream.once("error", resolve);
    stream.end(() => resolve(null));
  });
}

async function writeJson(path: string, value: unknown): Promise<boolean> {
  try {
    await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
    return true;
  } catch (error) {
    printErr(
      `tsraft sim: cannot write --json ${path}: ${error instanceof Error ? error.message : String(error)}`,
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
