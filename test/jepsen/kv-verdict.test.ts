/**
 * The key-value verdict on hand-made histories: lost, doubled and foreign appends in the final reads, stale
 * reads for the linearizability checker, and the reductions of the history (known-failed writes, unobserved
 * appends) that keep the check tractable without changing its verdict.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkOperations,
  HistoryRecorder,
  type KvInput,
  type KvOutput,
  kv,
  kvModel,
  kvOutput,
} from "../../src/check/index.ts";
import {
  appendOrderModel,
  appendTokens,
  checkHistory,
  knownFailed,
  type RequestRecord,
  reduceHistory,
  refusedWithoutEffect,
} from "../../src/jepsen/index.ts";
import type { HttpResponse } from "../../src/kv/client/http-port.ts";
import { Random } from "../../src/util/random.ts";

function recorder(): HistoryRecorder<KvInput, KvOutput> {
  return new HistoryRecorder<KvInput, KvOutput>();
}

/** A request record as the client network keeps it. */
function record(path: string, delivered: boolean, response: HttpResponse | null): RequestRecord {
  return {
    request: { method: "POST", url: `http://n1${path}`, headers: {}, timeoutMs: 100 },
    delivered,
    response,
  };
}

const timeoutAnswer: HttpResponse = { status: 504, body: { code: "timeout" } };
const notLeaderAnswer: HttpResponse = { status: 307, body: { code: "not-leader", leader: 2 } };

describe("final reads", () => {
  test("every acknowledged append must be in the final read, exactly once", () => {
    const history = recorder();
    const a = history.invoke(0, kv.append("a0", "0.0,"), 0);
    history.complete(a, kvOutput.done, 1);
    const b = history.invoke(1, kv.append("a0", "1.0,"), 2);
    history.complete(b, kvOutput.done, 3);
    const read = history.invoke(2, kv.get("a0"), 10);
    history.complete(read, kvOutput.value("0.0,"), 11);
    const verdict = checkHistory(history.operations(), new Map(), new Map([["a0", read]]));
    const properties = verdict.violations.map((violation) => violation.property);
    assert.deepEqual(properties, ["lost-write", "linearizability"]);
    assert.match(verdict.violations[0]?.message ?? "", /1 acknowledged append\(s\) missing/);
    assert.match(verdict.violations[0]?.details.join("\n") ?? "", /append\("a0", "1\.0,"\)/);
  });

  test("a doubled token and a token nobody appended are reported", () => {
    const history = recorder();
    const a = history.invoke(0, kv.append("a0", "0.0,"), 0);
    history.complete(a, kvOutput.done, 1);
    const read = history.invoke(2, kv.get("a0"), 10);
    history.complete(read, kvOutput.value("0.0,0.0,9.9,"), 11);
    const verdict = checkHistory(history.operations(), new Map(), new Map([["a0", read]]));
    const properties = verdict.violations.map((violation) => violation.property);
    assert.deepEqual(properties, ["duplicate-write", "unknown-write", "linearizability"]);
  });

  test("an append that timed out may be missing; one that returned after the final read was called may not count", () => {
    const history = recorder();
    const lost = history.invoke(0, kv.append("a0", "0.0,"), 0);
    const ok = history.invoke(1, kv.append("a0", "1.0,"), 1);
    history.complete(ok, kvOutput.done, 2);
    history.timeout(lost, 5);
    const read = history.invoke(2, kv.get("a0"), 10);
    history.complete(read, kvOutput.value("1.0,"), 11);
    const requests = new Map([[lost, [record("/v1/kv/a0/append", true, null)]]]);
    const verdict = checkHistory(history.operations(), requests, new Map([["a0", read]]));
    assert.deepEqual(verdict.violations, []);
    assert.equal(verdict.outcome, "ok");
  });

  test("tokens split back into the appends that made a value", () => {
    assert.deepEqual(appendTokens("0.1,2.3,"), ["0.1", "2.3"]);
    assert.deepEqual(appendTokens(null), []);
    assert.deepEqual(appendTokens(""), []);
  });
});

