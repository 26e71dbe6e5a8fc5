import CRC32 from "crc-32";
import { asIndex, asTerm, decodeMembership, type Entry, type LogIndex } from "../../core/index.ts";

/**
 * One record of the write-ahead log, framed so that recovery can tell a whole record from a torn or damaged
 * one without trusting any byte it has not checked. Layout (little-endian), see also disk-log.ts:
 *
 *   header, 16 bytes:
 *     0  u8   magic 0xC7 (never 0, so preallocated zero space never looks like a record)
 *     1  u8   type (1 = entries)
 *     2  u16  reserved, 0
 *     4  u32  payload length in bytes
 *     8  u32  CRC-32 of the payload
 *     12 u32  CRC-32 of header bytes 0..11
 *   payload of an entries record:
 *     0  u64  index of the first entry
 *     8  u32  entry count (>= 1)
 *     12 per entry: u64 term, u32 data length, data bytes
 *        (bit 31 of the data length set marks a membership entry, thesis §4; data lengths stay far below 2^31)
 *
 * The header has its own checksum so a damaged length is caught before it is used for anything, and so
 * recovery can look past a bad record for a later valid one cheaply (see scan-segment.ts).
 */

/** First byte of every record. */
export const RECORD_MAGIC = 0xc7;
/** Bytes in a record header. */
export const RECORD_HEADER_BYTES = 16;
/** The type byte of an entries record. */
export const ENTRIES_RECORD_TYPE = 1;
/** Bytes of an entries payload before its first entry: first index (u64) and count (u32). */
const ENTRIES_PAYLOAD_PREFIX_BYTES = 12;
/** Bytes of one entry besides its data: term (u64) and data length (u32). */
export const ENTRY_OVERHEAD_BYTES = 12;
/** The bit of an entry's data-length field that marks a membership entry. */
const MEMBERSHIP_ENTRY_BIT = 0x8000_0000;
/** The largest payload length the u32 length field can express. */
export const PAYLOAD_BYTES_LIMIT = 0xffff_ffff;

/** A decoded entries record: "discard every entry at or after `firstIndex`, then append `entries`". */
export interface EntriesRecord {
  readonly type: "entries";
  readonly firstIndex: LogIndex;
  /** Entries `firstIndex`, `firstIndex + 1`, ...; their `data` are views into the decoded bytes, not copies. */
  readonly entries: readonly Entry[];
}

/** Any record of the log. Only entries records exist; hard state and snapshots have files of their own. */
export type WalRecord = EntriesRecord;

/** Limits a decoder enforces before trusting a header. */
export interface RecordLimits {
  /** The largest payload accepted, in bytes; a header claiming more is invalid and nothing is allocated. */
  readonly recordBytesMax: number;
}

/**
 * What {@link decodeRecord} found at an offset:
 * - `record`: a whole, checksummed record that ends at `nextOffset`; `payloadBytes` is its payload length;
 * - `end`: the offset is at the end of the input;
 * - `zero`: the header's bytes (as many as remain) are all zero, as in preallocated space;
 * - `incomplete`: the input ends inside the header, or the header is valid and the payload runs past the end;
 *   `needBytes` (at most header + recordBytesMax) is how many bytes from the offset would hold it all;
 * - `invalid`: the bytes there are not a record, for `reason`; `recordBytes` is the length its header claims
 *   when the header itself checked out (the payload is what is wrong).
 */
export type DecodeResult =
  | {
      readonly kind: "record";
      readonly record: WalRecord;
      readonly payloadBytes: number;
      readonly nextOffset: number;
    }
  | { readonly kind: "end" }
  | { readonly kind: "zero" }
  | { readonly kind: "incomplete"; readonly needBytes: number }
  | { readonly kind: "invalid"; readonly reason: string; readonly recordBytes?: number };

/**
 * Decodes the record at `offset` of `bytes`. A pure function of its input that never throws and never
 * allocates a buffer: entry data are views into `bytes`, the entries array grows by one per entry actually
 * present in the checksummed payload, and a header claiming more than `limits.recordBytesMax` is rejected
 * before its length is used. Time is linear in the record's payload.
 */
