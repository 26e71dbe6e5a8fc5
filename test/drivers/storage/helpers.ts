/**
 * Shared helpers for the disk log tests: fresh temporary directories, entries, a logger that records what it
 * is told, a file system that injects faults and holds syncs back, and the model (MemoryLogStore) the log
 * must agree with.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  asIndex,
  asNodeId,
  asTerm,
  type Entry,
  type HardState,
  type InitialState,
  type Snapshot,
} from "../../../src/core/index.ts";
import {
  type FileHandle,
  type FileSystem,
  nodeFileSystem,
  type OpenFlags,
} from "../../../src/drivers/storage/file-system.ts";
import type { StorageLogger } from "../../../src/drivers/storage/index.ts";
import { decodeRecord } from "../../../src/drivers/storage/wal-record.ts";

/** Runs `body` with a fresh directory under the system temp dir, removed afterwards whatever happens. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "tsraft-storage-"));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An entry whose data says where it came from, `size` bytes long (at least 0). */
export function entry(index: number, term: number, size = 8, salt = 0): Entry {
  const data = new Uint8Array(size);
  for (let k = 0; k < size; k++) data[k] = (index * 31 + term * 7 + salt + k) & 0xff;
  return { index: asIndex(index), term: asTerm(term), data };
}

/** Entries `first`, `first + 1`, ... with the given terms. */
export function entries(first: number, terms: readonly number[], size = 8, salt = 0): Entry[] {
  return terms.map((term, k) => entry(first + k, term, size, salt));
}

export function hardState(term: number, vote: number | null, commit: number): HardState {
  return { term: asTerm(term), vote: vote === null ? null : asNodeId(vote), commit: asIndex(commit) };
}

export function snapshot(index: number, term: number, size = 16): Snapshot {
  const data = new Uint8Array(size).map((_, k) => (index + term + k) & 0xff);
  return { meta: { index: asIndex(index), term: asTerm(term) }, data };
}

/** One line a {@link RecordingLogger} was given. */
export interface LogLine {
  readonly level: "info" | "warn" | "error";
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A logger that keeps every line, for assertions. */
export class RecordingLogger implements StorageLogger {
  readonly lines: LogLine[] = [];
  info(fields: object, message: string): void {
    this.lines.push({ level: "info", fields: fields as Record<string, unknown>, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: "warn", fields: fields as Record<string, unknown>, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: "error", fields: fields as Record<string, unknown>, message });
  }
  at(level: LogLine["level"]): LogLine[] {
    return this.lines.filter((line) => line.level === level);
  }
}

/** A fault to inject into the next matching operation. */
export interface Fault {
  readonly operation: "write" | "datasync";
  /** Only operations on a path containing this string match. */
  readonly pathIncludes: string;
  /**
   * A system error code to fail with; `short` to write only half the bytes and report that; `stuck` to
   * write nothing and report 0 bytes written.
   */
  readonly failure: "ENOSPC" | "EIO" | "short" | "stuck";
}

/**
 * The real file system with faults injected on demand and an optional gate every fdatasync waits at. Counts
 * fdatasync calls and WAL record writes so tests can see group commit happen.
 */
export class FaultyFileSystem implements FileSystem {
  readonly faults: Fault[] = [];
  /** fdatasync calls made, by path. */
  readonly datasyncs: string[] = [];
  /** fdatasync calls that completed, by path. */
  readonly completedDatasyncs: string[] = [];
  /** Completed writes, by path. */
  readonly writes: string[] = [];
  /** fdatasync and fsync calls running right now, and the most there ever were at once. */
  syncsInFlight = 0;
  maxSyncsInFlight = 0;
  /** When set, every fdatasync waits this many milliseconds before it runs. */
  datasyncDelayMs = 0;
  /** When set, every fdatasync (before it runs) awaits this. */
  datasyncGate: ((path: string) => Promise<void>) | undefined;

  open(path: string, flags: OpenFlags): Promise<FileHandle> {
    return nodeFileSystem.open(path, flags).then((handle) => this.#wrap(path, handle));
  }
  readdir(path: string): Promise<string[]> {
    return nodeFileSystem.readdir(path);
  }
  mkdir(path: string): Promise<void> {
    return nodeFileSystem.mkdir(path);
  }
  rename(from: string, to: string): Promise<void> {
    return nodeFileSystem.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return nodeFileSystem.unlink(path);
  }

  #takeFault(operation: Fault["operation"], path: string): Fault | undefined {
    const position = this.faults.findIndex((f) => f.operation === operation && path.includes(f.pathIncludes));
    if (position < 0) return undefined;
    return this.faults.splice(position, 1)[0];
  }

