/**
 * Length-prefixed framing of the transport's byte stream: every frame is a 4-byte big-endian length followed
 * by that many payload bytes. This file is pure (no Node APIs) so it can be fuzzed on its own.
 */

/** Bytes of the length prefix in front of every frame. */
export const FRAME_PREFIX_BYTES = 4;

/** The smallest payload a frame may carry: the envelope's one-byte frame kind. */
export const FRAME_PAYLOAD_BYTES_MIN = 1;

/** The largest length the 4-byte prefix can express. */
export const FRAME_PAYLOAD_BYTES_LIMIT = 0xffff_ffff;

/** What one {@link FrameDecoder.feed} produced: complete frames, and an error if the stream went bad. */
export type FrameDecodeResult =
  | { readonly ok: true; readonly frames: readonly Uint8Array[] }
  /** The stream is broken; `frames` are the complete frames that came before the bad prefix. */
  | { readonly ok: false; readonly frames: readonly Uint8Array[]; readonly error: string };

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** The largest payload accepted, in bytes; a longer prefix is an error and is never allocated. */
  readonly frameBytesMax: number;
  /** Allocates the buffer for a payload that spans chunks (a test hook to watch allocation sizes). */
  readonly allocate?: (bytes: number) => Uint8Array;
}

/** The first buffer allocated for a payload that spans chunks; later ones double, up to the payload's size. */
const SPANNING_PAYLOAD_BYTES_INITIAL = 4096;

/**
 * Incremental decoder: feed it the stream's chunks as they arrive, in any sizes, and it returns each frame's
 * payload once all of it is there.
 *
 * Memory: it holds at most one incomplete frame. It checks a length prefix against the limit as soon as the
 * 4 prefix bytes are in, and a payload that spans chunks is gathered in a buffer that grows (doubling) with
 * the bytes actually received, never beyond the payload's length: a peer claiming 4 GiB, or claiming 16 MiB
 * and sending 10 bytes, costs next to nothing. A payload that lies within one chunk is returned as a view of
 * that chunk (no copy); the caller must not modify fed chunks afterwards.
 *
 * After an error the decoder stays failed: every later feed returns the same error.
 */
export class FrameDecoder {
  #frameBytesMax: number;
  readonly #allocate: (bytes: number) => Uint8Array;
  /** The length prefix read so far, and how many of its 4 bytes that is. */
  #prefix = 0;
  #prefixFilled = 0;
  /** The payload length of the frame being received, once its prefix is complete. */
  #payloadBytes: number | undefined = undefined;
  /** The part of a spanning payload received so far (its first `#bodyFilled` bytes), if any. */
  #body: Uint8Array | undefined = undefined;
  #bodyFilled = 0;
  #error: string | undefined = undefined;

  constructor(options: FrameDecoderOptions) {
    this.#frameBytesMax = checkedLimit(options.frameBytesMax);
    this.#allocate = options.allocate ?? ((bytes) => new Uint8Array(bytes));
  }

  /** The payload limit now in force, in bytes. */
  get frameBytesMax(): number {
    return this.#frameBytesMax;
  }

  /**
   * Changes the payload limit (the transport raises it once a connection's handshake is done). A frame
   * whose prefix was already accepted keeps its length; the next prefix is checked against the new limit.
   */
  set frameBytesMax(bytes: number) {
    this.#frameBytesMax = checkedLimit(bytes);
  }

  /** Memory held for the incomplete frame, in bytes (prefix plus gathering buffer): at most 4 + frameBytesMax. */
  get heldBytes(): number {
    return this.#prefixFilled + (this.#body?.length ?? 0);
  }

  /** The error that broke the stream, if one did. */
  get error(): string | undefined {
    return this.#error;
  }

  /** Takes the next chunk of the stream and returns the frames it completed. */
  feed(chunk: Uint8Array): FrameDecodeResult {
    const frames: Uint8Array[] = [];
    const error = this.feedEach(chunk, (payload) => {
      frames.push(payload);
      return true;
    });
    return error === undefined ? { ok: true, frames } : { ok: false, frames, error };
  }

