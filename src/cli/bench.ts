/**
 * `tsraft bench`: a closed-loop load generator for a running key-value cluster. It drives the cluster through
 * the client library (the same retries, leader finding and exactly-once sessions a user gets) with a fixed
 * number of operations in flight, for a count of operations or a span of time, and reports throughput and
 * latency percentiles per concurrency level, optionally as JSON.
 *
 * Closed loop: each in-flight slot waits for its answer before sending the next request, so the latencies are
 * service times at that concurrency, not the response times an open-loop (fixed arrival rate) client would see
 * when the cluster falls behind.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { Presets, SingleBar } from "cli-progress";
import { type Command, InvalidArgumentError, Option } from "commander";
import { build as buildHistogram, type Histogram } from "hdr-histogram-js";
import { connect, type KvClient, KvClientError } from "../drivers/kv.ts";
import { VALUE_BYTES_MAX } from "../kv/limits.ts";
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from "./exit-status.ts";
import { resolveEndpoints } from "./local-cluster.ts";
import { integerOption, positiveOption } from "./parse.ts";

/** Most operations in flight in one phase. Bounds the clients (and so the sessions) a run registers. */
export const CONCURRENCY_MAX = 1024;
/** Most phases (concurrency levels) in one run. */
export const PHASES_MAX = 16;
/** Longest phase, in seconds: a day. */
export const DURATION_SECONDS_MAX = 86_400;
/** Largest key space: keys are `bench-0` .. `bench-<n-1>`. */
export const KEYS_MAX = 100_000_000;
/** Phase length when neither `--ops` nor `--duration` is given, in seconds. */
export const DEFAULT_DURATION_SECONDS = 10;

/**
 * In-flight operations that share one client, and so one session. One session per operation would register
 * up to {@link CONCURRENCY_MAX} sessions through the log per run, and the server keeps only 1024 (default)
 * before it evicts the least recently used — other users' sessions among them, which would cost those users
 * their exactly-once retries. One session for everything would also work (a session pipelines), but a command
 * being retried holds its session's acknowledged floor down, and the server refuses a session's commands more
 * than 1024 sequences past that floor; sixteen operations per session keep that window far away and confine a
 * stall to its own group.
 */
export const OPERATIONS_PER_CLIENT = 16;
/** Most clients one run creates: {@link CONCURRENCY_MAX} / {@link OPERATIONS_PER_CLIENT}. */
export const CLIENTS_MAX = Math.ceil(CONCURRENCY_MAX / OPERATIONS_PER_CLIENT);
/** Distinct random values written, per run: enough that writes do not all carry the same bytes. */
const VALUE_POOL_SIZE = 16;
/** Highest latency the histograms hold, in microseconds (a minute); longer ones are recorded as this. */
const LATENCY_MICROS_MAX = 60_000_000;
/** How long the reachability check waits for each node, in milliseconds. */
const PREFLIGHT_TIMEOUT_MS = 2000;
/** How often the progress bar is redrawn, in milliseconds. */
const PROGRESS_INTERVAL_MS = 200;
/** Resolution of the progress bar: it counts to this many steps. */
const PROGRESS_STEPS = 1000;
/** The key prefix of every key the benchmark writes or reads. */
const KEY_PREFIX = "bench-";

if (CLIENTS_MAX > 256) throw new Error("bench: CLIENTS_MAX must stay well below the server's session limit");

/** Read consistencies the benchmark offers: linearizable (ReadIndex) reads, or a node's local, maybe stale, copy. */
export type BenchConsistency = "linearizable" | "local";

/** What one run of `tsraft bench` does. */
export interface BenchSettings {
  /** One phase per entry, in this order; each is the number of operations kept in flight. */
  readonly concurrency: readonly number[];
  /** Operations per phase, or null when phases are timed. */
  readonly ops: number | null;
  /** Seconds per phase, or null when phases count operations. */
  readonly durationSeconds: number | null;
  /** Size of every written value, in bytes (ASCII, so also characters). */
  readonly valueBytes: number;
  /** Number of distinct keys the operations pick from, uniformly. */
  readonly keys: number;
  /** Fraction of operations that are reads, in [0, 1]. */
  readonly readRatio: number;
  readonly consistency: BenchConsistency;
}

/** Latency percentiles of one kind of operation, in milliseconds (microsecond resolution). */
export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** Throughput and latency of one kind of operation in one phase; latency is null when none succeeded. */
export interface OperationSummary {
  /** Operations that succeeded. */
  readonly ops: number;
  /** Successful operations per second of the phase's elapsed time. */
  readonly perSecond: number;
  readonly latencyMs: LatencySummary | null;
}

