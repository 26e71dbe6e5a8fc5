/**
 * Linearizability checker benchmark: `npx tsx bench/check-bench.ts [runs]`.
 *
 * For each size, generates (seeded) a legal key-value history from a simulated linearizable store: clients
 * issue operations one after another on uniformly chosen keys; each operation takes effect at one random
 * moment inside its interval and answers from the store's state at that moment, so intervals of different
 * clients overlap at random. About 1% of operations time out: the client gives up and moves on, and the store
 * applies the operation much later or never. Then it times `checkOperations` on the history several times
 * and prints the median and the operations checked per second, one row per size.
 */
import { performance } from "node:perf_hooks";
import {
  applyKvInput,
  checkOperations,
  describeResult,
  type KvInput,
  type KvOutput,
  kvModel,
  type Operation,
} from "../src/check/index.ts";
import { Random } from "../src/util/random.ts";

interface Size {
  readonly operations: number;
  readonly keys: number;
  readonly clients: number;
}

const SIZES: readonly Size[] = [
  { operations: 10_000, keys: 100, clients: 8 },
  { operations: 10_000, keys: 100, clients: 64 },
  { operations: 100_000, keys: 1000, clients: 8 },
  { operations: 100_000, keys: 1000, clients: 64 },
  { operations: 100_000, keys: 100, clients: 64 },
  // Hot keys: about 1.6 clients per key, and 8 timed-out operations per key that stay candidates forever.
  { operations: 10_000, keys: 10, clients: 16 },
];

const SEED = 20240611;
const RUNS_DEFAULT = 5;
/** Ticks a client waits between operations: 0..IDLE_TICKS_MAX. */
const IDLE_TICKS_MAX = 5;
/** Ticks from call to effect, and from effect to return: 0..LATENCY_TICKS_MAX each. */
const LATENCY_TICKS_MAX = 20;
/** Ticks a client waits before giving up on an operation. */
const TIMEOUT_TICKS = 2 * LATENCY_TICKS_MAX;
/** Chance (per thousand) that an operation times out, and that a timed-out one never takes effect. */
const TIMEOUT_PER_MILLE = 10;
const LOST_PER_MILLE = 500;
/** How late (ticks after the call) a timed-out operation may still take effect. */
const LATE_EFFECT_TICKS_MAX = 50 * LATENCY_TICKS_MAX;

type KvOperation = Operation<KvInput, KvOutput>;

interface Planned {
  readonly id: number;
  readonly clientId: number;
  readonly key: string;
  readonly call: number;
  /** When the store applies it, or null if never. */
  readonly effectAt: number | null;
  readonly returned: number | null;
}

/** Each client's operations in time order; inputs are chosen later, at call time, from the store's state. */
function planTimeline(size: Size, random: Random): Planned[] {
  const planned: Planned[] = [];
  const freeAt = new Array<number>(size.clients).fill(0);
  for (let id = 0; id < size.operations; id++) {
    const clientId = id % size.clients;
    const call = (freeAt[clientId] ?? 0) + random.intBetween(0, IDLE_TICKS_MAX);
    const key = `k${random.int(size.keys)}`;
    if (random.chance(TIMEOUT_PER_MILLE, 1000)) {
      const effectAt = random.chance(LOST_PER_MILLE, 1000)
        ? null
        : call + random.intBetween(0, LATE_EFFECT_TICKS_MAX);
      planned.push({ id, clientId, key, call, effectAt, returned: null });
      freeAt[clientId] = call + TIMEOUT_TICKS;
    } else {
      const effectAt = call + random.intBetween(0, LATENCY_TICKS_MAX);
      const returned = effectAt + random.intBetween(0, LATENCY_TICKS_MAX);
      planned.push({ id, clientId, key, call, effectAt, returned });
      freeAt[clientId] = returned;
    }
  }
  return planned;
}

/** An input for an operation on `key` called while the store holds `current` there. */
function chooseInput(key: string, current: string | null, id: number, random: Random): KvInput {
  const draw = random.int(100);
  if (draw < 50) return { kind: "get", key };
  if (draw < 70) return { kind: "put", key, value: `v${id}` };
  if (draw < 80) return { kind: "append", key, value: `+${id % 10}` };
  if (draw < 85) return { kind: "delete", key };
  // Half of the cas expect the value at call time (they may still lose a race), half a made-up one.
  const expected = random.chance(1, 2) ? current : `v${random.int(id + 1)}`;
  return { kind: "cas", key, expected, value: `c${id}` };
}

