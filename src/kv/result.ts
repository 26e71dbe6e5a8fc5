import { unreachable } from "../util/assert.ts";
import type { ClientId } from "./command.ts";
import { utf8ByteLength } from "./utf8.ts";

/**
 * What applying one entry produced, for the client waiting on it. Results a session saves for retries
 * (Raft thesis §6.3) are {@link SavedResult}; the others describe why a command did not run.
 */

/** The command ran: a write took effect (`value: null`), or a get found `value`. */
export interface OkResult {
  readonly kind: "ok";
  readonly value: string | null;
}

/** A get or delete found no such key. */
export interface NotFoundResult {
  readonly kind: "not-found";
}

/** A compare-and-set found `current` (null: no such key) instead of the expected value; nothing changed. */
export interface CasMismatchResult {
  readonly kind: "cas-mismatch";
  readonly current: string | null;
}

/** An append would have made the value `bytes` long in UTF-8, over VALUE_BYTES_MAX; nothing changed. */
export interface ValueTooLargeResult {
  readonly kind: "value-too-large";
  readonly bytes: number;
}

/** The outcome of a command that ran; a session keeps it so a retry returns it instead of running again. */
export type SavedResult = OkResult | NotFoundResult | CasMismatchResult | ValueTooLargeResult;

/** A `register-client` entry opened session `clientId` (its own log index). */
export interface RegisteredResult {
  readonly kind: "registered";
  readonly clientId: ClientId;
}

/**
 * The session does not exist: it expired, was evicted, or never existed. The command did not run, and it
 * never will under that id: the client must register again (Raft thesis §6.3), so it cannot be re-applied.
 */
export interface SessionExpiredResult {
  readonly kind: "session-expired";
}

/**
 * The sequence is below the session's acknowledged floor: the client said it had seen that reply, so the
 * saved result is gone. This is a late duplicate; the command did not run again.
 */
export interface StaleSequenceResult {
  readonly kind: "stale-sequence";
  readonly ackedBelow: number;
}

/**
 * The session already holds as many unacknowledged results as it may (by count or by bytes); the command did
 * not run and nothing was saved, so the client may retry the same sequence once it acknowledges older replies.
 */
export interface TooManyOutstandingResult {
  readonly kind: "too-many-outstanding";
  readonly reason: string;
}

/** The entry is not a valid command (malformed bytes, wrong shape, limits exceeded); nothing changed. */
export interface BadCommandResult {
  readonly kind: "bad-command";
  readonly reason: string;
}

/** A `set-member` entry recorded a member's addresses. */
export interface MemberSetResult {
  readonly kind: "member-set";
}

/** The entry was empty: a leader's no-op (Raft §8), which carries no command. */
export interface NoOpResult {
  readonly kind: "no-op";
}

/** Every result of applying one entry. */
export type KvResult =
  | SavedResult
  | RegisteredResult
  | SessionExpiredResult
  | StaleSequenceResult
  | TooManyOutstandingResult
  | BadCommandResult
  | MemberSetResult
  | NoOpResult;

/** The result for a write that took effect. */
export const OK_WRITTEN: OkResult = { kind: "ok", value: null };

/** The result for a missing key. */
export const NOT_FOUND: NotFoundResult = { kind: "not-found" };

/**
 * The UTF-8 bytes of the value a saved result holds, which count against the session's saved-result budget.
 * Only read-only outcomes (a get's value, a compare-and-set's current value) hold one.
 */
export function savedResultPayloadBytes(result: SavedResult): number {
  switch (result.kind) {
    case "ok":
      return result.value === null ? 0 : (utf8ByteLength(result.value) ?? 0);
    case "cas-mismatch":
      return result.current === null ? 0 : (utf8ByteLength(result.current) ?? 0);
    case "not-found":
    case "value-too-large":
      return 0;
    default:
      return unreachable(result);
  }
}
