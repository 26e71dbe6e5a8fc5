/**
 * Runs swarm seeds for `tsraft sim`, in this process or spread over forked worker processes (`sim-worker.ts`)
 * that each ask for the next seed when they finish one. Modelled on the lab's pool (`lab-pool.ts`), with what
 * a swarm needs on top: seeds are pulled one at a time from the caller (so a time budget or "stop above the
 * first caught seed" can end the supply), and a run that hangs its process past a wall-clock limit is killed
 * and reported with its seed, since a buggy core can spin forever without yielding.
 */

import { isKvBug, type KvBug, type KvSimResult, type KvVerdictScope, runKvSeed } from "../jepsen/index.ts";
import { isMix, runSwarmSeed, type SwarmResult, type SwarmSettings } from "../sim/swarm/index.ts";
import {
  type CpuTime,
  describeExit,
  forkWorker,
  stderrSuffix,
  type WorkerProcess,
} from "./worker-process.ts";

/** One unit of work: run one seed with these settings. */
export interface SimJob {
  /** Position in the order jobs were handed out. */
  readonly id: number;
  readonly settings: SwarmSettings;
  /** Present for a key-value run (`--kv`): what the key-value harness adds to the swarm's settings. */
  readonly kv?: KvJobSettings;
}

/** The key-value harness's settings of a job. */
export interface KvJobSettings {
  readonly kvBug: KvBug;
  readonly scope: KvVerdictScope;
}

/** A finished run: a swarm seed's result, or a key-value seed's. */
export type RunResult =
  | { readonly kind: "swarm"; readonly result: SwarmResult }
  | { readonly kind: "kv"; readonly result: KvSimResult };

/** Runs one job in this process. */
export async function runJob(job: SimJob, yieldToHost: (callback: () => void) => void): Promise<RunResult> {
  if (job.kv === undefined) {
    return { kind: "swarm", result: await runSwarmSeed({ settings: job.settings, yieldToHost }) };
  }
  const result = await runKvSeed({
    settings: { swarm: job.settings, ...job.kv },
    yieldToHost,
    hostNowMs: () => globalThis.performance.now(),
  });
  return { kind: "kv", result };
}

export type { CpuTime } from "./worker-process.ts";

/** Parent to worker: run this job, or exit. */
export type ToSimWorker = { readonly type: "job"; readonly job: SimJob } | { readonly type: "stop" };

/** Worker to parent: ready for a job, or a job's result (which also means "send me the next one"). */
export type FromSimWorker =
  | { readonly type: "ready" }
  | {
      readonly type: "result";
      readonly id: number;
      readonly result: RunResult;
      readonly wallMs: number;
      /** The worker's processor time since it started (cumulative). */
      readonly cpu: CpuTime;
    };

/** What to run and how. */
export interface SimPoolOptions {
  /** Worker processes; 1 runs in this process. */
  readonly workers: number;
  /** The next job, or undefined when there is none (for now: the pool asks again when a worker frees up). */
  readonly next: () => SimJob | undefined;
  /** Receives each finished run. */
  readonly onResult: (job: SimJob, result: RunResult, wallMs: number) => void;
  /** Receives each run that produced no result: its worker died, or it ran past `jobWallMsMax`. */
  readonly onLost: (job: SimJob, reason: string, wallMs: number) => void;
  /** Wall-clock milliseconds a worker may spend on one seed before it is killed. */
  readonly jobWallMsMax: number;
  /** Aborting stops handing out jobs and ends the workers (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** The host's macrotask source, for runs in this process. */
  readonly yieldToHost: (callback: () => void) => void;
}

/** How the pool stopped, and the workers' processor time. */
export interface SimPoolOutcome {
  readonly stop: "done" | "interrupted";
  readonly workerCpu: CpuTime;
}

/** Runs jobs until `next` has none left and every run finished, or until interrupted. */
export function runSimPool(options: SimPoolOptions): Promise<SimPoolOutcome> {
  return options.workers <= 1 ? runInProcess(options) : runInWorkers(options);
}

async function runInProcess(options: SimPoolOptions): Promise<SimPoolOutcome> {
  for (;;) {
    if (options.signal?.aborted) return { stop: "interrupted", workerCpu: { user: 0, system: 0 } };
    const job = options.next();
    if (job === undefined) return { stop: "done", workerCpu: { user: 0, system: 0 } };
    const started = globalThis.performance.now();
    const result = await runJob(job, options.yieldToHost);
    options.onResult(job, result, globalThis.performance.now() - started);
  }
}

/** One worker process; `current` is its seed, when it was sent, and the timer that kills a hung run. */
type Worker = WorkerProcess<{
  readonly job: SimJob;
  readonly sentAt: number;
  readonly timer: NodeJS.Timeout;
}>;

