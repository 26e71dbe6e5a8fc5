/**
 * The durable log of a real Raft node: write-ahead log segments, a hard state file and snapshot files in one
 * directory, behind the {@link LogStorage} port.
 *
 * ON-DISK FORMAT (all integers little-endian; every number in a file name zero-padded to 16 digits)
 *
 *   hard-state                        term, vote, commit index in two checksummed slots written in turn, in
 *                                     place: one write + one fdatasync per change, and a torn write spoils
 *                                     only the slot being written (why not temp + rename: hard-state-file.ts)
 *   snapshot-<index>-<term>.snap      the current snapshot (snapshot-file.ts); normally exactly one
 *   segment-<sequence>-<index>.wal    WAL segments, numbered 1, 2, 3, ...; <index> is the first entry the
 *                                     segment was created for (wal-segment.ts)
 *   *.tmp                             a file being written before its rename; removed on open
 *
 * WAL records. A segment is a file of `segmentBytes` zeros written (and fsynced, and renamed into place) when
 * the segment is created, so appending never changes its size and fdatasync has no metadata to write.
 * Records follow each other from byte 0: a 16-byte header (magic byte 0xC7, type byte, reserved, payload
 * length, CRC-32 of the payload, CRC-32 of the header) and the payload. The only type, entries, says
 * "discard every entry at or after my first index, then append my entries": a save's entries, split into
 * records of at most `recordBytesMax` payload bytes, each holding the first index, a count, and per entry
 * its term, data length and data. Overwriting a suffix appends a record that starts lower; nothing already
 * written is rewritten. Records never span segments: a save that does not fit in what is left of the current
 * segment starts a new one (one bigger than `segmentBytes` if a single record needs it). The rest of a
 * segment after its last record stays zero.
 *
 * Snapshots. A snapshot file holds the snapshot and the WAL position where replay starts. Installing a
 * snapshot whose last entry matches ours keeps that position; one that does not discards the whole log by
 * setting it to the current end of the WAL. Segments are deleted, oldest first, once they lie before that
 * position or the snapshot covers every entry they write.
 *
 * RECOVERY (recovery.ts), read-only until everything checks out:
 *   1. No hard state file and nothing else: a new log. A hard state file missing beside a snapshot or a
 *      segment: corrupt.
 *   2. The hard state is the newer of its two valid slots; neither valid: corrupt.
 *   3. The snapshot is the newest valid snapshot file. A damaged newest one with an older valid one beside it
 *      falls back to the older (see recovery.ts for why that is safe); no valid one: corrupt.
 *   4. Segment numbers must have no gaps. Segments before the replay start are ignored (and removed); the rest
 *      are replayed in order, applying each record's rule on top of the snapshot (entries it covers skipped).
 *      A record that would leave a gap after the entries before it is corrupt.
 *   5. A bad record in the LAST segment is a torn write when no valid record starts anywhere after it: it is
 *      zeroed (with a warning naming the file, offset and bytes dropped) and appends continue there. A bad
 *      record anywhere else, or one followed by a valid record, is corrupt.
 *   6. The commit index in the hard state must not be past the last entry; otherwise corrupt.
 * Corrupt means openDiskLog rejects with a StorageError (code "corrupt") naming the file and byte offset and
 * leaves every file as it found it.
 *
 * WRITE PATH. Saves are written in the order they arrive, each as one write of its records, as soon as the
 * previous save's records are written; a single syncer runs one fdatasync at a time and each covers every
 * save written before it started, so saves that arrive during a sync share the next one (group commit). A
 * save resolves only after the sync that covers it. Within a save: snapshot, then entries, then hard state.
 * The hard state of a batch of saves is written to its file only after the WAL fdatasync covering those
 * saves' entries has completed, so a commit index on disk never refers to entries that are not durable. A new
 * term or vote is fdatasynced before its save resolves; a change of the commit index alone is written but not
 * synced, since a commit index lost in a crash is only relearned from the leader (Figure 2 keeps it volatile),
 * and this spares one fdatasync per save in steady replication.
 * A snapshot save first waits for every earlier save to be synced; so does starting a new segment (after
 * fdatasyncing the old one), which is why damage in a segment other than the last can only be corruption.
 * Any failed write or sync poisons the log: that save and every queued or later one reject with code "io",
 * and nothing more is written.
 */
