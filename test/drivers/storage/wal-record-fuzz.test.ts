/**
 * Fuzzing the WAL record decoder, the one function that reads bytes a crash or a bad disk may have mangled.
 * Over 100,000 seeded inputs (random bytes; valid records with bits flipped, cut short, or with forged
 * headers claiming huge lengths; checksummed garbage payloads) it must never throw, must return promptly,
 * and must never hand out (or be led to allocate) a buffer larger than recordBytesMax: every payload it
 * returns is a view into the input, and a header claiming too much is refused before the length is used.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { describe, test } from "node:test";
import fc from "fast-check";
import { asIndex, asTerm, type Entry } from "../../../src/core/index.ts";
import {
  crc32,
  type DecodeResult,
  decodeRecord,
  ENTRIES_RECORD_TYPE,
  encodeEntriesRecord,
  RECORD_HEADER_BYTES,
  writeHeader,
} from "../../../src/drivers/storage/wal-record.ts";

const LIMITS = { recordBytesMax: 1024 } as const;
const FUZZ_RUNS = 100_000;
/** A hang detector, not a benchmark: decoding an input of a few hundred bytes takes microseconds. */
const DECODE_MS_MAX = 1000;

/** One fuzz input: bytes, the offset to decode at, and whether the header claims more than the limit. */
interface FuzzInput {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly hugeLength: boolean;
}

const entryArb: fc.Arbitrary<Omit<Entry, "index">> = fc.record({
  term: fc.nat(1_000_000).map(asTerm),
  data: fc.uint8Array({ maxLength: 48 }),
});

/** A valid encoded record of 1 to 6 entries. */
const validRecord: fc.Arbitrary<{ bytes: Uint8Array; entries: Entry[] }> = fc
  .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.array(entryArb, { minLength: 1, maxLength: 6 }))
  .map(([first, list]) => {
    const entries = list.map((e, k) => ({ index: asIndex(first + k), term: e.term, data: e.data }));
    return { bytes: encodeEntriesRecord(entries), entries };
  });

/** Places `bytes` after `padding` zero-or-random bytes, so the decoder also runs at non-zero offsets. */
function atOffset(padding: Uint8Array, bytes: Uint8Array, hugeLength = false): FuzzInput {
  const joined = new Uint8Array(padding.length + bytes.length);
  joined.set(padding);
  joined.set(bytes, padding.length);
  return { bytes: joined, offset: padding.length, hugeLength };
}

const padding = fc.uint8Array({ maxLength: 8 });

const randomBytes: fc.Arbitrary<FuzzInput> = fc
  .tuple(padding, fc.uint8Array({ maxLength: 300 }))
  .map(([pad, bytes]) => atOffset(pad, bytes));

/** A random byte stream that starts with the magic byte, so it gets past the first check more often. */
const magicBytes: fc.Arbitrary<FuzzInput> = fc
  .tuple(padding, fc.uint8Array({ minLength: 1, maxLength: 300 }))
  .map(([pad, bytes]) => atOffset(pad, Uint8Array.of(0xc7, ...bytes)));

const bitFlips: fc.Arbitrary<FuzzInput> = fc
  .tuple(padding, validRecord, fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 4 }))
  .map(([pad, record, flips]) => {
    const bytes = record.bytes.slice();
    for (const [position, bit] of flips) {
      const at = position % bytes.length;
      bytes[at] = (bytes[at] ?? 0) ^ (1 << bit);
    }
    return atOffset(pad, bytes);
  });

const truncations: fc.Arbitrary<FuzzInput> = fc
  .tuple(padding, validRecord, fc.nat())
  .map(([pad, record, cut]) => atOffset(pad, record.bytes.subarray(0, cut % record.bytes.length)));

/** A header with a valid header checksum claiming more than the limit, up to 4 GiB, before a few bytes. */
const hugeLengths: fc.Arbitrary<FuzzInput> = fc
  .tuple(
    padding,
    fc.integer({ min: LIMITS.recordBytesMax + 1, max: 0xffff_ffff }),
    fc.uint8Array({ maxLength: 64 }),
  )
  .map(([pad, length, rest]) => {
    const bytes = new Uint8Array(RECORD_HEADER_BYTES + rest.length);
    bytes.set(rest, RECORD_HEADER_BYTES);
    writeHeader(bytes, ENTRIES_RECORD_TYPE, length, crc32(rest));
    return atOffset(pad, bytes, true);
  });

/** A well-framed record (both checksums valid) around a garbage payload: only the payload parser stands. */
const checksummedGarbage: fc.Arbitrary<FuzzInput> = fc
  .tuple(
    padding,
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      validRecord.map((r) => r.bytes.subarray(16)),
    ),
  )
  .chain(([pad, payload]) =>
    fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }).map((edits) => {
      const edited = payload.slice();
      for (const [position, value] of edits) if (edited.length > 0) edited[position % edited.length] = value;
      const bytes = new Uint8Array(RECORD_HEADER_BYTES + edited.length);
      bytes.set(edited, RECORD_HEADER_BYTES);
      writeHeader(bytes, ENTRIES_RECORD_TYPE, edited.length, crc32(edited));
      return atOffset(pad, bytes);
    }),
  );

