import { decode, encode } from "../codec/msgpack.ts";
import { asIndex, type LogIndex } from "../core/types.ts";
import { unreachable } from "../util/assert.ts";
import type { ClientSessionState } from "./client-session.ts";
import { type ClientId, type MemberAddresses, validateKey, validateValue } from "./command.ts";
import type { KvConfig } from "./config.ts";
import { VALUE_BYTES_MAX } from "./limits.ts";
import { type SavedResult, savedResultPayloadBytes } from "./result.ts";

/**
 * The snapshot encoding of the key-value state machine (Raft §7): the whole state as one MessagePack array.
 *
 * ```
 * ["tsraft-kv", 2, appliedIndex, logTimeMs, [key, value, ...], [session, ...], [node, peerAddress, apiAddress | nil, ...]]
 * session = [clientId, lastUsedIndex, lastActiveMs, ackedBelow, [sequence, result, sequence, result, ...]]
 * result  = [1, value | nil] ok | [2] not-found | [3, current | nil] cas-mismatch | [4, bytes] value-too-large
 * ```
 *
 * Version 1, still read, had no member address book (the last element). Keys are sorted, members by id, sessions are listed least recently used first (by log index), results by sequence, so two
 * replicas that applied the same log write byte-identical snapshots. Decoding checks every invariant the
 * state machine keeps and throws {@link CorruptSnapshotError} naming the first one broken.
 */

/** First element of every snapshot, so a snapshot of something else is recognised at once. */
export const SNAPSHOT_MAGIC = "tsraft-kv";

/** The snapshot layout version; a new layout gets a new number and this decoder refuses it clearly. */
export const SNAPSHOT_FORMAT_VERSION = 2;
/** Version 1 had no member address book; it is still read (with an empty one). */
const SNAPSHOT_FORMAT_VERSION_WITHOUT_MEMBERS = 1;

/** Longest decoder error message quoted in a {@link CorruptSnapshotError}. */
const ERROR_MESSAGE_CHARS_MAX = 200;

/** Tags of saved results inside a snapshot; never reused. */
const RESULT_TAGS = {
  ok: 1,
  "not-found": 2,
  "cas-mismatch": 3,
  "value-too-large": 4,
} as const satisfies Record<SavedResult["kind"], number>;

/** The state machine's whole state, as the snapshot holds it. */
export interface KvStateParts {
  /** The last log index applied (Raft §7, lastIncludedIndex). */
  readonly appliedIndex: LogIndex;
  /** Log time: the largest leader timestamp applied so far, in milliseconds. */
  readonly logTimeMs: number;
  /** Every key and value, sorted by key. */
  readonly entries: readonly (readonly [string, string])[];
  /** Every session, least recently used first. */
  readonly sessions: readonly ClientSessionState[];
  /** The member address book (see SetMemberCommand), by node id ascending. */
  readonly members: readonly (readonly [number, MemberAddresses])[];
}

/** A snapshot that cannot be restored: not a key-value snapshot, another version, or broken invariants. */
export class CorruptSnapshotError extends Error {
  override name = "CorruptSnapshotError";
}

/** Encodes the state; the caller lists entries sorted and sessions in use order. */
export function encodeSnapshot(parts: KvStateParts): Uint8Array {
  const data: string[] = [];
  for (const [key, value] of parts.entries) data.push(key, value);
  const sessions = parts.sessions.map((session) => [
    session.clientId,
    session.lastUsedIndex,
    session.lastActiveMs,
    session.ackedBelow,
    session.results.flatMap(([sequence, result]) => [sequence, resultToArray(result)]),
  ]);
  return encode([
    SNAPSHOT_MAGIC,
    SNAPSHOT_FORMAT_VERSION,
    parts.appliedIndex,
    parts.logTimeMs,
    data,
    sessions,
    parts.members.flatMap(([node, { peerAddress, apiAddress }]) => [node, peerAddress, apiAddress]),
  ]);
}

function resultToArray(result: SavedResult): unknown[] {
  const tag = RESULT_TAGS[result.kind];
  switch (result.kind) {
    case "ok":
      return [tag, result.value];
    case "not-found":
      return [tag];
    case "cas-mismatch":
      return [tag, result.current];
    case "value-too-large":
      return [tag, result.bytes];
    default:
      return unreachable(result);
  }
}