import { join } from "node:path";
import {
  asIndex,
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type InitialState,
  type LogIndex,
  type Snapshot,
} from "../../core/index.ts";
import type { LogStorage, StorageUpdate } from "../../peer/index.ts";
import { assert } from "../../util/assert.ts";
import {
  closeQuietly,
  type FileHandle,
  type FileSystem,
  io,
  nodeFileSystem,
  removeIfPresent,
  syncDirectory,
  writeFileAtomically,
  writeFully,
  writeZeros,
} from "./file-system.ts";
import { encodeInitialHardStateFile, encodeSlot, HARD_STATE_FILE, slotOffset } from "./hard-state-file.ts";
import { LogShape } from "./log-shape.ts";
import { type Recovered, type RecoveredSegment, recoverLog, type StorageLogger } from "./recovery.ts";
import { encodeSnapshotFile, snapshotFileName, type WalPosition } from "./snapshot-file.ts";
import { StorageError } from "./storage-error.ts";
import {
  UNSAFE_LAZY_SYNC_INTERVAL_MS,
  type UnsafeStorageSwitches,
  volatileFileSystem,
} from "./unsafe-switches.ts";
import { encodeEntriesRecord, singleEntryPayloadBytes, splitIntoRecords } from "./wal-record.ts";
import { segmentFileName } from "./wal-segment.ts";

export type { StorageLogger } from "./recovery.ts";

/** Default preallocated size of a WAL segment: 64 MiB. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Default largest record payload: 64 MiB. */
export const DEFAULT_RECORD_BYTES_MAX = 64 * 1024 * 1024;
/** Default largest snapshot: 1 GiB. */
export const DEFAULT_SNAPSHOT_BYTES_MAX = 2 ** 30;
/** Smallest segment size accepted: room for a header and a small record. */
export const SEGMENT_BYTES_MIN = 256;
/** Largest segment size accepted (recovery reads a segment whole): 1 GiB. */
export const SEGMENT_BYTES_LIMIT = 2 ** 30;
/** Smallest record limit accepted: one entry with a little data. */
export const RECORD_BYTES_MIN = 64;
/** Largest record limit accepted: 1 GiB. */
export const RECORD_BYTES_LIMIT = 2 ** 30;
/** Largest snapshot limit accepted: 2 GiB. */
export const SNAPSHOT_BYTES_LIMIT = 2 ** 31;
/** Saves queued (not yet written) at once. The peer keeps one in flight; more than this is a runaway caller. */
export const SAVES_QUEUED_MAX = 4096;

/** How to open a disk log. */
export interface DiskLogOptions {
  /** The log's directory; created (with its parents) if missing. One log per directory. */
  readonly dir: string;
  /** Preallocated size of each WAL segment, in bytes (default 64 MiB; tests use small ones). */
  readonly segmentBytes?: number;
  /**
   * Largest record payload written or read back, in bytes (default 64 MiB). A larger single entry is refused;
   * a record header claiming more is damage, and nothing is allocated for it.
   */
  readonly recordBytesMax?: number;
  /** Largest snapshot data written or read back, in bytes (default 1 GiB). */
  readonly snapshotBytesMax?: number;
  /** Where to report torn tails repaired, leftovers removed and failures (default: nowhere). */
  readonly logger?: StorageLogger;
  /** File operations (default: node:fs/promises); tests inject failures through this. */
  readonly files?: FileSystem;
  /** UNSAFE switches that break durability on purpose, to calibrate fault tests (unsafe-switches.ts). */
  readonly unsafe?: UnsafeStorageSwitches;
}

/** A logger that drops everything. */
const SILENT_LOGGER: StorageLogger = { info: () => {}, warn: () => {}, error: () => {} };

/** Options with defaults filled in and checked. */
interface DiskLogConfig {
  readonly dir: string;
  readonly segmentBytes: number;
  readonly recordBytesMax: number;
  readonly snapshotBytesMax: number;
  readonly logger: StorageLogger;
  readonly files: FileSystem;
  /** UNSAFE: resolve saves once written, sync lazily (unsafe-switches.ts). */
  readonly acknowledgeBeforeSync: boolean;
  /** UNSAFE, with acknowledgeBeforeSync: the syncer's wait before each sync. */
  readonly lazySyncIntervalMs: number;
}

/**
 * Opens (or creates) the disk log in `options.dir`: recovers what it holds, repairs a torn tail, removes
 * leftovers of interrupted work, and returns a log ready to append. Rejects with a StorageError: `corrupt`
 * when recovery finds damage it must not repair (no file is changed then), `io` when a file operation fails,
 * `invalid` for bad options.
 */
export async function openDiskLog(options: DiskLogOptions): Promise<DiskLog> {
  const config = resolveOptions(options);
  await io("create directory", config.dir, () => config.files.mkdir(config.dir));
  const recovered = await recoverLog(config);
  const opened = await prepareFiles(config, recovered);
  return new DiskLog(config, recovered, opened);
}

