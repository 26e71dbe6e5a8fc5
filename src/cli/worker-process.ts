/**
 * One forked worker process for the `tsraft lab` and `tsraft sim` pools: started with the tsx loader, its
 * stderr passed through with the end of it kept (it explains a crash), its messages checked before use, and
 * its processor time tracked. The pools decide what to send it and what its death means.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Processor time in microseconds, as `process.cpuUsage()` reports it. */
export interface CpuTime {
  readonly user: number;
  readonly system: number;
}

/** How much of a dead worker's stderr is kept to explain its death (characters, from the end). */
const STDERR_TAIL_CHARS_MAX = 4000;

/** One worker process and what it is doing (`Current`: the pool's record of the job it runs). */
export interface WorkerProcess<Current> {
  readonly child: ChildProcess;
  current: Current | null;
  /** Set once it has said `ready`: a worker that dies before that could not start at all. */
  started: boolean;
  /** Set when the pool stopped or killed it, so its exit is not reported as a crash. */
  dismissed: boolean;
  cpu: CpuTime;
  stderrTail: string;
}

export interface ForkWorkerOptions<Message, Current> {
  /** The worker module, relative to this folder (e.g. `./lab-worker.ts`). */
  readonly module: string;
  /** Names the worker in errors: "lab" or "sim". */
  readonly kind: string;
  readonly isMessage: (message: unknown) => message is Message;
  readonly onMessage: (worker: WorkerProcess<Current>, message: Message) => void;
  /** The process could not be created or talked to. */
  readonly onError: (error: Error) => void;
  /** The process ended, after its last messages and stderr were read. */
  readonly onClose: (
    worker: WorkerProcess<Current>,
    code: number | null,
    signal: NodeJS.Signals | null,
  ) => void;
}

/** Forks one worker and wires its stderr, messages, errors and exit to the pool. */
export function forkWorker<Message, Current>(
  options: ForkWorkerOptions<Message, Current>,
): WorkerProcess<Current> {
  const child = fork(fileURLToPath(new URL(options.module, import.meta.url)), [], {
    // Not this process's execArgv: that may hold --inspect or the tsx CLI's own flags. The loader is resolved
    // from here, not from the working directory, so the commands work from any directory.
    execArgv: ["--import", import.meta.resolve("tsx")],
    stdio: ["ignore", "inherit", "pipe", "ipc"],
    serialization: "json",
  });
  const worker: WorkerProcess<Current> = {
    child,
    current: null,
    started: false,
    dismissed: false,
    cpu: { user: 0, system: 0 },
    stderrTail: "",
  };
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    // Pass it on (warnings matter) and keep the end of it, which explains a crash.
    process.stderr.write(chunk);
    worker.stderrTail = (worker.stderrTail + chunk).slice(-STDERR_TAIL_CHARS_MAX);
  });
  child.on("message", (message: unknown) => {
    if (options.isMessage(message)) options.onMessage(worker, message);
    else worker.stderrTail += "\n(malformed message from worker ignored)";
  });
  child.on("error", (error) =>
    options.onError(new Error(`a ${options.kind} worker process failed: ${error.message}`)),
  );
  // `close`, not `exit`: it comes after the worker's last messages and stderr have been read.
  child.on("close", (code, signal) => options.onClose(worker, code, signal));
  return worker;
}

/** "exit code 1" or "signal SIGKILL". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal === null ? `exit code ${code}` : `signal ${signal}`;
}

/** The end of a dead worker's stderr, indented, to append to a failure reason ("" if it printed nothing). */
export function stderrSuffix(worker: WorkerProcess<unknown>): string {
  const tail = worker.stderrTail.trim();
  if (tail === "") return "";
  return `; its stderr ended with:\n${tail
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n")}`;
}