describe("linearizability", () => {
  test("a read of an overwritten value after the overwrite returned is a stale read", () => {
    const history = recorder();
    const first = history.invoke(0, kv.put("r0", "p0.0"), 0);
    history.complete(first, kvOutput.done, 1);
    const second = history.invoke(0, kv.put("r0", "p0.1"), 2);
    history.complete(second, kvOutput.done, 3);
    const stale = history.invoke(1, kv.get("r0"), 4);
    history.complete(stale, kvOutput.value("p0.0"), 5);
    const verdict = checkHistory(history.operations(), new Map(), new Map());
    assert.equal(verdict.outcome, "illegal");
    assert.equal(verdict.violations[0]?.property, "linearizability");
    assert.match(verdict.violations[0]?.message ?? "", /key "r0": not linearizable/);
    assert.match(verdict.violations[0]?.message ?? "", /op 2 of client 1 cannot be placed/);
  });

  test("running out of budget is a failure, never a pass", () => {
    const history = recorder();
    const puts = Array.from({ length: 8 }, (_, i) => history.invoke(i, kv.put("r0", `p${i}`), i));
    for (const id of puts) history.complete(id, kvOutput.done, 100);
    const read = history.invoke(9, kv.get("r0"), 200);
    history.complete(read, kvOutput.value("p3"), 201);
    const verdict = checkHistory(history.operations(), new Map(), new Map(), { timeoutSteps: 1 });
    assert.equal(verdict.outcome, "unknown");
    assert.equal(verdict.violations[0]?.property, "checker-unknown");
  });
});

describe("what a write that never returned did", () => {
  test("answers that refuse without running the command, and those that may have run it", () => {
    assert.equal(refusedWithoutEffect(notLeaderAnswer), true);
    assert.equal(refusedWithoutEffect({ status: 503, body: { code: "unavailable" } }), true);
    assert.equal(refusedWithoutEffect(timeoutAnswer), false);
    assert.equal(refusedWithoutEffect({ status: 200, body: { index: 4 } }), false);
    assert.equal(refusedWithoutEffect({ status: 409, body: { code: "cas-mismatch" } }), false);
  });

  test("known failed: nothing reached a node, or every node refused it; registrations do not count", () => {
    assert.equal(knownFailed([]), true);
    assert.equal(knownFailed([record("/v1/kv/r0", false, null)]), true);
    assert.equal(
      knownFailed([record("/v1/sessions", true, null), record("/v1/kv/r0", true, notLeaderAnswer)]),
      true,
    );
    assert.equal(knownFailed([record("/v1/kv/r0", true, null)]), false);
    assert.equal(
      knownFailed([record("/v1/kv/r0", true, notLeaderAnswer), record("/v1/kv/r0", true, timeoutAnswer)]),
      false,
    );
  });

  test("the reduction leaves out known-failed writes and unobserved appends, and keeps the verdict", () => {
    const history = recorder();
    const failedPut = history.invoke(0, kv.put("r0", "p0.0"), 0);
    history.timeout(failedPut, 1);
    const maybePut = history.invoke(0, kv.put("r0", "p0.1"), 2);
    history.timeout(maybePut, 3);
    const unseen: number[] = [];
    for (let i = 0; i < 12; i++) {
      const id = history.invoke(1, kv.append("a0", `1.${i},`), 10 + i);
      history.timeout(id, 11 + i);
      unseen.push(id);
    }
    const seen = history.invoke(2, kv.append("a0", "2.0,"), 30);
    history.timeout(seen, 31);
    const read = history.invoke(3, kv.get("a0"), 40);
    history.complete(read, kvOutput.value("2.0,"), 41);
    const requests = new Map<number, RequestRecord[]>([
      [failedPut, [record("/v1/kv/r0", true, notLeaderAnswer)]],
      [maybePut, [record("/v1/kv/r0", true, timeoutAnswer)]],
      ...unseen.map((id): [number, RequestRecord[]] => [id, [record("/v1/kv/a0/append", true, null)]]),
      [seen, [record("/v1/kv/a0/append", true, null)]],
    ]);
    const reduced = reduceHistory(history.operations(), requests);
    assert.equal(reduced.knownFailed, 1);
    assert.equal(reduced.unobservedAppends, 12);
    assert.deepEqual(
      reduced.operations.map((operation) => operation.id),
      [maybePut, seen, read],
    );
    const kept = checkOperations(kvModel, reduced.operations);
    assert.equal(kept.outcome, "ok");
    assert.ok(kept.steps < 100, `${kept.steps} steps`);
    // The same verdict without the reduction costs the search every order of the twelve appends.
    const whole = checkOperations(kvModel, history.operations(), { timeoutSteps: 1_000_000 });
    assert.equal(whole.outcome, "unknown");
  });

  test("appends on a key that also sees puts are kept: a put can hide them", () => {
    const history = recorder();
    const append = history.invoke(0, kv.append("k", "0.0,"), 0);
    history.timeout(append, 1);
    const put = history.invoke(1, kv.put("k", "x"), 2);
    history.complete(put, kvOutput.done, 3);
    const requests = new Map([[append, [record("/v1/kv/k/append", true, null)]]]);
    assert.equal(reduceHistory(history.operations(), requests).operations.length, 2);
  });
});