/** Applies `input` to a whole store through the model's own sequential specification. */
function applyToStore(store: Map<string, string>, input: KvInput): KvOutput {
  const { next, output } = applyKvInput(store.get(input.key) ?? null, input);
  if (next === null) store.delete(input.key);
  else store.set(input.key, next);
  return output;
}

/** Replays calls and effects in time order (calls first at equal times), recording every answer. */
function generateHistory(size: Size, seed: number): KvOperation[] {
  const random = new Random(seed);
  const planned = planTimeline(size, random);
  const events = planned.flatMap((operation) => [
    { time: operation.call, isCall: true, operation },
    ...(operation.effectAt === null ? [] : [{ time: operation.effectAt, isCall: false, operation }]),
  ]);
  events.sort(
    (a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.operation.id - b.operation.id,
  );
  const store = new Map<string, string>();
  const inputs = new Map<number, KvInput>();
  const outputs = new Map<number, KvOutput>();
  for (const { isCall, operation } of events) {
    if (isCall) {
      inputs.set(
        operation.id,
        chooseInput(operation.key, store.get(operation.key) ?? null, operation.id, random),
      );
    } else {
      outputs.set(
        operation.id,
        applyToStore(store, inputs.get(operation.id) ?? { kind: "get", key: operation.key }),
      );
    }
  }
  return planned.map(({ id, clientId, key, call, returned }) => ({
    id,
    clientId,
    input: inputs.get(id) ?? { kind: "get", key },
    call,
    returned,
    output: returned === null ? undefined : outputs.get(id),
  }));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The most clients with an operation in flight at once: how much the history overlaps. */
function peakConcurrency(history: readonly KvOperation[]): number {
  const end = Math.max(...history.map((operation) => operation.call)) + TIMEOUT_TICKS;
  const deltas = history.flatMap((operation) => [
    { time: operation.call, delta: 1 },
    { time: operation.returned ?? operation.call + TIMEOUT_TICKS, delta: -1 },
  ]);
  deltas.push({ time: end, delta: 0 });
  deltas.sort((a, b) => a.time - b.time || b.delta - a.delta);
  let current = 0;
  let peak = 0;
  for (const { delta } of deltas) {
    current += delta;
    peak = Math.max(peak, current);
  }
  return peak;
}

function main(): void {
  const runs = Number(process.argv[2] ?? RUNS_DEFAULT);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    console.error("usage: check-bench [runs (positive integer)]");
    process.exit(2);
  }
  console.log(
    `linearizability checker, kv model, seed ${SEED}, median of ${runs} runs (after one warm-up)\n`,
  );
  const header = [
    "operations",
    "keys",
    "clients",
    "peak overlap",
    "timed out",
    "steps",
    "median ms",
    "ops/s",
  ];
  const rows: string[][] = [header];
  for (const size of SIZES) {
    const history = generateHistory(size, SEED);
    const timedOut = history.filter((operation) => operation.returned === null).length;
    const times: number[] = [];
    let steps = 0;
    for (let run = 0; run <= runs; run++) {
      const started = performance.now();
      const result = checkOperations(kvModel, history);
      const elapsed = performance.now() - started;
      if (result.outcome !== "ok")
        throw new Error(`generated history not ok: ${describeResult(result)} after ${elapsed} ms`);
      steps = result.steps;
      if (run > 0) times.push(elapsed);
    }
    const ms = median(times);
    rows.push([
      String(size.operations),
      String(size.keys),
      String(size.clients),
      String(peakConcurrency(history)),
      String(timedOut),
      String(steps),
      ms.toFixed(1),
      Math.round((size.operations / ms) * 1000).toLocaleString("en-US"),
    ]);
  }
  const widths = header.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  for (const row of rows)
    console.log(row.map((cell, column) => cell.padStart(widths[column] ?? 0)).join("  "));
}

main();