export function decodeRecord(bytes: Uint8Array, offset: number, limits: RecordLimits): DecodeResult {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > bytes.length) {
    return { kind: "invalid", reason: `offset ${offset} is outside the ${bytes.length} input bytes` };
  }
  if (!Number.isSafeInteger(limits.recordBytesMax) || limits.recordBytesMax < 0) {
    return { kind: "invalid", reason: `recordBytesMax ${limits.recordBytesMax} is not a byte count` };
  }
  const remaining = bytes.length - offset;
  if (remaining === 0) return { kind: "end" };
  const headerEnd = offset + Math.min(RECORD_HEADER_BYTES, remaining);
  if (isZero(bytes, offset, headerEnd)) return { kind: "zero" };
  if (bytes[offset] !== RECORD_MAGIC) {
    return { kind: "invalid", reason: `bad magic byte 0x${(bytes[offset] ?? 0).toString(16)}` };
  }
  if (remaining < RECORD_HEADER_BYTES) return { kind: "incomplete", needBytes: RECORD_HEADER_BYTES };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_HEADER_BYTES);
  const headerCrc = crc32(bytes.subarray(offset, offset + 12));
  if (view.getUint32(12, true) !== headerCrc) return { kind: "invalid", reason: "header checksum mismatch" };
  const type = view.getUint8(1);
  if (type !== ENTRIES_RECORD_TYPE) return { kind: "invalid", reason: `unknown record type ${type}` };
  if (view.getUint16(2, true) !== 0) return { kind: "invalid", reason: "reserved header bytes are not zero" };
  const payloadBytes = view.getUint32(4, true);
  if (payloadBytes > limits.recordBytesMax) {
    return {
      kind: "invalid",
      reason: `payload length ${payloadBytes} exceeds the limit of ${limits.recordBytesMax} bytes`,
    };
  }
  const payloadStart = offset + RECORD_HEADER_BYTES;
  if (payloadBytes > bytes.length - payloadStart) {
    return { kind: "incomplete", needBytes: RECORD_HEADER_BYTES + payloadBytes };
  }
  const payload = bytes.subarray(payloadStart, payloadStart + payloadBytes);
  const recordBytes = RECORD_HEADER_BYTES + payloadBytes;
  if (view.getUint32(8, true) !== crc32(payload)) {
    return { kind: "invalid", reason: "payload checksum mismatch", recordBytes };
  }
  const parsed = decodeEntriesPayload(payload);
  if (typeof parsed === "string") return { kind: "invalid", reason: parsed, recordBytes };
  return { kind: "record", record: parsed, payloadBytes, nextOffset: payloadStart + payloadBytes };
}

/** Parses a checksummed entries payload; returns the reason as a string when it is malformed. */
function decodeEntriesPayload(payload: Uint8Array): EntriesRecord | string {
  if (payload.length < ENTRIES_PAYLOAD_PREFIX_BYTES)
    return `entries payload of ${payload.length} bytes is too short`;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const firstIndex = readU64(view, 0);
  if (firstIndex === undefined || firstIndex < 1) return "first entry index is not a positive safe integer";
  const count = view.getUint32(8, true);
  if (count < 1) return "entries record holds no entry";
  // Checked before the loop, so a forged count cannot make it run (or the array grow) past the payload.
  if (count > (payload.length - ENTRIES_PAYLOAD_PREFIX_BYTES) / ENTRY_OVERHEAD_BYTES) {
    return `entry count ${count} cannot fit in a ${payload.length}-byte payload`;
  }
  if (!Number.isSafeInteger(firstIndex + count - 1)) return "last entry index is not a safe integer";
  const entries: Entry[] = [];
  let position = ENTRIES_PAYLOAD_PREFIX_BYTES;
  for (let k = 0; k < count; k++) {
    if (payload.length - position < ENTRY_OVERHEAD_BYTES) return `entry ${k} runs past the payload`;
    const term = readU64(view, position);
    if (term === undefined) return `entry ${k} has a term that is not a safe integer`;
    const lengthField = view.getUint32(position + 8, true);
    const membership = (lengthField & MEMBERSHIP_ENTRY_BIT) !== 0;
    const dataBytes = lengthField & ~MEMBERSHIP_ENTRY_BIT;
    position += ENTRY_OVERHEAD_BYTES;
    if (dataBytes > payload.length - position) return `entry ${k} data runs past the payload`;
    const data = payload.subarray(position, position + dataBytes);
    if (membership) {
      try {
        decodeMembership(data);
      } catch (error) {
        return `entry ${k}: ${(error as Error).message}`;
      }
    }
    entries.push({
      index: asIndex(firstIndex + k),
      term: asTerm(term),
      data,
      ...(membership ? { kind: "membership" as const } : {}),
    });
    position += dataBytes;
  }
  if (position !== payload.length) return `${payload.length - position} bytes follow the last entry`;
  return { type: "entries", firstIndex: asIndex(firstIndex), entries };
}

/** Payload bytes an entries record of `entries` takes. */
export function entriesPayloadBytes(entries: readonly Entry[]): number {
  let total = ENTRIES_PAYLOAD_PREFIX_BYTES;
  for (const entry of entries) total += ENTRY_OVERHEAD_BYTES + entry.data.length;
  return total;
}