/** The figures of one phase. */
export interface PhaseResult {
  readonly concurrency: number;
  /** Clients (sessions) the phase used. */
  readonly clients: number;
  /** From the first request sent to the last answer received, in seconds. */
  readonly elapsedSeconds: number;
  readonly writes: OperationSummary;
  readonly reads: OperationSummary;
  /** Failed operations: in total and by `KvClientError.code`. */
  readonly errors: { readonly total: number; readonly byCode: Readonly<Record<string, number>> };
}

interface BenchFlags {
  readonly endpoints?: string;
  readonly concurrency: readonly number[];
  readonly ops?: number;
  readonly duration?: number;
  readonly valueBytes: number;
  readonly keys: number;
  readonly readRatio: number;
  readonly consistency: BenchConsistency;
  readonly json?: string;
  readonly progress: boolean;
}

/** Adds `tsraft bench`: load a running cluster and report throughput and latency. */
export function registerBenchCommand(program: Command): void {
  program
    .command("bench")
    .description(
      "load a running cluster through the client API and report writes/s, reads/s and latency percentiles",
    )
    .option(
      "--endpoints <list>",
      "comma-separated node API addresses (default: the ones `tsraft up` recorded in ./data, else 127.0.0.1:8001-8003)",
    )
    .addOption(
      new Option(
        "--concurrency <list>",
        `operations in flight; a list like 1,64,256 runs one phase per value (each 1-${CONCURRENCY_MAX})`,
      )
        .argParser(concurrencyListOption)
        .default([64], "64"),
    )
    .addOption(
      new Option("--ops <n>", "operations per phase").argParser(positiveOption).conflicts("duration"),
    )
    .addOption(
      new Option(
        "--duration <seconds>",
        `seconds per phase (default: ${DEFAULT_DURATION_SECONDS}, unless --ops is given)`,
      ).argParser(durationOption),
    )
    .option(
      "--value-bytes <n>",
      `size of each written value (1-${VALUE_BYTES_MAX})`,
      integerOption(1, VALUE_BYTES_MAX),
      100,
    )
    .option("--keys <n>", `number of distinct keys (1-${KEYS_MAX})`, integerOption(1, KEYS_MAX), 10_000)
    .option(
      "--read-ratio <fraction>",
      "fraction of operations that are reads (0: writes only)",
      ratioOption,
      0.5,
    )
    .addOption(
      new Option("--consistency <mode>", "consistency of reads")
        .choices(["linearizable", "local"])
        .default("linearizable"),
    )
    .option("--json <file>", "also write every figure, the settings and the environment to this file as JSON")
    .option("--no-progress", "no progress bar (there is none anyway when stderr is not a terminal)")
    .action(async (flags: BenchFlags, command: Command) => {
      const jsonPath = flags.json === undefined ? undefined : resolve(flags.json);
      if (jsonPath !== undefined && !isDirectory(dirname(jsonPath))) {
        command.error(`error: --json: the directory ${dirname(jsonPath)} does not exist`);
      }
      process.exitCode = await bench(settingsOf(flags), flags, jsonPath);
    });
}

function settingsOf(flags: BenchFlags): BenchSettings {
  const ops = flags.ops ?? null;
  return {
    concurrency: flags.concurrency,
    ops,
    durationSeconds: ops === null ? (flags.duration ?? DEFAULT_DURATION_SECONDS) : null,
    valueBytes: flags.valueBytes,
    keys: flags.keys,
    readRatio: flags.readRatio,
    consistency: flags.consistency,
  };
}

