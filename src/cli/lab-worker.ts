/**
 * A `tsraft lab` worker process: forked by the lab pool (see `lab-pool.ts`), it runs one lab job at a time as
 * the parent hands them out over IPC and sends back each result, and the course's output lines when asked.
 * It holds no state between jobs: every run builds its own config, clock and network from its seed.
 */
import { type FromWorker, isToWorker, type LabJob, lostRunRecord, runLabJob } from "./lab-protocol.ts";

const send = process.send?.bind(process);
if (send === undefined) {
  console.error(
    "lab-worker: this is a worker of `tsraft lab` and needs its IPC channel; run `tsraft lab` instead",
  );
  process.exit(2);
}

function post(message: FromWorker): void {
  // A failed send means the parent is gone; the disconnect handler below ends this process.
  send?.(message, undefined, {}, () => {});
}

async function runJob(job: LabJob): Promise<void> {
  const print = job.lines ? (line: string) => post({ type: "line", id: job.id, line }) : undefined;
  const record = await runLabJob(job, print);
  post({ type: "result", id: job.id, record, cpu: process.cpuUsage() });
}

// Jobs arrive one at a time (the parent waits for each result), but chaining keeps them sequential even if
// a confused parent sent two: two runs interleaving on one event loop would skew the real clock's timing.
let queue: Promise<void> = Promise.resolve();

process.on("message", (message: unknown) => {
  if (!isToWorker(message)) {
    console.error("lab-worker: ignoring a malformed message from the parent:", message);
    return;
  }
  if (message.type === "stop") {
    // Exit at once rather than wait for the event loop to drain: a run may leave a real-clock timer behind,
    // and every result has already been sent (the parent only says stop after the last one arrived).
    process.exit(0);
  }
  const { job } = message;
  queue = queue
    .then(() => runJob(job))
    .catch((error: unknown) => {
      // the runners turn every failure into a result, so this is a bug in the worker itself; report it
      // against the job rather than leave the parent waiting for a result that will never come.
      const reason = `the lab worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      post({ type: "result", id: job.id, record: lostRunRecord(job, reason, 0), cpu: process.cpuUsage() });
    });
});

// Ctrl-C in a terminal signals the whole process group, workers included. The parent decides what an
// interrupt means (stop, summarise, kill the workers), so a worker must not die first and look like a crash.
process.on("SIGINT", () => {});

// The parent died or closed the channel (fail-fast, Ctrl-C): nobody will read what this process does next.
process.on("disconnect", () => process.exit(0));

post({ type: "ready" });
