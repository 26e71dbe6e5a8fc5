import { decode, encode } from "../codec/msgpack.ts";
import { asIndex } from "../core/types.ts";
import { unreachable } from "../util/assert.ts";
import {
  type KvCommand,
  type KvEntry,
  type SessionCommand,
  type SessionStamp,
  validateEntry,
} from "./command.ts";
import { ENTRY_BYTES_MAX } from "./limits.ts";

/**
 * The log-entry encoding of key-value commands: a MessagePack array with a numeric tag, then the leader's
 * timestamp, then (for session commands) clientId, sequence and ackedBelow, then the operation's arguments.
 *
 * ```
 * register-client  [1, timestampMs]
 * put              [2, timestampMs, clientId, sequence, ackedBelow, key, value]
 * get              [3, timestampMs, clientId, sequence, ackedBelow, key]
 * delete           [4, timestampMs, clientId, sequence, ackedBelow, key]
 * append           [5, timestampMs, clientId, sequence, ackedBelow, key, value]
 * cas              [6, timestampMs, clientId, sequence, ackedBelow, key, expected | nil, value]
 * set-member       [7, timestampMs, node, peerAddress, apiAddress | nil]
 * ```
 *
 * The decoder is strict: any other shape is refused with a reason, never thrown, because every replica must
 * reach the same verdict on the same bytes (Raft thesis §6: a deterministic state machine).
 */

/** The numeric tag of each command kind on the wire. Tags are never reused: old log entries must keep meaning. */
export const COMMAND_TAGS = {
  "register-client": 1,
  put: 2,
  get: 3,
  delete: 4,
  append: 5,
  cas: 6,
  "set-member": 7,
} as const satisfies Record<KvCommand["kind"], number>;

/** Index of the first argument after the header `[tag, timestampMs, clientId, sequence, ackedBelow]`. */
const SESSION_HEADER_LENGTH = 5;

/** Longest decoder error message kept in a refusal, so a reason stays small whatever the input. */
const ERROR_MESSAGE_CHARS_MAX = 200;

/** The outcome of {@link decodeEntry}: the entry, or why the bytes are not one. */
export type DecodedEntry =
  | { readonly ok: true; readonly entry: KvEntry }
  | { readonly ok: false; readonly reason: string };

/**
 * Encodes an entry for the log. Throws a RangeError if the entry fails {@link validateEntry}: the proposer
 * must validate requests first and answer the client, so an invalid entry here is a bug in the caller.
 */
export function encodeEntry(entry: KvEntry): Uint8Array {
  const validation = validateEntry(entry);
  if (!validation.valid) throw new RangeError(`encodeEntry: ${validation.reason}`);
  return encode(entryToArray(entry));
}

function entryToArray({ timestampMs, command }: KvEntry): unknown[] {
  const tag = COMMAND_TAGS[command.kind];
  if (command.kind === "register-client") return [tag, timestampMs];
  if (command.kind === "set-member") {
    return [tag, timestampMs, command.node, command.peerAddress, command.apiAddress];
  }
  const header = [tag, timestampMs, command.clientId, command.sequence, command.ackedBelow];
  switch (command.kind) {
    case "get":
    case "delete":
      return [...header, command.key];
    case "put":
    case "append":
      return [...header, command.key, command.value];
    case "cas":
      return [...header, command.key, command.expected, command.value];
    default:
      return unreachable(command);
  }
}

/**
 * Decodes and validates one log entry's data. Never throws: malformed MessagePack, a wrong shape, wrong types,
 * an unknown tag, or limits exceeded all give `{ ok: false, reason }`, the same on every replica.
 */
export function decodeEntry(bytes: Uint8Array): DecodedEntry {
  if (bytes.length > ENTRY_BYTES_MAX) {
    return refuse(`entry is ${bytes.length} bytes, over ENTRY_BYTES_MAX ${ENTRY_BYTES_MAX}`);
  }
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return refuse(`not MessagePack: ${message.slice(0, ERROR_MESSAGE_CHARS_MAX)}`);
  }
  const entry = arrayToEntry(value);
  if (!entry.ok) return entry;
  const validation = validateEntry(entry.entry);
  return validation.valid ? entry : refuse(validation.reason);
}