describe("the append-order model", () => {
  /**
   * A random append-key history: appends with random intervals (some never return), reads that return the
   * value at a random point of their interval — or, with `perturb`, a random other list of tokens — and a
   * final read called after everything else ended.
   */
  function randomAppendHistory(random: Random, perturb: boolean) {
    const history = recorder();
    type Event = { at: number; run: () => void };
    const events: Event[] = [];
    const effects: { at: number; token: string }[] = [];
    const reads: { call: number; end: number; at: number }[] = [];
    const appends = random.intBetween(1, 6);
    for (let i = 0; i < appends; i++) {
      const call = random.int(20);
      const end = call + 1 + random.int(10);
      const at = call + random.int(end - call);
      const token = `${i}.0`;
      const pending = random.chance(1, 4);
      if (!pending || random.chance(1, 2)) effects.push({ at, token });
      const op: { id?: number } = {};
      events.push({ at: call, run: () => (op.id = history.invoke(i, kv.append("a", `${token},`), call)) });
      events.push({
        at: end,
        run: () => {
          if (pending) history.timeout(op.id ?? -1, end);
          else history.complete(op.id ?? -1, kvOutput.done, end);
        },
      });
    }
    const readCount = random.intBetween(0, 4);
    for (let i = 0; i < readCount; i++) {
      const call = random.int(25);
      const end = call + 1 + random.int(10);
      reads.push({ call, end, at: call + random.int(end - call) });
    }
    const valueAt = (at: number): string | null => {
      const tokens = effects.filter((effect) => effect.at < at).sort((a, b) => a.at - b.at);
      return tokens.length === 0 ? null : tokens.map((effect) => `${effect.token},`).join("");
    };
    reads.forEach((read, i) => {
      const op: { id?: number } = {};
      events.push({ at: read.call, run: () => (op.id = history.invoke(10 + i, kv.get("a"), read.call)) });
      events.push({
        at: read.end,
        run: () => {
          let value = valueAt(read.at);
          if (perturb && random.chance(1, 3)) value = random.chance(1, 2) ? null : `${random.int(6)}.0,`;
          history.complete(op.id ?? -1, kvOutput.value(value), read.end);
        },
      });
    });
    // In time order (an operation ends strictly after its call): the recorder wants time never to go back.
    events.sort((a, b) => a.at - b.at);
    for (const event of events) event.run();
    let finalValue = valueAt(1000);
    if (perturb && random.chance(1, 4))
      finalValue =
        appendTokens(finalValue)
          .reverse()
          .map((t) => `${t},`)
          .join("") || null;
    const final = history.invoke(99, kv.get("a"), 1000);
    history.complete(final, kvOutput.value(finalValue), 1001);
    return { operations: history.operations(), finalValue };
  }

  test("gives kvModel's verdict on random append histories, right and wrong", () => {
    const random = new Random(8);
    const verdicts = { ok: 0, illegal: 0 };
    for (let i = 0; i < 400; i++) {
      const { operations, finalValue } = randomAppendHistory(random, i % 2 === 1);
      const plain = checkOperations(kvModel, operations).outcome;
      const ordered = checkOperations(appendOrderModel(appendTokens(finalValue)), operations).outcome;
      assert.equal(ordered, plain, `history ${i}: ${JSON.stringify(operations)}`);
      if (plain === "ok" || plain === "illegal") verdicts[plain]++;
    }
    // Both kinds of verdict were exercised.
    assert.ok(verdicts.ok > 50 && verdicts.illegal > 50, JSON.stringify(verdicts));
  });

  test("keeps concurrent appends cheap, where kvModel tells every order apart", () => {
    const history = recorder();
    const ids = Array.from({ length: 24 }, (_, i) => history.invoke(i, kv.append("a", `${i}.0,`), i / 10));
    for (const [i, id] of ids.entries()) history.complete(id, kvOutput.done, 2.5 + i / 10);
    const order = Array.from({ length: 24 }, (_, i) => `${23 - i}.0`);
    const final = history.invoke(99, kv.get("a"), 100);
    history.complete(final, kvOutput.value(order.map((token) => `${token},`).join("")), 101);
    const ordered = checkOperations(appendOrderModel(order), history.operations());
    assert.equal(ordered.outcome, "ok");
    assert.ok(ordered.steps < 1000, `${ordered.steps} steps`);
    const plain = checkOperations(kvModel, history.operations(), { timeoutSteps: 1_000_000 });
    assert.equal(plain.outcome, "unknown");
  });
});