function resolveOptions(options: DiskLogOptions): DiskLogConfig {
  const byteCount = (name: string, value: number | undefined, fallback: number, min: number, max: number) => {
    const bytes = value ?? fallback;
    if (!Number.isSafeInteger(bytes) || bytes < min || bytes > max) {
      throw new StorageError(
        "invalid",
        `disk log option ${name} must be an integer in [${min}, ${max}], got ${bytes}`,
      );
    }
    return bytes;
  };
  if (typeof options.dir !== "string" || options.dir === "") {
    throw new StorageError("invalid", "disk log option dir must be a non-empty path");
  }
  return {
    dir: options.dir,
    segmentBytes: byteCount(
      "segmentBytes",
      options.segmentBytes,
      DEFAULT_SEGMENT_BYTES,
      SEGMENT_BYTES_MIN,
      SEGMENT_BYTES_LIMIT,
    ),
    recordBytesMax: byteCount(
      "recordBytesMax",
      options.recordBytesMax,
      DEFAULT_RECORD_BYTES_MAX,
      RECORD_BYTES_MIN,
      RECORD_BYTES_LIMIT,
    ),
    snapshotBytesMax: byteCount(
      "snapshotBytesMax",
      options.snapshotBytesMax,
      DEFAULT_SNAPSHOT_BYTES_MAX,
      0,
      SNAPSHOT_BYTES_LIMIT,
    ),
    logger: options.logger ?? SILENT_LOGGER,
    files:
      options.unsafe?.volatileWrites === true
        ? volatileFileSystem(options.files ?? nodeFileSystem)
        : (options.files ?? nodeFileSystem),
    acknowledgeBeforeSync: options.unsafe?.acknowledgeBeforeSync === true,
    lazySyncIntervalMs: options.unsafe?.lazySyncIntervalMs ?? UNSAFE_LAZY_SYNC_INTERVAL_MS,
  };
}

/** The segment being appended to. */
interface ActiveSegment {
  readonly sequence: number;
  readonly path: string;
  readonly handle: FileHandle;
  /** The file's size: appends stay below it. */
  readonly size: number;
  /** Where the next record goes. */
  dataEnd: number;
  /** The highest entry index written here after the replay start; 0 when none. */
  maxIndex: number;
}

/** A full segment kept until a snapshot covers it. */
interface SealedSegment {
  readonly sequence: number;
  readonly path: string;
  readonly maxIndex: number;
}

/** The files {@link prepareFiles} left open for the log. */
interface OpenedFiles {
  readonly active: ActiveSegment;
  readonly sealed: SealedSegment[];
  readonly hardStateHandle: FileHandle;
  readonly hardStateSequence: number;
}

/**
 * Acts on what recovery found: creates a new log, zeroes a torn tail, removes temporary files, stale
 * snapshots and segments nothing needs, and opens the segment to append to and the hard state file.
 */
async function prepareFiles(config: DiskLogConfig, recovered: Recovered): Promise<OpenedFiles> {
  const { files, dir, logger } = config;
  for (const name of recovered.temporaryFiles) {
    await removeIfPresent(files, join(dir, name));
    logger.info({ file: join(dir, name) }, "removed a temporary file left by an interrupted write");
  }
  let hardStateSequence = recovered.hardStateSequence;
  if (recovered.fresh) {
    await writeFileAtomically(files, dir, HARD_STATE_FILE, [encodeInitialHardStateFile(EMPTY_HARD_STATE)]);
    hardStateSequence = 1;
    logger.info({ dir }, "created a new disk log");
  } else if (recovered.temporaryFiles.length > 0) {
    await syncDirectory(files, dir);
  }
  if (recovered.tornTail !== undefined) await zeroTornTail(config, recovered.tornTail);
  for (const name of recovered.staleSnapshots) {
    await removeIfPresent(files, join(dir, name));
    await syncDirectory(files, dir);
    logger.info({ file: join(dir, name) }, "removed a snapshot superseded by a newer one");
  }
  for (const name of recovered.deadSegments) await removeSegment(config, join(dir, name));
  const snapshotIndex = recovered.initialState.snapshot?.meta.index ?? 0;
  const live = [...recovered.segments];
  // Oldest first, never the last: the segments left are always a suffix of the numbered sequence.
  while (live.length > 1) {
    const oldest = live[0];
    if (
      oldest === undefined ||
      !isCovered(oldest.name.sequence, oldest.maxIndex, recovered.walStart, snapshotIndex)
    )
      break;
    await removeSegment(config, oldest.path);
    live.shift();
  }
  const active = await openActiveSegment(config, recovered, live.at(-1));
  const sealed = live
    .slice(0, -1)
    .map((s) => ({ sequence: s.name.sequence, path: s.path, maxIndex: s.maxIndex }));
  const hardStatePath = join(dir, HARD_STATE_FILE);
  const hardStateHandle = await io("open", hardStatePath, () => files.open(hardStatePath, "r+")).catch(
    async (error: unknown) => {
      await closeQuietly(active.handle);
      throw error;
    },
  );
  return { active, sealed, hardStateHandle, hardStateSequence };
}

