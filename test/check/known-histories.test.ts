/**
 * Hand-made key-value histories with known verdicts: classic anomalies (stale read, lost write, reading a
 * value no write could have produced, impossible cas) are illegal with an explanation naming the offending
 * operations, and tricky legal ones (overlaps, timed-out writes seen late or never) are ok.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type CheckResult,
  checkOperations,
  describeResult,
  type KvInput,
  type KvOutput,
  kv,
  kvModel,
  kvOutput,
} from "../../src/check/index.ts";
import type { KvOperation } from "./kv-histories.ts";

/** An operation that returned `output` at `returned`; the id is its position in the history. */
function done(clientId: number, input: KvInput, call: number, returned: number, output: KvOutput) {
  return { clientId, input, call, returned, output };
}

/** An operation that never returned. */
function timedOut(clientId: number, input: KvInput, call: number) {
  return { clientId, input, call, returned: null, output: undefined };
}

function history(...operations: Omit<KvOperation, "id">[]): KvOperation[] {
  return operations.map((operation, id) => ({ id, ...operation }));
}

function expectIllegal(result: CheckResult<KvInput, KvOutput>) {
  assert.equal(result.outcome, "illegal", describeResult(result));
  if (result.outcome !== "illegal") throw new Error("unreachable after assert");
  return result.explanation;
}

function ids(operations: readonly { readonly operation: KvOperation }[]): number[] {
  return operations.map(({ operation }) => operation.id).sort((a, b) => a - b);
}

const { done: ok, value, swapped } = kvOutput;

describe("illegal histories", () => {
  test("stale read: a read returns a value overwritten by a write that completed before it began", () => {
    const operations = history(
      done(1, kv.put("x", "1"), 0, 1, ok),
      done(1, kv.put("x", "2"), 2, 3, ok),
      done(2, kv.get("x"), 4, 5, value("1")),
    );
    const result = checkOperations(kvModel, operations);
    const explanation = expectIllegal(result);
    assert.deepEqual(ids(explanation.prefix), [0, 1]);
    assert.deepEqual(ids(explanation.blocked), [2]);
    assert.equal(explanation.stateAfterPrefix, '"2"');
    assert.equal(explanation.blocked[0]?.allowedByModel, false);
    const text = describeResult(result);
    assert.match(text, /not linearizable/);
    assert.match(text, /op 2 client 2: get\("x"\) -> "1" \[called 4, returned 5\]: not allowed here/);
    assert.match(text, /state after the prefix: "2"/);
  });

  test("lost write: an acknowledged put is invisible to a later read", () => {
    const operations = history(done(1, kv.put("x", "1"), 0, 1, ok), done(2, kv.get("x"), 2, 3, value(null)));
    const explanation = expectIllegal(checkOperations(kvModel, operations));
    assert.deepEqual(ids(explanation.prefix), [0]);
    assert.deepEqual(ids(explanation.blocked), [1]);
  });

  test("lost append: a later read misses an acknowledged append", () => {
    const operations = history(
      done(1, kv.append("x", "a"), 0, 1, ok),
      done(2, kv.append("x", "b"), 2, 3, ok),
      done(3, kv.get("x"), 4, 5, value("b")),
    );
    const explanation = expectIllegal(checkOperations(kvModel, operations));
    assert.deepEqual(ids(explanation.blocked), [2]);
  });

  test("phantom read: a read sees a value that no write, not even a timed-out one, wrote", () => {
    const operations = history(timedOut(1, kv.put("x", "1"), 0), done(2, kv.get("x"), 1, 2, value("2")));
    const explanation = expectIllegal(checkOperations(kvModel, operations));
    assert.deepEqual(ids(explanation.blocked), [1]);
  });

  test("a timed-out write seen, then unseen by a later read", () => {
    // The timed-out put of "2" may have happened, but once a read saw it, it happened before that read ended.
    const operations = history(
      done(1, kv.put("x", "1"), 0, 1, ok),
      timedOut(1, kv.put("x", "2"), 2),
      done(2, kv.get("x"), 3, 4, value("2")),
      done(3, kv.get("x"), 5, 6, value("1")),
    );
    const explanation = expectIllegal(checkOperations(kvModel, operations));
    assert.deepEqual(ids(explanation.prefix), [0, 1, 2]);
    assert.deepEqual(ids(explanation.blocked), [3]);
  });

  test("two overlapping cas from the same expected value both succeed", () => {
    const operations = history(
      done(1, kv.put("x", "a"), 0, 1, ok),
      done(2, kv.cas("x", "a", "b"), 2, 5, swapped(true)),
      done(3, kv.cas("x", "a", "c"), 3, 6, swapped(true)),
    );
    const explanation = expectIllegal(checkOperations(kvModel, operations));
    assert.equal(explanation.prefix.length, 2);
    // Whichever cas went first, the other one is the one that cannot follow.
    assert.equal(explanation.blocked.length, 1);
    assert.ok([1, 2].includes(explanation.blocked[0]?.operation.id ?? -1));
  });

  test("cas succeeds on a value that had already been overwritten", () => {
    const operations = history(
      done(1, kv.put("x", "a"), 0, 1, ok),
      done(1, kv.put("x", "c"), 2, 3, ok),
      done(2, kv.cas("x", "a", "b"), 4, 5, swapped(true)),
    );
    const explanation = expectIllegal(checkOperations(kvModel, operations));
    assert.deepEqual(ids(explanation.blocked), [2]);
  });

  test("a read overlapping two writes cannot see a value neither would leave", () => {
    const operations = history(
      done(1, kv.put("x", "a"), 0, 10, ok),
      done(2, kv.delete("x"), 0, 10, ok),
      done(3, kv.get("x"), 11, 12, value("b")),
    );
    const explanation = expectIllegal(checkOperations(kvModel, operations));
    assert.deepEqual(ids(explanation.blocked), [2]);
  });

  test("one bad key makes the whole history illegal, and the explanation is about that key", () => {
    const operations = history(
      done(1, kv.put("good", "1"), 0, 1, ok),
      done(2, kv.get("good"), 2, 3, value("1")),
      done(1, kv.put("bad", "1"), 4, 5, ok),
      done(2, kv.get("bad"), 6, 7, value(null)),
      done(3, kv.put("other", "1"), 0, 9, ok),
    );
    const result = checkOperations(kvModel, operations);
    const explanation = expectIllegal(result);
    assert.equal(explanation.partitionIndex, 1);
    assert.equal(explanation.partitionOperations, 2);
    assert.deepEqual(ids(explanation.blocked), [3]);
    assert.equal(result.partitions, 3);
  });

  test("long prefixes are shortened in the text, with the operations nearest the failure kept", () => {
    const writes = Array.from({ length: 30 }, (_, i) => done(1, kv.put("x", `${i}`), 2 * i, 2 * i + 1, ok));
    const operations = history(...writes, done(2, kv.get("x"), 100, 101, value("3")));
    const text = describeResult(checkOperations(kvModel, operations));
    assert.match(text, /longest linearizable prefix has 30 operations/);
    assert.match(text, /\.\.\. 10 earlier operations/);
    assert.match(text, /put\("x", "29"\)/);
    assert.doesNotMatch(text, /put\("x", "9"\)/);
  });
});

