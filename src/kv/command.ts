import type { LogIndex } from "../core/types.ts";
import { unreachable } from "../util/assert.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "./limits.ts";
import { utf8ByteLength } from "./utf8.ts";

/**
 * The commands of the replicated key-value state machine and the validation that the proposer (before it
 * proposes) and every replica (when it applies) run alike.
 */

/**
 * A client session's id: the log index at which its `register-client` command was applied (Raft thesis §6.3),
 * so every replica assigns the same id without talking to the others.
 */
export type ClientId = LogIndex;

/**
 * What every command after registration carries (Raft thesis §6.3): the session, the client's sequence number
 * for this command, and how far the client has seen replies.
 */
export interface SessionStamp {
  /** The session, as returned by `register-client`. */
  readonly clientId: ClientId;
  /** The client's number for this command: 1 for its first, one more for each new command (retries reuse it). */
  readonly sequence: number;
  /**
   * The client has seen the replies to every sequence below this one, so the state machine may forget them.
   * At most `sequence` (a client cannot have seen the reply to a command it is still sending).
   */
  readonly ackedBelow: number;
}

/** Opens a client session; its id is the index of the entry (see {@link ClientId}). */
export interface RegisterClientCommand {
  readonly kind: "register-client";
}

/** Sets `key` to `value`. */
export interface PutCommand extends SessionStamp {
  readonly kind: "put";
  readonly key: string;
  readonly value: string;
}

/** Reads `key` through the log (a read that is ordered like a write, when the client asks for it). */
export interface GetCommand extends SessionStamp {
  readonly kind: "get";
  readonly key: string;
}

/** Removes `key`. */
export interface DeleteCommand extends SessionStamp {
  readonly kind: "delete";
  readonly key: string;
}

/** Appends `value` to the value of `key` (an absent key counts as the empty string). */
export interface AppendCommand extends SessionStamp {
  readonly kind: "append";
  readonly key: string;
  readonly value: string;
}

/**
 * Sets `key` to `value` if its current value is `expected`; `expected: null` means "only if `key` does not
 * exist".
 */
export interface CasCommand extends SessionStamp {
  readonly kind: "cas";
  readonly key: string;
  readonly expected: string | null;
  readonly value: string;
}

/**
 * Records where cluster member `node` can be reached: its peer (Raft) address and its HTTP API address. A
 * membership change (thesis §4) names nodes by id only; this replicated address book, kept in snapshots like
 * the rest of the state, is how every node learns a new member's addresses before the member is added. It
 * runs outside client sessions: setting the same addresses twice changes nothing.
 */
export interface SetMemberCommand {
  readonly kind: "set-member";
  readonly node: number;
  readonly peerAddress: string;
  readonly apiAddress: string | null;
}

/** Where one member can be reached (see {@link SetMemberCommand}). */
export interface MemberAddresses {
  readonly peerAddress: string;
  readonly apiAddress: string | null;
}

/** Longest member address accepted, in UTF-8 bytes (a host name and a port). */
export const MEMBER_ADDRESS_BYTES_MAX = 300;

/** A command that runs inside a client session. */
export type SessionCommand = PutCommand | GetCommand | DeleteCommand | AppendCommand | CasCommand;

/** Every command of the key-value state machine. */
export type KvCommand = RegisterClientCommand | SetMemberCommand | SessionCommand;

/**
 * What one log entry carries: a command and the proposing leader's clock reading. The state machine's notion
 * of time is the maximum timestamp applied so far, so session expiry is decided by the log and every replica
 * decides it alike, whatever its own clock says (Raft thesis §6.3).
 */
export interface KvEntry {
  /**
   * Milliseconds (any epoch, usually Unix) read by the leader when it proposed the entry; a safe integer >= 0.
   * A leader whose clock runs far ahead moves log time forward for good and can expire every session early;
   * that costs clients a re-registration, never a duplicate or a divergence.
   */
  readonly timestampMs: number;
  readonly command: KvCommand;
}

/** Whether a value passed {@link validateCommand}, and if not, why. */
export type Validation = { readonly valid: true } | { readonly valid: false; readonly reason: string };

