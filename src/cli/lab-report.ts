/**
 * What `tsraft lab` shows: the course's lines in job order while runs go on in parallel, a progress display
 * for sweeps, and the closing summary.
 */
import { Presets, SingleBar } from "cli-progress";
import type { LabRunRecord } from "./lab-protocol.ts";

/** A place text goes; `write` receives whole lines without their newline. */
export interface LineSink {
  write(line: string): void;
}

/**
 * Prints each job's lines in job order although jobs run in parallel: the lowest unfinished job streams live
 * and later ones are held back until every job before them has finished, so the output reads like the
 * course's sequential `go test` whatever the number of workers.
 */
export class OrderedPrinter {
  readonly #out: LineSink;
  /** Lines of jobs after the head, by job id. Bounded by the output of the runs in flight. */
  readonly #held = new Map<number, string[]>();
  readonly #finished = new Set<number>();
  /** Jobs are numbered 0, 1, 2, ... in the order the pool hands them out; this is the lowest unfinished one. */
  #head = 0;

  constructor(out: LineSink) {
    this.#out = out;
  }

  /** A line printed by job `id`'s run. */
  line(id: number, line: string): void {
    if (id === this.#head) {
      this.#out.write(line);
      return;
    }
    const held = this.#held.get(id);
    if (held === undefined) this.#held.set(id, [line]);
    else held.push(line);
  }

