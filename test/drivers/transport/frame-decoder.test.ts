/**
 * The incremental frame decoder: exact framing under every chunking, errors for bad prefixes and truncated
 * streams, and fuzzing (more than 100,000 seeded inputs) showing that nothing throws, time stays linear and
 * nothing larger than frameBytesMax (or than twice the bytes received) is ever allocated.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encodeFrame, FrameDecoder } from "../../../src/drivers/transport/index.ts";

/** The limit used by most properties: small, so random prefixes often exceed it. */
const LIMIT = 1024;

/** One frame of `payload` (whose first byte plays the frame kind). */
function frameOf(payload: Uint8Array): Uint8Array {
  return encodeFrame(payload[0] ?? 0, payload.subarray(1));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Splits `bytes` at the given cut points (taken modulo its length). */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % (bytes.length + 1))))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

/** A decoder whose allocations are recorded. */
function watchedDecoder(frameBytesMax: number): { decoder: FrameDecoder; allocations: number[] } {
  const allocations: number[] = [];
  const decoder = new FrameDecoder({
    frameBytesMax,
    allocate: (bytes) => {
      allocations.push(bytes);
      return new Uint8Array(bytes);
    },
  });
  return { decoder, allocations };
}

/**
 * Feeds `chunks` and checks the decoder's memory promises after each: it holds at most one frame's worth,
 * and every allocation is within the limit and within twice the bytes fed so far (never the claimed size).
 */
function feedAll(frameBytesMax: number, chunks: readonly Uint8Array[]) {
  const { decoder, allocations } = watchedDecoder(frameBytesMax);
  const frames: Uint8Array[] = [];
  let error: string | undefined;
  let fed = 0;
  for (const chunk of chunks) {
    fed += chunk.length;
    const result = decoder.feed(chunk);
    frames.push(...result.frames);
    if (!result.ok) error ??= result.error;
    assert.ok(decoder.heldBytes <= 4 + frameBytesMax);
    for (const size of allocations) {
      assert.ok(size <= frameBytesMax, `allocated ${size} > limit ${frameBytesMax}`);
      assert.ok(size <= Math.max(4096, 2 * fed), `allocated ${size} after ${fed} bytes`);
    }
  }
  return { frames, error: error ?? decoder.finish(), decoder };
}