/** Runs every phase, prints the table and writes the JSON; returns the exit status. */
async function bench(
  settings: BenchSettings,
  flags: BenchFlags,
  jsonPath: string | undefined,
): Promise<number> {
  const endpoints = resolveEndpoints(flags.endpoints);
  const nodeCount = await reachableNodeCount(endpoints);
  if (nodeCount === null) {
    console.error(
      `tsraft bench: no node answered at ${endpoints.join(", ")}; is the cluster running? (\`tsraft up\` starts one)`,
    );
    return EXIT_FAILURE;
  }
  const clients = Array.from({ length: clientsFor(Math.max(...settings.concurrency)) }, () =>
    connect(endpoints),
  );
  console.log(describeRun(settings, endpoints, nodeCount));
  try {
    await warmUp(clients, settings);
  } catch (error) {
    if (!(error instanceof KvClientError)) throw error;
    console.error(`tsraft bench: the cluster did not serve the warm-up operations: ${error.message}`);
    return EXIT_FAILURE;
  }

  const showProgress = flags.progress && process.stderr.isTTY === true;
  // With a progress bar the bar says that the run is stopping: a line written under it would be overwritten.
  const stop = interruptOnSigint(!showProgress);
  const results: PhaseResult[] = [];
  try {
    for (const concurrency of settings.concurrency) {
      if (stop.requested) break;
      results.push(await runPhase(concurrency, clients, settings, stop, showProgress));
    }
  } finally {
    stop.dispose();
  }

  console.log(formatBenchTable(results));
  if (stop.requested) console.log("(interrupted: the phases above are partial or missing)");
  if (jsonPath !== undefined) {
    const report = benchReport(settings, endpoints, nodeCount, results, stop.requested);
    try {
      writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    } catch (error) {
      console.error(
        `tsraft bench: could not write ${jsonPath}: ${error instanceof Error ? error.message : error}`,
      );
      return EXIT_FAILURE;
    }
    console.log(`wrote ${jsonPath}`);
  }
  if (stop.requested) return EXIT_INTERRUPTED;
  const idle = results.find((result) => result.writes.ops + result.reads.ops === 0);
  if (idle !== undefined) {
    console.error(`tsraft bench: no operation succeeded at concurrency ${idle.concurrency}`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

/**
 * The number of voters the cluster reports, or the number of nodes that answered if none says; null when no
 * node answered at all. Asked once, with a short timeout, so an unreachable cluster fails in seconds.
 */
async function reachableNodeCount(endpoints: readonly string[]): Promise<number | null> {
  const statuses = await connect(endpoints, { requestTimeoutMs: PREFLIGHT_TIMEOUT_MS }).statuses();
  const answered = statuses.filter((status) => status !== null && typeof status === "object");
  if (answered.length === 0) return null;
  const voters = Reflect.get(answered[0] as object, "voters");
  return Array.isArray(voters) ? voters.length : answered.length;
}

/** Clients needed for `concurrency` operations in flight, {@link OPERATIONS_PER_CLIENT} per client. */
export function clientsFor(concurrency: number): number {
  return Math.min(CLIENTS_MAX, Math.ceil(concurrency / OPERATIONS_PER_CLIENT));
}

/**
 * One untimed operation of each kind per client before the first phase: it registers the clients' sessions
 * (one log entry each) and opens connections, so the first timed operations do not pay for that.
 */
async function warmUp(clients: readonly KvClient[], settings: BenchSettings): Promise<void> {
  await Promise.all(
    clients.map(async (client) => {
      if (settings.readRatio < 1) await client.put(`${KEY_PREFIX}0`, "warm-up");
      if (settings.readRatio > 0) await client.get(`${KEY_PREFIX}0`, settings.consistency);
    }),
  );
}

/** Whether the user asked to stop (Ctrl-C). A second Ctrl-C exits at once. */
interface StopSignal {
  readonly requested: boolean;
  dispose(): void;
}

function interruptOnSigint(announce: boolean): StopSignal {
  const state = {
    requested: false,
    dispose: () => {
      process.off("SIGINT", onSigint);
    },
  };
  const onSigint = (): void => {
    if (state.requested) process.exit(EXIT_INTERRUPTED);
    state.requested = true;
    if (announce)
      process.stderr.write(
        "\ntsraft bench: stopping after the operations in flight (Ctrl-C again to quit now)\n",
      );
  };
  process.on("SIGINT", onSigint);
  return state;
}

/** The counters and histograms of one phase, filled in by its workers. */
interface PhaseRecorder {
  readonly writes: Histogram;
  readonly reads: Histogram;
  readonly errors: Map<string, number>;
  /** Operations started so far. */
  started: number;
  /** Operations answered (successfully or not) so far. */
  finished: number;
}

/** Runs one phase: `concurrency` workers, each keeping one operation in flight until the phase is over. */
async function runPhase(
  concurrency: number,
  clients: readonly KvClient[],
  settings: BenchSettings,
  stop: StopSignal,
  showProgress: boolean,
): Promise<PhaseResult> {
  const recorder: PhaseRecorder = {
    writes: newLatencyHistogram(),
    reads: newLatencyHistogram(),
    errors: new Map(),
    started: 0,
    finished: 0,
  };
  const values = valuePool(settings.valueBytes);
  const startedAt = performance.now();
  const endAt = settings.durationSeconds === null ? Infinity : startedAt + settings.durationSeconds * 1000;
  const mayStart = (): boolean =>
    !stop.requested &&
    performance.now() < endAt &&
    (settings.ops === null || recorder.started < settings.ops);
  const progress = showProgress ? phaseProgress(concurrency, settings, recorder, startedAt, stop) : null;
  const phaseClients = clients.slice(0, clientsFor(concurrency));
  try {
    await Promise.all(
      Array.from({ length: concurrency }, (_, worker) => {
        const client = phaseClients[worker % phaseClients.length] ?? clients[0];
        if (client === undefined) throw new Error("bench: no client");
        return runWorker(client, settings, values, recorder, mayStart);
      }),
    );
  } finally {
    progress?.stop();
  }
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  return summarizePhase(concurrency, phaseClients.length, elapsedSeconds, recorder);
}

/**
 * One in-flight slot: sends an operation, waits for its answer, records it, and repeats while the phase
 * lasts. The phase bounds the loop: by count (`--ops`) or by time (`--duration`), and Ctrl-C ends it.
 */
async function runWorker(
  client: KvClient,
  settings: BenchSettings,
  values: readonly string[],
  recorder: PhaseRecorder,
  mayStart: () => boolean,
): Promise<void> {
  while (mayStart()) {
    recorder.started++;
    const key = `${KEY_PREFIX}${randomBelow(settings.keys)}`;
    const isRead = Math.random() < settings.readRatio;
    const sentAt = performance.now();
    try {
      if (isRead) await client.get(key, settings.consistency);
      else await client.put(key, values[randomBelow(values.length)] ?? "");
      recordLatency(isRead ? recorder.reads : recorder.writes, performance.now() - sentAt);
    } catch (error) {
      // Only the client's own failures are results; anything else is a bug in the benchmark and must surface.
      if (!(error instanceof KvClientError)) throw error;
      recorder.errors.set(error.code, (recorder.errors.get(error.code) ?? 0) + 1);
    } finally {
      recorder.finished++;
    }
  }
}

function newLatencyHistogram(): Histogram {
  return buildHistogram({
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_MICROS_MAX,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
}

/** Records a latency given in milliseconds as whole microseconds, clamped to the histogram's range. */
function recordLatency(histogram: Histogram, elapsedMs: number): void {
  const micros = Math.round(elapsedMs * 1000);
  histogram.recordValue(Math.min(LATENCY_MICROS_MAX, Math.max(1, micros)));
}

/** A uniformly random integer in [0, bound). */
function randomBelow(bound: number): number {
  return Math.floor(Math.random() * bound);
}

/** {@link VALUE_POOL_SIZE} random printable ASCII strings of `bytes` characters each. */
function valuePool(bytes: number): string[] {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return Array.from({ length: VALUE_POOL_SIZE }, () => {
    const characters = new Array<string>(bytes);
    for (let i = 0; i < bytes; i++) characters[i] = alphabet.charAt(randomBelow(alphabet.length));
    return characters.join("");
  });
}

/** A progress bar on stderr for one phase, redrawn every {@link PROGRESS_INTERVAL_MS}. */
function phaseProgress(
  concurrency: number,
  settings: BenchSettings,
  recorder: PhaseRecorder,
  startedAt: number,
  stop: StopSignal,
): { stop(): void } {
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: `concurrency ${concurrency} {bar} {percentage}% | {done} ops | {rate} ops/s | {errors} errors{note}`,
    },
    Presets.shades_classic,
  );
  const payload = () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const errors = [...recorder.errors.values()].reduce((sum, count) => sum + count, 0);
    const rate = seconds > 0 ? (recorder.finished / seconds).toFixed(0) : "0";
    const note = stop.requested ? " | stopping (Ctrl-C again to quit now)" : "";
    return { done: recorder.finished, rate, errors, note };
  };
  const fraction = (): number => {
    if (settings.ops !== null) return recorder.finished / settings.ops;
    const seconds = (performance.now() - startedAt) / 1000;
    return seconds / (settings.durationSeconds ?? DEFAULT_DURATION_SECONDS);
  };
  const step = () => Math.min(PROGRESS_STEPS, Math.floor(fraction() * PROGRESS_STEPS));
  bar.start(PROGRESS_STEPS, 0, payload());
  const timer = setInterval(() => bar.update(step(), payload()), PROGRESS_INTERVAL_MS);
  return {
    stop() {
      clearInterval(timer);
      bar.update(step(), payload());
      bar.stop();
    },
  };
}

function summarizePhase(
  concurrency: number,
  clients: number,
  elapsedSeconds: number,
  recorder: PhaseRecorder,
): PhaseResult {
  const byCode = Object.fromEntries([...recorder.errors].sort(([a], [b]) => a.localeCompare(b)));
  const total = [...recorder.errors.values()].reduce((sum, count) => sum + count, 0);
  return {
    concurrency,
    clients,
    elapsedSeconds,
    writes: summarizeOperations(recorder.writes, elapsedSeconds),
    reads: summarizeOperations(recorder.reads, elapsedSeconds),
    errors: { total, byCode },
  };
}

function summarizeOperations(histogram: Histogram, elapsedSeconds: number): OperationSummary {
  const ops = histogram.totalCount;
  const millis = (micros: number) => micros / 1000;
  return {
    ops,
    perSecond: elapsedSeconds > 0 ? ops / elapsedSeconds : 0,
    latencyMs:
      ops === 0
        ? null
        : {
            p50: millis(histogram.getValueAtPercentile(50)),
            p99: millis(histogram.getValueAtPercentile(99)),
            p999: millis(histogram.getValueAtPercentile(99.9)),
            max: millis(histogram.maxValue),
            mean: millis(histogram.mean),
          },
  };
}

/** The line printed before the run: what is being measured, against what. */
function describeRun(settings: BenchSettings, endpoints: readonly string[], nodeCount: number): string {
  const length =
    settings.ops === null
      ? `${settings.durationSeconds} s per phase`
      : `${settings.ops} operations per phase`;
  const mix =
    settings.readRatio === 0
      ? "writes only"
      : `${Math.round(settings.readRatio * 100)}% reads (${settings.consistency})`;
  return (
    `tsraft bench: ${nodeCount} nodes at ${endpoints.join(", ")}\n` +
    `  ${length}; ${mix}; ${settings.valueBytes}-byte values over ${settings.keys} keys`
  );
}

/** The results table: one row per phase, throughputs in operations per second, latencies in milliseconds. */
export function formatBenchTable(results: readonly PhaseResult[]): string {
  const header = [
    "concurrency",
    "writes/s",
    "reads/s",
    "write p50",
    "p99",
    "p99.9",
    "read p50",
    "p99",
    "p99.9",
    "errors",
  ];
  const rows = results.map((result) => [
    String(result.concurrency),
    result.writes.perSecond.toFixed(0),
    result.reads.perSecond.toFixed(0),
    ...latencyCells(result.writes.latencyMs),
    ...latencyCells(result.reads.latencyMs),
    formatErrors(result.errors),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join("  ");
  return [line(header), ...rows.map(line), "(latencies in milliseconds)"].join("\n");
}

function latencyCells(latency: LatencySummary | null): string[] {
  if (latency === null) return ["-", "-", "-"];
  return [latency.p50, latency.p99, latency.p999].map((ms) => ms.toFixed(2));
}

function formatErrors(errors: PhaseResult["errors"]): string {
  if (errors.total === 0) return "0";
  const parts = Object.entries(errors.byCode).map(([code, count]) => `${code} ${count}`);
  return `${errors.total} (${parts.join(", ")})`;
}

/** Everything `--json` writes: the figures, the settings and where they were measured. */
function benchReport(
  settings: BenchSettings,
  endpoints: readonly string[],
  nodeCount: number,
  results: readonly PhaseResult[],
  interrupted: boolean,
): unknown {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cluster: { endpoints, nodes: nodeCount },
    settings: { ...settings, operationsPerClient: OPERATIONS_PER_CLIENT },
    interrupted,
    phases: results,
  };
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** Parses `--concurrency`: a comma-separated list of 1 to {@link PHASES_MAX} integers in [1, CONCURRENCY_MAX]. */
export function concurrencyListOption(value: string): number[] {
  const parseOne = integerOption(1, CONCURRENCY_MAX);
  const parts = value.split(",").map((part) => part.trim());
  if (parts.length > PHASES_MAX) {
    throw new InvalidArgumentError(`expected at most ${PHASES_MAX} values.`);
  }
  return parts.map(parseOne);
}

/** Parses `--duration`: a positive number of seconds (fractions allowed), at most {@link DURATION_SECONDS_MAX}. */
export function durationOption(value: string): number {
  const seconds = /^\d*\.?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(seconds > 0 && seconds <= DURATION_SECONDS_MAX)) {
    throw new InvalidArgumentError(
      `expected a number of seconds above 0 and at most ${DURATION_SECONDS_MAX}.`,
    );
  }
  return seconds;
}

/** Parses `--read-ratio`: a number from 0 to 1. */
export function ratioOption(value: string): number {
  const ratio = /^\d*\.?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(ratio >= 0 && ratio <= 1)) throw new InvalidArgumentError("expected a number from 0 to 1.");
  return ratio;
}
