/**
 * Limits: a search that runs out of steps, time (the caller's deadline) or memory answers "unknown" with a
 * reason, never "ok"; bad limits are refused.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkOperations,
  DEADLINE_CHECK_INTERVAL_STEPS,
  describeResult,
  kv,
  kvModel,
  kvOutput,
} from "../../src/check/index.ts";
import type { KvOperation } from "./kv-histories.ts";

/**
 * `appends` concurrent appends of distinct letters that all timed out, then a read of a value no subset in
 * any order can produce: proving it illegal means trying every ordered subset, which the memo cannot shrink
 * because every order leaves a different value.
 */
function pathological(appends: number): KvOperation[] {
  const operations: KvOperation[] = Array.from({ length: appends }, (_, id) => ({
    id,
    clientId: id,
    input: kv.append("x", String.fromCharCode(97 + id)),
    call: 0,
    returned: null,
    output: undefined,
  }));
  operations.push({
    id: appends,
    clientId: appends,
    input: kv.get("x"),
    call: 1,
    returned: 2,
    output: kvOutput.value("!"),
  });
  return operations;
}

/** A legal history: one client writing and reading back, `writes` times. */
function sequentialWrites(writes: number): KvOperation[] {
  return Array.from({ length: writes }, (_, i) => [
    {
      id: 2 * i,
      clientId: 1,
      input: kv.put("x", `${i}`),
      call: 4 * i,
      returned: 4 * i + 1,
      output: kvOutput.done,
    },
    {
      id: 2 * i + 1,
      clientId: 1,
      input: kv.get("x"),
      call: 4 * i + 2,
      returned: 4 * i + 3,
      output: kvOutput.value(`${i}`),
    },
  ]).flat();
}

describe("limits", () => {
  test("a pathological history with a small step budget is unknown, with the reason", () => {
    const result = checkOperations(kvModel, pathological(12), { timeoutSteps: 5000 });
    assert.equal(result.outcome, "unknown");
    if (result.outcome !== "unknown") return;
    assert.equal(result.cause, "steps");
    assert.equal(result.steps, 5000);
    assert.match(result.reason, /step budget of 5000 search steps exhausted in partition 0 \(13 operations/);
    assert.match(describeResult(result), /^unknown: step budget/);
  });

  test("the same shape, small enough to finish, is illegal", () => {
    const result = checkOperations(kvModel, pathological(4));
    assert.equal(result.outcome, "illegal", describeResult(result));
    if (result.outcome === "illegal")
      assert.deepEqual(
        result.explanation.blocked.map(({ operation }) => operation.id),
        [4],
      );
  });

  test("a budget too small for a legal history gives unknown, never ok", () => {
    const history = sequentialWrites(50);
    assert.equal(checkOperations(kvModel, history).outcome, "ok");
    for (const timeoutSteps of [1, 10, 99]) {
      const result = checkOperations(kvModel, history, { timeoutSteps });
      assert.equal(result.outcome, "unknown", `budget ${timeoutSteps}`);
    }
  });

  test("the budget is shared by all partitions", () => {
    const twoKeys = [
      ...sequentialWrites(10),
      ...sequentialWrites(10).map((operation) => ({
        ...operation,
        id: operation.id + 100,
        input: { ...operation.input, key: "y" },
      })),
    ];
    const needed = checkOperations(kvModel, twoKeys);
    assert.equal(needed.outcome, "ok");
    assert.equal(checkOperations(kvModel, twoKeys, { timeoutSteps: needed.steps }).outcome, "ok");
    assert.equal(checkOperations(kvModel, twoKeys, { timeoutSteps: needed.steps - 1 }).outcome, "unknown");
  });

  test("a deadline stops the search at the next poll", () => {
    let polls = 0;
    const deadline = () => ++polls > 3;
    const result = checkOperations(kvModel, pathological(12), { deadline });
    assert.equal(result.outcome, "unknown");
    if (result.outcome !== "unknown") return;
    assert.equal(result.cause, "deadline");
    assert.equal(result.steps, 3 * DEADLINE_CHECK_INTERVAL_STEPS);
    assert.match(result.reason, /deadline passed/);
  });

  test("a deadline already passed stops before any search", () => {
    const result = checkOperations(kvModel, sequentialWrites(3), { deadline: () => true });
    assert.equal(result.outcome, "unknown");
    assert.equal(result.steps, 0);
  });

  test("a full visited-state cache gives unknown", () => {
    const result = checkOperations(kvModel, pathological(12), { cacheWordsMax: 1000 });
    assert.equal(result.outcome, "unknown");
    if (result.outcome === "unknown") assert.equal(result.cause, "memory");
  });

  test("limits must be positive integers", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => checkOperations(kvModel, [], { timeoutSteps: bad }), RangeError);
      assert.throws(() => checkOperations(kvModel, [], { cacheWordsMax: bad }), RangeError);
    }
  });
});
