/**
 * The data `tsraft lab` passes between its parts: one run's result as plain data (what a worker process sends
 * back and what `--json` writes), the unit of work, and the messages on the worker IPC channel. Everything here
 * survives JSON, because Node's default IPC serialisation is JSON and an `Error` does not.
 */
import type { KvraftSection } from "../lab/kvraft/config.ts";
import { type KvraftScenarioResult, runKvraftScenario } from "../lab/kvraft/run.ts";
import type { LabFeatures } from "../lab/raft.ts";
import {
  allKvraftScenarios,
  type ClockMode,
  replayCommand,
  runScenario,
  type ScenarioResult,
  scenarioByName,
} from "../lab/scenarios/index.ts";
import type { TestFigures } from "../lab/tester/config.ts";
import type { CpuTime } from "./worker-process.ts";

/** One lab run (one scenario, one seed) as plain data. */
export interface LabRunRecord {
  /** The scenario's name, e.g. `Backup2B`. */
  readonly name: string;
  readonly seed: number;
  readonly clock: ClockMode;
  readonly passed: boolean;
  /** The failure message, which names the seed and ends with the `replay:` command; `null` when it passed. */
  readonly error: string | null;
  /**
   * The stack of the error behind the failure when it was not a tester check (a bug such as a `TypeError`, or
   * a broken invariant), since then the message alone does not say where it happened; otherwise `null`.
   */
  readonly stack: string | null;
  /**
   * The course's end-of-test figures of a Lab 2 test (seconds, peers, RPCs, bytes, commits); `null` unless it
   * passed, and always `null` for a Lab 3 test, whose figures are in `sections`.
   */
  readonly figures: TestFigures | null;
  /**
   * A Lab 3 (kvraft) test's figures (seconds, peers, RPCs, ops), one per `begin` … `end` section that passed,
   * in order: all of them when the run passed. Absent for a Lab 2 test.
   */
  readonly sections?: readonly KvraftSection[];
  /** Wall-clock milliseconds the run took. */
  readonly wallMs: number;
  /** Milliseconds of the run's own clock (virtual or real) from start to end. */
  readonly clockMs: number;
}

/** Turns a runner result into a {@link LabRunRecord}. */
export function toRecord(result: ScenarioResult): LabRunRecord {
  const message = result.error?.message ?? null;
  return {
    name: result.name,
    seed: result.seed,
    clock: result.clock,
    passed: result.passed,
    error: message,
    stack: message === null ? null : causeStack(message, result.error?.stack),
    figures: result.figures ?? null,
    wallMs: result.wallMs,
    clockMs: result.clockMs,
  };
}

/** Turns a kvraft (Lab 3) runner result into a {@link LabRunRecord}. */
export function toKvraftRecord(result: KvraftScenarioResult): LabRunRecord {
  const message = result.error?.message ?? null;
  return {
    name: result.name,
    seed: result.seed,
    clock: result.clock,
    passed: result.passed,
    error: message,
    stack: message === null ? null : causeStack(message, result.error?.stack),
    figures: null,
    sections: result.sections,
    wallMs: result.wallMs,
    clockMs: result.clockMs,
  };
}

/**
 * Runs one job, a Lab 2 or a Lab 3 scenario found by its name, passing the course's lines to `print` (when
 * given). The one place a job's name turns into a run, for the worker processes and the in-process pool alike.
 */
export async function runLabJob(job: LabJob, print?: (line: string) => void): Promise<LabRunRecord> {
  const options = {
    seed: job.seed,
    clock: job.clock,
    ...(print === undefined ? {} : { print }),
    ...(job.features === undefined ? {} : { features: job.features }),
  };
  const raft = scenarioByName(job.name);
  if (raft !== undefined) return toRecord(await runScenario(raft, options));
  const kvraft = allKvraftScenarios.find((scenario) => scenario.name === job.name);
  if (kvraft !== undefined) return toKvraftRecord(await runKvraftScenario(kvraft, options));
  return lostRunRecord(job, `no scenario is named "${job.name}"`, 0);
}

/**
 * The runner appends the stack of an unexpected error to its failure message (`message + "\n" + stack`); a
 * tester check's failure keeps the default stack, which only shows the runner itself and is noise.
 */
function causeStack(message: string, stack: string | undefined): string | null {
  if (stack === undefined || !stack.startsWith(`${message}\n`)) return null;
  return stack.slice(message.length + 1);
}

/**
 * A failed record for a run that produced no result of its own (its worker process died under it). The
 * message has the runner's shape so that a reader, or a script, finds the seed and replay line as usual.
 */
export function lostRunRecord(job: LabJob, reason: string, wallMs: number): LabRunRecord {
  const replay = replayCommand(job.name, job.seed, job.clock, job.features);
  return {
    name: job.name,
    seed: job.seed,
    clock: job.clock,
    passed: false,
    error: `${job.name} failed (seed ${job.seed}, ${job.clock} clock): ${reason}\n  replay: ${replay}`,
    stack: null,
    figures: null,
    wallMs,
    clockMs: 0,
  };
}

/** One unit of work: run scenario `name` once with `seed`. */
export interface LabJob {
  /** Position in the run's job list; output and results are ordered by it. */
  readonly id: number;
  readonly name: string;
  readonly seed: number;
  readonly clock: ClockMode;
  /** Whether the course's output lines are wanted (single-seed runs show them, sweeps do not). */
  readonly lines: boolean;
  /** Production features to turn on (`tsraft lab --features`); absent: none, as in the course. */
  readonly features?: LabFeatures;
}

export type { CpuTime } from "./worker-process.ts";

/** Parent to worker: run this job, or exit. */
export type ToWorker = { readonly type: "job"; readonly job: LabJob } | { readonly type: "stop" };

/**
 * Worker to parent. `ready` and `result` both mean "send me the next job", so work is handed out as workers
 * free up rather than split up front (runs differ a lot in length: Backup2B takes forty times BasicAgree2B).
 */
export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "line"; readonly id: number; readonly line: string }
  | {
      readonly type: "result";
      readonly id: number;
      readonly record: LabRunRecord;
      /** The worker's processor time since it started (cumulative, so the last one received is its total). */
      readonly cpu: CpuTime;
    };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Checks an IPC message from the parent (the channel carries `unknown`). */
export function isToWorker(value: unknown): value is ToWorker {
  if (!isObject(value)) return false;
  if (value.type === "stop") return true;
  const job = value.job;
  return (
    value.type === "job" &&
    isObject(job) &&
    typeof job.id === "number" &&
    typeof job.name === "string" &&
    typeof job.seed === "number" &&
    (job.clock === "virtual" || job.clock === "real") &&
    typeof job.lines === "boolean"
  );
}

/** Checks an IPC message from a worker. */
export function isFromWorker(value: unknown): value is FromWorker {
  if (!isObject(value)) return false;
  switch (value.type) {
    case "ready":
      return true;
    case "line":
      return typeof value.id === "number" && typeof value.line === "string";
    case "result":
      return typeof value.id === "number" && isObject(value.record) && isObject(value.cpu);
    default:
      return false;
  }
}
