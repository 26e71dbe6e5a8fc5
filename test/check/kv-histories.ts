/**
 * Small key-value histories for the checker's tests: fast-check arbitraries for histories produced by a
 * simulated linearizable store (legal by construction) and for arbitrary ones, and a brute-force
 * linearizability decision that shares no code with the checker.
 */
import fc from "fast-check";
import type { KvInput, KvOutput, Operation } from "../../src/check/index.ts";

/** A key-value operation as the tests handle it. */
export type KvOperation = Operation<KvInput, KvOutput>;

const KEYS = ["x", "y"] as const;
const VALUES = ["a", "b", "c"] as const;
/** Expected values for cas: the written values, an append of two of them, and "missing". */
const EXPECTED = [null, "a", "b", "ab"] as const;
/** Clients of the small histories; medium ones pass more. */
const CLIENTS_DEFAULT = 3;

/** One operation's shape, from which a history is built. */
interface OperationSpec {
  readonly client: number;
  readonly keyIndex: number;
  readonly kind: KvInput["kind"];
  readonly value: string;
  readonly expected: string | null;
  /** Idle time of the client before calling. */
  readonly gap: number;
  /** From call to the moment the store applies the operation. */
  readonly applyDelay: number;
  /** From that moment to the return. */
  readonly returnDelay: number;
  /** Whether the client gives up waiting (the operation never returns). */
  readonly timedOut: boolean;
  /** For a timed-out operation: whether the store never applies it at all. */
  readonly lost: boolean;
  /** For a timed-out operation: extra delay before the store applies it, possibly after later operations. */
  readonly lateBy: number;
}

const operationSpec = (clients: number): fc.Arbitrary<OperationSpec> =>
  fc.record({
    client: fc.nat(clients - 1),
    keyIndex: fc.nat(KEYS.length - 1),
    kind: fc.constantFrom<KvInput["kind"]>("get", "put", "append", "delete", "cas"),
    value: fc.constantFrom(...VALUES),
    expected: fc.constantFrom(...EXPECTED),
    gap: fc.nat(3),
    applyDelay: fc.nat(3),
    returnDelay: fc.nat(3),
    timedOut: fc.nat(4).map((draw) => draw === 0),
    lost: fc.boolean(),
    lateBy: fc.nat(12),
  });

/** Arrays of 1 to `lengthMax` items, weighted towards the long ones (where interleavings get interesting). */
function arrayOfLength<T>(item: fc.Arbitrary<T>, lengthMax: number): fc.Arbitrary<T[]> {
  const anyLength = fc.integer({ min: 1, max: lengthMax });
  const longLength = fc.integer({ min: Math.ceil(lengthMax / 2), max: lengthMax });
  return fc
    .oneof({ arbitrary: anyLength, weight: 1 }, { arbitrary: longLength, weight: 2 })
    .chain((length) => fc.array(item, { minLength: length, maxLength: length }));
}

function inputOf(spec: OperationSpec, keyCount: number): KvInput {
  const key = KEYS[spec.keyIndex % keyCount] ?? "x";
  switch (spec.kind) {
    case "get":
      return { kind: "get", key };
    case "delete":
      return { kind: "delete", key };
    case "put":
    case "append":
      return { kind: spec.kind, key, value: spec.value };
    case "cas":
      return { kind: "cas", key, expected: spec.expected, value: spec.value };
  }
}

/** Applies `input` to a whole store (all keys), returning the answer: the sequential specification. */
export function applyToStore(store: Map<string, string>, input: KvInput): KvOutput {
  const current = store.get(input.key) ?? null;
  switch (input.kind) {
    case "get":
      return { kind: "value", value: current };
    case "put":
      store.set(input.key, input.value);
      return { kind: "done" };
    case "append":
      store.set(input.key, (current ?? "") + input.value);
      return { kind: "done" };
    case "delete":
      store.delete(input.key);
      return { kind: "done" };
    case "cas": {
      const swapped = current === input.expected;
      if (swapped) store.set(input.key, input.value);
      return { kind: "swapped", swapped };
    }
  }
}

function sameOutput(a: KvOutput, b: KvOutput): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A history of a simulated linearizable store: each client runs its operations one after another; each
 * operation takes effect at one moment inside its interval (timed-out ones at any later moment, or never),
 * and answers from the store's state at that moment.
 */