function runInWorkers(options: SimPoolOptions): Promise<SimPoolOutcome> {
  const workers = new Set<Worker>();
  let finishedCpu: CpuTime = { user: 0, system: 0 };
  let stopping = false;
  let stop: SimPoolOutcome["stop"] = "done";

  return new Promise<SimPoolOutcome>((resolve, reject) => {
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      halt("interrupted");
      reject(error);
    };

    const send = (worker: Worker, message: ToSimWorker): void => {
      if (!worker.child.connected) return;
      worker.child.send(message, (error) => {
        if (error !== null) worker.stderrTail += `\n(send failed: ${error.message})`;
      });
    };

    const dispatch = (worker: Worker): void => {
      const job = stopping ? undefined : options.next();
      if (job === undefined) {
        worker.dismissed = true;
        send(worker, { type: "stop" });
        return;
      }
      const timer = setTimeout(() => timeOut(worker), options.jobWallMsMax);
      worker.current = { job, sentAt: globalThis.performance.now(), timer };
      send(worker, { type: "job", job });
    };

    /** A run took too long: report it, kill its worker (its exit spawns a replacement). */
    const timeOut = (worker: Worker): void => {
      const current = worker.current;
      if (current === null) return;
      worker.current = null;
      options.onLost(
        current.job,
        `it ran for more than ${options.jobWallMsMax / 1000} s of wall time (a hang?); its worker was killed`,
        globalThis.performance.now() - current.sentAt,
      );
      worker.child.kill("SIGKILL");
    };

    const halt = (reason: SimPoolOutcome["stop"]): void => {
      if (stopping) return;
      stopping = true;
      stop = reason;
      for (const worker of workers) {
        worker.dismissed = true;
        if (worker.current !== null) clearTimeout(worker.current.timer);
        worker.child.kill();
      }
    };

    const onMessage = (worker: Worker, message: FromSimWorker): void => {
      switch (message.type) {
        case "ready":
          worker.started = true;
          dispatch(worker);
          return;
        case "result": {
          worker.cpu = message.cpu;
          const current = worker.current;
          if (current !== null && current.job.id === message.id) {
            clearTimeout(current.timer);
            worker.current = null;
            options.onResult(current.job, message.result, message.wallMs);
          }
          if (!stopping) dispatch(worker);
          return;
        }
        default:
          message satisfies never;
      }
    };

    const onExit = (worker: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
      workers.delete(worker);
      finishedCpu = {
        user: finishedCpu.user + worker.cpu.user,
        system: finishedCpu.system + worker.cpu.system,
      };
      const how = describeExit(code, signal);
      if (worker.dismissed) {
        // Ended by this pool: nothing was lost.
      } else if (!worker.started) {
        fail(new Error(`a sim worker process could not start (${how}); see its error output above`));
      } else {
        const lost = worker.current;
        if (lost !== null) {
          clearTimeout(lost.timer);
          options.onLost(
            lost.job,
            `its worker process died (${how})${stderrSuffix(worker)}`,
            globalThis.performance.now() - lost.sentAt,
          );
        }
        if (!stopping) spawn();
      }
      if (workers.size === 0 && !failed) resolve({ stop, workerCpu: finishedCpu });
    };

    const spawn = (): void => {
      // A worker killed for running too long has had its run reported already and is replaced like a
      // crashed one.
      const worker: Worker = forkWorker({
        module: "./sim-worker.ts",
        kind: "sim",
        isMessage: isFromSimWorker,
        onMessage,
        onError: fail,
        onClose: onExit,
      });
      workers.add(worker);
    };

    if (options.signal?.aborted) {
      resolve({ stop: "interrupted", workerCpu: finishedCpu });
      return;
    }
    options.signal?.addEventListener("abort", () => halt("interrupted"), { once: true });
    for (let i = 0; i < options.workers; i++) spawn();
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Checks a job's settings as they arrive over IPC (the channel carries `unknown`). */
function isSettings(value: unknown): value is SwarmSettings {
  return (
    isObject(value) &&
    typeof value.seed === "number" &&
    typeof value.timeMs === "number" &&
    (value.nodes === null || typeof value.nodes === "number") &&
    Array.isArray(value.faults) &&
    typeof value.mix === "string" &&
    isMix(value.mix) &&
    typeof value.plantedBug === "string"
  );
}

/** Checks a job's key-value settings as they arrive over IPC. */
function isKvJobSettings(value: unknown): value is KvJobSettings {
  return (
    isObject(value) &&
    typeof value.kvBug === "string" &&
    isKvBug(value.kvBug) &&
    (value.scope === "all" || value.scope === "kv")
  );
}

/** Checks an IPC message from the parent. */
export function isToSimWorker(value: unknown): value is ToSimWorker {
  if (!isObject(value)) return false;
  if (value.type === "stop") return true;
  const job = value.job;
  return (
    value.type === "job" &&
    isObject(job) &&
    typeof job.id === "number" &&
    isSettings(job.settings) &&
    (job.kv === undefined || isKvJobSettings(job.kv))
  );
}

/** Checks an IPC message from a worker. */
export function isFromSimWorker(value: unknown): value is FromSimWorker {
  if (!isObject(value)) return false;
  if (value.type === "ready") return true;
  return (
    value.type === "result" &&
    typeof value.id === "number" &&
    isObject(value.result) &&
    (value.result.kind === "swarm" || value.result.kind === "kv") &&
    isObject(value.result.result) &&
    typeof value.wallMs === "number" &&
    isObject(value.cpu)
  );
}
