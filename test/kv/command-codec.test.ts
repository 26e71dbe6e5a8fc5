/**
 * Command validation and the log-entry codec: round trips, limits, the strict decoder's refusals, and 10,000
 * seeded fuzz inputs that must never throw and must get the same verdict on every replica.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encode } from "../../src/codec/msgpack.ts";
import { asIndex } from "../../src/core/types.ts";
import { type KvCommand, type KvEntry, validateCommand, validateEntry } from "../../src/kv/command.ts";
import { decodeEntry, encodeEntry } from "../../src/kv/entry-codec.ts";
import { ENTRY_BYTES_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX } from "../../src/kv/limits.ts";
import { KvStateMachine } from "../../src/kv/state-machine.ts";
import { assertSameBytes, Driver, SMALL_CONFIG, stamp } from "./helpers.ts";

const PROPERTY = { seed: 7, numRuns: 300 } as const;
/** The brief asks for 10,000 fuzz inputs in all; split between raw bytes and mutated valid entries. */
const FUZZ_RAW = { seed: 11, numRuns: 5_000 } as const;
const FUZZ_MUTATED = { seed: 13, numRuns: 5_000 } as const;

const client = asIndex(3);

const safeText = fc.string({ unit: "grapheme", maxLength: 12 });
const sessionStamp = fc
  .record({
    clientId: fc.integer({ min: 1, max: 1_000_000 }),
    sequence: fc.integer({ min: 1, max: 1_000_000 }),
    ackedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ clientId, sequence, ackedFraction }) => ({
    clientId: asIndex(clientId),
    sequence,
    ackedBelow: Math.floor(sequence * ackedFraction),
  }));

/** Any valid command. */
export const anyCommand: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.constant<KvCommand>({ kind: "register-client" }),
  fc
    .record({
      node: fc.nat(1000),
      peerAddress: fc.constantFrom("127.0.0.1:7001", "node-4.example:7000"),
      apiAddress: fc.option(fc.constant("127.0.0.1:8001"), { nil: null }),
    })
    .map((fields): KvCommand => ({ kind: "set-member", ...fields })),
  fc
    .record({ s: sessionStamp, key: safeText, value: safeText })
    .map(({ s, key, value }): KvCommand => ({ kind: "put", ...s, key, value })),
  fc.record({ s: sessionStamp, key: safeText }).map(({ s, key }): KvCommand => ({ kind: "get", ...s, key })),
  fc
    .record({ s: sessionStamp, key: safeText })
    .map(({ s, key }): KvCommand => ({ kind: "delete", ...s, key })),
  fc
    .record({ s: sessionStamp, key: safeText, value: safeText })
    .map(({ s, key, value }): KvCommand => ({ kind: "append", ...s, key, value })),
  fc
    .record({ s: sessionStamp, key: safeText, expected: fc.option(safeText), value: safeText })
    .map(({ s, key, expected, value }): KvCommand => ({ kind: "cas", ...s, key, expected, value })),
);

/** Any valid entry (as a plain object: fast-check's records have a null prototype, which deepEqual notices). */
const anyEntry: fc.Arbitrary<KvEntry> = fc
  .record({ timestampMs: fc.integer({ min: 0, max: 2 ** 45 }), command: anyCommand })
  .map(({ timestampMs, command }) => ({ timestampMs, command }));

function reasonOf(bytes: Uint8Array): string {
  const decoded = decodeEntry(bytes);
  assert.equal(decoded.ok, false, "expected the entry to be refused");
  return decoded.ok ? "" : decoded.reason;
}