const VALID: Validation = { valid: true };

function invalid(reason: string): Validation {
  return { valid: false, reason };
}

/** Checks that `key` is well-formed Unicode of at most {@link KEY_BYTES_MAX} UTF-8 bytes. */
export function validateKey(key: string): Validation {
  return validateText("key", key, KEY_BYTES_MAX);
}

/** Checks that `value` is well-formed Unicode of at most {@link VALUE_BYTES_MAX} UTF-8 bytes. */
export function validateValue(value: string, what = "value"): Validation {
  return validateText(what, value, VALUE_BYTES_MAX);
}

function validateText(what: string, text: string, bytesMax: number): Validation {
  const bytes = utf8ByteLength(text, bytesMax);
  if (bytes === null) return invalid(`${what} is not well-formed Unicode (lone surrogate)`);
  if (bytes > bytesMax) return invalid(`${what} is over the limit of ${bytesMax} UTF-8 bytes`);
  return VALID;
}

function validateAddress(address: string, what: string): Validation {
  if (address.length === 0) return invalid(`${what} is empty`);
  return validateText(what, address, MEMBER_ADDRESS_BYTES_MAX);
}

/** Checks a log timestamp: a safe integer >= 0, in milliseconds. */
export function validateTimestamp(timestampMs: number): Validation {
  return Number.isSafeInteger(timestampMs) && timestampMs >= 0
    ? VALID
    : invalid(`timestamp must be a safe integer >= 0 (milliseconds), got ${timestampMs}`);
}

function validateStamp(stamp: SessionStamp): Validation {
  if (!Number.isSafeInteger(stamp.clientId) || stamp.clientId < 1) {
    return invalid(`clientId must be a log index >= 1, got ${stamp.clientId}`);
  }
  if (!Number.isSafeInteger(stamp.sequence) || stamp.sequence < 1) {
    return invalid(`sequence must be a safe integer >= 1, got ${stamp.sequence}`);
  }
  if (!Number.isSafeInteger(stamp.ackedBelow) || stamp.ackedBelow < 0 || stamp.ackedBelow > stamp.sequence) {
    return invalid(
      `ackedBelow must be an integer in [0, sequence ${stamp.sequence}], got ${stamp.ackedBelow}`,
    );
  }
  return VALID;
}

/** Runs checks in order and returns the first failure. */
function firstFailure(checks: readonly (() => Validation)[]): Validation {
  for (const check of checks) {
    const validation = check();
    if (!validation.valid) return validation;
  }
  return VALID;
}

/**
 * Checks a command against the service's rules: ids and sequence numbers in range, keys and values
 * well-formed and within {@link KEY_BYTES_MAX} and {@link VALUE_BYTES_MAX}. The proposer runs it to refuse a
 * request up front; the state machine runs it on every decoded entry, so both agree on what is valid.
 */
export function validateCommand(command: KvCommand): Validation {
  switch (command.kind) {
    case "register-client":
      return VALID;
    case "set-member":
      return firstFailure([
        () =>
          Number.isSafeInteger(command.node) && command.node >= 0
            ? VALID
            : invalid(`node must be a node id (an integer >= 0), got ${command.node}`),
        () => validateAddress(command.peerAddress, "peer address"),
        () => (command.apiAddress === null ? VALID : validateAddress(command.apiAddress, "API address")),
      ]);
    case "get":
    case "delete":
      return firstFailure([() => validateStamp(command), () => validateKey(command.key)]);
    case "put":
    case "append":
      return firstFailure([
        () => validateStamp(command),
        () => validateKey(command.key),
        () => validateValue(command.value),
      ]);
    case "cas":
      return firstFailure([
        () => validateStamp(command),
        () => validateKey(command.key),
        () => (command.expected === null ? VALID : validateValue(command.expected, "expected value")),
        () => validateValue(command.value),
      ]);
    default:
      return unreachable(command);
  }
}

/** Checks a whole entry: its timestamp and its command. */
export function validateEntry(entry: KvEntry): Validation {
  const timestamp = validateTimestamp(entry.timestampMs);
  return timestamp.valid ? validateCommand(entry.command) : timestamp;
}
