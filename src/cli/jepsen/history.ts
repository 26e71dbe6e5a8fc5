/**
 * The run's history, Jepsen style: one event when a client invokes an operation and one when it ends (`ok`,
 * `fail` or `info`), with times in milliseconds since the run started. Written as JSON lines; turned into the
 * operations `src/check` decides linearizability on.
 */
import type { KvInput, KvOutput, Operation } from "../../check/index.ts";
import { kvOutput } from "../../check/index.ts";
import type { ClientOperation, ClientOutcome } from "./client.ts";

/** One line of history.jsonl. */
export type HistoryLine =
  | {
      readonly type: "invoke";
      readonly id: number;
      readonly process: number;
      readonly time: number;
      readonly f: ClientOperation["f"];
      readonly key: string;
      readonly value?: string;
      readonly expected?: string | null;
    }
  | {
      readonly type: "ok";
      readonly id: number;
      readonly process: number;
      readonly time: number;
      readonly node: number;
      readonly value?: string | null;
      readonly swapped?: boolean;
      readonly attempts: number;
    }
  | {
      readonly type: "fail" | "info";
      readonly id: number;
      readonly process: number;
      readonly time: number;
      readonly error: string;
      readonly attempts: number;
    };

/** Counts of a history's operations. */
export interface OperationCounts {
  readonly invoked: number;
  readonly ok: number;
  readonly fail: number;
  /** Indeterminate: may or may not have taken effect. */
  readonly info: number;
  /** Still open when the history ended (should be 0: the harness waits for every client). */
  readonly open: number;
  /** Operations invoked per function (read, write, cas, append). */
  readonly byFunction: Readonly<Record<string, { ok: number; fail: number; info: number }>>;
}

export class History {
  readonly #lines: HistoryLine[] = [];
  readonly #clock: () => number;
  #nextId = 0;

  /** @param clock milliseconds since the run started; must never run backwards (performance.now() based). */
  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** Records an invocation and returns its id. */
  invoke(process: number, operation: ClientOperation): number {
    const id = this.#nextId++;
    const base = {
      type: "invoke" as const,
      id,
      process,
      time: this.#clock(),
      f: operation.f,
      key: operation.key,
    };
    switch (operation.f) {
      case "read":
        this.#lines.push(base);
        break;
      case "write":
      case "append":
        this.#lines.push({ ...base, value: operation.value });
        break;
      case "cas":
        this.#lines.push({ ...base, value: operation.value, expected: operation.expected });
        break;
    }
    return id;
  }

  /** Records how operation `id` of `process` ended. */
  complete(id: number, process: number, outcome: ClientOutcome): void {
    const time = this.#clock();
    if (outcome.type === "ok") {
      this.#lines.push({
        type: "ok",
        id,
        process,
        time,
        node: outcome.node,
        attempts: outcome.attempts,
        ...(outcome.value === undefined ? {} : { value: outcome.value }),
        ...(outcome.swapped === undefined ? {} : { swapped: outcome.swapped }),
      });
    } else {
      this.#lines.push({
        type: outcome.type,
        id,
        process,
        time,
        error: outcome.error,
        attempts: outcome.attempts,
      });
    }
  }

  lines(): readonly HistoryLine[] {
    return this.#lines;
  }

  /** The history as JSON lines. */
  toJsonl(): string {
    return this.#lines.map((line) => JSON.stringify(line)).join("\n") + (this.#lines.length > 0 ? "\n" : "");
  }

  counts(): OperationCounts {
    return countOperations(this.#lines);
  }
}

export function countOperations(lines: readonly HistoryLine[]): OperationCounts {
  const byFunction: Record<string, { ok: number; fail: number; info: number }> = {};
  const functionOf = new Map<number, string>();
  let invoked = 0;
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const line of lines) {
    if (line.type === "invoke") {
      invoked++;
      functionOf.set(line.id, line.f);
      byFunction[line.f] ??= { ok: 0, fail: 0, info: 0 };
      continue;
    }
    const counts = byFunction[functionOf.get(line.id) ?? "?"] ?? { ok: 0, fail: 0, info: 0 };
    counts[line.type]++;
    if (line.type === "ok") ok++;
    else if (line.type === "fail") fail++;
    else info++;
  }
  return { invoked, ok, fail, info, open: invoked - ok - fail - info, byFunction };
}

/**
 * The operations the linearizability checker reads: an `ok` operation returned its output; an `info` one
 * (or one still open) never returned, so it may have taken effect at any time after its call, or never; a
 * `fail` one certainly did not take effect and is left out.
 */
export function checkableOperations(lines: readonly HistoryLine[]): Operation<KvInput, KvOutput>[] {
  const invokes = new Map<number, Extract<HistoryLine, { type: "invoke" }>>();
  const ends = new Map<number, Exclude<HistoryLine, { type: "invoke" }>>();
  for (const line of lines) {
    if (line.type === "invoke") invokes.set(line.id, line);
    else ends.set(line.id, line);
  }
  const operations: Operation<KvInput, KvOutput>[] = [];
  for (const [id, invoke] of invokes) {
    const end = ends.get(id);
    if (end?.type === "fail") continue;
    const input = inputOf(invoke);
    if (end === undefined || end.type !== "ok") {
      operations.push({
        id,
        clientId: invoke.process,
        input,
        call: invoke.time,
        returned: null,
        output: undefined,
      });
      continue;
    }
    operations.push({
      id,
      clientId: invoke.process,
      input,
      call: invoke.time,
      returned: end.time,
      output: outputOf(invoke, end),
    });
  }
  return operations;
}

function inputOf(invoke: Extract<HistoryLine, { type: "invoke" }>): KvInput {
  const value = invoke.value ?? "";
  switch (invoke.f) {
    case "read":
      return { kind: "get", key: invoke.key };
    case "write":
      return { kind: "put", key: invoke.key, value };
    case "append":
      return { kind: "append", key: invoke.key, value };
    case "cas":
      return { kind: "cas", key: invoke.key, expected: invoke.expected ?? null, value };
  }
}

function outputOf(
  invoke: Extract<HistoryLine, { type: "invoke" }>,
  end: Extract<HistoryLine, { type: "ok" }>,
): KvOutput {
  switch (invoke.f) {
    case "read":
      return kvOutput.value(end.value ?? null);
    case "cas":
      return kvOutput.swapped(end.swapped === true);
    case "write":
    case "append":
      return kvOutput.done;
  }
}