describe("command validation", () => {
  test("keys are limited in UTF-8 bytes, not in characters", () => {
    const put = (key: string) => validateCommand({ kind: "put", ...stamp(client, 1), key, value: "v" });
    assert.equal(put("k".repeat(KEY_BYTES_MAX)).valid, true);
    assert.equal(put("k".repeat(KEY_BYTES_MAX + 1)).valid, false);
    assert.equal(put("é".repeat(KEY_BYTES_MAX / 2)).valid, true, "é is 2 bytes");
    assert.equal(put(`${"é".repeat(KEY_BYTES_MAX / 2)}k`).valid, false);
    assert.equal(put("😀".repeat(KEY_BYTES_MAX / 4 + 1)).valid, false, "😀 is 4 bytes");
    assert.equal(put("").valid, true, "the empty key is a key");
  });

  test("values are limited to VALUE_BYTES_MAX UTF-8 bytes, and so is a cas expected value", () => {
    const atLimit = "v".repeat(VALUE_BYTES_MAX);
    const over = `${atLimit}v`;
    const base = { ...stamp(client, 1), key: "k" };
    assert.equal(validateCommand({ kind: "put", ...base, value: atLimit }).valid, true);
    assert.equal(validateCommand({ kind: "put", ...base, value: over }).valid, false);
    assert.equal(validateCommand({ kind: "append", ...base, value: over }).valid, false);
    assert.equal(validateCommand({ kind: "cas", ...base, expected: over, value: "v" }).valid, false);
    assert.equal(validateCommand({ kind: "cas", ...base, expected: null, value: over }).valid, false);
  });

  test("lone surrogates are refused in keys and values (no UTF-8 encoding exists)", () => {
    const base = stamp(client, 1);
    assert.equal(validateCommand({ kind: "get", ...base, key: "a\ud800" }).valid, false);
    assert.equal(validateCommand({ kind: "put", ...base, key: "k", value: "\udc00b" }).valid, false);
    assert.equal(validateCommand({ kind: "put", ...base, key: "k", value: "\ud83d\ude00" }).valid, true);
  });

  test("session stamps: clientId >= 1, sequence >= 1, 0 <= ackedBelow <= sequence, all safe integers", () => {
    const get = (clientId: number, sequence: number, ackedBelow: number) =>
      validateCommand({ kind: "get", clientId: asIndex(clientId), sequence, ackedBelow, key: "k" }).valid;
    assert.equal(get(1, 1, 0), true);
    assert.equal(get(1, 5, 5), true);
    assert.equal(get(0, 1, 0), false);
    assert.equal(get(1, 0, 0), false);
    assert.equal(get(1, 5, 6), false);
    assert.equal(get(1, 5, -1), false);
    assert.equal(get(1.5, 5, 0), false);
    assert.equal(get(1, 2 ** 53, 0), false);
    assert.equal(get(1, Number.NaN, 0), false);
  });

  test("timestamps are safe integers >= 0", () => {
    const entry = (timestampMs: number) =>
      validateEntry({ timestampMs, command: { kind: "register-client" } });
    assert.equal(entry(0).valid, true);
    assert.equal(entry(-1).valid, false);
    assert.equal(entry(1.5).valid, false);
    assert.equal(entry(Number.POSITIVE_INFINITY).valid, false);
  });
});