function simulateLegal(specs: readonly OperationSpec[], keyCount: number): KvOperation[] {
  const clientFreeAt: number[] = [];
  const timeline = specs.map((spec, id) => {
    const call = (clientFreeAt[spec.client] ?? 0) + spec.gap;
    const applyAt = call + spec.applyDelay + (spec.timedOut ? spec.lateBy : 0);
    const returned = spec.timedOut ? null : call + spec.applyDelay + spec.returnDelay;
    // A client that timed out moves on after waiting as long as a normal answer would have taken.
    clientFreeAt[spec.client] = returned ?? call + spec.applyDelay + spec.returnDelay;
    return { id, spec, call, applyAt, returned, input: inputOf(spec, keyCount) };
  });
  const store = new Map<string, string>();
  const outputs = new Map<number, KvOutput>();
  const applied = timeline.filter((entry) => !(entry.spec.timedOut && entry.spec.lost));
  for (const entry of applied.sort((a, b) => a.applyAt - b.applyAt || a.id - b.id)) {
    outputs.set(entry.id, applyToStore(store, entry.input));
  }
  return timeline.map(({ id, spec, call, returned, input }) => ({
    id,
    clientId: spec.client,
    input,
    call,
    returned,
    output: returned === null ? undefined : outputs.get(id),
  }));
}

/** Histories of 1 to `operationsMax` operations on 1 or 2 keys that a linearizable store could produce. */
export function legalHistory(operationsMax: number, clients = CLIENTS_DEFAULT): fc.Arbitrary<KvOperation[]> {
  return fc
    .record({
      keyCount: fc.integer({ min: 1, max: KEYS.length }),
      specs: arrayOfLength(operationSpec(clients), operationsMax),
    })
    .map(({ keyCount, specs }) => simulateLegal(specs, keyCount));
}

const randomOutput: Record<KvInput["kind"], fc.Arbitrary<KvOutput>> = {
  get: fc.constantFrom<string | null>(null, "a", "b", "c", "ab").map((value) => ({ kind: "value", value })),
  put: fc.constant({ kind: "done" }),
  append: fc.constant({ kind: "done" }),
  delete: fc.constant({ kind: "done" }),
  cas: fc.boolean().map((swapped) => ({ kind: "swapped", swapped })),
};

/** Histories with arbitrary intervals and arbitrary (well-typed) answers: mostly illegal, some legal. */
export function randomHistory(operationsMax: number): fc.Arbitrary<KvOperation[]> {
  const operation = fc
    .record({ spec: operationSpec(CLIENTS_DEFAULT), call: fc.nat(12), duration: fc.nat(6) })
    .chain(({ spec, call, duration }) =>
      randomOutput[spec.kind].map((output) => ({ spec, call, duration, output })),
    );
  return fc
    .record({
      keyCount: fc.integer({ min: 1, max: KEYS.length }),
      drawn: arrayOfLength(operation, operationsMax),
    })
    .map(({ keyCount, drawn }) =>
      drawn.map(({ spec, call, duration, output }, id) => ({
        id,
        clientId: spec.client,
        input: inputOf(spec, keyCount),
        call,
        returned: spec.timedOut ? null : call + duration,
        output: spec.timedOut ? undefined : output,
      })),
    );
}

/**
 * Legal histories with one answer (of a get or cas) replaced by another well-typed answer: often just barely
 * illegal. Histories without such an answer stay as they are.
 */
export function mutatedHistory(
  operationsMax: number,
  clients = CLIENTS_DEFAULT,
): fc.Arbitrary<KvOperation[]> {
  return legalHistory(operationsMax, clients).chain((history) => {
    const answers = history.filter(
      (operation) => operation.output !== undefined && operation.output.kind !== "done",
    );
    if (answers.length === 0) return fc.constant(history);
    return fc
      .record({ victim: fc.constantFrom(...answers), replacement: fc.nat(4) })
      .map(({ victim, replacement }) =>
        history.map((operation) =>
          operation === victim && operation.output !== undefined
            ? { ...operation, output: otherOutput(operation.output, replacement) }
            : operation,
        ),
      );
  });
}

function otherOutput(output: KvOutput, choice: number): KvOutput {
  switch (output.kind) {
    case "value": {
      const others = [null, "a", "b", "c", "ab"].filter((value) => value !== output.value);
      return { kind: "value", value: others[choice % others.length] ?? null };
    }
    case "swapped":
      return { kind: "swapped", swapped: !output.swapped };
    case "done":
      return output;
  }
}

/** Whether `sequence` respects real time: no operation is placed before one that returned before its call. */
function respectsRealTime(sequence: readonly KvOperation[]): boolean {
  return sequence.every((later, position) =>
    sequence
      .slice(0, position)
      .every((earlier) => !(later.returned !== null && later.returned < earlier.call)),
  );
}

