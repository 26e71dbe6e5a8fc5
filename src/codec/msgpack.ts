import { C1, Packr } from "msgpackr";

/**
 * The wire and storage encoding: MessagePack through msgpackr (DESIGN.md §5). Plain objects, arrays, strings,
 * numbers, booleans, null and byte arrays round-trip; records (shared structure definitions) are off so every
 * encoded value stands alone and its size is what a peer on the other side of a socket would receive.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Encodes `value` into a fresh byte array that the caller owns. */
export function encode(value: unknown): Uint8Array {
  const packed = packr.pack(value);
  // msgpackr may return a view into a buffer it reuses; copy so later encodings cannot change our bytes.
  return new Uint8Array(packed);
}

/** Decodes bytes produced by {@link encode}; throws on malformed input (truncated, trailing or reserved bytes). */
export function decode(bytes: Uint8Array): unknown {
  const value = packr.unpack(bytes);
  assertNoReservedByte(value);
  return value;
}

/**
 * msgpackr decodes 0xc1, the one byte MessagePack reserves as never used, to a marker object instead of
 * failing; refuse it so malformed input always throws.
 */
function assertNoReservedByte(value: unknown): void {
  if (value === C1) throw new Error("malformed MessagePack: reserved byte 0xc1");
  if (Array.isArray(value)) {
    for (const item of value) assertNoReservedByte(item);
  } else if (typeof value === "object" && value !== null && !ArrayBuffer.isView(value)) {
    for (const item of Object.values(value)) assertNoReservedByte(item);
  }
}

/** A deep copy of `value` made by encoding and decoding it, as a network or disk round trip would. */
export function deepCopy<T>(value: T): T {
  return decode(encode(value)) as T;
}