  async #countSync(action: () => Promise<void>): Promise<void> {
    this.syncsInFlight++;
    this.maxSyncsInFlight = Math.max(this.maxSyncsInFlight, this.syncsInFlight);
    try {
      await action();
    } finally {
      this.syncsInFlight--;
    }
  }

  #wrap(path: string, handle: FileHandle): FileHandle {
    return {
      read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
      write: async (buffer, offset, length, position) => {
        const fault = this.#takeFault("write", path);
        if (fault?.failure === "short") {
          const half = Math.floor(length / 2);
          await handle.write(buffer, offset, half, position);
          return { bytesWritten: half };
        }
        if (fault?.failure === "stuck") return { bytesWritten: 0 };
        if (fault !== undefined) throw systemError(fault.failure, "write", path);
        const result = await handle.write(buffer, offset, length, position);
        this.writes.push(path);
        return result;
      },
      datasync: () =>
        this.#countSync(async () => {
          this.datasyncs.push(path);
          await this.datasyncGate?.(path);
          if (this.datasyncDelayMs > 0)
            await new Promise((resolve) => setTimeout(resolve, this.datasyncDelayMs));
          const fault = this.#takeFault("datasync", path);
          if (fault !== undefined) throw systemError(fault.failure, "fdatasync", path);
          await handle.datasync();
          this.completedDatasyncs.push(path);
        }),
      sync: () => this.#countSync(() => handle.sync()),
      stat: () => handle.stat(),
      close: () => handle.close(),
    };
  }
}

/** An error shaped like Node's system errors. */
function systemError(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: injected failure, ${syscall} '${path}'`), { code, syscall, path });
}

/** The WAL segment files of a log directory, oldest first. */
export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith("segment-") && name.endsWith(".wal")).sort();
}

/** Where each valid record of a segment file starts and ends (one past its last byte), in order. */
export async function recordExtents(path: string): Promise<{ start: number; end: number }[]> {
  const bytes = new Uint8Array(await readFile(path));
  const extents: { start: number; end: number }[] = [];
  let position = 0;
  for (let guard = 0; guard < bytes.length; guard++) {
    const result = decodeRecord(bytes, position, { recordBytesMax: bytes.length });
    if (result.kind !== "record") break;
    extents.push({ start: position, end: result.nextOffset });
    position = result.nextOffset;
  }
  return extents;
}

/** A fingerprint of every file in a directory (name and SHA-256 of the content), to show nothing changed. */
export async function fingerprint(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    result[name] = createHash("sha256")
      .update(await readFile(join(dir, name)))
      .digest("hex");
  }
  return result;
}

/** Asserts two initial states are equal, with a readable message about entries when they are not. */
export function assertSameState(actual: InitialState, expected: InitialState, context = ""): void {
  const describe = (state: InitialState) =>
    `snapshot ${state.snapshot === null ? "none" : `${state.snapshot.meta.index}/${state.snapshot.meta.term}`}, ` +
    `entries [${state.entries.map((e) => `${e.index}:${e.term}`).join(" ")}]`;
  assert.deepEqual(actual.hardState, expected.hardState, `hard state ${context}`);
  assert.equal(describe(actual), describe(expected), `log shape ${context}`);
  assert.deepEqual(actual.snapshot, expected.snapshot, `snapshot ${context}`);
  assert.deepEqual(actual.entries, expected.entries, `entries ${context}`);
}

/** Polls `condition` every few milliseconds until it holds or `timeoutMs` passes (then fails). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Asserts a promise rejects with a StorageError of `code` whose message matches `pattern`. */
export async function assertRejectsWith(
  promise: Promise<unknown>,
  code: string,
  pattern: RegExp = /./,
): Promise<Error & { code: string; file?: string; offset?: number }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, "rejects with an Error");
    const withCode = error as Error & { code: string; file?: string; offset?: number };
    assert.equal(error.name, "StorageError", `a StorageError, got ${error.name}: ${error.message}`);
    assert.equal(withCode.code, code, `code ${code}, got ${withCode.code}: ${error.message}`);
    assert.match(error.message, pattern);
    return withCode;
  }
  return assert.fail(`expected a rejection with code ${code}`);
}
