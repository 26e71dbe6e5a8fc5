/**
 * When to snapshot (Raft §7, thesis §5.1: "snapshot when the log reaches a fixed size in bytes"). A pure
 * decision over byte counts; the caller takes the snapshot and compacts its log.
 */

/**
 * Whether the log grown since the last snapshot, `logBytesSinceSnapshot`, has reached `thresholdBytes`.
 * Both in bytes; a threshold of 0 or less never triggers (snapshots off).
 */
export function shouldSnapshot(logBytesSinceSnapshot: number, thresholdBytes: number): boolean {
  return thresholdBytes > 0 && logBytesSinceSnapshot >= thresholdBytes;
}

/**
 * Counts the bytes of entries applied since the last snapshot and says when the next one is due. Feed it
 * every applied entry's data size with {@link recordApplied}; call {@link snapshotTaken} after snapshotting.
 */
export class SnapshotTrigger {
  /** Log bytes after which a snapshot is due; 0 turns snapshots off. */
  readonly thresholdBytes: number;
  #bytesSinceSnapshot = 0;

  /** Throws a RangeError unless `thresholdBytes` is a safe integer >= 0. */
  constructor(thresholdBytes: number) {
    if (!Number.isSafeInteger(thresholdBytes) || thresholdBytes < 0) {
      throw new RangeError(
        `SnapshotTrigger: thresholdBytes must be a safe integer >= 0, got ${thresholdBytes}`,
      );
    }
    this.thresholdBytes = thresholdBytes;
  }

  /** Bytes of entry data applied since the last snapshot. */
  get bytesSinceSnapshot(): number {
    return this.#bytesSinceSnapshot;
  }

  /** Counts one applied entry of `entryBytes` bytes (its data length; no-ops count 0). */
  recordApplied(entryBytes: number): void {
    if (!Number.isSafeInteger(entryBytes) || entryBytes < 0) {
      throw new RangeError(`SnapshotTrigger: entryBytes must be a safe integer >= 0, got ${entryBytes}`);
    }
    this.#bytesSinceSnapshot += entryBytes;
  }

  /** Whether a snapshot is due now. */
  get due(): boolean {
    return shouldSnapshot(this.#bytesSinceSnapshot, this.thresholdBytes);
  }

  /** Starts counting again after a snapshot (taken locally or installed from the leader). */
  snapshotTaken(): void {
    this.#bytesSinceSnapshot = 0;
  }
}