/** The error for a broken snapshot: `where` names the part, `what` the rule it breaks. */
function corrupt(where: string, what: string): CorruptSnapshotError {
  return new CorruptSnapshotError(`corrupt kv snapshot: ${where}: ${what}`);
}

/** Throws a {@link CorruptSnapshotError} about `where` unless `condition` holds. */
function check(condition: boolean, where: string, what: string): asserts condition {
  if (!condition) throw corrupt(where, what);
}

function isArray(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Decodes and validates a snapshot against `config` (which must be the config the snapshot was taken under:
 * the session bounds are checked against it). Throws {@link CorruptSnapshotError} on any problem.
 */
export function decodeSnapshot(bytes: Uint8Array, config: KvConfig): KvStateParts {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw corrupt("encoding", `not MessagePack: ${message.slice(0, ERROR_MESSAGE_CHARS_MAX)}`);
  }
  check(isArray(value) && value[0] === SNAPSHOT_MAGIC, "header", "not a tsraft-kv snapshot");
  const version = value[1];
  check(
    version === SNAPSHOT_FORMAT_VERSION || version === SNAPSHOT_FORMAT_VERSION_WITHOUT_MEMBERS,
    "header",
    `unsupported format version ${String(version)}`,
  );
  const fields = version === SNAPSHOT_FORMAT_VERSION ? 7 : 6;
  check(value.length === fields, "header", `expected ${fields} fields, got ${value.length}`);
  const [, , appliedIndex, logTimeMs, data, sessions, members] = value;
  check(isCount(appliedIndex), "appliedIndex", "must be a safe integer >= 0");
  check(isCount(logTimeMs), "logTimeMs", "must be a safe integer >= 0");
  return {
    appliedIndex: asIndex(appliedIndex),
    logTimeMs,
    entries: decodeEntries(data),
    sessions: decodeSessions(sessions, asIndex(appliedIndex), logTimeMs, config),
    members: version === SNAPSHOT_FORMAT_VERSION ? decodeMembers(members) : [],
  };
}

function decodeMembers(members: unknown): [number, MemberAddresses][] {
  check(isArray(members) && members.length % 3 === 0, "members", "must be an array of triples");
  const decoded: [number, MemberAddresses][] = [];
  for (let position = 0; position < members.length; position += 3) {
    const [node, peerAddress, apiAddress] = members.slice(position, position + 3);
    const where = `members[${position / 3}]`;
    check(isCount(node), where, "node must be a safe integer >= 0");
    check(typeof peerAddress === "string" && peerAddress.length > 0, where, "peer address must be a string");
    check(
      apiAddress === null || typeof apiAddress === "string",
      where,
      "API address must be a string or nil",
    );
    const previous = decoded.at(-1);
    check(previous === undefined || previous[0] < node, where, "nodes must be in ascending order");
    decoded.push([node, { peerAddress, apiAddress }]);
  }
  return decoded;
}

function decodeEntries(data: unknown): [string, string][] {
  check(isArray(data) && data.length % 2 === 0, "data", "must be an array of key, value pairs");
  const entries: [string, string][] = [];
  let previous: string | undefined;
  for (let i = 0; i < data.length; i += 2) {
    const key = data[i];
    const value = data[i + 1];
    const where = `data[${i / 2}]`;
    check(typeof key === "string" && typeof value === "string", where, "key and value must be strings");
    const keyCheck = validateKey(key);
    check(keyCheck.valid, where, keyCheck.valid ? "" : keyCheck.reason);
    const valueCheck = validateValue(value);
    check(valueCheck.valid, where, valueCheck.valid ? "" : valueCheck.reason);
    check(previous === undefined || previous < key, where, "keys must be strictly ascending");
    previous = key;
    entries.push([key, value]);
  }
  return entries;
}