  /**
   * Takes the next chunk and hands each frame it completes to `onFrame` as soon as it is complete, before
   * the next length prefix is looked at, so `onFrame` may change the limit for the frames after it (the
   * handshake does). `onFrame` returns false to stop: the rest of the chunk is discarded and the decoder is
   * failed. Returns the error that broke the stream, or undefined.
   */
  feedEach(chunk: Uint8Array, onFrame: (payload: Uint8Array) => boolean): string | undefined {
    if (this.#error !== undefined) return this.#error;
    let at = 0;
    // Every pass consumes at least one byte of the chunk, so the loop ends within chunk.length passes.
    while (at < chunk.length) {
      if (this.#payloadBytes === undefined) {
        while (this.#prefixFilled < FRAME_PREFIX_BYTES && at < chunk.length) {
          this.#prefix = this.#prefix * 256 + (chunk[at] ?? 0);
          this.#prefixFilled++;
          at++;
        }
        if (this.#prefixFilled < FRAME_PREFIX_BYTES) break;
        const problem = lengthProblem(this.#prefix, this.#frameBytesMax);
        if (problem !== undefined) return this.#fail(problem);
        this.#payloadBytes = this.#prefix;
        this.#prefix = 0;
        this.#prefixFilled = 0;
        continue;
      }
      const needed = this.#payloadBytes - this.#bodyFilled;
      const available = chunk.length - at;
      let payload: Uint8Array | undefined;
      if (this.#body === undefined && available >= needed) {
        payload = chunk.subarray(at, at + needed);
        at += needed;
      } else {
        const count = Math.min(needed, available);
        const body = this.#bodyWithRoom(this.#bodyFilled + count, this.#payloadBytes);
        body.set(chunk.subarray(at, at + count), this.#bodyFilled);
        this.#bodyFilled += count;
        at += count;
        if (this.#bodyFilled === this.#payloadBytes) payload = body;
      }
      if (payload === undefined) continue;
      this.#body = undefined;
      this.#bodyFilled = 0;
      this.#payloadBytes = undefined;
      if (!onFrame(payload)) return this.#fail("the reader stopped the stream");
    }
    return undefined;
  }

  /**
   * Called when the stream ends: returns an error if it ended inside a frame (a truncated frame), else
   * undefined.
   */
  finish(): string | undefined {
    if (this.#error !== undefined) return this.#error;
    if (this.#payloadBytes !== undefined) {
      return this.#fail(
        `stream ended inside a frame (${this.#bodyFilled} of ${this.#payloadBytes} payload bytes)`,
      );
    }
    if (this.#prefixFilled > 0) {
      return this.#fail(
        `stream ended inside a frame's length prefix (${this.#prefixFilled} of ${FRAME_PREFIX_BYTES} bytes)`,
      );
    }
    return undefined;
  }

  /** Breaks the stream for good; returns `error`. */
  #fail(error: string): string {
    this.#error = error;
    this.#body = undefined;
    this.#bodyFilled = 0;
    this.#payloadBytes = undefined;
    this.#prefix = 0;
    this.#prefixFilled = 0;
    return error;
  }

  /**
   * The gathering buffer, grown if it cannot hold `required` bytes: to double its size (at least the
   * initial size and `required`), but never beyond the payload, so its size stays within twice the bytes
   * received and within the payload.
   */
  #bodyWithRoom(required: number, payloadBytes: number): Uint8Array {
    const current = this.#body;
    if (current !== undefined && current.length >= required) return current;
    const size = Math.min(
      payloadBytes,
      Math.max(required, 2 * (current?.length ?? 0), SPANNING_PAYLOAD_BYTES_INITIAL),
    );
    const grown = this.#allocate(size);
    if (current !== undefined) grown.set(current.subarray(0, this.#bodyFilled));
    this.#body = grown;
    return grown;
  }
}

/** Why a frame's length prefix is unacceptable, or undefined if it is fine. */
function lengthProblem(length: number, frameBytesMax: number): string | undefined {
  if (length < FRAME_PAYLOAD_BYTES_MIN) return `frame of ${length} bytes is shorter than its frame kind`;
  if (length > frameBytesMax) return `frame of ${length} bytes exceeds the limit of ${frameBytesMax} bytes`;
  return undefined;
}

function checkedLimit(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < FRAME_PAYLOAD_BYTES_MIN || bytes > FRAME_PAYLOAD_BYTES_LIMIT) {
    throw new RangeError(
      `frameBytesMax must be an integer from ${FRAME_PAYLOAD_BYTES_MIN} to ${FRAME_PAYLOAD_BYTES_LIMIT}, got ${bytes}`,
    );
  }
  return bytes;
}

/**
 * Encodes one frame: the 4-byte big-endian payload length, then the payload, which is the envelope's one-byte
 * frame `kind` followed by `body`. One allocation, one copy of the body.
 */
export function encodeFrame(kind: number, body: Uint8Array): Uint8Array {
  const payloadBytes = 1 + body.length;
  const frame = new Uint8Array(FRAME_PREFIX_BYTES + payloadBytes);
  new DataView(frame.buffer).setUint32(0, payloadBytes);
  frame[FRAME_PREFIX_BYTES] = kind;
  frame.set(body, FRAME_PREFIX_BYTES + 1);
  return frame;
}