/** Zeroes a torn record at the end of the last segment so appends continue cleanly, and says so. */
async function zeroTornTail(config: DiskLogConfig, torn: NonNullable<Recovered["tornTail"]>): Promise<void> {
  const handle = await io("open", torn.path, () => config.files.open(torn.path, "r+"));
  try {
    await writeZeros(handle, torn.path, torn.offset, torn.endOfData - torn.offset);
    await io("fdatasync", torn.path, () => handle.datasync());
  } finally {
    await closeQuietly(handle);
  }
  config.logger.warn(
    { file: torn.path, offset: torn.offset, droppedBytes: torn.endOfData - torn.offset },
    `dropped a torn record at the end of the WAL: ${torn.path} byte offset ${torn.offset}, ${torn.endOfData - torn.offset} bytes`,
  );
}

/** Opens the last recovered segment for appending, or creates the first one. */
async function openActiveSegment(
  config: DiskLogConfig,
  recovered: Recovered,
  last: RecoveredSegment | undefined,
): Promise<ActiveSegment> {
  if (last !== undefined) {
    const handle = await io("open", last.path, () => config.files.open(last.path, "r+"));
    const maxIndex = last.maxIndex;
    return {
      sequence: last.name.sequence,
      path: last.path,
      handle,
      size: last.size,
      dataEnd: last.dataEnd,
      maxIndex,
    };
  }
  const lastIndex =
    (recovered.initialState.snapshot?.meta.index ?? 0) + recovered.initialState.entries.length;
  return createSegment(
    config,
    Math.max(1, recovered.walStart.segment),
    asIndex(lastIndex + 1),
    config.segmentBytes,
  );
}

/** Creates segment `sequence` durably, filled with zeros, and opens it for appending. */
async function createSegment(
  config: DiskLogConfig,
  sequence: number,
  firstIndex: LogIndex,
  size: number,
): Promise<ActiveSegment> {
  const name = segmentFileName({ sequence, firstIndex });
  await writeFileAtomically(config.files, config.dir, name, { zeroBytes: size });
  const path = join(config.dir, name);
  const handle = await io("open", path, () => config.files.open(path, "r+"));
  return { sequence, path, handle, size, dataEnd: 0, maxIndex: 0 };
}

/** Deletes a segment and syncs the directory, so removals persist in order. */
async function removeSegment(config: DiskLogConfig, path: string): Promise<void> {
  await removeIfPresent(config.files, path);
  await syncDirectory(config.files, config.dir);
  config.logger.info({ file: path }, "removed a WAL segment no longer needed");
}

/**
 * Whether a segment can go: it lies before the replay start, or the snapshot covers every entry it writes.
 * Only ever asked of the oldest remaining segment, so the rule "every earlier one went too" holds.
 */
function isCovered(
  sequence: number,
  maxIndex: number,
  walStart: WalPosition,
  snapshotIndex: number,
): boolean {
  return sequence < walStart.segment || maxIndex <= snapshotIndex;
}

/** A save waiting to be written or synced. */
interface PendingSave {
  readonly update: StorageUpdate;
  /** For a snapshot save: whether the snapshot continues our log (decided in order, when the save arrived). */
  readonly snapshotKeepsLog: boolean;
  readonly resolve: () => void;
  readonly reject: (error: StorageError) => void;
}

/** A state the writer or close() waits for. At most two wait at once: the writer's drain and close(). */
interface Waiter {
  readonly ready: () => boolean;
  readonly resolve: () => void;
}

/** Records of a save, encoded, with the entries they write. */
interface EncodedRecord {
  readonly bytes: Uint8Array;
  readonly firstIndex: LogIndex;
  readonly lastIndex: LogIndex;
}

/**
 * The durable log of one node (see the top of this file for the format and the write path). Get one from
 * {@link openDiskLog}; hand `initialState` to the node, then `save` every Ready's updates in order.
 */
