import { Packr } from "msgpackr";

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

/** Decodes bytes produced by {@link encode}; throws on malformed input. */
export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** A deep copy of `value` made by encoding and decoding it, as a network or disk round trip would. */
export function deepCopy<T>(value: T): T {
  return decode(encode(value)) as T;
}