describe("entry codec", () => {
  test("every valid entry round-trips", () => {
    fc.assert(
      fc.property(anyEntry, (entry) => {
        assert.deepEqual(decodeEntry(encodeEntry(entry)), { ok: true, entry });
      }),
      PROPERTY,
    );
  });

  test("the encoding is a compact array with a numeric tag", () => {
    const bytes = encodeEntry({
      timestampMs: 5,
      command: { kind: "put", ...stamp(client, 2, 1), key: "k", value: "v" },
    });
    assert.deepEqual([...bytes], [...encode([2, 5, 3, 2, 1, "k", "v"])]);
    assert.deepEqual(
      [...encodeEntry({ timestampMs: 5, command: { kind: "register-client" } })],
      [...encode([1, 5])],
    );
  });

  test("encodeEntry refuses an invalid entry with a RangeError", () => {
    assert.throws(
      () =>
        encodeEntry({ timestampMs: 0, command: { kind: "get", ...stamp(client, 1), key: "k".repeat(2000) } }),
      RangeError,
    );
    assert.throws(() => encodeEntry({ timestampMs: -5, command: { kind: "register-client" } }), RangeError);
  });

  test("the strict decoder refuses every wrong shape with a reason", () => {
    const cases: [unknown, RegExp][] = [
      [{ tag: 1 }, /not an array/],
      ["put", /not an array/],
      [[], /timestamp/],
      [[1, "soon"], /timestamp/],
      [[9, 0], /session command has only|unknown command tag/],
      [[9, 0, 1, 1, 1, "k"], /unknown command tag 9/],
      [["2", 0, 1, 1, 1, "k", "v"], /unknown command tag/],
      [[1, 0, 5], /register-client has 3 fields/],
      [[2, 0, 1, 1, 1, "k"], /put has 6 fields/],
      [[2, 0, 1, 1, 1, "k", "v", "extra"], /put has 8 fields/],
      [[2, 0, 1, 1, 1, 7, "v"], /must be strings/],
      [[3, 0, 1, 1, 1, null], /must be a string/],
      [[4, 0, 1, 1, 1], /delete has 5 fields/],
      [[6, 0, 1, 1, 1, "k", 5, "v"], /expected must be a string or nil/],
      [[6, 0, 1, 1, 1, "k", null], /cas has 7 fields/],
      [[2, 0, "1", 1, 1, "k", "v"], /must be numbers/],
      [[2, 0, 1, 1.5, 1, "k", "v"], /sequence/],
      [[2, 0, 0, 1, 1, "k", "v"], /clientId/],
      [[2, 0, 1, 1, 2, "k", "v"], /ackedBelow/],
      [[2, -1, 1, 1, 1, "k", "v"], /timestamp/],
      [[2, Number.NaN, 1, 1, 1, "k", "v"], /timestamp/],
      [[2, 0, 1, 1, 1, "k", new Uint8Array([1])], /must be strings/],
      [[2, 0, 1, 1, 1, "k".repeat(KEY_BYTES_MAX + 1), "v"], /key is over the limit/],
    ];
    for (const [value, reason] of cases) {
      assert.match(reasonOf(encode(value)), reason, JSON.stringify(value));
    }
  });

  test("64-bit integers beyond what msgpackr turns into numbers are refused, not misread", () => {
    // [1, uint64 2^32]: msgpackr decodes uint64 as a bigint.
    const bytes = new Uint8Array([0x92, 0x01, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert.match(reasonOf(bytes), /timestamp is not a number/);
  });

  test("invalid UTF-8 inside a string decodes to U+FFFD (msgpackr's replacement), the same on every replica", () => {
    // [2, 0, 1, 1, 1, <str 0xff>, "v"] and [2, 0, 1, 1, 1, <str ED A0 80: an encoded lone surrogate>, "v"]
    const header = [0x97, 0x02, 0x00, 0x01, 0x01, 0x01];
    const value = [0xa1, 0x76];
    for (const [key, expected] of [
      [[0xa1, 0xff], "\ufffd"],
      [[0xa3, 0xed, 0xa0, 0x80], "\ufffd\ufffd\ufffd"],
    ] as const) {
      const decoded = decodeEntry(new Uint8Array([...header, ...key, ...value]));
      assert.equal(decoded.ok && decoded.entry.command.kind === "put" && decoded.entry.command.key, expected);
    }
  });

  test("truncated and trailing bytes are refused", () => {
    const bytes = encodeEntry({
      timestampMs: 1,
      command: { kind: "put", ...stamp(client, 1), key: "k", value: "v" },
    });
    for (let length = 0; length < bytes.length; length++) reasonOf(bytes.subarray(0, length));
    const trailing = new Uint8Array([...bytes, 0x00]);
    assert.equal(decodeEntry(trailing).ok, false);
  });

  test("an entry over ENTRY_BYTES_MAX is refused before it is decoded", () => {
    assert.match(reasonOf(new Uint8Array(ENTRY_BYTES_MAX + 1)), /over ENTRY_BYTES_MAX/);
  });
});

/** Applies `data` to two fresh replicas; both must agree, and never throw. */
function applyToTwoReplicas(data: Uint8Array): void {
  const outcomes = [new KvStateMachine(SMALL_CONFIG), new KvStateMachine(SMALL_CONFIG)].map((machine) => {
    const outcome = machine.apply(asIndex(1), data);
    return { outcome, snapshot: machine.snapshot() };
  });
  const [first, second] = outcomes;
  assert.deepEqual(first?.outcome, second?.outcome);
  assertSameBytes(first?.snapshot ?? new Uint8Array(), second?.snapshot ?? new Uint8Array());
  const decoded = decodeEntry(data);
  if (!decoded.ok) assert.deepEqual(first?.outcome.result, { kind: "bad-command", reason: decoded.reason });
}

describe("fuzzing malformed entries (10,000 seeded inputs)", () => {
  test("random bytes never throw, and every replica gives the same verdict", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 48 }), (data) => {
        const first = decodeEntry(data);
        assert.deepEqual(decodeEntry(data), first);
        applyToTwoReplicas(data);
      }),
      FUZZ_RAW,
    );
  });

  test("mutated valid entries (flipped, inserted, deleted bytes) never throw and agree across replicas", () => {
    const mutation = fc.record({
      kind: fc.constantFrom("flip", "insert", "delete", "set"),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(anyEntry, fc.array(mutation, { minLength: 1, maxLength: 4 }), (entry, mutations) => {
        const bytes = [...encodeEntry(entry)];
        for (const { kind, at, byte } of mutations) {
          const position = at % (bytes.length + 1);
          if (kind === "insert") bytes.splice(position, 0, byte);
          else if (kind === "delete") bytes.splice(position, 1);
          else if (position < bytes.length)
            bytes[position] = kind === "set" ? byte : (bytes[position] ?? 0) ^ byte;
        }
        const data = new Uint8Array(bytes);
        const decoded = decodeEntry(data);
        // Whatever survives mutation and still decodes is a valid entry that encodes and decodes to itself.
        if (decoded.ok) assert.deepEqual(decodeEntry(encodeEntry(decoded.entry)), decoded);
        if (data.length > 0) applyToTwoReplicas(data);
      }),
      FUZZ_MUTATED,
    );
  });

  test("a bad entry in the middle of a log changes nothing and the log goes on", () => {
    const driver = new Driver(SMALL_CONFIG);
    const id = driver.register();
    driver.apply({ kind: "put", ...stamp(id, 1), key: "k", value: "v" });
    const before = driver.machine.snapshot();
    const outcome = driver.applyData(new Uint8Array([0xc1]));
    assert.equal(outcome.result.kind, "bad-command");
    assert.equal(outcome.clientId, null);
    assert.equal(driver.machine.appliedIndex, 3);
    // Only appliedIndex moved: restoring the earlier snapshot and applying the bad entry gives the same state.
    const replay = KvStateMachine.restore(before, SMALL_CONFIG);
    replay.apply(asIndex(3), new Uint8Array([0xc1]));
    assertSameBytes(replay.snapshot(), driver.machine.snapshot());
    assert.deepEqual(driver.result({ kind: "get", ...stamp(id, 2), key: "k" }), { kind: "ok", value: "v" });
  });
});