export class DiskLog implements LogStorage {
  /** What recovery found: the hard state, snapshot and entries the node starts from. */
  readonly initialState: InitialState;
  readonly #config: DiskLogConfig;
  /** The log as the queued saves will leave it (terms only, no data): validates and orders saves. */
  readonly #shape: LogShape;
  /** The commit index as the queued saves leave it: no save may leave the log ending before it. */
  #projectedCommit: number;
  readonly #queue: PendingSave[] = [];
  /** Saves written and waiting for the next sync, in order. */
  #awaitingSync: PendingSave[] = [];
  #writing = false;
  #syncing = false;
  /** Whether the active segment has writes no fdatasync has started on yet. */
  #walDirty = false;
  #waiters: Waiter[] = [];
  #closing: Promise<void> | undefined;
  #failed: StorageError | undefined;
  #active: ActiveSegment;
  readonly #sealed: SealedSegment[];
  #walStart: WalPosition;
  #snapshotName: string | null;
  /** The durable snapshot's last included index (0 without one): segments wholly at or below it can go. */
  #snapshotIndex: number;
  readonly #hardStateHandle: FileHandle;
  readonly #hardStatePath: string;
  /** The last hard state whose term and vote were fdatasynced (its commit index may be older than written). */
  #durableHardState: HardState;
  /** The last hard state written to a slot, synced or not. */
  #writtenHardState: HardState;
  #hardStateSequence: number;

  /** Use {@link openDiskLog}; this only takes over the files it prepared. */
  constructor(config: DiskLogConfig, recovered: Recovered, opened: OpenedFiles) {
    this.#config = config;
    this.initialState = recovered.initialState;
    this.#shape = new LogShape(recovered.initialState.snapshot?.meta ?? null, recovered.initialState.entries);
    this.#projectedCommit = recovered.initialState.hardState.commit;
    this.#active = opened.active;
    this.#sealed = opened.sealed;
    this.#walStart = recovered.walStart;
    this.#snapshotName = recovered.snapshotName;
    this.#snapshotIndex = recovered.initialState.snapshot?.meta.index ?? 0;
    this.#hardStateHandle = opened.hardStateHandle;
    this.#hardStatePath = join(config.dir, HARD_STATE_FILE);
    this.#durableHardState = recovered.initialState.hardState;
    this.#writtenHardState = recovered.initialState.hardState;
    this.#hardStateSequence = opened.hardStateSequence;
  }

  /** The error that poisoned the log, or undefined while every write and sync has succeeded. */
  get failed(): Error | undefined {
    return this.#failed;
  }

