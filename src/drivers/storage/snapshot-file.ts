import { asIndex, asTerm, type Snapshot, type SnapshotMeta } from "../../core/index.ts";
import { crc32, readU64, writeU64 } from "./wal-record.ts";

/**
 * A snapshot file: `snapshot-<index>-<term>.snap`, both numbers zero-padded to 16 digits. Layout,
 * little-endian, see also disk-log.ts:
 *
 *   0  u32  magic "SNv1"
 *   4  u32  CRC-32 of bytes 8..end
 *   8  u64  last included index
 *   16 u64  last included term
 *   24 u64  WAL replay start: segment sequence number
 *   32 u64  WAL replay start: byte offset in that segment
 *   40 u64  data length
 *   48      data
 *
 * The replay start says where the records that still matter begin: installing a snapshot that does not
 * continue our log discards the whole log, and rather than rewrite segments the snapshot records the WAL's end
 * at that moment, so recovery ignores everything before it.
 */

/** A position in the write-ahead log: a segment (by sequence number) and a byte offset in it. */
export interface WalPosition {
  readonly segment: number;
  readonly offset: number;
}

/** A snapshot as stored: the state-machine snapshot plus where WAL replay starts. */
export interface StoredSnapshot {
  readonly snapshot: Snapshot;
  readonly walStart: WalPosition;
}

/** Bytes before a snapshot file's data. */
export const SNAPSHOT_HEADER_BYTES = 48;
/** "SNv1" read as a little-endian u32. */
const SNAPSHOT_MAGIC = 0x3176_4e53;
const NAME_PATTERN = /^snapshot-(\d{16})-(\d{16})\.snap$/;
/** Digits of each number in a file name: enough for every safe integer, and names sort numerically. */
export const NAME_DIGITS = 16;

/** The file name of a snapshot with this meta. */
export function snapshotFileName(meta: SnapshotMeta): string {
  return `snapshot-${pad(meta.index)}-${pad(meta.term)}.snap`;
}

/** The meta a snapshot file name claims, or undefined when `name` is not a snapshot file name. */
export function parseSnapshotFileName(name: string): SnapshotMeta | undefined {
  const match = NAME_PATTERN.exec(name);
  if (match === null) return undefined;
  const index = Number(match[1]);
  const term = Number(match[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return undefined;
  return { index: asIndex(index), term: asTerm(term) };
}

/**
 * Encodes a snapshot file as two pieces to write one after the other: the header, and the snapshot's data
 * itself (not copied: a snapshot can be large).
 */
export function encodeSnapshotFile(stored: StoredSnapshot): [header: Uint8Array, data: Uint8Array] {
  const { snapshot, walStart } = stored;
  const header = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, SNAPSHOT_MAGIC, true);
  writeU64(view, 8, snapshot.meta.index);
  writeU64(view, 16, snapshot.meta.term);
  writeU64(view, 24, walStart.segment);
  writeU64(view, 32, walStart.offset);
  writeU64(view, 40, snapshot.data.length);
  view.setUint32(4, crc32(snapshot.data, crc32(header.subarray(8))), true);
  return [header, snapshot.data];
}

/**
 * Decodes a snapshot file's bytes, checking them against the meta its name claims. Returns the reason as a
 * string when the file is not a valid snapshot. The data is a copy, so `bytes` can be dropped.
 */
export function decodeSnapshotFile(bytes: Uint8Array, named: SnapshotMeta): StoredSnapshot | string {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return `only ${bytes.length} bytes, shorter than the header`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.getUint32(0, true) !== SNAPSHOT_MAGIC) return "bad magic";
  if (view.getUint32(4, true) !== crc32(bytes.subarray(8))) return "checksum mismatch";
  const index = readU64(view, 8);
  const term = readU64(view, 16);
  const segment = readU64(view, 24);
  const offset = readU64(view, 32);
  const dataBytes = readU64(view, 40);
  if (
    index === undefined ||
    term === undefined ||
    segment === undefined ||
    offset === undefined ||
    dataBytes === undefined
  ) {
    return "field beyond the safe integer range";
  }
  if (dataBytes !== bytes.length - SNAPSHOT_HEADER_BYTES) {
    return `data length ${dataBytes} does not match the file's ${bytes.length - SNAPSHOT_HEADER_BYTES} bytes`;
  }
  if (index !== named.index || term !== named.term) {
    return `holds index ${index} term ${term}, but its name says index ${named.index} term ${named.term}`;
  }
  return {
    snapshot: {
      meta: { index: asIndex(index), term: asTerm(term) },
      data: bytes.slice(SNAPSHOT_HEADER_BYTES),
    },
    walStart: { segment, offset },
  };
}

/** `value` zero-padded to {@link NAME_DIGITS} digits. */
export function pad(value: number): string {
  return value.toString().padStart(NAME_DIGITS, "0");
}