describe("legal histories", () => {
  test("reads overlapping a write may see it or not, in an order consistent with real time", () => {
    const operations = history(
      done(1, kv.put("x", "1"), 0, 10, ok),
      done(2, kv.get("x"), 1, 2, value(null)),
      done(2, kv.get("x"), 3, 4, value("1")),
      done(3, kv.get("x"), 5, 6, value("1")),
    );
    assert.equal(checkOperations(kvModel, operations).outcome, "ok");
  });

  test("the checker backtracks when the first order it tries fails", () => {
    // Tried in call order, put "a" then put "b" fails the read; the other order succeeds.
    const operations = history(
      done(1, kv.put("x", "a"), 0, 10, ok),
      done(2, kv.put("x", "b"), 1, 10, ok),
      done(3, kv.get("x"), 11, 12, value("a")),
    );
    const result = checkOperations(kvModel, operations);
    assert.equal(result.outcome, "ok", describeResult(result));
    if (result.outcome === "ok")
      assert.deepEqual(
        result.linearization[0]?.map(({ id }) => id),
        [1, 0, 2],
      );
  });

  test("intervals that touch are concurrent", () => {
    const operations = history(done(1, kv.put("x", "1"), 0, 5, ok), done(2, kv.get("x"), 5, 6, value(null)));
    assert.equal(checkOperations(kvModel, operations).outcome, "ok");
  });

  test("a timed-out write may take effect long after its client gave up, or never", () => {
    const seenLate = history(
      timedOut(1, kv.put("x", "1"), 0),
      done(2, kv.get("x"), 1, 2, value(null)),
      done(2, kv.get("x"), 50, 51, value("1")),
    );
    assert.equal(checkOperations(kvModel, seenLate).outcome, "ok");
    const neverSeen = history(timedOut(1, kv.put("x", "1"), 0), done(2, kv.get("x"), 50, 51, value(null)));
    assert.equal(checkOperations(kvModel, neverSeen).outcome, "ok");
  });

  test("overlapping cas from the same value: one wins, one loses", () => {
    const operations = history(
      done(1, kv.put("x", "a"), 0, 1, ok),
      done(2, kv.cas("x", "a", "b"), 2, 5, swapped(false)),
      done(3, kv.cas("x", "a", "c"), 3, 6, swapped(true)),
      done(4, kv.get("x"), 7, 8, value("c")),
    );
    assert.equal(checkOperations(kvModel, operations).outcome, "ok");
  });

  test("cas on a missing key, appends, deletes and a timed-out append", () => {
    const operations = history(
      done(1, kv.cas("x", null, "a"), 0, 1, swapped(true)),
      done(2, kv.append("x", "b"), 2, 6, ok),
      timedOut(3, kv.append("x", "c"), 3),
      done(1, kv.get("x"), 4, 5, value("ac")),
      done(1, kv.get("x"), 7, 8, value("acb")),
      done(2, kv.delete("x"), 9, 10, ok),
      done(1, kv.get("x"), 11, 12, value(null)),
      timedOut(1, kv.get("x"), 13),
    );
    assert.equal(checkOperations(kvModel, operations).outcome, "ok");
  });

  test("an empty history is linearizable", () => {
    const result = checkOperations(kvModel, []);
    assert.equal(result.outcome, "ok");
    assert.equal(describeResult(result), "linearizable (0 operations in 0 partitions, 0 search steps)");
  });
});
