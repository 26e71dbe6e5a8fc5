/**
 * Recording histories and refusing malformed ones: the recorder's ids and times, events turned into
 * operations, and clear errors for histories that make no sense.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkOperations,
  HistoryError,
  HistoryRecorder,
  happensBefore,
  type KvInput,
  type KvOutput,
  kv,
  kvModel,
  kvOutput,
  operationsFromEvents,
} from "../../src/check/index.ts";

describe("HistoryRecorder", () => {
  test("times are the event order by default, ids the invoke order", () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>();
    const put = recorder.invoke(1, kv.put("x", "1"));
    const get = recorder.invoke(2, kv.get("x"));
    recorder.complete(put, kvOutput.done);
    const slow = recorder.invoke(1, kv.put("x", "2"));
    recorder.complete(get, kvOutput.value("1"));
    recorder.timeout(slow);
    assert.deepEqual([put, get, slow], [0, 1, 2]);
    assert.equal(recorder.events().length, 6);
    assert.deepEqual(recorder.operations(), [
      { id: 0, clientId: 1, input: kv.put("x", "1"), call: 0, returned: 2, output: kvOutput.done },
      { id: 1, clientId: 2, input: kv.get("x"), call: 1, returned: 4, output: kvOutput.value("1") },
      { id: 2, clientId: 1, input: kv.put("x", "2"), call: 3, returned: null, output: undefined },
    ]);
    assert.equal(checkOperations(kvModel, recorder.operations()).outcome, "ok");
  });

  test("caller times are kept; operations still in flight never returned", () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>();
    const put = recorder.invoke(1, kv.put("x", "1"), 10.5);
    recorder.invoke(2, kv.get("x"), 10.5);
    recorder.complete(put, kvOutput.done, 20);
    const [first, second] = recorder.operations();
    assert.equal(first?.returned, 20);
    assert.equal(second?.returned, null);
  });

  test("refuses unknown ids, double endings and time running backwards", () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>();
    const id = recorder.invoke(1, kv.get("x"), 5);
    assert.throws(() => recorder.complete(7, kvOutput.value(null)), /no operation 7 was invoked/);
    assert.throws(() => recorder.complete(id, kvOutput.value(null), 4), /runs backwards/);
    recorder.timeout(id, 6);
    assert.throws(() => recorder.complete(id, kvOutput.value(null), 7), /already ended/);
    assert.throws(() => recorder.invoke(1, kv.get("x"), Number.NaN), HistoryError);
  });
});

describe("operationsFromEvents", () => {
  test("refuses endings without an invoke, repeated invokes and endings before the call", () => {
    assert.throws(
      () => operationsFromEvents([{ kind: "timeout", id: 3, at: 0 }]),
      /no earlier invoke of operation 3/,
    );
    const invoke = { kind: "invoke", id: 1, clientId: 1, input: kv.get("x"), at: 5 } as const;
    assert.throws(() => operationsFromEvents([invoke, invoke]), /invoked twice/);
    assert.throws(
      () => operationsFromEvents([invoke, { kind: "return", id: 1, output: kvOutput.value(null), at: 4 }]),
      /before its call/,
    );
  });
});

describe("validation", () => {
  const base = { id: 0, clientId: 1, input: kv.get("x"), call: 0, returned: 1, output: kvOutput.value(null) };

  test("malformed operations are refused with a HistoryError naming them", () => {
    const cases: [string, object[]][] = [
      ["appears twice", [base, base]],
      ["before its call", [{ ...base, call: 2 }]],
      ["never returned cannot have an output", [{ ...base, returned: null }]],
      ["needs an output", [{ ...base, output: undefined }]],
      ["call time must be finite", [{ ...base, call: Number.NaN }]],
      ["id must be a safe integer", [{ ...base, id: 0.5 }]],
    ];
    for (const [message, operations] of cases) {
      assert.throws(
        () => checkOperations(kvModel, operations as never),
        (error: unknown) => error instanceof HistoryError && error.message.includes(message),
        message,
      );
    }
  });

  test("an output of the wrong kind for its input is refused", () => {
    assert.throws(
      () => checkOperations(kvModel, [{ ...base, input: kv.put("x", "1") }]),
      (error: unknown) => error instanceof HistoryError && /put cannot answer/.test(error.message),
    );
  });

  test("happensBefore: a strictly earlier return; touching and timed-out operations are concurrent", () => {
    const later = { ...base, id: 1, call: 2, returned: 3 };
    assert.equal(happensBefore(base, later), true);
    assert.equal(happensBefore(later, base), false);
    assert.equal(happensBefore({ ...base, returned: 2 }, later), false);
    assert.equal(happensBefore({ ...base, returned: null, output: undefined }, later), false);
  });
});