/** Whether applying `sequence` to an empty store reproduces every answer of the operations that returned. */
function explainsOutputs(sequence: readonly KvOperation[]): boolean {
  const store = new Map<string, string>();
  return sequence.every((operation) => {
    const answer = applyToStore(store, operation.input);
    return operation.output === undefined || sameOutput(answer, operation.output);
  });
}

/** Every ordering of `items`, extended one element at a time while `keep(prefix)` holds. */
function someOrdering<T>(items: readonly T[], keep: (prefix: readonly T[]) => boolean): boolean {
  const prefix: T[] = [];
  const used = new Array<boolean>(items.length).fill(false);
  const extend = (): boolean => {
    if (prefix.length === items.length) return true;
    for (const [index, item] of items.entries()) {
      if (used[index]) continue;
      prefix.push(item);
      used[index] = true;
      const found = keep(prefix) && extend();
      prefix.pop();
      used[index] = false;
      if (found) return true;
    }
    return false;
  };
  return extend();
}

/**
 * The definition, by exhaustion: for every subset of the operations that never returned, try every ordering
 * of the returned operations plus that subset, on the whole store (no per-key split), and accept if one
 * respects real time and reproduces every answer. Orderings are extended while their prefix still could.
 */
export function bruteForceLinearizable(history: readonly KvOperation[]): boolean {
  const completed = history.filter((operation) => operation.returned !== null);
  const pending = history.filter((operation) => operation.returned === null);
  for (let subset = 0; subset < 2 ** pending.length; subset++) {
    const included = pending.filter((_, bit) => (subset & (2 ** bit)) !== 0);
    const valid = (prefix: readonly KvOperation[]) => respectsRealTime(prefix) && explainsOutputs(prefix);
    if (someOrdering([...completed, ...included], valid)) return true;
  }
  return false;
}

/**
 * Whether `linearization` (the checker's witness: one order per partition) explains `history`: each key's
 * operations appear in one order, which holds every returned operation of the key, some of its timed-out
 * ones, nothing else, and respects real time and the answers.
 */
export function isWitnessFor(
  history: readonly KvOperation[],
  linearization: readonly (readonly KvOperation[])[],
): boolean {
  const keys = new Set(history.map((operation) => operation.input.key));
  return [...keys].every((key) => {
    const ofKey = history.filter((operation) => operation.input.key === key);
    const orders = linearization.filter((order) => order.some((operation) => operation.input.key === key));
    if (orders.length > 1) return false;
    const order = orders[0] ?? [];
    const ids = new Set(order.map((operation) => operation.id));
    const holdsReturned = ofKey.every((operation) => operation.returned === null || ids.has(operation.id));
    const onlyKey = order.every((operation) => ofKey.includes(operation)) && ids.size === order.length;
    return holdsReturned && onlyKey && respectsRealTime(order) && explainsOutputs(order);
  });
}

/**
 * A second, independent decision for histories too long for {@link bruteForceLinearizable}: per key, a
 * plain depth-first search over orderings with a memo of (linearized operations, value) pairs, the textbook
 * form of the algorithm without any of the checker's refinements.
 */
export function memoizedLinearizable(history: readonly KvOperation[]): boolean {
  const keys = new Set(history.map((operation) => operation.input.key));
  return [...keys].every((key) =>
    keyLinearizable(history.filter((operation) => operation.input.key === key)),
  );
}

function keyLinearizable(operations: readonly KvOperation[]): boolean {
  const taken = operations.map(() => false);
  const failed = new Set<string>();
  const enabled = (index: number): boolean =>
    operations.every(
      (other, otherIndex) =>
        taken[otherIndex] || other.returned === null || other.returned >= (operations[index]?.call ?? 0),
    );
  const search = (store: ReadonlyMap<string, string>): boolean => {
    if (operations.every((operation, index) => taken[index] || operation.returned === null)) return true;
    const memoKey = `${taken.map(Number).join("")}|${JSON.stringify([...store])}`;
    if (failed.has(memoKey)) return false;
    for (const [index, operation] of operations.entries()) {
      if (taken[index] || !enabled(index)) continue;
      const next = new Map(store);
      const answer = applyToStore(next, operation.input);
      if (operation.output !== undefined && !sameOutput(answer, operation.output)) continue;
      taken[index] = true;
      const found = search(next);
      taken[index] = false;
      if (found) return true;
    }
    failed.add(memoKey);
    return false;
  };
  return search(new Map());
}
