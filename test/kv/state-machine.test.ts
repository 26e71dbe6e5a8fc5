/**
 * The key-value state machine, one rule at a time: each command's semantics, client sessions and
 * exactly-once execution (Raft thesis §6.3), pipelining with acknowledged floors, session expiry by log time
 * and eviction by count, and the bounds.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asIndex } from "../../src/core/types.ts";
import { DEFAULT_KV_CONFIG } from "../../src/kv/config.ts";
import { encodeEntry } from "../../src/kv/entry-codec.ts";
import { VALUE_BYTES_MAX } from "../../src/kv/limits.ts";
import { KvStateMachine } from "../../src/kv/state-machine.ts";
import { AssertionFailure } from "../../src/util/assert.ts";
import { Driver, SMALL_CONFIG, stamp } from "./helpers.ts";

describe("command semantics", () => {
  test("put, get and delete", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    assert.deepEqual(kv.result({ kind: "get", ...stamp(id, 1), key: "a" }), { kind: "not-found" });
    assert.deepEqual(kv.result({ kind: "put", ...stamp(id, 2), key: "a", value: "1" }), {
      kind: "ok",
      value: null,
    });
    assert.deepEqual(kv.result({ kind: "get", ...stamp(id, 3), key: "a" }), { kind: "ok", value: "1" });
    assert.deepEqual(kv.result({ kind: "put", ...stamp(id, 4), key: "a", value: "2" }), {
      kind: "ok",
      value: null,
    });
    assert.equal(kv.machine.get("a"), "2");
    assert.deepEqual(kv.result({ kind: "delete", ...stamp(id, 5), key: "a" }), { kind: "ok", value: null });
    assert.deepEqual(kv.result({ kind: "delete", ...stamp(id, 6), key: "a" }), { kind: "not-found" });
    assert.equal(kv.machine.get("a"), undefined);
  });

  test("append creates a missing key and concatenates onto an existing one", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    kv.apply({ kind: "append", ...stamp(id, 1), key: "log", value: "x" });
    kv.apply({ kind: "append", ...stamp(id, 2), key: "log", value: "yé" });
    assert.equal(kv.machine.get("log"), "xyé");
    assert.equal(kv.machine.stats().dataBytes, "log".length + "xyé".length + 1, "é counts 2 bytes");
  });

  test("append past VALUE_BYTES_MAX is refused and changes nothing", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    const half = "h".repeat(VALUE_BYTES_MAX / 2);
    kv.apply({ kind: "put", ...stamp(id, 1), key: "k", value: half });
    assert.deepEqual(kv.result({ kind: "append", ...stamp(id, 2), key: "k", value: half }), {
      kind: "ok",
      value: null,
    });
    assert.deepEqual(kv.result({ kind: "append", ...stamp(id, 3), key: "k", value: "!" }), {
      kind: "value-too-large",
      bytes: VALUE_BYTES_MAX + 1,
    });
    assert.equal(kv.machine.get("k")?.length, VALUE_BYTES_MAX);
  });

  test("cas: expected null means 'must not exist'; a mismatch reports the current value", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    const cas = (sequence: number, expected: string | null, value: string) =>
      kv.result({ kind: "cas", ...stamp(id, sequence), key: "k", expected, value });
    assert.deepEqual(cas(1, "x", "y"), { kind: "cas-mismatch", current: null });
    assert.deepEqual(cas(2, null, "first"), { kind: "ok", value: null });
    assert.deepEqual(cas(3, null, "second"), { kind: "cas-mismatch", current: "first" });
    assert.deepEqual(cas(4, "wrong", "second"), { kind: "cas-mismatch", current: "first" });
    assert.deepEqual(cas(5, "first", "second"), { kind: "ok", value: null });
    assert.equal(kv.machine.get("k"), "second");
  });

  test("empty entries are leader no-ops: skipped, but applied in order", () => {
    const kv = new Driver(SMALL_CONFIG);
    const outcome = kv.applyData(new Uint8Array(0));
    assert.deepEqual(outcome, {
      index: 1,
      clientId: null,
      sequence: null,
      result: { kind: "no-op" },
      replayed: false,
    });
    assert.equal(kv.machine.appliedIndex, 1);
    assert.equal(kv.machine.logTimeMs, 0, "a no-op carries no time");
  });

  test("entries must be applied at exactly the next index", () => {
    const machine = new KvStateMachine(SMALL_CONFIG);
    const data = encodeEntry({ timestampMs: 0, command: { kind: "register-client" } });
    assert.throws(() => machine.apply(asIndex(2), data), AssertionFailure);
    machine.apply(asIndex(1), data);
    assert.throws(() => machine.apply(asIndex(1), data), AssertionFailure, "never twice");
  });

  test("an invalid config is refused with a RangeError", () => {
    assert.throws(() => new KvStateMachine({ ...SMALL_CONFIG, sessionsMax: 0 }), RangeError);
    assert.throws(() => new KvStateMachine({ ...SMALL_CONFIG, sessionTimeoutMs: 1.5 }), RangeError);
    assert.throws(
      () => new KvStateMachine({ ...SMALL_CONFIG, savedValueBytesPerSessionMax: 10 }),
      RangeError,
    );
    assert.doesNotThrow(() => new KvStateMachine(DEFAULT_KV_CONFIG));
  });
});

describe("client sessions and exactly-once (thesis §6.3)", () => {
  test("the session id is the log index of the registration", () => {
    const kv = new Driver(SMALL_CONFIG);
    kv.applyData(new Uint8Array(0));
    assert.equal(kv.register(), 2);
    assert.equal(kv.register(), 3);
    assert.deepEqual(kv.apply({ kind: "register-client" }).clientId, 4);
  });

  test("the same command applied twice at different indexes runs once and answers the same", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    const other = kv.register();
    const append = encodeEntry({
      timestampMs: 1_000,
      command: { kind: "append", ...stamp(id, 1), key: "k", value: "x" },
    });
    const first = kv.applyData(append);
    kv.apply({ kind: "append", ...stamp(other, 1), key: "k", value: "o" });
    const retry = kv.applyData(append);
    assert.deepEqual(first, {
      index: 3,
      clientId: id,
      sequence: 1,
      result: { kind: "ok", value: null },
      replayed: false,
    });
    assert.deepEqual(retry, {
      index: 5,
      clientId: id,
      sequence: 1,
      result: { kind: "ok", value: null },
      replayed: true,
    });
    assert.equal(kv.machine.get("k"), "xo", "applied once");
  });

  test("a retried read answers with the value it read the first time", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    const writer = kv.register();
    kv.apply({ kind: "put", ...stamp(writer, 1), key: "k", value: "old" });
    const read = { kind: "get", ...stamp(id, 1), key: "k" } as const;
    assert.deepEqual(kv.result(read), { kind: "ok", value: "old" });
    kv.apply({ kind: "put", ...stamp(writer, 2), key: "k", value: "new" });
    assert.deepEqual(kv.apply(read).result, { kind: "ok", value: "old" });
  });

  test("a sequence below the acknowledged floor is stale and does not run", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    kv.apply({ kind: "append", ...stamp(id, 1), key: "k", value: "a" });
    kv.apply({ kind: "append", ...stamp(id, 2), key: "k", value: "b" });
    assert.deepEqual(kv.result({ kind: "append", ...stamp(id, 1), key: "k", value: "a" }), {
      kind: "stale-sequence",
      ackedBelow: 2,
    });
    assert.equal(kv.machine.get("k"), "ab");
    assert.equal(kv.machine.session(id)?.savedCount, 1, "only the result of sequence 2 is kept");
  });

  test("an unknown session gets session-expired and nothing runs", () => {
    const kv = new Driver(SMALL_CONFIG);
    kv.register();
    const outcome = kv.apply({ kind: "put", ...stamp(asIndex(99), 1), key: "k", value: "v" });
    assert.deepEqual(outcome.result, { kind: "session-expired" });
    assert.equal(kv.machine.get("k"), undefined);
    assert.equal(kv.machine.stats().sessions, 1);
  });

  test("pipelined commands may apply in any order; each runs once; ackedBelow prunes saved results", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    // Five commands in flight (the client has seen no reply: ackedBelow 1), applied out of order.
    const append = (sequence: number, ackedBelow = 1) =>
      kv.apply({ kind: "append", ...stamp(id, sequence, ackedBelow), key: "k", value: String(sequence) });
    for (const sequence of [3, 1, 2, 5, 4]) assert.equal(append(sequence).replayed, false);
    for (const sequence of [1, 2, 3, 4, 5]) assert.equal(append(sequence).replayed, true);
    assert.equal(kv.machine.get("k"), "31254");
    assert.equal(kv.machine.session(id)?.savedCount, 5);
    // The client saw replies 1..3: those results go; 4 and 5 still replay; 2 is now stale.
    assert.equal(append(6, 4).replayed, false);
    assert.equal(kv.machine.session(id)?.ackedBelow, 4);
    assert.equal(kv.machine.session(id)?.savedCount, 3);
    assert.equal(append(4, 4).replayed, true);
    assert.equal(
      append(2, 1).result.kind,
      "stale-sequence",
      "a late retry carrying an old floor is still stale",
    );
    assert.equal(kv.machine.session(id)?.ackedBelow, 4, "the floor never goes down");
    assert.equal(kv.machine.get("k"), "312546");
  });

  test("a session may run at most outstandingPerSessionMax sequences past its floor", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    const max = SMALL_CONFIG.outstandingPerSessionMax;
    for (let sequence = 1; sequence <= max; sequence++) {
      kv.apply({ kind: "put", ...stamp(id, sequence, 1), key: `k${sequence}`, value: "v" });
    }
    const refused = kv.apply({ kind: "put", ...stamp(id, max + 1, 1), key: "late", value: "v" });
    assert.equal(refused.result.kind, "too-many-outstanding");
    assert.equal(kv.machine.get("late"), undefined);
    assert.equal(kv.machine.session(id)?.savedCount, max);
    // Acknowledging one reply opens the window; the same sequence then runs (the refusal was not saved).
    const accepted = kv.apply({ kind: "put", ...stamp(id, max + 1, 2), key: "late", value: "v" });
    assert.deepEqual(accepted.result, { kind: "ok", value: null });
    assert.equal(accepted.replayed, false);
  });

  test("saved read values are bounded in bytes per session; writes still run", () => {
    const config = { ...SMALL_CONFIG, savedValueBytesPerSessionMax: VALUE_BYTES_MAX };
    const kv = new Driver(config);
    const id = kv.register();
    const big = "b".repeat(VALUE_BYTES_MAX);
    kv.apply({ kind: "put", ...stamp(id, 1), key: "big", value: big });
    assert.deepEqual(kv.result({ kind: "get", ...stamp(id, 2, 2), key: "big" }), { kind: "ok", value: big });
    assert.equal(kv.machine.session(id)?.savedValueBytes, VALUE_BYTES_MAX);
    // Reply 2 not acknowledged yet: a second big read does not fit, a write does.
    assert.equal(kv.result({ kind: "get", ...stamp(id, 3, 2), key: "big" }).kind, "too-many-outstanding");
    assert.equal(kv.result({ kind: "put", ...stamp(id, 4, 2), key: "small", value: "s" }).kind, "ok");
    // Once reply 2 is acknowledged, sequence 3 runs.
    assert.deepEqual(kv.result({ kind: "get", ...stamp(id, 3, 3), key: "big" }), { kind: "ok", value: big });
  });
});

describe("session expiry and eviction, decided by the log", () => {
  test("a session unused for sessionTimeoutMs of log time expires when a later command is applied", () => {
    const kv = new Driver(SMALL_CONFIG);
    const timeout = SMALL_CONFIG.sessionTimeoutMs;
    kv.nowMs = 1_000;
    const idle = kv.register();
    const busy = kv.register();
    kv.nowMs = 1_000 + timeout - 1;
    kv.apply({ kind: "put", ...stamp(busy, 1), key: "k", value: "v" });
    assert.notEqual(kv.machine.session(idle), undefined, "one millisecond short of the timeout");
    kv.nowMs = 1_000 + timeout;
    kv.apply({ kind: "put", ...stamp(busy, 2), key: "k", value: "w" });
    assert.equal(kv.machine.session(idle), undefined);
    assert.equal(kv.result({ kind: "get", ...stamp(idle, 1), key: "k" }).kind, "session-expired");
    assert.equal(kv.machine.stats().sessions, 1);
  });

  test("a client returning after the timeout finds its own session expired; its retry never re-applies", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    const append = encodeEntry({
      timestampMs: 2_000,
      command: { kind: "append", ...stamp(id, 1), key: "k", value: "x" },
    });
    kv.applyData(append);
    const late = encodeEntry({
      timestampMs: 2_000 + SMALL_CONFIG.sessionTimeoutMs,
      command: { kind: "append", ...stamp(id, 1), key: "k", value: "x" },
    });
    assert.deepEqual(kv.applyData(late).result, { kind: "session-expired" });
    assert.equal(kv.machine.get("k"), "x");
  });

  test("log time is the running maximum: an entry stamped earlier does not move it back", () => {
    const kv = new Driver(SMALL_CONFIG);
    kv.nowMs = 50_000;
    const id = kv.register();
    kv.nowMs = 10;
    kv.apply({ kind: "put", ...stamp(id, 1), key: "k", value: "v" });
    assert.equal(kv.machine.logTimeMs, 50_000);
    assert.equal(kv.machine.session(id)?.lastActiveMs, 50_000);
  });

  test("registering past sessionsMax evicts the least recently used session (by log index)", () => {
    const kv = new Driver(SMALL_CONFIG);
    const ids = Array.from({ length: SMALL_CONFIG.sessionsMax }, () => kv.register());
    const [oldest, second] = ids;
    assert.ok(oldest !== undefined && second !== undefined);
    kv.apply({ kind: "get", ...stamp(oldest, 1), key: "k" });
    const newcomer = kv.register();
    assert.equal(kv.machine.stats().sessions, SMALL_CONFIG.sessionsMax);
    assert.equal(kv.machine.session(second), undefined, "the least recently used went");
    assert.notEqual(kv.machine.session(oldest), undefined, "using a session renews it");
    assert.notEqual(kv.machine.session(newcomer), undefined);
    assert.equal(kv.result({ kind: "get", ...stamp(second, 1), key: "k" }).kind, "session-expired");
  });

  test("every command of a session renews it, even a replay or a stale one", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    kv.apply({ kind: "put", ...stamp(id, 2), key: "k", value: "v" });
    kv.nowMs += SMALL_CONFIG.sessionTimeoutMs - 1;
    assert.equal(kv.result({ kind: "put", ...stamp(id, 1, 1), key: "k", value: "v" }).kind, "stale-sequence");
    kv.nowMs += SMALL_CONFIG.sessionTimeoutMs - 1;
    assert.equal(kv.apply({ kind: "put", ...stamp(id, 2), key: "k", value: "v" }).replayed, true);
    assert.equal(kv.machine.session(id)?.lastActiveMs, kv.nowMs);
  });
});

describe("stats", () => {
  test("keys, bytes, sessions, saved results, appliedIndex and log time", () => {
    const kv = new Driver(SMALL_CONFIG);
    const id = kv.register();
    kv.apply({ kind: "put", ...stamp(id, 1, 1), key: "ab", value: "😀" });
    kv.apply({ kind: "put", ...stamp(id, 2, 1), key: "c", value: "" });
    assert.deepEqual(kv.machine.stats(), {
      keys: 2,
      dataBytes: 2 + 4 + 1,
      sessions: 1,
      savedResults: 2,
      appliedIndex: 3,
      logTimeMs: kv.nowMs,
    });
  });
});
