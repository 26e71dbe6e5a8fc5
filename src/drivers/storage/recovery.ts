import { join } from "node:path";
import { EMPTY_HARD_STATE, type Entry, type InitialState } from "../../core/index.ts";
import { type FileSystem, io, readWholeFile, TEMPORARY_SUFFIX } from "./file-system.ts";
import {
  decodeHardStateFile,
  HARD_STATE_FILE,
  HARD_STATE_FILE_BYTES,
  slotOffset,
} from "./hard-state-file.ts";
import {
  decodeSnapshotFile,
  parseSnapshotFileName,
  SNAPSHOT_FILE_OVERHEAD_MAX,
  type StoredSnapshot,
  type WalPosition,
} from "./snapshot-file.ts";
import { corruptAt, StorageError } from "./storage-error.ts";
import { RECORD_HEADER_BYTES, type WalRecord } from "./wal-record.ts";
import { parseSegmentFileName, type SegmentName, scanSegment, type TornTail } from "./wal-segment.ts";

/**
 * Recovery, the read-only half of opening a disk log: it reads the directory, checks everything, and says
 * what the log holds and what to tidy up, without changing a single file. Only when all of it checks out
 * does disk-log.ts act on the result (zero a torn tail, remove leftovers), so a log found corrupt is left
 * exactly as it was for a person to inspect.
 */

/** Where progress and oddities are reported: the same shape as pino's logger methods. */
export interface StorageLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The settings recovery needs. */
export interface RecoveryConfig {
  readonly dir: string;
  readonly files: FileSystem;
  readonly recordBytesMax: number;
  readonly snapshotBytesMax: number;
  readonly logger: StorageLogger;
}

/** A WAL segment that replay read: where it is, how much of it holds data, and what it holds. */
export interface RecoveredSegment {
  readonly name: SegmentName;
  readonly path: string;
  /** The file's size in bytes (its preallocated size unless something cut it short). */
  readonly size: number;
  /** Where valid data ends: the next record goes here (for the last segment). */
  readonly dataEnd: number;
  /** The highest entry index its records (those after the replay start) write; 0 when none. */
  readonly maxIndex: number;
}

/** A torn record at the end of the last segment, to be zeroed before appending. */
export interface RecoveredTornTail extends TornTail {
  readonly path: string;
}

/** What recovery found; nothing has been changed on disk yet. */
export interface Recovered {
  /** True when the directory holds no log yet (at most leftover temporary files): create one. */
  readonly fresh: boolean;
  readonly initialState: InitialState;
  /** The sequence number of the hard state write recovered (0 when fresh). */
  readonly hardStateSequence: number;
  /** The snapshot in use, by file name, or null. */
  readonly snapshotName: string | null;
  /** Where WAL replay started (and starts next time, until a snapshot moves it). */
  readonly walStart: WalPosition;
  /** Segments before the replay start: nothing in them matters any more. Oldest first. */
  readonly deadSegments: readonly string[];
  /** Segments replayed, oldest first; the last is where appends continue. Empty when there are none. */
  readonly segments: readonly RecoveredSegment[];
  readonly tornTail: RecoveredTornTail | undefined;
  /** Snapshot files older than the one in use: leftovers of a crash before their removal. */
  readonly staleSnapshots: readonly string[];
  /** `*.tmp` files: leftovers of a crash before a rename. */
  readonly temporaryFiles: readonly string[];
}

/** The largest segment file replay reads: the largest segment or single-record segment ever created. */
export const SEGMENT_FILE_BYTES_MAX = 2 ** 30 + RECORD_HEADER_BYTES;

/** The files of a log directory, sorted into kinds. */
interface DirectoryListing {
  readonly hasHardState: boolean;
  /** Newest (highest index) first. */
  readonly snapshots: readonly { readonly name: string; readonly index: number }[];
  /** Oldest (lowest sequence) first. */
  readonly segments: readonly { readonly file: string; readonly name: SegmentName }[];
  readonly temporaryFiles: readonly string[];
}

