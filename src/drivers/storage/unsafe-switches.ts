/**
 * UNSAFE storage switches, for calibrating fault tests only (`tsraft serve --unsafe-debug ...`, `tsraft
 * jepsen --unsafe-debug ...`). Each one breaks the disk log's durability promise on purpose, so that a test
 * harness can show it notices the breakage: a checker that never fails proves nothing. Off by default, and
 * never to be used with data anyone cares about.
 */
import type { FileHandle, FileSystem } from "./file-system.ts";

export interface UnsafeStorageSwitches {
  /**
   * Resolve each save as soon as its bytes are written, before any fdatasync, and run the syncer only about
   * once every {@link UNSAFE_LAZY_SYNC_INTERVAL_MS} (a lazy "fsync every few seconds"). Votes and
   * acknowledgements then leave before they are durable. Alone, the written bytes still sit in the
   * operating system's page cache and survive SIGKILL (only a machine crash loses them); with
   * {@link volatileWrites} a SIGKILL loses them too, and with it acknowledged writes.
   */
  readonly acknowledgeBeforeSync?: boolean;
  /**
   * Keep every written-but-unsynced byte in this process's memory and give it to the file only when it is
   * synced (or the file is closed cleanly), so SIGKILL drops whatever was not synced, as a power cut drops
   * a disk's volatile cache. Safe on its own (every save still waits for its sync); unsafe together with
   * {@link acknowledgeBeforeSync}.
   */
  readonly volatileWrites?: boolean;
  /** With {@link acknowledgeBeforeSync}: the wait before each sync; default {@link UNSAFE_LAZY_SYNC_INTERVAL_MS}. */
  readonly lazySyncIntervalMs?: number;
}

/**
 * How long the syncer waits before each sync under {@link UnsafeStorageSwitches.acknowledgeBeforeSync}. Long
 * enough that a short calibration run's first SIGKILL always finds acknowledged writes unsynced: with one
 * second, a run on a loaded machine could sync just before the kill and lose nothing (the calibration test
 * then failed, seed 16 in CI).
 */
export const UNSAFE_LAZY_SYNC_INTERVAL_MS = 10_000;

/** A write held in memory until its file is synced. */
interface HeldWrite {
  readonly bytes: Uint8Array;
  readonly position: number;
}

/**
 * Wraps a file system so that writes stay in memory until datasync/sync/close (see
 * {@link UnsafeStorageSwitches.volatileWrites}). Reads and stat first hand the held writes to the file, so
 * what the process reads back is what it wrote.
 */
export function volatileFileSystem(inner: FileSystem): FileSystem {
  return {
    open: async (path, flags) => new VolatileHandle(await inner.open(path, flags)),
    readdir: (path) => inner.readdir(path),
    mkdir: (path) => inner.mkdir(path),
    rename: (from, to) => inner.rename(from, to),
    unlink: (path) => inner.unlink(path),
  };
}

class VolatileHandle implements FileHandle {
  readonly #inner: FileHandle;
  #held: HeldWrite[] = [];

  constructor(inner: FileHandle) {
    this.#inner = inner;
  }

  async read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }> {
    await this.#release();
    return this.#inner.read(buffer, offset, length, position);
  }

  async write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }> {
    // A copy: the caller may reuse its buffer once the write has "completed".
    this.#held.push({ bytes: buffer.slice(offset, offset + length), position });
    return { bytesWritten: length };
  }

  async datasync(): Promise<void> {
    await this.#release();
    await this.#inner.datasync();
  }

  async sync(): Promise<void> {
    await this.#release();
    await this.#inner.sync();
  }

  async stat(): Promise<{ size: number }> {
    await this.#release();
    return this.#inner.stat();
  }

  async close(): Promise<void> {
    await this.#release();
    await this.#inner.close();
  }

  /** Writes the held bytes to the file, in the order they were written. */
  async #release(): Promise<void> {
    const held = this.#held;
    this.#held = [];
    for (const { bytes, position } of held) {
      // Bounded: every call writes at least one byte or throws (writeFully's rule, kept short here).
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await this.#inner.write(bytes, done, bytes.length - done, position + done);
        if (bytesWritten === 0) throw new Error("volatile write-back made no progress");
        done += bytesWritten;
      }
    }
  }
}
