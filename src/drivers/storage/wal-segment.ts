import { asIndex, type LogIndex } from "../../core/index.ts";
import { unreachable } from "../../util/assert.ts";
import { NAME_DIGITS, pad } from "./snapshot-file.ts";
import {
  decodeRecord,
  isZero,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC,
  type RecordLimits,
  type WalRecord,
} from "./wal-record.ts";

/**
 * WAL segment files: names, and the scan that recovery runs over one segment's bytes.
 *
 * A segment is named `segment-<sequence>-<first index>.wal`, both zero-padded to 16 digits: the sequence
 * number orders segments (1, 2, 3, ... with no gaps among those still present), and the first index is the
 * index of the first entry the segment was created for, so a person can find an entry's segment by name.
 */

const NAME_PATTERN = new RegExp(`^segment-(\\d{${NAME_DIGITS}})-(\\d{${NAME_DIGITS}})\\.wal$`);

/** What a segment's name says. */
export interface SegmentName {
  readonly sequence: number;
  readonly firstIndex: LogIndex;
}

/** The file name of segment `sequence`, created for entries from `firstIndex` on. */
export function segmentFileName(name: SegmentName): string {
  return `segment-${pad(name.sequence)}-${pad(name.firstIndex)}.wal`;
}

/** What a segment file name says, or undefined when `name` is not one. */
export function parseSegmentFileName(name: string): SegmentName | undefined {
  const match = NAME_PATTERN.exec(name);
  if (match === null) return undefined;
  const sequence = Number(match[1]);
  const firstIndex = Number(match[2]);
  if (!Number.isSafeInteger(sequence) || sequence < 1 || !Number.isSafeInteger(firstIndex)) return undefined;
  return { sequence, firstIndex: asIndex(firstIndex) };
}

/** A record found by a scan, with the byte offset where it starts. */
export interface ScannedRecord {
  readonly offset: number;
  readonly record: WalRecord;
}

/** The damaged tail of the last segment: bytes [offset, endOfData) are dropped (zeroed) on open. */
export interface TornTail {
  /** Where the torn record starts; appends continue here. */
  readonly offset: number;
  /** One past the last non-zero byte of the segment. */
  readonly endOfData: number;
}

/**
 * What a scan of one segment found: `ok` with its records, the end of its valid data (where appends would go)
 * and, for the last segment only, a torn tail to drop; or `corrupt` at `offset` for `reason`.
 */
export type SegmentScan =
  | {
      readonly kind: "ok";
      readonly records: readonly ScannedRecord[];
      readonly dataEnd: number;
      readonly torn: TornTail | undefined;
    }
  | { readonly kind: "corrupt"; readonly offset: number; readonly reason: string };

/**
 * Scans a segment's bytes from `start` (a record boundary). Records run back to back; valid data ends where
 * zero (preallocated) space begins and runs to the end of the file. Anything else is damage:
 * - in a segment other than the last one, any damage is corruption;
 * - in the last segment, a bad record is a torn tail when no valid record starts anywhere after it (only
 *   garbage and zeros follow, as when a crash cut the last write short); if a valid record follows, the bad
 *   one is in the middle of the log and that is corruption.
 */
export function scanSegment(
  bytes: Uint8Array,
  start: number,
  isLast: boolean,
  limits: RecordLimits,
): SegmentScan {
  const records: ScannedRecord[] = [];
  // Bounded: every record is at least a header long, so there are at most this many in the segment.
  const recordsMax = Math.floor(bytes.length / RECORD_HEADER_BYTES) + 1;
  let position = start;
  for (let step = 0; step <= recordsMax; step++) {
    const result = decodeRecord(bytes, position, limits);
    switch (result.kind) {
      case "record":
        records.push({ offset: position, record: result.record });
        position = result.nextOffset;
        continue;
      case "end":
        return { kind: "ok", records, dataEnd: position, torn: undefined };
      case "zero":
        if (isZero(bytes, position, bytes.length)) {
          return { kind: "ok", records, dataEnd: position, torn: undefined };
        }
        return damaged(
          bytes,
          { offset: position, reason: "zero bytes followed by non-zero bytes" },
          isLast,
          limits,
          records,
        );
      case "incomplete":
        return damaged(
          bytes,
          {
            offset: position,
            reason: `record needs ${result.needBytes} bytes but the file ends after ${bytes.length - position}`,
            claimedBytes: result.needBytes,
          },
          isLast,
          limits,
          records,
        );
      case "invalid":
        return damaged(
          bytes,
          { offset: position, reason: result.reason, claimedBytes: result.recordBytes ?? 0 },
          isLast,
          limits,
          records,
        );
      default:
        return unreachable(result);
    }
  }
  return { kind: "corrupt", offset: position, reason: "more records than the segment can hold" };
}

/** A bad record: where it starts, what is wrong, and how long its header says it is (0 if unknown). */
interface Damage {
  readonly offset: number;
  readonly reason: string;
  readonly claimedBytes?: number;
}

/**
 * Decides whether damage is a torn tail or corruption (see {@link scanSegment}). A torn record reaches to
 * the end of what its header claims (when the header checked out) or to the last non-zero byte, whichever is
 * further: everything from its start to there is dropped.
 */
function damaged(
  bytes: Uint8Array,
  damage: Damage,
  isLast: boolean,
  limits: RecordLimits,
  records: readonly ScannedRecord[],
): SegmentScan {
  const { offset, reason } = damage;
  if (!isLast) return { kind: "corrupt", offset, reason: `${reason}, in a segment that is not the last` };
  const later = findValidRecord(bytes, offset + 1, limits);
  if (later !== undefined) {
    return {
      kind: "corrupt",
      offset,
      reason: `${reason}, followed by a valid record at byte offset ${later}`,
    };
  }
  const claimedEnd = Math.min(bytes.length, offset + (damage.claimedBytes ?? 0));
  const endOfData = Math.max(endOfNonZero(bytes, offset), claimedEnd);
  return { kind: "ok", records, dataEnd: offset, torn: { offset, endOfData } };
}

/**
 * The first offset at or after `from` where a whole valid record starts, or undefined. Cheap per position:
 * most positions fail the magic byte, and nearly all the rest the header checksum, before any payload is read.
 */
export function findValidRecord(bytes: Uint8Array, from: number, limits: RecordLimits): number | undefined {
  for (let position = from; position < bytes.length; position++) {
    if (bytes[position] !== RECORD_MAGIC) continue;
    if (decodeRecord(bytes, position, limits).kind === "record") return position;
  }
  return undefined;
}

/** One past the last non-zero byte at or after `from` (or `from` when all are zero). */
function endOfNonZero(bytes: Uint8Array, from: number): number {
  for (let position = bytes.length; position > from; position--) {
    if (bytes[position - 1] !== 0) return position;
  }
  return from;
}