/** Preallocated zero space, maybe cut short, maybe with garbage after the first header's worth of zeros. */
const zeroSpace: fc.Arbitrary<FuzzInput> = fc
  .tuple(padding, fc.nat(40), fc.uint8Array({ maxLength: 40 }))
  .map(([pad, zeros, rest]) => atOffset(pad, Uint8Array.from([...new Uint8Array(zeros), ...rest])));

const fuzzInput: fc.Arbitrary<FuzzInput> = fc.oneof(
  randomBytes,
  zeroSpace,
  magicBytes,
  bitFlips,
  truncations,
  hugeLengths,
  checksummedGarbage,
);

/** Checks everything a decode result promises about the input it came from. */
function checkResult(input: FuzzInput, result: DecodeResult): void {
  switch (result.kind) {
    case "record": {
      assert.ok(!input.hugeLength, "a header claiming more than the limit is never accepted");
      assert.ok(result.payloadBytes <= LIMITS.recordBytesMax);
      assert.ok(result.nextOffset <= input.bytes.length);
      assert.equal(result.nextOffset - input.offset, RECORD_HEADER_BYTES + result.payloadBytes);
      const { firstIndex, entries } = result.record;
      assert.ok(entries.length >= 1);
      let dataBytes = 0;
      for (const [k, entry] of entries.entries()) {
        assert.equal(entry.index, firstIndex + k);
        assert.ok(Number.isSafeInteger(entry.index) && Number.isSafeInteger(entry.term));
        assert.equal(
          entry.data.buffer,
          input.bytes.buffer,
          "entry data is a view into the input, not a copy",
        );
        dataBytes += entry.data.length;
      }
      assert.ok(dataBytes <= result.payloadBytes);
      break;
    }
    case "incomplete":
      assert.ok(!input.hugeLength, "a huge length is refused before the decoder asks for that many bytes");
      assert.ok(result.needBytes <= RECORD_HEADER_BYTES + LIMITS.recordBytesMax);
      assert.ok(result.needBytes > input.bytes.length - input.offset);
      break;
    case "invalid":
      if (input.hugeLength) assert.match(result.reason, /exceeds the limit/);
      assert.ok(result.reason.length > 0);
      break;
    case "zero":
    case "end":
      assert.ok(!input.hugeLength);
      break;
    default:
      assert.fail(`unexpected result ${JSON.stringify(result)}`);
  }
}

describe("WAL record decoder", () => {
  test("valid records decode to exactly what was encoded", () => {
    fc.assert(
      fc.property(padding, validRecord, (pad, record) => {
        const input = atOffset(pad, record.bytes);
        const result = decodeRecord(input.bytes, input.offset, LIMITS);
        assert.equal(result.kind, "record");
        if (result.kind !== "record") return;
        assert.equal(result.nextOffset, input.bytes.length);
        assert.deepEqual(
          result.record.entries.map((e) => ({ ...e, data: e.data.slice() })),
          record.entries,
        );
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  test(`${FUZZ_RUNS} mangled inputs: never throws, returns promptly, never exceeds recordBytesMax`, () => {
    let slowest = 0;
    const kinds = new Map<string, number>();
    fc.assert(
      fc.property(fuzzInput, (input) => {
        const started = performance.now();
        const result = decodeRecord(input.bytes, input.offset, LIMITS);
        slowest = Math.max(slowest, performance.now() - started);
        kinds.set(result.kind, (kinds.get(result.kind) ?? 0) + 1);
        checkResult(input, result);
      }),
      { seed: 4242, numRuns: FUZZ_RUNS },
    );
    assert.ok(slowest < DECODE_MS_MAX, `slowest decode took ${slowest} ms`);
    // The mix reaches every outcome, so no branch of the decoder went unfuzzed.
    for (const kind of ["record", "zero", "incomplete", "invalid"]) {
      assert.ok((kinds.get(kind) ?? 0) > 100, `outcome ${kind} seen ${kinds.get(kind) ?? 0} times`);
    }
  });

  test("odd arguments are answered, not thrown: offsets outside the input, a nonsense limit", () => {
    const record = encodeEntriesRecord([{ index: asIndex(1), term: asTerm(1), data: new Uint8Array(4) }]);
    assert.equal(decodeRecord(record, -1, LIMITS).kind, "invalid");
    assert.equal(decodeRecord(record, record.length + 1, LIMITS).kind, "invalid");
    assert.equal(decodeRecord(record, 0.5, LIMITS).kind, "invalid");
    assert.equal(decodeRecord(record, record.length, LIMITS).kind, "end");
    assert.equal(decodeRecord(record, 0, { recordBytesMax: -1 }).kind, "invalid");
    assert.equal(decodeRecord(record, 0, { recordBytesMax: 10 }).kind, "invalid");
  });
});