/** Reads a log directory and everything in it; throws a `corrupt` StorageError on any damage it must not fix. */
export async function recoverLog(config: RecoveryConfig): Promise<Recovered> {
  const listing = await listDirectory(config);
  if (!listing.hasHardState) {
    if (listing.snapshots.length > 0 || listing.segments.length > 0) {
      throw corruptAt(
        join(config.dir, HARD_STATE_FILE),
        0,
        "the hard state file is missing but the log exists",
      );
    }
    return freshLog(listing.temporaryFiles);
  }
  const hardStatePath = join(config.dir, HARD_STATE_FILE);
  const hardStateBytes = await readWholeFile(config.files, hardStatePath, HARD_STATE_FILE_BYTES, (size) =>
    corruptAt(
      hardStatePath,
      HARD_STATE_FILE_BYTES,
      `size is ${size} bytes, expected ${HARD_STATE_FILE_BYTES}`,
    ),
  );
  const stored = decodeHardStateFile(hardStateBytes);
  if (typeof stored === "string") throw corruptAt(hardStatePath, 0, stored);

  const loaded = await loadNewestSnapshot(config, listing.snapshots);
  const walStart = loaded?.stored.walStart ?? { segment: 0, offset: 0 };
  const replay = await replaySegments(config, listing.segments, loaded, walStart);

  const lastIndex = replay.log.offset + replay.log.entries.length;
  if (stored.hardState.commit > lastIndex) {
    throw corruptAt(
      hardStatePath,
      slotOffset(stored.sequence),
      `commit index ${stored.hardState.commit} is past the last index ${lastIndex} of the log`,
    );
  }
  const snapshotIndex = loaded?.stored.snapshot.meta.index ?? 0;
  return {
    fresh: false,
    initialState: {
      hardState: stored.hardState,
      snapshot: loaded?.stored.snapshot ?? null,
      entries: replay.log.entries,
    },
    hardStateSequence: stored.sequence,
    snapshotName: loaded?.name ?? null,
    walStart,
    deadSegments: replay.deadSegments,
    segments: replay.segments,
    tornTail: replay.tornTail,
    staleSnapshots: listing.snapshots.filter((s) => s.index < snapshotIndex).map((s) => s.name),
    temporaryFiles: listing.temporaryFiles,
  };
}

function freshLog(temporaryFiles: readonly string[]): Recovered {
  return {
    fresh: true,
    initialState: { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [] },
    hardStateSequence: 0,
    snapshotName: null,
    walStart: { segment: 0, offset: 0 },
    deadSegments: [],
    segments: [],
    tornTail: undefined,
    staleSnapshots: [],
    temporaryFiles,
  };
}

async function listDirectory(config: RecoveryConfig): Promise<DirectoryListing> {
  const names = (await io("list directory", config.dir, () => config.files.readdir(config.dir))).sort();
  let hasHardState = false;
  const snapshots: { name: string; index: number }[] = [];
  const segments: { file: string; name: SegmentName }[] = [];
  const temporaryFiles: string[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    const snapshotMeta = parseSnapshotFileName(name);
    const segmentName = parseSegmentFileName(name);
    if (name === HARD_STATE_FILE) hasHardState = true;
    else if (snapshotMeta !== undefined) snapshots.push({ name, index: snapshotMeta.index });
    else if (segmentName !== undefined) segments.push({ file: name, name: segmentName });
    else if (name.endsWith(TEMPORARY_SUFFIX)) temporaryFiles.push(name);
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    config.logger.warn(
      { dir: config.dir, files: unknown },
      "ignoring files that are not part of the disk log",
    );
  }
  snapshots.sort((a, b) => b.index - a.index);
  segments.sort((a, b) => a.name.sequence - b.name.sequence);
  return { hasHardState, snapshots, segments, temporaryFiles };
}

/**
 * Loads the newest valid snapshot. A damaged newest snapshot with an older valid one beside it falls back to
 * the older one, loudly: the older file still existing proves the newer one's save never finished (a snapshot
 * save removes older snapshot files before it writes anything else, see disk-log.ts), so the older one with
 * the log as it was is a state the node really had. With no valid snapshot at all, the log is corrupt.
 */
async function loadNewestSnapshot(
  config: RecoveryConfig,
  snapshots: DirectoryListing["snapshots"],
): Promise<{ readonly name: string; readonly stored: StoredSnapshot } | undefined> {
  let firstFailure: StorageError | undefined;
  for (const { name } of snapshots) {
    const result = await readSnapshot(config, name);
    if (result instanceof StorageError) {
      firstFailure ??= result;
      continue;
    }
    if (firstFailure !== undefined) {
      config.logger.error(
        { file: firstFailure.file, error: firstFailure.message, using: join(config.dir, name) },
        "the newest snapshot is damaged; falling back to the older one left by an unfinished snapshot save",
      );
    }
    return { name, stored: result };
  }
  if (firstFailure !== undefined) throw firstFailure;
  return undefined;
}

/** Reads one snapshot file; returns a `corrupt` StorageError when it is damaged, throws on an I/O error. */
async function readSnapshot(config: RecoveryConfig, name: string): Promise<StoredSnapshot | StorageError> {
  const path = join(config.dir, name);
  const named = parseSnapshotFileName(name);
  if (named === undefined) return corruptAt(path, 0, "not a snapshot file name");
  const bytesMax = SNAPSHOT_FILE_OVERHEAD_MAX + config.snapshotBytesMax;
  let bytes: Uint8Array;
  try {
    bytes = await readWholeFile(config.files, path, bytesMax, (size) =>
      corruptAt(path, bytesMax, `size ${size} is over the ${config.snapshotBytesMax}-byte snapshot limit`),
    );
  } catch (error) {
    if (error instanceof StorageError && error.code === "corrupt") return error;
    throw error;
  }
  const stored = decodeSnapshotFile(bytes, named);
  return typeof stored === "string" ? corruptAt(path, 0, stored) : stored;
}

