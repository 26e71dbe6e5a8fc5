import { type KvInput, type KvKeyState, type KvOutput, kvModel, type Model } from "../check/index.ts";
import { APPEND_TOKEN_END } from "./append-tokens.ts";

/**
 * The sequential model of one append key, narrowed by its final read. On such a key only appends of unique
 * tokens and reads happen, and the final read was called after every other operation had ended. In any
 * linearization, then, the appends the final read shows come in the order it shows them (each later value
 * extends every earlier one), and the others come after it or never. So the model may insist on that order
 * without losing a linearization, and every linearization it accepts is one of the plain key-value model: the
 * verdict is the same as kvModel's. Its state is just how many of the final read's tokens are in, so the
 * many orders of concurrent appends that kvModel would tell apart (each a different string) are one state
 * here, which keeps the search linear where kvModel's can be exponential.
 */

/** The state of an append key under {@link appendOrderModel}: tokens in so far, or {@link DEAD}. */
export type AppendOrderState = number;

/** A state no completed operation can follow: an append outside the final read's order took effect. */
const DEAD = -1;

/** The model of an append key whose final read shows `order` (its tokens, in order). */
export function appendOrderModel(order: readonly string[]): Model<AppendOrderState, KvInput, KvOutput> {
  // prefixes[n]: the value after the first n appends (null before any: the key does not exist).
  const prefixes: (string | null)[] = [null];
  let value = "";
  for (const token of order) {
    value += `${token}${APPEND_TOKEN_END}`;
    prefixes.push(value);
  }
  const next = (state: AppendOrderState, input: KvInput): AppendOrderState =>
    state !== DEAD && input.kind === "append" && input.value === `${order[state]}${APPEND_TOKEN_END}`
      ? state + 1
      : DEAD;
  const keyValue = (state: AppendOrderState): KvKeyState =>
    state === DEAD ? null : (prefixes[state] ?? null);
  return {
    init: () => 0,
    step: (state, input, output) => {
      if (state === DEAD) return { ok: false, next: state };
      if (input.kind === "get") {
        return { ok: output.kind === "value" && output.value === prefixes[state], next: state };
      }
      const after = next(state, input);
      return { ok: after !== DEAD && output.kind === "done", next: after };
    },
    stepUnknown: (state, input) => (input.kind === "get" ? state : next(state, input)),
    hash: (state) => String(state),
    describeOperation: (input, output) => kvModel.describeOperation?.(input, output) ?? input.kind,
    describeState: (state) =>
      state === DEAD
        ? "an append out of the final read's order"
        : (kvModel.describeState?.(keyValue(state)) ?? ""),
  };
}
