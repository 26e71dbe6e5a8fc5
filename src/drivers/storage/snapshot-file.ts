import { asIndex, asTerm, decodeMembership, type Snapshot, type SnapshotMeta } from "../../core/index.ts";
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
 * A snapshot that records a configuration (thesis §4, `SnapshotMeta.membership`) has magic "SNv2" and, after
 * the data length, `48 u64 membership length`, then the membership bytes, then the data. The checksum covers
 * them all.
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
/** "SNv2" read as a little-endian u32: a snapshot file with a membership. */
const SNAPSHOT_WITH_MEMBERSHIP_MAGIC = 0x3276_4e53;
/** Bytes of the fixed part of an "SNv2" header, before its membership bytes. */
const MEMBERSHIP_HEADER_BYTES = SNAPSHOT_HEADER_BYTES + 8;
/**
 * The most bytes a snapshot file holds besides its data: the header and a membership of up to 64 KiB (a
 * configuration of thousands of members; real ones are a few dozen bytes).
 */
export const SNAPSHOT_FILE_OVERHEAD_MAX = MEMBERSHIP_HEADER_BYTES + 64 * 1024;
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
  const membership = snapshot.meta.membership;
  const header = new Uint8Array(
    membership === undefined ? SNAPSHOT_HEADER_BYTES : MEMBERSHIP_HEADER_BYTES + membership.length,
  );
  const view = new DataView(header.buffer);
  view.setUint32(0, membership === undefined ? SNAPSHOT_MAGIC : SNAPSHOT_WITH_MEMBERSHIP_MAGIC, true);
  writeU64(view, 8, snapshot.meta.index);
  writeU64(view, 16, snapshot.meta.term);
  writeU64(view, 24, walStart.segment);
  writeU64(view, 32, walStart.offset);
  writeU64(view, 40, snapshot.data.length);
  if (membership !== undefined) {
    writeU64(view, SNAPSHOT_HEADER_BYTES, membership.length);
    header.set(membership, MEMBERSHIP_HEADER_BYTES);
  }
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
  const magic = view.getUint32(0, true);
  if (magic !== SNAPSHOT_MAGIC && magic !== SNAPSHOT_WITH_MEMBERSHIP_MAGIC) return "bad magic";
  if (view.getUint32(4, true) !== crc32(bytes.subarray(8))) return "checksum mismatch";
  let dataStart = SNAPSHOT_HEADER_BYTES;
  let membership: Uint8Array | undefined;
  if (magic === SNAPSHOT_WITH_MEMBERSHIP_MAGIC) {
    if (bytes.length < MEMBERSHIP_HEADER_BYTES) return `only ${bytes.length} bytes, shorter than the header`;
    const membershipBytes = readU64(view, SNAPSHOT_HEADER_BYTES);
    if (membershipBytes === undefined || membershipBytes > bytes.length - MEMBERSHIP_HEADER_BYTES) {
      return "membership length runs past the file";
    }
    dataStart = MEMBERSHIP_HEADER_BYTES + membershipBytes;
    membership = bytes.slice(MEMBERSHIP_HEADER_BYTES, dataStart);
    try {
      decodeMembership(membership);
    } catch (error) {
      return (error as Error).message;
    }
  }
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
  if (dataBytes !== bytes.length - dataStart) {
    return `data length ${dataBytes} does not match the file's ${bytes.length - dataStart} bytes`;
  }
  if (index !== named.index || term !== named.term) {
    return `holds index ${index} term ${term}, but its name says index ${named.index} term ${named.term}`;
  }
  return {
    snapshot: {
      meta: {
        index: asIndex(index),
        term: asTerm(term),
        ...(membership === undefined ? {} : { membership }),
      },
      data: bytes.slice(dataStart),
    },
    walStart: { segment, offset },
  };
}

/** `value` zero-padded to {@link NAME_DIGITS} digits. */
export function pad(value: number): string {
  return value.toString().padStart(NAME_DIGITS, "0");
}