describe("FrameDecoder", () => {
  test("one frame fed byte by byte, and several frames in one chunk", () => {
    const payloads = [Uint8Array.of(1), Uint8Array.of(4, 5, 6), new Uint8Array(5000).fill(9)];
    const stream = concat(payloads.map(frameOf));
    const byteByByte = feedAll(
      1 << 20,
      Array.from(stream, (byte) => Uint8Array.of(byte)),
    );
    assert.deepEqual(
      byteByByte.frames.map((frame) => [...frame]),
      payloads.map((payload) => [...payload]),
    );
    assert.equal(byteByByte.error, undefined);
    const whole = feedAll(1 << 20, [stream]);
    assert.deepEqual(
      whole.frames.map((frame) => [...frame]),
      payloads.map((payload) => [...payload]),
    );
  });

  test("a frame inside one chunk comes back as a view of it, without a copy", () => {
    const stream = frameOf(Uint8Array.of(7, 8, 9));
    const { decoder, allocations } = watchedDecoder(LIMIT);
    const result = decoder.feed(stream);
    assert.ok(result.ok);
    assert.equal(result.frames[0]?.buffer, stream.buffer);
    assert.deepEqual(allocations, []);
  });

  test("bad prefixes and truncated streams are errors, and the decoder stays failed", () => {
    assert.equal(
      feedAll(LIMIT, [Uint8Array.of(0, 0, 0, 0)]).error,
      "frame of 0 bytes is shorter than its frame kind",
    );
    assert.equal(
      feedAll(LIMIT, [Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1)]).error,
      "frame of 4294967295 bytes exceeds the limit of 1024 bytes",
    );
    assert.equal(
      feedAll(LIMIT, [Uint8Array.of(0, 0, 0, 10, 1, 2)]).error,
      "stream ended inside a frame (2 of 10 payload bytes)",
    );
    assert.equal(
      feedAll(LIMIT, [Uint8Array.of(0, 0)]).error,
      "stream ended inside a frame's length prefix (2 of 4 bytes)",
    );
    const { decoder } = feedAll(LIMIT, [Uint8Array.of(0, 0, 0x10, 0)]);
    const later = decoder.feed(frameOf(Uint8Array.of(1)));
    assert.deepEqual(later, {
      ok: false,
      frames: [],
      error: "frame of 4096 bytes exceeds the limit of 1024 bytes",
    });
  });

  test("frames before a bad prefix in the same chunk are still returned", () => {
    const result = new FrameDecoder({ frameBytesMax: LIMIT }).feed(
      concat([frameOf(Uint8Array.of(1, 2)), Uint8Array.of(0xff, 0xff, 0xff, 0xff)]),
    );
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.frames.map((frame) => [...frame]),
      [[1, 2]],
    );
  });

  test("feedEach lets a frame's reader raise the limit for the next frame, or stop the stream", () => {
    const decoder = new FrameDecoder({ frameBytesMax: 8 });
    const big = new Uint8Array(100).fill(3);
    const seen: number[] = [];
    const error = decoder.feedEach(concat([frameOf(Uint8Array.of(1)), frameOf(big)]), (payload) => {
      seen.push(payload.length);
      decoder.frameBytesMax = 1000;
      return true;
    });
    assert.equal(error, undefined);
    assert.deepEqual(seen, [1, 100]);
    const stopped = decoder.feedEach(
      concat([frameOf(Uint8Array.of(1)), frameOf(Uint8Array.of(2))]),
      () => false,
    );
    assert.equal(stopped, "the reader stopped the stream");
  });

  test("a 16 MiB claim fed a few bytes at a time allocates in step with what arrived", () => {
    const limit = 16 * 1024 * 1024;
    const chunks = [
      Uint8Array.of(0x01, 0, 0, 0, 1),
      ...Array.from({ length: 100 }, () => new Uint8Array(100)),
    ];
    const { error, decoder } = feedAll(limit, chunks);
    assert.match(error ?? "", /stream ended inside a frame \(10001 of 16777216 payload bytes\)/);
    assert.equal(decoder.heldBytes, 0);
  });

  describe("fuzz", () => {
    test("random bytes in random chunks never throw and never over-allocate", () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 256 }),
          fc.array(fc.nat(), { maxLength: 6 }),
          fc.constantFrom(1, 16, LIMIT),
          (bytes, cuts, limit) => {
            feedAll(limit, split(bytes, cuts));
          },
        ),
        { seed: 201, numRuns: 40_000 },
      );
    });

    test("valid frames under random chunkings come back exactly", () => {
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 6 }),
          fc.array(fc.nat(), { maxLength: 8 }),
          (payloads, cuts) => {
            const { frames, error } = feedAll(LIMIT, split(concat(payloads.map(frameOf)), cuts));
            assert.equal(error, undefined);
            assert.deepEqual(
              frames.map((frame) => [...frame]),
              payloads.map((payload) => [...payload]),
            );
          },
        ),
        { seed: 202, numRuns: 30_000 },
      );
    });

    test("valid frames with mutated length prefixes, huge ones included", () => {
      const length = fc.oneof(
        fc.constantFrom(0, 1, LIMIT, LIMIT + 1, 0x7fff_ffff, 0xffff_ffff),
        fc.nat({ max: 0xffff_ffff }),
        fc.nat({ max: 2 * LIMIT }),
      );
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 4 }),
          fc.nat(),
          length,
          fc.array(fc.nat(), { maxLength: 6 }),
          (payloads, which, claimed, cuts) => {
            const frames = payloads.map(frameOf);
            const target = frames[which % frames.length];
            assert.ok(target !== undefined);
            new DataView(target.buffer, target.byteOffset).setUint32(0, claimed);
            const result = feedAll(LIMIT, split(concat(frames), cuts));
            if (claimed === 0 || claimed > LIMIT) assert.ok(result.error !== undefined);
          },
        ),
        { seed: 203, numRuns: 30_000 },
      );
    });
  });
});
