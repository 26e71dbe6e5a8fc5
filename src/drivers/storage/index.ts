/** Durable on-disk log storage for real nodes: see disk-log.ts for the format and the guarantees. */
export {
  DEFAULT_RECORD_BYTES_MAX,
  DEFAULT_SEGMENT_BYTES,
  DEFAULT_SNAPSHOT_BYTES_MAX,
  DiskLog,
  type DiskLogOptions,
  openDiskLog,
  type StorageLogger,
} from "./disk-log.ts";
export { type FileHandle, type FileSystem, nodeFileSystem, type OpenFlags } from "./file-system.ts";
export { StorageError, type StorageErrorCode } from "./storage-error.ts";
export { UNSAFE_LAZY_SYNC_INTERVAL_MS, type UnsafeStorageSwitches } from "./unsafe-switches.ts";
export { type DecodeResult, decodeRecord, type RecordLimits, type WalRecord } from "./wal-record.ts";
