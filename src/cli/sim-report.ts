/**
 * What `tsraft sim` prints: one run's report, a failure's report with its replay command, a swarm's progress and
 * closing summary with the coverage table. Everything that depends only on a run's result is deterministic,
 * so a replayed seed prints the same bytes; wall-clock figures go in separate lines.
 */
import { Presets, SingleBar } from "cli-progress";
import { formatKvViolation, type KvSimResult } from "../jepsen/index.ts";
import {
  type Coverage,
  coverageLines,
  formatViolation,
  LIVENESS_COMMIT_BOUND_MS,
  LIVENESS_CONVERGE_BOUND_MS,
  type Property,
  type RunCounts,
  type SwarmResult,
} from "../sim/swarm/index.ts";

/** Virtual milliseconds as seconds with three decimals. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** The report of one run: its plan, what happened, the liveness times, and PASS or the failure. */
export function runLines(result: SwarmResult): string[] {
  const lines = [`tsraft sim: seed ${result.settings.seed}`, ...result.plan.map((line) => `  ${line}`)];
  const { counts } = result;
  lines.push(
    `ran ${seconds(result.virtualMs)} of virtual time, ${result.events} events: ${counts.elections} elections,` +
      ` ${counts.committed} entries committed, ${counts.proposals} commands proposed`,
  );
  lines.push(`faults hit: ${faultsHit(counts)}`);
  const liveness = result.liveness;
  if (liveness !== null) {
    const at = (ms: number | null) => (ms === null ? "never" : `after ${seconds(ms)}`);
    lines.push(
      `liveness: a leader ${at(liveness.leaderMs)}, a new command committed ${at(liveness.commitMs)}` +
        ` and applied everywhere ${at(liveness.convergeMs)} (bounds ${LIVENESS_COMMIT_BOUND_MS / 1000} s and` +
        ` ${LIVENESS_CONVERGE_BOUND_MS / 1000} s after the heal)`,
    );
  }
  if (result.passed) lines.push("PASS");
  else lines.push(...failureLines(result));
  return lines;
}

/** A failure: the seed, the violated property with its evidence, the faults, and the replay command. */
export function failureLines(result: SwarmResult): string[] {
  const violation = result.violation;
  const what = violation === null ? "failed" : formatViolation(violation);
  return [
    `FAIL seed ${result.settings.seed}: ${what}`,
    ...result.plan.map((line) => `  ${line}`),
    `  faults hit: ${faultsHit(result.counts)}`,
    `  replay: ${result.replay}   (add --trace FILE for every event as NDJSON)`,
  ];
}