function decodeSessions(
  sessions: unknown,
  appliedIndex: LogIndex,
  logTimeMs: number,
  config: KvConfig,
): ClientSessionState[] {
  check(isArray(sessions), "sessions", "must be an array");
  check(
    sessions.length <= config.sessionsMax,
    "sessions",
    `${sessions.length} sessions, over sessionsMax ${config.sessionsMax} (was it taken under another config?)`,
  );
  const decoded: ClientSessionState[] = [];
  const seen = new Set<number>();
  let previous: ClientSessionState | undefined;
  for (const [position, raw] of sessions.entries()) {
    const where = `sessions[${position}]`;
    const session = decodeSession(raw, where, appliedIndex, logTimeMs, config);
    check(!seen.has(session.clientId), where, `duplicate clientId ${session.clientId}`);
    check(
      previous === undefined ||
        (previous.lastUsedIndex < session.lastUsedIndex && previous.lastActiveMs <= session.lastActiveMs),
      where,
      "sessions must be in use order (lastUsedIndex ascending, lastActiveMs non-decreasing)",
    );
    seen.add(session.clientId);
    previous = session;
    decoded.push(session);
  }
  return decoded;
}

function decodeSession(
  raw: unknown,
  where: string,
  appliedIndex: LogIndex,
  logTimeMs: number,
  config: KvConfig,
): ClientSessionState {
  check(isArray(raw) && raw.length === 5, where, "must be an array of 5 fields");
  const [clientId, lastUsedIndex, lastActiveMs, ackedBelow, results] = raw;
  check(isCount(clientId) && clientId >= 1 && clientId <= appliedIndex, where, "clientId out of range");
  check(
    isCount(lastUsedIndex) && lastUsedIndex >= clientId && lastUsedIndex <= appliedIndex,
    where,
    "lastUsedIndex must be in [clientId, appliedIndex]",
  );
  check(
    isCount(lastActiveMs) && lastActiveMs <= logTimeMs && logTimeMs - lastActiveMs < config.sessionTimeoutMs,
    where,
    "lastActiveMs must be within sessionTimeoutMs before logTimeMs (an expired session is never kept)",
  );
  check(isCount(ackedBelow), where, "ackedBelow must be a safe integer >= 0");
  return {
    clientId: asIndex(clientId) as ClientId,
    lastUsedIndex: asIndex(lastUsedIndex),
    lastActiveMs,
    ackedBelow,
    results: decodeResults(results, where, ackedBelow, config),
  };
}

function decodeResults(
  results: unknown,
  where: string,
  ackedBelow: number,
  config: KvConfig,
): [number, SavedResult][] {
  check(isArray(results) && results.length % 2 === 0, where, "results must be sequence, result pairs");
  const decoded: [number, SavedResult][] = [];
  let valueBytes = 0;
  let previous = -1;
  for (let i = 0; i < results.length; i += 2) {
    const sequence = results[i];
    const at = `${where}.results[${i / 2}]`;
    check(
      isCount(sequence) && sequence > previous && sequence >= ackedBelow,
      at,
      "sequences must ascend from ackedBelow",
    );
    check(
      sequence < ackedBelow + config.outstandingPerSessionMax,
      at,
      "sequence past the outstanding window",
    );
    const result = decodeResult(results[i + 1], at);
    valueBytes += savedResultPayloadBytes(result);
    previous = sequence;
    decoded.push([sequence, result]);
  }
  check(
    valueBytes <= config.savedValueBytesPerSessionMax,
    where,
    `saved values take ${valueBytes} bytes, over savedValueBytesPerSessionMax`,
  );
  return decoded;
}

function decodeResult(raw: unknown, where: string): SavedResult {
  check(isArray(raw), where, "result must be an array");
  const [tag, field] = raw;
  switch (tag) {
    case RESULT_TAGS.ok:
    case RESULT_TAGS["cas-mismatch"]: {
      check(raw.length === 2 && (field === null || typeof field === "string"), where, "malformed result");
      if (field !== null) {
        const validation = validateValue(field);
        check(validation.valid, where, validation.valid ? "" : validation.reason);
      }
      return tag === RESULT_TAGS.ok ? { kind: "ok", value: field } : { kind: "cas-mismatch", current: field };
    }
    case RESULT_TAGS["not-found"]:
      check(raw.length === 1, where, "malformed not-found result");
      return { kind: "not-found" };
    case RESULT_TAGS["value-too-large"]:
      check(
        raw.length === 2 && isCount(field) && field > VALUE_BYTES_MAX && field <= 2 * VALUE_BYTES_MAX,
        where,
        "malformed value-too-large result",
      );
      return { kind: "value-too-large", bytes: field };
    default:
      throw corrupt(where, `unknown result tag ${typeof tag === "number" ? tag : typeof tag}`);
  }
}