  /** Job `id` has finished; `trailer` lines (its failure, say) come right after its own. */
  finish(id: number, trailer: readonly string[] = []): void {
    for (const line of trailer) this.line(id, line);
    this.#finished.add(id);
    while (this.#finished.has(this.#head)) {
      this.#finished.delete(this.#head);
      this.#head++;
      for (const line of this.#held.get(this.#head) ?? []) this.#out.write(line);
      this.#held.delete(this.#head);
    }
  }

  /** Prints whatever is held back (after an interrupt, jobs before it may never finish). */
  flush(): void {
    for (const id of [...this.#held.keys()].sort((a, b) => a - b)) {
      for (const line of this.#held.get(id) ?? []) this.#out.write(line);
    }
    this.#held.clear();
  }
}

/** A sweep's progress on stderr. */
export interface SweepProgress {
  /** One more run finished. */
  tick(record: LabRunRecord): void;
  /** Ends the display, leaving the cursor on a fresh line. */
  stop(): void;
}

/** Without a terminal, a progress line is printed each time another this-many percent of the runs is done. */
const PROGRESS_STEP_PERCENT = 5;

/**
 * A progress bar when `stream` is a terminal; otherwise (CI logs, pipes) a plain line every
 * {@link PROGRESS_STEP_PERCENT}% of the runs, since a redrawn bar would fill a log with control codes.
 */
export function sweepProgress(total: number, stream: NodeJS.WriteStream): SweepProgress {
  let done = 0;
  let failed = 0;
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        stream,
        format:
          "lab {bar} {percentage}% | {value}/{total} runs | {failed} failed | {duration_formatted}, eta {eta_formatted}",
        hideCursor: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { failed: 0 });
    return {
      tick(record) {
        if (!record.passed) failed++;
        bar.increment(1, { failed });
      },
      stop() {
        bar.stop();
      },
    };
  }
  const started = globalThis.performance.now();
  let lastStep = 0;
  return {
    tick(record) {
      done++;
      if (!record.passed) failed++;
      const step = Math.floor((done * 100) / total / PROGRESS_STEP_PERCENT);
      if (step === lastStep && done !== total) return;
      lastStep = step;
      const percent = Math.floor((done * 100) / total);
      const elapsed = formatSeconds(globalThis.performance.now() - started);
      stream.write(`lab: ${done}/${total} runs (${percent}%), ${failed} failed, ${elapsed}\n`);
    },
    stop() {},
  };
}

/** What the summary reports. */
export interface SummaryFacts {
  /** Records of the finished runs, in the order to report them. */
  readonly records: readonly LabRunRecord[];
  /** Runs that were planned. */
  readonly planned: number;
  readonly scenarios: number;
  readonly firstSeed: number;
  readonly seedCount: number;
  readonly clock: string;
  readonly workers: number;
  readonly stop: "done" | "fail-fast" | "interrupted";
  readonly wallMs: number;
  /** Processor time of this process and of the workers, in microseconds. */
  readonly mainCpuMicros: number;
  readonly workerCpuMicros: number;
  /** Whether to repeat each failure's message (a sweep has printed none yet). */
  readonly repeatFailures: boolean;
}

/** The closing lines: each failure (when asked), counts, how the run stopped, times, and PASS or FAIL. */
export function summaryLines(facts: SummaryFacts): string[] {
  const lines: string[] = [];
  const failures = facts.records.filter((record) => !record.passed);
  if (facts.repeatFailures) {
    for (const record of failures) lines.push(...failureLines(record), "");
  }
  const passed = facts.records.length - failures.length;
  const seeds =
    facts.seedCount === 1
      ? `seed ${facts.firstSeed}`
      : `seeds ${facts.firstSeed}..${facts.firstSeed + facts.seedCount - 1}`;
  const scenarios = plural(facts.scenarios, "scenario");
  const jobs = facts.workers <= 1 ? "in-process" : `${facts.workers} worker processes`;
  lines.push(
    `lab: ${plural(facts.records.length, "run")}, ${passed} passed, ${failures.length} failed` +
      ` (${scenarios} x ${seeds}, ${facts.clock} clock, ${jobs})`,
  );
  const notRun = facts.planned - facts.records.length;
  if (facts.stop === "fail-fast")
    lines.push(`lab: stopped at the first failure (--fail-fast); ${plural(notRun, "run")} not finished`);
  if (facts.stop === "interrupted") lines.push(`lab: interrupted; ${plural(notRun, "run")} not finished`);
  // Cannot happen while the pool keeps its promises; said rather than silently passed if it ever does.
  if (facts.stop === "done" && notRun > 0)
    lines.push(`lab: ${plural(notRun, "run")} never reported a result`);
  const clockMs = facts.records.reduce((sum, record) => sum + record.clockMs, 0);
  const cpu = facts.mainCpuMicros + facts.workerCpuMicros;
  const cpuParts =
    facts.workerCpuMicros === 0
      ? ""
      : ` (this process ${formatSeconds(facts.mainCpuMicros / 1000)} + workers ${formatSeconds(facts.workerCpuMicros / 1000)})`;
  lines.push(
    `lab: wall ${formatSeconds(facts.wallMs)}, cpu ${formatSeconds(cpu / 1000)}${cpuParts},` +
      ` ${facts.clock} time ${formatSeconds(clockMs)}`,
  );
  lines.push(failures.length === 0 && notRun === 0 && facts.stop === "done" ? "PASS" : "FAIL");
  return lines;
}

/** How many lines of an unexpected error's stack are shown; the top frames say where it happened. */
const STACK_LINES_MAX = 12;

/** A failure's report: a header, its message (with the seed and replay command), and the cause's stack. */
export function failureLines(record: LabRunRecord): string[] {
  const lines = [`--- FAIL: ${record.name} (seed ${record.seed}, ${formatSeconds(record.wallMs)})`];
  lines.push(...(record.error ?? "failed without a message").split("\n"));
  if (record.stack !== null) {
    const stack = record.stack.split("\n");
    lines.push(...stack.slice(0, STACK_LINES_MAX).map((line) => `    ${line.trim()}`));
    if (stack.length > STACK_LINES_MAX) lines.push(`    ... ${stack.length - STACK_LINES_MAX} more frames`);
  }
  return lines;
}

/** Milliseconds as seconds with two decimals (`1.25s`); from ten minutes on, minutes and seconds (`12m05s`). */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 600) return `${seconds.toFixed(2)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${(seconds - minutes * 60).toFixed(0).padStart(2, "0")}s`;
}

/**
 * Records sorted by scenario (in the order given, the course's) and then seed, so a report reads the same
 * whatever order parallel runs finished in, and one scenario's failures stand together.
 */
export function sortRecords(
  records: readonly LabRunRecord[],
  scenarioNames: readonly string[],
): LabRunRecord[] {
  const rank = new Map(scenarioNames.map((name, index) => [name, index]));
  const rankOf = (record: LabRunRecord): number => rank.get(record.name) ?? scenarioNames.length;
  return [...records].sort((a, b) => rankOf(a) - rankOf(b) || a.seed - b.seed);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
