import * as fsPromises from "node:fs/promises";
import { join } from "node:path";
import { StorageError, systemErrorCode } from "./storage-error.ts";

/**
 * The file operations the disk log uses, as a port: the default is Node's `fs/promises`; tests inject one
 * that fails writes with ENOSPC, fails syncs with EIO, writes short or holds syncs back. Positions and
 * lengths are in bytes.
 */
export interface FileHandle {
  /** Reads up to `length` bytes at file position `position` into `buffer` starting at `offset`. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Writes `length` bytes of `buffer` from `offset` at file position `position`; may report fewer written. */
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }>;
  /** fdatasync(2): makes written data durable, and metadata only where needed to read it back. */
  datasync(): Promise<void>;
  /** fsync(2): makes data and all metadata (size included) durable. */
  sync(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

/** How a file is opened, as in fopen(3): `r` read only, `r+` read and write, `wx` create a new file only. */
export type OpenFlags = "r" | "r+" | "wx";

/** Directory-level operations, plus opening files. */
export interface FileSystem {
  open(path: string, flags: OpenFlags): Promise<FileHandle>;
  /** The names (not paths) of the entries in a directory. */
  readdir(path: string): Promise<string[]>;
  /** Creates a directory and its missing parents; succeeds if it already exists. */
  mkdir(path: string): Promise<void>;
  /** rename(2): atomically replaces `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

/** The real file system, through `node:fs/promises`. */
export const nodeFileSystem: FileSystem = {
  open: (path, flags) => fsPromises.open(path, flags),
  readdir: (path) => fsPromises.readdir(path),
  mkdir: async (path) => {
    await fsPromises.mkdir(path, { recursive: true });
  },
  rename: (from, to) => fsPromises.rename(from, to),
  unlink: (path) => fsPromises.unlink(path),
};

/** Bytes of zeros written per call when preallocating: bounds the zero buffer, not the file. */
const ZERO_CHUNK_BYTES = 1024 * 1024;

/**
 * Runs one file operation and turns its failure into a StorageError with code `io` that names the operation
 * and the file (and keeps the system error as its cause).
 */
export async function io<T>(operation: string, file: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw ioError(operation, file, error, "");
  }
}

/** An `io` StorageError for `operation` on `file` failing with `error`; `detail` is appended to the message. */
function ioError(operation: string, file: string, error: unknown, detail: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = systemErrorCode(error);
  const reason = error instanceof Error ? error.message : String(error);
  return new StorageError(
    "io",
    `${operation} ${file} failed${code === undefined ? "" : ` (${code})`}${detail}: ${reason}`,
    {
      file,
      cause: error,
    },
  );
}

/**
 * Most write(2) calls one {@link writeFully} makes. A write to a regular file comes back short only when the
 * device is (nearly) full or the call was interrupted; each further call writes the rest, and normally the
 * second one either finishes or fails with the reason (ENOSPC), which is what an operator needs to read.
 */
const WRITE_CALLS_MAX = 16;

/**
 * Writes all of `bytes` at `position`. A short write is continued with the rest; if the rest then fails the
 * error says how much had been written, and a write that makes no progress (or too many short ones) is an
 * `io` error too. Either way the caller treats the write as failed and never retries it.
 */
export async function writeFully(
  handle: FileHandle,
  file: string,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  for (let calls = 0; done < bytes.length; calls++) {
    let written: number;
    try {
      ({ bytesWritten: written } = await handle.write(bytes, done, bytes.length - done, position + done));
    } catch (error) {
      const detail =
        done === 0 ? "" : ` after a short write of ${done} of ${bytes.length} bytes at offset ${position}`;
      throw ioError("write", file, error, detail);
    }
    done += written;
    if (written === 0 || (calls + 1 >= WRITE_CALLS_MAX && done < bytes.length)) {
      throw new StorageError(
        "io",
        `write ${file} failed: short write of ${done} of ${bytes.length} bytes at offset ${position}, and no progress`,
        { file },
      );
    }
  }
}

/** Writes `length` zero bytes at `position`, in chunks of at most {@link ZERO_CHUNK_BYTES}. */
export async function writeZeros(
  handle: FileHandle,
  file: string,
  position: number,
  length: number,
): Promise<void> {
  const zeros = new Uint8Array(Math.min(length, ZERO_CHUNK_BYTES));
  // Bounded: each pass writes min(remaining, ZERO_CHUNK_BYTES) > 0 bytes.
  for (let done = 0; done < length; ) {
    const chunk = Math.min(zeros.length, length - done);
    await writeFully(handle, file, zeros.subarray(0, chunk), position + done);
    done += chunk;
  }
}

/**
 * Reads a whole file into a fresh buffer. A file longer than `bytesMax` is refused before anything is
 * allocated for it, with `tooLarge` deciding the error; a file that shrinks while being read is an `io` error.
 */
export async function readWholeFile(
  files: FileSystem,
  path: string,
  bytesMax: number,
  tooLarge: (size: number) => StorageError,
): Promise<Uint8Array> {
  const handle = await io("open", path, () => files.open(path, "r"));
  try {
    const { size } = await io("stat", path, () => handle.stat());
    if (size > bytesMax) throw tooLarge(size);
    const bytes = new Uint8Array(size);
    // Bounded: each pass reads at least one byte or stops.
    for (let done = 0; done < size; ) {
      const { bytesRead } = await io("read", path, () => handle.read(bytes, done, size - done, done));
      if (bytesRead === 0) {
        throw new StorageError("io", `read ${path} failed: file ended at ${done} of ${size} bytes`, {
          file: path,
        });
      }
      done += bytesRead;
    }
    return bytes;
  } finally {
    await closeQuietly(handle);
  }
}

/** Closes a handle, ignoring a failure: used where another error is already on its way out. */
export async function closeQuietly(handle: FileHandle): Promise<void> {
  try {
    await handle.close();
  } catch {
    // The handle is unusable either way, and the error that matters is the one being thrown.
  }
}

/** fsync(2) on a directory: makes the creation, renaming and removal of its entries durable. */
export async function syncDirectory(files: FileSystem, dir: string): Promise<void> {
  const handle = await io("open directory", dir, () => files.open(dir, "r"));
  try {
    await io("fsync directory", dir, () => handle.sync());
  } finally {
    await closeQuietly(handle);
  }
}

/**
 * Creates `dir/name` durably with the given content (pieces written one after another, or zeros), all or nothing: write `name.tmp`, fsync it, rename it
 * over `name`, fsync the directory. After a crash either the old file (or none) or the new one is there,
 * never a part of it; a leftover `.tmp` is removed on the next open.
 */
export async function writeFileAtomically(
  files: FileSystem,
  dir: string,
  name: string,
  content: readonly Uint8Array[] | { readonly zeroBytes: number },
): Promise<void> {
  const path = join(dir, name);
  const temporary = `${path}${TEMPORARY_SUFFIX}`;
  await removeIfPresent(files, temporary);
  const handle = await io("create", temporary, () => files.open(temporary, "wx"));
  try {
    if ("zeroBytes" in content) await writeZeros(handle, temporary, 0, content.zeroBytes);
    else await writePieces(handle, temporary, content);
    await io("fsync", temporary, () => handle.sync());
  } finally {
    await closeQuietly(handle);
  }
  await io("rename", temporary, () => files.rename(temporary, path));
  await syncDirectory(files, dir);
}

/** Writes `pieces` one after another from the start of the file. */
async function writePieces(handle: FileHandle, file: string, pieces: readonly Uint8Array[]): Promise<void> {
  let position = 0;
  for (const piece of pieces) {
    await writeFully(handle, file, piece, position);
    position += piece.length;
  }
}

/** Name suffix of a file being written before its atomic rename. */
export const TEMPORARY_SUFFIX = ".tmp";

/** Removes a file, treating "it was not there" as success. */
export async function removeIfPresent(files: FileSystem, path: string): Promise<void> {
  try {
    await files.unlink(path);
  } catch (error) {
    if (systemErrorCode(error) === "ENOENT") return;
    await io("unlink", path, () => Promise.reject(error));
  }
}