  /**
   * Makes `update` durable: resolves once its snapshot, entries and hard state are all synced, after every
   * earlier save. Rejects with a StorageError: `invalid` for an update that does not fit the log (nothing is
   * written then), `io` when this or an earlier write or sync failed, `closed` after close().
   */
  save(update: StorageUpdate): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failedEarlier());
    if (this.#closing !== undefined) {
      return Promise.reject(new StorageError("closed", `the disk log in ${this.#config.dir} is closed`));
    }
    if (this.#queue.length >= SAVES_QUEUED_MAX) {
      return Promise.reject(
        new StorageError("overloaded", `more than ${SAVES_QUEUED_MAX} saves queued on ${this.#config.dir}`),
      );
    }
    let snapshotKeepsLog: boolean;
    try {
      snapshotKeepsLog = this.#acceptSave(update);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ update, snapshotKeepsLog, resolve, reject });
      this.#startWriter();
    });
  }

  /**
   * Waits for the saves already made to finish (resolve or fail), then closes the files. Saves made after
   * close() reject with `closed`. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeFiles();
    return this.#closing;
  }

  async #closeFiles(): Promise<void> {
    await this.#waitUntil(() => !this.#writing && !this.#syncing);
    const active = this.#active;
    await io("close", active.path, () => active.handle.close());
    await io("close", this.#hardStatePath, () => this.#hardStateHandle.close());
  }

  /**
   * Checks `update` against the log as the queued saves leave it, and applies it to that shape. Throws an
   * `invalid` StorageError (changing nothing) for an update the log cannot take. Returns, for a snapshot,
   * whether it keeps the entries after it.
   */
  #acceptSave(update: StorageUpdate): boolean {
    const shape = this.#shape;
    const { snapshot, entries, hardState } = update;
    let offset = shape.offset;
    let lastIndex = shape.lastIndex;
    let keepsLog = false;
    if (snapshot !== undefined) {
      this.#checkSnapshot(snapshot);
      keepsLog = shape.snapshotKeepsLog(snapshot.meta);
      offset = snapshot.meta.index;
      if (!keepsLog) lastIndex = snapshot.meta.index;
    }
    const first = entries[0];
    if (first !== undefined) {
      this.#checkEntries(entries, offset, lastIndex);
      lastIndex = asIndex(first.index + entries.length - 1);
    }
    if (hardState !== undefined) checkHardState(hardState);
    // Recovery refuses a commit index past the log, so no save may make one durable: neither a hard state
    // ahead of the entries nor entries (or a snapshot) that cut the log below the commit index.
    const commit = hardState?.commit ?? this.#projectedCommit;
    if (commit > lastIndex) invalid(`the log would end at ${lastIndex}, before the commit index ${commit}`);
    if (snapshot !== undefined) shape.installSnapshot(snapshot.meta, keepsLog);
    shape.append(entries);
    this.#projectedCommit = commit;
    return keepsLog;
  }

  #checkSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    const shape = this.#shape;
    if (!isCount(index) || index < 1 || !isCount(term))
      invalid(`snapshot meta ${index}/${term} is not valid`);
    if (!(snapshot.data instanceof Uint8Array)) invalid("snapshot data is not a byte array");
    if (snapshot.data.length > this.#config.snapshotBytesMax) {
      invalid(
        `snapshot of ${snapshot.data.length} bytes is over snapshotBytesMax ${this.#config.snapshotBytesMax}`,
      );
    }
    if (index < shape.offset) invalid(`snapshot at ${index} is behind the current one at ${shape.offset}`);
    if (index === shape.offset && shape.termAt(index) !== term) {
      invalid(
        `snapshot at ${index} has term ${term} but the current snapshot there has ${shape.termAt(index)}`,
      );
    }
  }

  #checkEntries(entries: readonly Entry[], offset: number, lastIndex: number): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= offset) invalid(`entry ${first.index} is inside the snapshot (through ${offset})`);
    if (first.index > lastIndex + 1)
      invalid(`entry ${first.index} leaves a gap after the last entry ${lastIndex}`);
    for (const [k, entry] of entries.entries()) {
      if (entry.index !== first.index + k) invalid(`entries are not consecutive at ${first.index + k}`);
      if (!isCount(entry.term)) invalid(`entry ${entry.index} has term ${entry.term}`);
      if (!(entry.data instanceof Uint8Array)) invalid(`entry ${entry.index} data is not a byte array`);
      const bytes = singleEntryPayloadBytes(entry);
      if (bytes > this.#config.recordBytesMax) {
        invalid(
          `entry ${entry.index} needs a ${bytes}-byte record, over recordBytesMax ${this.#config.recordBytesMax}`,
        );
      }
    }
  }

  #startWriter(): void {
    if (this.#writing) return;
    this.#writing = true;
    void this.#runWriter();
  }

  /** Writes queued saves one at a time, in order, and hands each to the syncer. Never rejects. */
  async #runWriter(): Promise<void> {
    // Bounded by the queue, which save() caps at SAVES_QUEUED_MAX; a failure empties it.
    for (let save = this.#queue.shift(); save !== undefined; save = this.#queue.shift()) {
      try {
        await this.#write(save);
      } catch (error) {
        this.#poison(asStorageError(error), [save]);
      }
    }
    this.#writing = false;
    this.#notify();
  }

  async #write(save: PendingSave): Promise<void> {
    const { snapshot, entries } = save.update;
    if (snapshot !== undefined) await this.#installSnapshot(snapshot, save.snapshotKeepsLog);
    if (entries.length > 0) await this.#appendEntries(entries);
    this.#throwIfFailed();
    this.#awaitingSync.push(save);
    // UNSAFE calibration switch: acknowledged before it is durable (resolving again after the sync is a no-op).
    if (this.#config.acknowledgeBeforeSync) save.resolve();
    this.#startSyncer();
  }

  #startSyncer(): void {
    if (this.#syncing) return;
    this.#syncing = true;
    void this.#runSyncer();
  }

  /**
   * Syncs batches of written saves, one sync at a time: every save written before a batch starts rides on
   * it. Resolves each save of a batch once its WAL fdatasync and then its hard state write have completed.
   * Never rejects.
   */
  async #runSyncer(): Promise<void> {
    // Bounded: each pass takes every waiting save, and the writer adds at most SAVES_QUEUED_MAX more.
    while (this.#awaitingSync.length > 0 && this.#failed === undefined) {
      if (this.#config.acknowledgeBeforeSync) {
        await new Promise((resolve) => setTimeout(resolve, this.#config.lazySyncIntervalMs));
      }
      const batch = this.#awaitingSync;
      this.#awaitingSync = [];
      try {
        await this.#syncBatch(batch);
      } catch (error) {
        this.#poison(asStorageError(error), batch);
        break;
      }
      for (const save of batch) save.resolve();
    }
    this.#syncing = false;
    this.#notify();
  }

  async #syncBatch(batch: readonly PendingSave[]): Promise<void> {
    if (this.#walDirty) {
      // Cleared before the sync starts: a write finishing during it marks the segment dirty again.
      this.#walDirty = false;
      const active = this.#active;
      await io("fdatasync", active.path, () => active.handle.datasync());
    }
    this.#throwIfFailed();
    // Only now, with the entries of every save in the batch durable, may a commit index covering them be.
    const hardState = batch.findLast((save) => save.update.hardState !== undefined)?.update.hardState;
    if (hardState !== undefined && !sameHardState(hardState, this.#writtenHardState)) {
      const durable = this.#durableHardState;
      await this.#writeHardState(
        hardState,
        hardState.term !== durable.term || hardState.vote !== durable.vote,
      );
    }
    this.#throwIfFailed();
  }

  /**
   * Writes the hard state to the next slot, and fdatasyncs it when `sync` (a new term or vote). An unsynced
   * slot may be lost or torn in a crash; recovery then takes the other slot, an older but valid state.
   */
  async #writeHardState(hardState: HardState, sync: boolean): Promise<void> {
    const sequence = this.#hardStateSequence + 1;
    const bytes = encodeSlot({ hardState, sequence });
    await writeFully(this.#hardStateHandle, this.#hardStatePath, bytes, slotOffset(sequence));
    if (sync) await io("fdatasync", this.#hardStatePath, () => this.#hardStateHandle.datasync());
    this.#hardStateSequence = sequence;
    this.#writtenHardState = hardState;
    if (sync) this.#durableHardState = hardState;
  }

  /**
   * Writes a snapshot file durably, then removes the older snapshot and the segments it makes unneeded.
   * Everything written before is synced first, so the snapshot never gets ahead of the log it continues.
   */
  async #installSnapshot(snapshot: Snapshot, keepsLog: boolean): Promise<void> {
    await this.#drain();
    const { files, dir } = this.#config;
    const active = this.#active;
    const walStart = keepsLog ? this.#walStart : { segment: active.sequence, offset: active.dataEnd };
    const name = snapshotFileName(snapshot.meta);
    await writeFileAtomically(files, dir, name, encodeSnapshotFile({ snapshot, walStart }));
    const previous = this.#snapshotName;
    this.#snapshotName = name;
    this.#snapshotIndex = snapshot.meta.index;
    this.#walStart = walStart;
    // Nothing after the new replay start is written yet, so this segment writes no entry that still counts.
    if (!keepsLog) active.maxIndex = 0;
    // The older snapshot goes before anything else is written: recovery relies on that (recovery.ts).
    if (previous !== null && previous !== name) {
      this.#throwIfFailed();
      await removeIfPresent(files, join(dir, previous));
      await syncDirectory(files, dir);
    }
    await this.#removeCoveredSegments();
  }

  /** Deletes the oldest sealed segments while the durable snapshot covers them. */
  async #removeCoveredSegments(): Promise<void> {
    // Bounded by the number of sealed segments; oldest first, so the segments left are always a suffix.
    for (let oldest = this.#sealed[0]; oldest !== undefined; oldest = this.#sealed[0]) {
      if (!isCovered(oldest.sequence, oldest.maxIndex, this.#walStart, this.#snapshotIndex)) return;
      this.#throwIfFailed();
      await removeSegment(this.#config, oldest.path);
      this.#sealed.shift();
    }
  }

  /** Writes a save's entries as records, starting new segments as needed. */
  async #appendEntries(entries: readonly Entry[]): Promise<void> {
    const records = this.#encodeRecords(entries);
    const totalBytes = records.reduce((sum, record) => sum + record.bytes.length, 0);
    const firstRecord = records[0];
    // A save that fits in a fresh segment is never split across two: a failure to create the new segment then
    // leaves none of it written.
    const room = this.#active.size - this.#active.dataEnd;
    if (firstRecord !== undefined && totalBytes > room && totalBytes <= this.#config.segmentBytes) {
      await this.#startSegment(firstRecord.firstIndex, totalBytes);
    }
    let next = 0;
    // Bounded: each pass writes at least one record, or starts a segment big enough for the next one.
    const passesMax = 2 * records.length;
    for (let pass = 0; next < records.length && pass < passesMax; pass++) {
      const active = this.#active;
      let end = next;
      let bytes = 0;
      for (let record = records[end]; record !== undefined; record = records[end]) {
        if (active.dataEnd + bytes + record.bytes.length > active.size) break;
        bytes += record.bytes.length;
        end++;
      }
      const head = records[next];
      if (end === next && head !== undefined) {
        await this.#startSegment(head.firstIndex, head.bytes.length);
        continue;
      }
      await this.#writeRecords(records.slice(next, end), bytes);
      next = end;
    }
    assert(next === records.length, () => `DiskLog: wrote ${next} of ${records.length} records of a save`);
  }

  #encodeRecords(entries: readonly Entry[]): EncodedRecord[] {
    return splitIntoRecords(entries, this.#config.recordBytesMax).map((group) => ({
      bytes: encodeEntriesRecord(group),
      firstIndex: (group[0] as Entry).index,
      lastIndex: (group.at(-1) as Entry).index,
    }));
  }

  async #writeRecords(group: readonly EncodedRecord[], bytes: number): Promise<void> {
    const buffer = new Uint8Array(bytes);
    let position = 0;
    for (const record of group) {
      buffer.set(record.bytes, position);
      position += record.bytes.length;
    }
    this.#throwIfFailed();
    const active = this.#active;
    await writeFully(active.handle, active.path, buffer, active.dataEnd);
    active.dataEnd += bytes;
    active.maxIndex = group.reduce((max, record) => Math.max(max, record.lastIndex), active.maxIndex);
    this.#walDirty = true;
  }

  /**
   * Seals the active segment and starts the next one, at least `bytesNeeded` long. Every save written so far
   * is synced first and the old segment is fdatasynced, so only the last segment can ever hold a torn write.
   */
  async #startSegment(firstIndex: LogIndex, bytesNeeded: number): Promise<void> {
    await this.#drain();
    const old = this.#active;
    if (this.#walDirty) {
      this.#walDirty = false;
      await io("fdatasync", old.path, () => old.handle.datasync());
    }
    this.#throwIfFailed();
    const size = Math.max(this.#config.segmentBytes, bytesNeeded);
    this.#active = await createSegment(this.#config, old.sequence + 1, firstIndex, size);
    this.#sealed.push({ sequence: old.sequence, path: old.path, maxIndex: old.maxIndex });
    await io("close", old.path, () => old.handle.close());
    // A segment sealed after the snapshot already covers it (say, one a mismatching snapshot emptied) can go.
    await this.#removeCoveredSegments();
  }

  /** Waits until every save written so far is synced (or the log failed, then throws). */
  async #drain(): Promise<void> {
    await this.#waitUntil(
      () => this.#failed !== undefined || (!this.#syncing && this.#awaitingSync.length === 0),
    );
    this.#throwIfFailed();
  }

  #waitUntil(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiters.push({ ready, resolve });
    });
  }

  #notify(): void {
    const stillWaiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.ready()) waiter.resolve();
      else stillWaiting.push(waiter);
    }
    this.#waiters = stillWaiting;
  }

  #throwIfFailed(): void {
    if (this.#failed !== undefined) throw this.#failedEarlier();
  }

  #failedEarlier(): StorageError {
    const failed = this.#failed;
    return new StorageError(
      "io",
      `the disk log in ${this.#config.dir} failed earlier and takes no more saves: ${failed?.message ?? "unknown"}`,
      { cause: failed, ...(failed?.file === undefined ? {} : { file: failed.file }) },
    );
  }

  /**
   * Stops the log for good after a failed write or sync: `failedSaves` reject with `error`, every other queued
   * or written-but-unsynced save rejects too, and nothing more is written. The node must stop: it cannot know
   * what of its state reached the disk.
   */
  #poison(error: StorageError, failedSaves: readonly PendingSave[]): void {
    if (this.#failed === undefined) {
      this.#failed = error;
      this.#config.logger.error(
        { dir: this.#config.dir, file: error.file, code: error.code, error: error.message },
        "disk log write failed; rejecting this and every later save",
      );
    }
    for (const save of failedSaves) save.reject(error);
    const rest = [...this.#awaitingSync.splice(0), ...this.#queue.splice(0)];
    for (const save of rest) save.reject(this.#failedEarlier());
    this.#notify();
  }
}

function checkHardState(hardState: HardState): void {
  const { term, vote, commit } = hardState;
  if (!isCount(term) || !isCount(commit) || (vote !== null && !isCount(vote))) {
    invalid(`hard state ${JSON.stringify(hardState)} has a field that is not a non-negative integer`);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function invalid(message: string): never {
  throw new StorageError("invalid", message);
}

function asStorageError(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError(
    "io",
    `disk log write failed: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
    },
  );
}