/** Payload bytes a record holding just `entry` takes: the least a record with it can take. */
export function singleEntryPayloadBytes(entry: Entry): number {
  return ENTRIES_PAYLOAD_PREFIX_BYTES + ENTRY_OVERHEAD_BYTES + entry.data.length;
}

/**
 * Encodes contiguous entries as one record (header and payload). The caller keeps the payload within its
 * recordBytesMax (see {@link splitIntoRecords}); entries must be non-empty with consecutive indexes.
 */
export function encodeEntriesRecord(entries: readonly Entry[]): Uint8Array {
  const first = entries[0];
  if (first === undefined) throw new RangeError("encodeEntriesRecord: no entries");
  const payloadBytes = entriesPayloadBytes(entries);
  if (payloadBytes > PAYLOAD_BYTES_LIMIT) throw new RangeError("encodeEntriesRecord: payload too large");
  const record = new Uint8Array(RECORD_HEADER_BYTES + payloadBytes);
  const view = new DataView(record.buffer);
  let position = RECORD_HEADER_BYTES;
  writeU64(view, position, first.index);
  view.setUint32(position + 8, entries.length, true);
  position += ENTRIES_PAYLOAD_PREFIX_BYTES;
  for (const entry of entries) {
    writeU64(view, position, entry.term);
    if (entry.data.length >= MEMBERSHIP_ENTRY_BIT)
      throw new RangeError("encodeEntriesRecord: entry too large");
    const kindBit = entry.kind === "membership" ? MEMBERSHIP_ENTRY_BIT : 0;
    view.setUint32(position + 8, (entry.data.length | kindBit) >>> 0, true);
    position += ENTRY_OVERHEAD_BYTES;
    record.set(entry.data, position);
    position += entry.data.length;
  }
  writeHeader(record, ENTRIES_RECORD_TYPE, payloadBytes, crc32(record.subarray(RECORD_HEADER_BYTES)));
  return record;
}

/**
 * Writes a record header into `record[0..16)` for a payload of `payloadBytes` with checksum `payloadCrc`.
 * Exported so tests can forge headers (a huge length with a valid header checksum, an unknown type).
 */
export function writeHeader(
  record: Uint8Array,
  type: number,
  payloadBytes: number,
  payloadCrc: number,
): void {
  const view = new DataView(record.buffer, record.byteOffset, RECORD_HEADER_BYTES);
  view.setUint8(0, RECORD_MAGIC);
  view.setUint8(1, type);
  view.setUint16(2, 0, true);
  view.setUint32(4, payloadBytes, true);
  view.setUint32(8, payloadCrc >>> 0, true);
  view.setUint32(12, crc32(record.subarray(0, 12)), true);
}

/**
 * Splits a save's entries into groups whose records each stay within `recordBytesMax` payload bytes, in
 * order. Every single entry must fit on its own (the caller checks with {@link singleEntryPayloadBytes}).
 */
export function splitIntoRecords(entries: readonly Entry[], recordBytesMax: number): Entry[][] {
  const groups: Entry[][] = [];
  let current: Entry[] = [];
  let currentBytes = ENTRIES_PAYLOAD_PREFIX_BYTES;
  for (const entry of entries) {
    const entryBytes = ENTRY_OVERHEAD_BYTES + entry.data.length;
    if (current.length > 0 && currentBytes + entryBytes > recordBytesMax) {
      groups.push(current);
      current = [];
      currentBytes = ENTRIES_PAYLOAD_PREFIX_BYTES;
    }
    current.push(entry);
    currentBytes += entryBytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * CRC-32 (IEEE) of `bytes` as an unsigned 32-bit integer. With `previous`, the CRC of the bytes that
 * `previous` covered followed by `bytes`, so a checksum can span pieces that are never joined.
 */
export function crc32(bytes: Uint8Array, previous?: number): number {
  return (previous === undefined ? CRC32.buf(bytes) : CRC32.buf(bytes, previous)) >>> 0;
}

/** Whether `bytes[start..end)` are all zero. */
export function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let position = start; position < end; position++) if (bytes[position] !== 0) return false;
  return true;
}

/** Largest value of the high 32-bit word of a u64 that keeps it a safe integer (2^53 - 1). */
const SAFE_HIGH_WORD_MAX = 0x1f_ffff;

/** Writes a safe non-negative integer as a little-endian u64. */
export function writeU64(view: DataView, position: number, value: number): void {
  view.setUint32(position, value % 2 ** 32, true);
  view.setUint32(position + 4, Math.floor(value / 2 ** 32), true);
}

/** Reads a little-endian u64, or undefined when it is beyond Number.MAX_SAFE_INTEGER. */
export function readU64(view: DataView, position: number): number | undefined {
  const high = view.getUint32(position + 4, true);
  if (high > SAFE_HIGH_WORD_MAX) return undefined;
  return high * 2 ** 32 + view.getUint32(position, true);
}