function refuse(reason: string): DecodedEntry {
  return { ok: false, reason };
}

function arrayToEntry(value: unknown): DecodedEntry {
  if (!Array.isArray(value)) return refuse("entry is not an array");
  const [tag, timestampMs] = value as unknown[];
  if (typeof timestampMs !== "number") return refuse("timestamp is not a number");
  if (tag === COMMAND_TAGS["register-client"]) {
    return value.length === 2
      ? { ok: true, entry: { timestampMs, command: { kind: "register-client" } } }
      : refuse(`register-client has ${value.length} fields, expected 2`);
  }
  if (tag === COMMAND_TAGS["set-member"]) {
    const [, , node, peerAddress, apiAddress] = value as unknown[];
    if (value.length !== 5) return refuse(`set-member has ${value.length} fields, expected 5`);
    if (typeof node !== "number" || typeof peerAddress !== "string") {
      return refuse("set-member node must be a number and its peer address a string");
    }
    if (apiAddress !== null && typeof apiAddress !== "string") {
      return refuse("set-member API address must be a string or nil");
    }
    return {
      ok: true,
      entry: { timestampMs, command: { kind: "set-member", node, peerAddress, apiAddress } },
    };
  }
  const command = arrayToSessionCommand(tag, value as unknown[]);
  return typeof command === "string" ? refuse(command) : { ok: true, entry: { timestampMs, command } };
}

/** Decodes a session command's fields; returns the reason as a string when they do not fit. */
function arrayToSessionCommand(tag: unknown, fields: readonly unknown[]): SessionCommand | string {
  const stamp = fieldsToStamp(fields);
  if (typeof stamp === "string") return stamp;
  const strings = fields.slice(SESSION_HEADER_LENGTH);
  switch (tag) {
    case COMMAND_TAGS.put:
    case COMMAND_TAGS.append: {
      const kind = tag === COMMAND_TAGS.put ? "put" : "append";
      const [key, value] = strings;
      if (strings.length !== 2) return `${kind} has ${fields.length} fields, expected 7`;
      if (typeof key !== "string" || typeof value !== "string")
        return `${kind} key and value must be strings`;
      return { kind, ...stamp, key, value };
    }
    case COMMAND_TAGS.get:
    case COMMAND_TAGS.delete: {
      const kind = tag === COMMAND_TAGS.get ? "get" : "delete";
      const [key] = strings;
      if (strings.length !== 1) return `${kind} has ${fields.length} fields, expected 6`;
      if (typeof key !== "string") return `${kind} key must be a string`;
      return { kind, ...stamp, key };
    }
    case COMMAND_TAGS.cas: {
      const [key, expected, value] = strings;
      if (strings.length !== 3) return `cas has ${fields.length} fields, expected 8`;
      if (typeof key !== "string" || typeof value !== "string") return "cas key and value must be strings";
      if (expected !== null && typeof expected !== "string") return "cas expected must be a string or nil";
      return { kind: "cas", ...stamp, key, expected, value };
    }
    default:
      return `unknown command tag ${describe(tag)}`;
  }
}

function fieldsToStamp(fields: readonly unknown[]): SessionStamp | string {
  if (fields.length < SESSION_HEADER_LENGTH) return `session command has only ${fields.length} fields`;
  const [, , clientId, sequence, ackedBelow] = fields;
  if (typeof clientId !== "number" || typeof sequence !== "number" || typeof ackedBelow !== "number") {
    return "clientId, sequence and ackedBelow must be numbers";
  }
  return { clientId: asIndex(clientId), sequence, ackedBelow };
}

/** A short printable form of an untrusted value, for error messages that must stay small. */
function describe(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value);
  }
  return typeof value;
}
