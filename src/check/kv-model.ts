import { unreachable } from "../util/assert.ts";
import type { Model, StepResult } from "./model.ts";
import { HistoryError, type Operation } from "./operation.ts";

/** A request to the key-value store; keys and values are strings. */
export type KvInput =
  /** Reads a key: answers its value, or null if it has none. */
  | { readonly kind: "get"; readonly key: string }
  /** Sets a key's value. */
  | { readonly kind: "put"; readonly key: string; readonly value: string }
  /** Appends to a key's value (a missing key counts as ""). */
  | { readonly kind: "append"; readonly key: string; readonly value: string }
  /** Removes a key. */
  | { readonly kind: "delete"; readonly key: string }
  /** Sets a key to `value` if its value is `expected` (null: the key is missing); answers whether it did. */
  | { readonly kind: "cas"; readonly key: string; readonly expected: string | null; readonly value: string };

/** The store's answer: a value for get, "done" for put/append/delete, whether it swapped for cas. */
export type KvOutput =
  | { readonly kind: "value"; readonly value: string | null }
  | { readonly kind: "done" }
  | { readonly kind: "swapped"; readonly swapped: boolean };

/** The state of one key (the model checks each key on its own): its value, or null when missing. */
export type KvKeyState = string | null;

/** Input constructors, so histories read like the operations they record. */
export const kv = {
  get: (key: string): KvInput => ({ kind: "get", key }),
  put: (key: string, value: string): KvInput => ({ kind: "put", key, value }),
  append: (key: string, value: string): KvInput => ({ kind: "append", key, value }),
  delete: (key: string): KvInput => ({ kind: "delete", key }),
  cas: (key: string, expected: string | null, value: string): KvInput => ({
    kind: "cas",
    key,
    expected,
    value,
  }),
} as const;

/** Output constructors matching {@link kv}. */
export const kvOutput = {
  value: (value: string | null): KvOutput => ({ kind: "value", value }),
  done: { kind: "done" } as KvOutput,
  swapped: (swapped: boolean): KvOutput => ({ kind: "swapped", swapped }),
} as const;

/** The value a key holds after `input` takes effect on `value`, and what the store answers. */
export function applyKvInput(
  value: KvKeyState,
  input: KvInput,
): { readonly next: KvKeyState; readonly output: KvOutput } {
  switch (input.kind) {
    case "get":
      return { next: value, output: kvOutput.value(value) };
    case "put":
      return { next: input.value, output: kvOutput.done };
    case "append":
      return { next: (value ?? "") + input.value, output: kvOutput.done };
    case "delete":
      return { next: null, output: kvOutput.done };
    case "cas": {
      const swapped = value === input.expected;
      return { next: swapped ? input.value : value, output: kvOutput.swapped(swapped) };
    }
    default:
      return unreachable(input);
  }
}

/** The output kind each input kind answers with. */
const OUTPUT_KIND = {
  get: "value",
  put: "done",
  append: "done",
  delete: "done",
  cas: "swapped",
} as const satisfies Record<KvInput["kind"], KvOutput["kind"]>;

/**
 * Applies a completed operation: whether the store, holding `value`, answers `input` with `output`, and
 * the value after. Written out rather than through {@link applyKvInput}, as it runs at every search step and
 * should not allocate.
 */
function stepKey(value: KvKeyState, input: KvInput, output: KvOutput): StepResult<KvKeyState> {
  if (OUTPUT_KIND[input.kind] !== output.kind) {
    throw new HistoryError(`kv model: ${input.kind} cannot answer ${JSON.stringify(output)}`);
  }
  switch (input.kind) {
    case "get":
      return { ok: output.kind === "value" && output.value === value, next: value };
    case "put":
      return { ok: true, next: input.value };
    case "append":
      return { ok: true, next: (value ?? "") + input.value };
    case "delete":
      return { ok: true, next: null };
    case "cas": {
      const swapped = value === input.expected;
      return {
        ok: output.kind === "swapped" && output.swapped === swapped,
        next: swapped ? input.value : value,
      };
    }
    default:
      return unreachable(input);
  }
}

function quote(value: string | null): string {
  return value === null ? "null" : JSON.stringify(value);
}

function describeInput(input: KvInput): string {
  switch (input.kind) {
    case "get":
    case "delete":
      return `${input.kind}(${quote(input.key)})`;
    case "put":
    case "append":
      return `${input.kind}(${quote(input.key)}, ${quote(input.value)})`;
    case "cas":
      return `cas(${quote(input.key)}, ${quote(input.expected)}, ${quote(input.value)})`;
    default:
      return unreachable(input);
  }
}

function describeOutput(output: KvOutput | undefined): string {
  if (output === undefined) return "? (timed out)";
  switch (output.kind) {
    case "value":
      return quote(output.value);
    case "done":
      return "ok";
    case "swapped":
      return String(output.swapped);
    default:
      return unreachable(output);
  }
}

/**
 * Splits a key-value history per key, in order of each key's first operation. Gets that never returned are
 * dropped: they change nothing, and leaving any operation out is always allowed.
 */
function partitionByKey(
  operations: readonly Operation<KvInput, KvOutput>[],
): Operation<KvInput, KvOutput>[][] {
  const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
  for (const operation of operations) {
    if (operation.returned === null && operation.input.kind === "get") continue;
    const part = byKey.get(operation.input.key);
    if (part === undefined) byKey.set(operation.input.key, [operation]);
    else part.push(operation);
  }
  return [...byKey.values()];
}

/**
 * A linearizable key-value store with get/put/append/delete/cas on string keys (see {@link KvInput}),
 * checked one key at a time: the store is linearizable exactly when each key's sub-history is
 * (P-compositionality, Herlihy & Wing's locality), which keeps the search small.
 */
export const kvModel: Model<KvKeyState, KvInput, KvOutput> = {
  init: () => null,
  step: stepKey,
  stepUnknown: (state: KvKeyState, input: KvInput): KvKeyState => applyKvInput(state, input).next,
  // A leading marker keeps null and every string apart.
  hash: (state: KvKeyState): string => (state === null ? "-" : `+${state}`),
  describeOperation: (input: KvInput, output: KvOutput | undefined): string =>
    `${describeInput(input)} -> ${describeOutput(output)}`,
  describeState: (state: KvKeyState): string => (state === null ? "missing" : quote(state)),
  partition: partitionByKey,
};
