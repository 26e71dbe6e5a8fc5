/**
 * Runs a list of lab jobs, either in this process (one at a time) or spread over forked worker processes
 * (`lab-worker.ts`) that each ask for the next job when they finish one. Separate processes rather than one
 * event loop: runs on the real clock must not steal each other's timer slots, and a run that crashes its
 * process (out of memory, a stray exception) loses only itself.
 */
import {
  type CpuTime,
  type FromWorker,
  isFromWorker,
  type LabJob,
  type LabRunRecord,
  lostRunRecord,
  runLabJob,
  type ToWorker,
} from "./lab-protocol.ts";
import { describeExit, forkWorker, stderrSuffix, type WorkerProcess } from "./worker-process.ts";

/** Why a pool stopped: it ran every job, it stopped at the first failure, or it was interrupted. */
export type PoolStop = "done" | "fail-fast" | "interrupted";

/** What to run and how. */
export interface PoolOptions {
  readonly jobs: readonly LabJob[];
  /** Worker processes to use; 1 runs in this process. Never more than there are jobs. */
  readonly workers: number;
  /** Stop handing out jobs, and abandon the ones running, once a run fails. */
  readonly failFast: boolean;
  /** Aborting stops the pool like a failure under fail-fast does (used for Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Receives a job's course output lines as they are printed (only for jobs with `lines`). */
  readonly onLine?: (job: LabJob, line: string) => void;
  /** Receives each run's record as soon as it finishes. */
  readonly onResult: (job: LabJob, record: LabRunRecord) => void;
}

/** What a pool did. */
export interface PoolOutcome {
  /** Records of the runs that finished, in the order they finished. */
  readonly records: readonly LabRunRecord[];
  /** Processor time of the worker processes (zero when running in this process). */
  readonly workerCpu: CpuTime;
  readonly stop: PoolStop;
}

/** Runs `options.jobs` and resolves once every run has finished or the pool has stopped early. */
export function runPool(options: PoolOptions): Promise<PoolOutcome> {
  return options.workers <= 1 || options.jobs.length <= 1 ? runInProcess(options) : runInWorkers(options);
}

async function runInProcess(options: PoolOptions): Promise<PoolOutcome> {
  const records: LabRunRecord[] = [];
  const interrupted = abortPromise(options.signal);
  let stop: PoolStop = "done";
  for (const job of options.jobs) {
    if (options.signal?.aborted) {
      stop = "interrupted";
      break;
    }
    const run = runJobHere(job, options);
    // An interrupt cannot cancel a run in this process; the caller prints what finished and exits.
    const record = await Promise.race([run, interrupted]);
    if (record === null) {
      stop = "interrupted";
      break;
    }
    records.push(record);
    options.onResult(job, record);
    if (!record.passed && options.failFast) {
      stop = "fail-fast";
      break;
    }
  }
  return { records, workerCpu: { user: 0, system: 0 }, stop };
}

async function runJobHere(job: LabJob, options: PoolOptions): Promise<LabRunRecord> {
  const onLine = options.onLine;
  const print = job.lines && onLine !== undefined ? (line: string) => onLine(job, line) : undefined;
  return await runLabJob(job, print);
}

/** Resolves to `null` when `signal` aborts (never, without a signal). */
function abortPromise(signal: AbortSignal | undefined): Promise<null> {
  return new Promise((resolve) => {
    if (signal === undefined) return;
    if (signal.aborted) resolve(null);
    else signal.addEventListener("abort", () => resolve(null), { once: true });
  });
}

/** One worker process; `current` is the job it runs and when it was sent (for a run lost with its worker). */
type Worker = WorkerProcess<{ readonly job: LabJob; readonly sentAt: number }>;

function runInWorkers(options: PoolOptions): Promise<PoolOutcome> {
  const records: LabRunRecord[] = [];
  const workers = new Set<Worker>();
  let finishedCpu: CpuTime = { user: 0, system: 0 };
  let nextJob = 0;
  let stop: PoolStop = "done";
  let stopping = false;

  return new Promise<PoolOutcome>((resolve, reject) => {
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      halt("interrupted");
      reject(error);
    };

    const send = (worker: Worker, message: ToWorker): void => {
      if (!worker.child.connected) return;
      worker.child.send(message, (error) => {
        // The worker died between our check and the send; its exit handler accounts for it.
        if (error !== null) worker.stderrTail += `\n(send failed: ${error.message})`;
      });
    };

    /** Hands the worker its next job, or dismisses it when there is none. */
    const dispatch = (worker: Worker): void => {
      const job = options.jobs[nextJob];
      if (stopping || job === undefined) {
        worker.dismissed = true;
        send(worker, { type: "stop" });
        return;
      }
      nextJob++;
      worker.current = { job, sentAt: globalThis.performance.now() };
      send(worker, { type: "job", job });
    };

    const finish = (worker: Worker, record: LabRunRecord): void => {
      const job = worker.current?.job;
      worker.current = null;
      if (job === undefined) return;
      records.push(record);
      options.onResult(job, record);
      if (!record.passed && options.failFast) halt("fail-fast");
    };

    /** Stops handing out work and ends every worker; runs in progress are abandoned. */
    const halt = (reason: PoolStop): void => {
      if (stopping) return;
      stopping = true;
      stop = reason;
      for (const worker of workers) {
        worker.dismissed = true;
        worker.child.kill();
      }
    };

    const onMessage = (worker: Worker, message: FromWorker): void => {
      switch (message.type) {
        case "ready":
          worker.started = true;
          dispatch(worker);
          return;
        case "line": {
          const job = worker.current?.job;
          if (job !== undefined && job.id === message.id) options.onLine?.(job, message.line);
          return;
        }
        case "result":
          worker.cpu = message.cpu;
          if (worker.current?.job.id === message.id) finish(worker, message.record);
          if (!stopping) dispatch(worker);
          return;
        default:
          message satisfies never;
      }
    };

    const onExit = (worker: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
      workers.delete(worker);
      finishedCpu = addCpu(finishedCpu, worker.cpu);
      const how = describeExit(code, signal);
      if (worker.dismissed) {
        // Stopped by this pool: nothing was lost.
      } else if (!worker.started) {
        // Replacing it would only fail the same way, forever. Its stderr, just passed on, says why.
        fail(new Error(`a lab worker process could not start (${how}); see its error output above`));
      } else {
        const lost = worker.current;
        if (lost !== null) {
          const reason = `its worker process died (${how})${stderrSuffix(worker)}`;
          finish(worker, lostRunRecord(lost.job, reason, globalThis.performance.now() - lost.sentAt));
        }
        // Keep the pool at strength for the jobs still waiting.
        if (!stopping && nextJob < options.jobs.length) spawn();
      }
      if (workers.size === 0 && !failed) {
        resolve({ records, workerCpu: finishedCpu, stop });
      }
    };

    const spawn = (): void => {
      const worker: Worker = forkWorker({
        module: "./lab-worker.ts",
        kind: "lab",
        isMessage: isFromWorker,
        onMessage,
        onError: fail,
        onClose: onExit,
      });
      workers.add(worker);
    };

    if (options.signal?.aborted) {
      resolve({ records, workerCpu: finishedCpu, stop: "interrupted" });
      return;
    }
    options.signal?.addEventListener("abort", () => halt("interrupted"), { once: true });
    const count = Math.min(options.workers, options.jobs.length);
    for (let i = 0; i < count; i++) spawn();
  });
}

function addCpu(a: CpuTime, b: CpuTime): CpuTime {
  return { user: a.user + b.user, system: a.system + b.system };
}