/** The log as replay rebuilds it: the snapshot boundary and the entries after it, without gaps. */
interface ReplayLog {
  readonly offset: number;
  readonly entries: Entry[];
}

/** What replaying the segments found. */
interface Replay {
  readonly log: ReplayLog;
  readonly deadSegments: readonly string[];
  readonly segments: readonly RecoveredSegment[];
  readonly tornTail: RecoveredTornTail | undefined;
}

async function replaySegments(
  config: RecoveryConfig,
  listed: DirectoryListing["segments"],
  loaded: { readonly name: string; readonly stored: StoredSnapshot } | undefined,
  walStart: WalPosition,
): Promise<Replay> {
  const snapshotPath = loaded === undefined ? undefined : join(config.dir, loaded.name);
  const log: ReplayLog = { offset: loaded?.stored.snapshot.meta.index ?? 0, entries: [] };
  checkSequenceHasNoGap(config, listed);
  const last = listed.at(-1);
  if (snapshotPath !== undefined && (last === undefined || last.name.sequence < walStart.segment)) {
    throw corruptAt(snapshotPath, 24, `WAL replay starts in segment ${walStart.segment}, which is missing`);
  }
  const deadSegments = listed.filter((s) => s.name.sequence < walStart.segment).map((s) => s.file);
  const live = listed.filter((s) => s.name.sequence >= walStart.segment);
  const segments: RecoveredSegment[] = [];
  let tornTail: RecoveredTornTail | undefined;
  for (const [position, segment] of live.entries()) {
    const path = join(config.dir, segment.file);
    const bytes = await readWholeFile(config.files, path, SEGMENT_FILE_BYTES_MAX, (size) =>
      corruptAt(path, SEGMENT_FILE_BYTES_MAX, `size ${size} is larger than any segment this log writes`),
    );
    const start = segment.name.sequence === walStart.segment ? walStart.offset : 0;
    if (start > bytes.length) {
      throw corruptAt(snapshotPath ?? path, 32, `WAL replay starts past the end of ${path} (${start} bytes)`);
    }
    const isLast = position === live.length - 1;
    const scan = scanSegment(bytes, start, isLast, { recordBytesMax: config.recordBytesMax });
    if (scan.kind === "corrupt") throw corruptAt(path, scan.offset, scan.reason);
    let maxIndex = 0;
    for (const { offset, record } of scan.records) {
      applyRecord(log, record, path, offset);
      maxIndex = Math.max(maxIndex, record.firstIndex + record.entries.length - 1);
    }
    if (scan.torn !== undefined) tornTail = { ...scan.torn, path };
    segments.push({ name: segment.name, path, size: bytes.length, dataEnd: scan.dataEnd, maxIndex });
  }
  return { log, deadSegments, segments, tornTail };
}

/** Segments are numbered without gaps; a missing number in the middle means lost records. */
function checkSequenceHasNoGap(config: RecoveryConfig, listed: DirectoryListing["segments"]): void {
  for (let k = 1; k < listed.length; k++) {
    const previous = listed[k - 1];
    const current = listed[k];
    if (
      previous !== undefined &&
      current !== undefined &&
      current.name.sequence !== previous.name.sequence + 1
    ) {
      throw corruptAt(
        join(config.dir, current.file),
        0,
        `segment ${previous.name.sequence + 1} is missing between ${previous.file} and ${current.file}`,
      );
    }
  }
}

/**
 * Applies one entries record as the save that wrote it did: discard every entry at or after its first index,
 * then append its entries, skipping those the snapshot covers. A record that would leave a gap after the
 * entries before it is corruption. Entry data is copied out of the segment's bytes so those can be dropped.
 */
function applyRecord(log: ReplayLog, record: WalRecord, path: string, recordOffset: number): void {
  const lastIndex = log.offset + log.entries.length;
  const firstKept = Math.max(record.firstIndex, log.offset + 1);
  const recordLast = record.firstIndex + record.entries.length - 1;
  if (recordLast < firstKept) {
    // Every entry is inside the snapshot; the record still discarded what followed it.
    log.entries.length = 0;
    return;
  }
  if (firstKept > lastIndex + 1) {
    throw corruptAt(
      path,
      recordOffset,
      `record starts at entry ${record.firstIndex} but the log before it ends at ${lastIndex} (a gap)`,
    );
  }
  log.entries.length = firstKept - log.offset - 1;
  for (const entry of record.entries) {
    if (entry.index < firstKept) continue;
    log.entries.push({ ...entry, data: entry.data.slice() });
  }
}
