/**
 * A `tsraft sim` worker process: forked by the sim pool (`sim-pool.ts`), it runs one seed at a time (a swarm
 * seed, or with `--kv` a key-value seed) as the parent hands them out over IPC and sends back each result. It keeps no state between seeds: every run builds
 * its own clock, cluster and random streams from its settings.
 */
import { type FromSimWorker, isToSimWorker, runJob as runOneJob, type SimJob } from "./sim-pool.ts";

const send = process.send?.bind(process);
if (send === undefined) {
  console.error(
    "sim-worker: this is a worker of `tsraft sim` and needs its IPC channel; run `tsraft sim` instead",
  );
  process.exit(2);
}

function post(message: FromSimWorker): void {
  // A failed send means the parent is gone; the disconnect handler below ends this process.
  send?.(message, undefined, {}, () => {});
}

const yieldToHost = (callback: () => void): void => {
  setImmediate(callback);
};

async function runJob(job: SimJob): Promise<void> {
  const started = performance.now();
  const result = await runOneJob(job, yieldToHost);
  post({ type: "result", id: job.id, result, wallMs: performance.now() - started, cpu: process.cpuUsage() });
}

// One seed at a time, even if a confused parent sent two: two runs on one event loop would interleave.
let queue: Promise<void> = Promise.resolve();

process.on("message", (message: unknown) => {
  if (!isToSimWorker(message)) {
    console.error("sim-worker: ignoring a malformed message from the parent:", message);
    return;
  }
  if (message.type === "stop") process.exit(0);
  const { job } = message;
  queue = queue
    .then(() => runJob(job))
    .catch((error: unknown) => {
      // A run turns every failure of the code under test into a result; this is a bug in the harness.
      console.error(
        `sim-worker: seed ${job.settings.seed} failed in the harness:`,
        error instanceof Error ? (error.stack ?? error.message) : String(error),
      );
      process.exit(1);
    });
});

// Ctrl-C reaches the whole process group; the parent decides what it means.
process.on("SIGINT", () => {});
process.on("disconnect", () => process.exit(0));

post({ type: "ready" });