/** The faults a run actually injected and what they did, in one line. */
export function faultsHit(counts: Readonly<RunCounts>): string {
  const parts: string[] = [];
  const add = (count: number, text: string) => {
    if (count > 0) parts.push(`${count} ${text}`);
  };
  add(
    counts.crashes,
    `crashes (${counts.leaderCrashes} of a leader, ${counts.crashesLosingWrites} losing unsynced writes)`,
  );
  add(counts.tornWrites, "torn writes");
  add(counts.isolations, "isolations");
  add(counts.splits, "majority/minority splits");
  add(counts.bridges, "bridge partitions");
  add(counts.oneWayPartitions, "one-way partitions");
  add(counts.pauses, `pauses (${counts.leaderPauses} of a leader, ${counts.pausedInputs} inputs queued)`);
  add(counts.skewedNodes, "skewed clocks");
  add(counts.messagesLost, "messages lost");
  add(counts.messagesDuplicated, "duplicated");
  add(counts.messagesReordered, "reordered");
  add(counts.messagesHeld, "held back");
  add(counts.lateDeliveries, "delivered more than an election timeout late");
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** What a swarm's summary reports. */
export interface SwarmFacts {
  readonly runs: number;
  readonly failed: number;
  /** Runs lost to a dead or hung worker (counted in `failed`). */
  readonly lost: number;
  readonly firstSeed: number;
  readonly lastSeed: number;
  readonly workers: number;
  readonly wallMs: number;
  readonly virtualMs: number;
  readonly coverage: Coverage;
  /** How many runs each property failed (a swarm or key-value property, or "lost"). */
  readonly byProperty: ReadonlyMap<Property | "lost" | (string & {}), number>;
  readonly interrupted: boolean;
}

/** The closing summary: counts, throughput, coverage table, and PASS or FAIL. */
export function swarmSummaryLines(facts: SwarmFacts): string[] {
  const jobs = facts.workers <= 1 ? "in this process" : `${facts.workers} worker processes`;
  const seedsPerMinute = facts.wallMs > 0 ? (facts.runs * 60_000) / facts.wallMs : 0;
  const lines = [
    `sim: ${facts.runs} seeds (${facts.firstSeed}..${facts.lastSeed}), ${facts.runs - facts.failed} passed,` +
      ` ${facts.failed} failed${facts.lost > 0 ? ` (${facts.lost} lost to a dead or hung worker)` : ""}` +
      `${facts.interrupted ? "; interrupted" : ""}`,
    `sim: wall ${(facts.wallMs / 1000).toFixed(1)} s, ${jobs}: ${seedsPerMinute.toFixed(0)} seeds/min;` +
      ` ${(facts.virtualMs / 1000).toFixed(0)} s of virtual time`,
  ];
  if (facts.byProperty.size > 0) {
    const parts = [...facts.byProperty].map(([property, count]) => `${property} ${count}`);
    lines.push(`sim: failures by property: ${parts.join(", ")}`);
  }
  lines.push(
    "",
    `coverage over ${facts.coverage.runs} runs:`,
    ...coverageLines(facts.coverage).map((l) => `  ${l}`),
  );
  lines.push("", facts.failed === 0 && !facts.interrupted ? "PASS" : "FAIL");
  return lines;
}

/** A swarm's progress on stderr. */
export interface SwarmProgress {
  /** One more run finished. */
  tick(passed: boolean): void;
  stop(): void;
}

/** Without a terminal, a progress line every this-many percent. */
const PROGRESS_STEP_PERCENT = 5;

/**
 * A progress bar over `total` seeds (or, with a time budget and no seed count, over `budgetMs` of wall time)
 * when `stream` is a terminal; otherwise a plain line every {@link PROGRESS_STEP_PERCENT}%.
 */
export function swarmProgress(
  total: number | null,
  budgetMs: number | null,
  stream: NodeJS.WriteStream,
): SwarmProgress {
  const started = globalThis.performance.now();
  let done = 0;
  let failed = 0;
  const fraction = (): number => {
    const bySeeds = total === null ? 0 : done / total;
    const byTime = budgetMs === null ? 0 : (globalThis.performance.now() - started) / budgetMs;
    return Math.min(1, Math.max(bySeeds, byTime));
  };
  const rate = (): string => {
    const minutes = (globalThis.performance.now() - started) / 60_000;
    return minutes > 0 ? (done / minutes).toFixed(0) : "0";
  };
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        stream,
        format:
          "sim {bar} {percentage}% | {seeds} seeds | {failed} failed | {rate} seeds/min | {duration_formatted}",
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(1000, 0, { seeds: 0, failed: 0, rate: "0" });
    return {
      tick(passed) {
        done++;
        if (!passed) failed++;
        bar.update(Math.floor(fraction() * 1000), { seeds: done, failed, rate: rate() });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let lastStep = 0;
  return {
    tick(passed) {
      done++;
      if (!passed) failed++;
      const step = Math.floor((fraction() * 100) / PROGRESS_STEP_PERCENT);
      if (step === lastStep) return;
      lastStep = step;
      const elapsed = ((globalThis.performance.now() - started) / 1000).toFixed(1);
      stream.write(`sim: ${done} seeds, ${failed} failed, ${rate()} seeds/min, ${elapsed} s\n`);
    },
    stop() {},
  };
}

// ---- key-value runs (`tsraft sim --kv`) -------------------------------------------------------------------

/** The report of one key-value run: its plan, what the clients did, what the checker found, PASS or FAIL. */
export function kvRunLines(result: KvSimResult): string[] {
  const lines = [
    `tsraft sim --kv: seed ${result.settings.swarm.seed}`,
    ...result.plan.map((line) => `  ${line}`),
  ];
  const { counts, history, check, client } = result;
  lines.push(
    `ran ${seconds(result.virtualMs)} of virtual time, ${result.events} events: ${counts.elections} elections,` +
      ` ${counts.committed} entries committed`,
  );
  lines.push(`faults hit: ${faultsHit(counts)}`);
  lines.push(
    `clients: ${history.operations} operations (${describeKinds(history.byKind)}), ${history.completed} answered,` +
      ` ${history.indeterminate} indeterminate (${history.indeterminateWrites} writes);` +
      ` ${client.requests} requests, ${client.refused} refused, ${client.reset} reset, ${client.timedOut} timed out`,
  );
  if (check.outcome !== "not-run") {
    lines.push(
      `checked: ${check.operations} operations (${check.indeterminate} indeterminate; left out ${check.knownFailed}` +
        ` known failed, ${check.unobservedAppends} unobserved appends) in ${check.partitions} keys:` +
        ` ${check.outcome}, ${check.steps} search steps`,
    );
  }
  if (result.raftViolation !== null) {
    lines.push(`raft checks (not deciding): ${formatViolation(result.raftViolation)}`);
  }
  if (result.passed) lines.push("PASS");
  else lines.push(...kvFailureLines(result));
  return lines;
}

/** A key-value failure: the seed, the violated property with its evidence, the plan, the replay command. */
export function kvFailureLines(result: KvSimResult): string[] {
  const violation = result.violation;
  const what = violation === null ? "failed" : formatKvViolation(violation);
  const also = result.alsoBroken.length > 0 ? [`  also broken: ${result.alsoBroken.join(", ")}`] : [];
  return [
    `FAIL seed ${result.settings.swarm.seed}: ${what}`,
    ...(violation?.details ?? []).map((line) => `  ${line}`),
    ...also,
    ...result.plan.map((line) => `  ${line}`),
    `  faults hit: ${faultsHit(result.counts)}`,
    `  replay: ${result.replay}   (add --trace FILE for every event as NDJSON)`,
  ];
}

function describeKinds(byKind: KvSimResult["history"]["byKind"]): string {
  return Object.entries(byKind)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(", ");
}

/** What a key-value swarm adds up over its runs. */
export interface KvTotals {
  /** Operations the clients ran, and the final reads. */
  operations: number;
  indeterminate: number;
  /** Operations given to the linearizability checker (the histories less what cannot change a verdict). */
  checkedOperations: number;
  /** Of those, the ones that never returned. */
  checkedIndeterminate: number;
  knownFailed: number;
  unobservedAppends: number;
  steps: number;
  /** Wall milliseconds spent in the checker, summed over runs, and the longest single check. */
  checkerMs: number;
  checkerMsMax: number;
  /** Runs whose history was checked (runs that stopped earlier were not). */
  checkedRuns: number;
}

export function emptyKvTotals(): KvTotals {
  return {
    operations: 0,
    indeterminate: 0,
    checkedOperations: 0,
    checkedIndeterminate: 0,
    knownFailed: 0,
    unobservedAppends: 0,
    steps: 0,
    checkerMs: 0,
    checkerMsMax: 0,
    checkedRuns: 0,
  };
}

export function addToKvTotals(totals: KvTotals, result: KvSimResult): void {
  totals.operations += result.history.operations;
  totals.indeterminate += result.history.indeterminate;
  const { check } = result;
  if (check.outcome === "not-run") return;
  totals.checkedRuns++;
  totals.checkedOperations += check.operations;
  totals.checkedIndeterminate += check.indeterminate;
  totals.knownFailed += check.knownFailed;
  totals.unobservedAppends += check.unobservedAppends;
  totals.steps += check.steps;
  totals.checkerMs += check.checkerMs ?? 0;
  totals.checkerMsMax = Math.max(totals.checkerMsMax, check.checkerMs ?? 0);
}

/** The lines a key-value swarm adds to its summary: the volume of history checked and what it cost. */
export function kvTotalsLines(totals: KvTotals): string[] {
  return [
    `kv: ${totals.operations} client operations (${totals.indeterminate} indeterminate);` +
      ` ${totals.checkedRuns} histories checked: ${totals.checkedOperations} operations` +
      ` (${totals.checkedIndeterminate} indeterminate), ${totals.knownFailed} known-failed writes and` +
      ` ${totals.unobservedAppends} unobserved appends left out`,
    `kv: checker ${totals.steps} search steps, ${(totals.checkerMs / 1000).toFixed(1)} s of wall time in all,` +
      ` ${totals.checkerMsMax.toFixed(1)} ms at most for one history`,
  ];
}
