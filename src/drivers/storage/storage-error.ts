/**
 * What went wrong in the disk log, as a machine-readable code:
 * - `corrupt`: recovery found damage it must not repair silently (the message names the file and byte offset);
 * - `io`: a read, write, sync, rename or delete failed (the message names the operation and the file); after a
 *   failed write or sync the log is poisoned and every later save fails with this code too;
 * - `closed`: the log was closed before the save was made;
 * - `invalid`: the caller asked for something the log cannot represent (a gap, an oversized entry, bad options);
 * - `overloaded`: too many saves were queued at once.
 */
export type StorageErrorCode = "corrupt" | "io" | "closed" | "invalid" | "overloaded";

/** Where an error happened and what caused it; every field is optional. */
export interface StorageErrorDetails {
  /** The file involved, as a path. */
  readonly file?: string;
  /** The byte offset in `file` where the damage starts (corruption only). */
  readonly offset?: number;
  /** The underlying error (a Node system error for `io`). */
  readonly cause?: unknown;
}

/** The one error type the disk log throws or rejects with. Its message is meant for an operator. */
export class StorageError extends Error {
  override name = "StorageError";
  /** What kind of failure this is; see {@link StorageErrorCode}. */
  readonly code: StorageErrorCode;
  /** The file involved, when there is one. */
  readonly file?: string;
  /** The byte offset in `file` where damage starts, for `corrupt`. */
  readonly offset?: number;

  constructor(code: StorageErrorCode, message: string, details: StorageErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.file !== undefined) this.file = details.file;
    if (details.offset !== undefined) this.offset = details.offset;
  }
}

/** A `corrupt` error whose message starts with the file and byte offset, as recovery reports them. */
export function corruptAt(file: string, offset: number, what: string): StorageError {
  return new StorageError("corrupt", `${file} is corrupt at byte offset ${offset}: ${what}`, {
    file,
    offset,
  });
}

/** The `code` of a Node system error (`EIO`, `ENOSPC`, ...), or undefined for anything else. */
export function systemErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
