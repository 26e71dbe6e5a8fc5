/**
 * The MessagePack wrapper: round trips of every value kind the wire carries, ownership of the returned bytes,
 * and errors on malformed input.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decode, deepCopy, encode } from "../../src/codec/msgpack.ts";

const PROPERTY = { seed: 42, numRuns: 200 } as const;

/** Byte arrays come back as Node Buffers (a Uint8Array subclass); compare them as plain bytes. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, normalize(inner)]));
  }
  return value;
}

/** What the wire carries: null, booleans, numbers (-0 is sent as 0), strings, bytes, arrays and records. */
const wireValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double().map((x) => (Object.is(x, -0) ? 0 : x)),
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(
      fc.string().filter((key) => key !== "__proto__"),
      tie("value"),
      { maxKeys: 5 },
    ),
  ),
})).value;

describe("msgpack codec", () => {
  test("every wire value round-trips", () => {
    fc.assert(
      fc.property(wireValue, (value) => {
        assert.deepEqual(normalize(decode(encode(value))), normalize(value));
      }),
      PROPERTY,
    );
  });

  test("deepCopy equals the original and shares nothing with it", () => {
    const original = { term: 3, entries: [{ data: new Uint8Array([1, 2]) }], nested: { list: [1, "a"] } };
    const copy = deepCopy(original);
    assert.deepEqual(normalize(copy), normalize(original));
    assert.notEqual(copy.entries, original.entries);
    assert.notEqual(copy.entries[0]?.data.buffer, original.entries[0]?.data.buffer);
    copy.nested.list.push(2);
    assert.equal(original.nested.list.length, 2);
  });

  test("encode returns bytes the caller owns: later encodings do not change them", () => {
    const first = encode({ a: 1, b: "first" });
    const snapshot = [...first];
    for (let i = 0; i < 100; i++) encode({ a: i, b: "x".repeat(i) });
    assert.deepEqual([...first], snapshot);
    const again = encode({ a: 1, b: "first" });
    again[0] = 0;
    assert.deepEqual([...first], snapshot);
  });

  test("every strict prefix of an encoding fails to decode with an Error", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.string({ minLength: 1 }), fc.uint8Array({ minLength: 1 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (value) => {
          const bytes = encode(value);
          for (let length = 0; length < bytes.length; length++) {
            assert.throws(
              () => decode(bytes.subarray(0, length)),
              Error,
              `prefix of length ${length} decoded`,
            );
          }
        },
      ),
      PROPERTY,
    );
  });

  test("trailing bytes after a value are an error, not ignored", () => {
    const bytes = encode([1, 2, 3]);
    const longer = new Uint8Array([...bytes, 0x01]);
    assert.throws(() => decode(longer), Error);
  });

  test("the reserved byte 0xc1 is an error, alone or nested", () => {
    assert.throws(() => decode(new Uint8Array([0xc1])), Error);
    assert.throws(() => decode(new Uint8Array([0x92, 0x01, 0xc1])), Error);
    assert.throws(() => decode(new Uint8Array([0x81, 0xa1, 0x61, 0xc1])), Error);
  });

  test("empty input is an error", () => {
    assert.throws(() => decode(new Uint8Array()), Error);
  });

  test("a __proto__ key from the wire cannot replace an object's prototype", () => {
    const hostile = new Uint8Array([
      0x81,
      0xa9,
      ...new TextEncoder().encode("__proto__"),
      0x81,
      0xa1,
      0x78,
      0x01,
    ]);
    const decoded = decode(hostile) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.equal((decoded as { x?: unknown }).x, undefined);
    assert.equal(({} as { x?: unknown }).x, undefined, "Object.prototype untouched");
  });
});
