import {
  type AppendEntries,
  asIndex,
  asNodeId,
  asTerm,
  decodeMembership,
  type Entry,
  type LogIndex,
  type Message,
  type NodeId,
  type Term,
} from "../core/index.ts";
import { assert, unreachable } from "../util/assert.ts";
import { decode, encode } from "./msgpack.ts";

/**
 * The bytes of one Raft {@link Message} on the wire between real nodes: one MessagePack array whose first
 * element is a numeric type tag, every field in a fixed position, no key names. Layout (version 1 of the
 * transport protocol; the version is negotiated by the transport's handshake, not repeated per message):
 *
 *   RequestVote           [1, from, to, term, lastLogIndex, lastLogTerm]
 *   RequestVoteReply      [2, from, to, term, voteGranted]
 *   AppendEntries         [3, from, to, term, prevLogIndex, prevLogTerm, leaderCommit, readRound, term1, data1, term2, data2, ...]
 *   AppendEntriesReply    [4, from, to, term, success, prevLogIndex, matchIndex, conflictTerm, conflictIndex, lastLogIndex, readRound]
 *   InstallSnapshot       [5, from, to, term, lastIncludedIndex, lastIncludedTerm, data]
 *                         or [5, from, to, term, lastIncludedIndex, lastIncludedTerm, data, membership]
 *   InstallSnapshotReply  [6, from, to, term, matchIndex]
 *   ReadIndex             [7, from, to, term, requestId]
 *   ReadIndexReply        [8, from, to, term, requestId, index]
 *   RequestVote, pre-vote [9, from, to, term, lastLogIndex, lastLogTerm]
 *   RequestVoteReply, pre [10, from, to, term, voteGranted]
 *   TimeoutNow            [11, from, to, term]
 *   RequestVote, transfer [12, from, to, term, lastLogIndex, lastLogTerm]
 *
 * A pre-vote (thesis §9.6: a RequestVote or RequestVoteReply with `preVote` set) travels under a tag of its
 * own, as etcd's MsgPreVote does, rather than with an extra flag field: real votes keep their bytes, and a
 * node built before pre-vote refuses one as an unknown tag instead of taking it for a real vote of that term.
 * A leadership transfer's vote request (thesis §3.10: a RequestVote with `transfer` set) has a tag of its own
 * for the same reasons; its answer is an ordinary RequestVoteReply. No message is both a pre-vote and a
 * transfer's.
 * AppendEntries carries its entries flattened as (term, data) pairs; entry k (0-based) has index
 * prevLogIndex + 1 + k, so the indexes cannot be out of sequence on the wire. A membership entry (thesis §4)
 * is the pair (term, [data]): its data wrapped in a one-element array, checked on decoding to be a valid
 * configuration. An InstallSnapshot whose snapshot records a configuration carries it as an eighth field. Ids, terms and indexes are
 * MessagePack integers, flags are booleans, data are MessagePack `bin` byte strings.
 */

/** The numeric type tag of each message type: the first element of the encoded array. */
export const WIRE_MESSAGE_TAG = {
  RequestVote: 1,
  RequestVoteReply: 2,
  AppendEntries: 3,
  AppendEntriesReply: 4,
  InstallSnapshot: 5,
  InstallSnapshotReply: 6,
  ReadIndex: 7,
  ReadIndexReply: 8,
  TimeoutNow: 11,
} as const satisfies Record<Message["type"], number>;

/** The type tag of pre-vote messages, for the two types that have them (see the layout above). */
export const WIRE_PRE_VOTE_TAG = {
  RequestVote: 9,
  RequestVoteReply: 10,
} as const satisfies Partial<Record<Message["type"], number>>;

/** The type tag of a leadership transfer's vote request (see the layout above). */
export const WIRE_TRANSFER_VOTE_TAG = {
  RequestVote: 12,
} as const satisfies Partial<Record<Message["type"], number>>;

/** Fields before the first entry of an encoded AppendEntries (tag included). */
const APPEND_ENTRIES_HEADER_FIELDS = 8;

/**
 * The most entries one AppendEntries may carry on the wire (far above the core's `entriesPerMessageMax`
 * default of 256). With it, a message has a bounded number of fields, and so does the work of decoding one.
 */
export const WIRE_ENTRIES_PER_MESSAGE_MAX = 65_536;

/** The most fields any encoded message has. */
const WIRE_FIELDS_MAX = APPEND_ENTRIES_HEADER_FIELDS + 2 * WIRE_ENTRIES_PER_MESSAGE_MAX;

/** What {@link decodeMessage} returns: a message safe to step into the core, or why the bytes are not one. */
export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly error: string };

/**
 * Encodes a message in the layout above. The message must come from the core: an AppendEntries whose entries
 * do not follow prevLogIndex one by one is a bug in the caller (the layout could not represent it) and fails
 * an assertion.
 */
export function encodeMessage(message: Message): Uint8Array {
  const head = [wireTag(message), message.from, message.to, message.term];
  switch (message.type) {
    case "RequestVote":
      return encode([...head, message.lastLogIndex, message.lastLogTerm]);
    case "RequestVoteReply":
      return encode([...head, message.voteGranted]);
    case "AppendEntries":
      return encode(appendEntriesFields(head, message));
    case "AppendEntriesReply":
      return encode([
        ...head,
        message.success,
        message.prevLogIndex,
        message.matchIndex,
        message.conflictTerm,
        message.conflictIndex,
        message.lastLogIndex,
        message.readRound,
      ]);
    case "InstallSnapshot": {
      const fields = [...head, message.lastIncludedIndex, message.lastIncludedTerm, message.data];
      return encode(message.membership === undefined ? fields : [...fields, message.membership]);
    }
    case "InstallSnapshotReply":
      return encode([...head, message.matchIndex]);
    case "ReadIndex":
      return encode([...head, message.requestId]);
    case "ReadIndexReply":
      return encode([...head, message.requestId, message.index]);
    case "TimeoutNow":
      return encode(head);
    default:
      return unreachable(message);
  }
}

function wireTag(message: Message): number {
  if (message.type === "RequestVote") {
    assert(
      message.preVote !== true || message.transfer !== true,
      "encodeMessage: a RequestVote cannot be both a pre-vote and a transfer's vote",
    );
    if (message.transfer === true) return WIRE_TRANSFER_VOTE_TAG[message.type];
  }
  if (message.type === "RequestVote" || message.type === "RequestVoteReply") {
    if (message.preVote === true) return WIRE_PRE_VOTE_TAG[message.type];
  }
  return WIRE_MESSAGE_TAG[message.type];
}

function appendEntriesFields(head: number[], message: AppendEntries): unknown[] {
  assert(
    message.entries.length <= WIRE_ENTRIES_PER_MESSAGE_MAX,
    () =>
      `encodeMessage: ${message.entries.length} entries exceed the wire's ${WIRE_ENTRIES_PER_MESSAGE_MAX}`,
  );
  const fields: unknown[] = [
    ...head,
    message.prevLogIndex,
    message.prevLogTerm,
    message.leaderCommit,
    message.readRound,
  ];
  message.entries.forEach((entry, position) => {
    assert(
      entry.index === message.prevLogIndex + 1 + position,
      () =>
        `encodeMessage: AppendEntries entry ${position} has index ${entry.index}, expected ${message.prevLogIndex + 1 + position}`,
    );
    fields.push(entry.term, entry.kind === "membership" ? [entry.data] : entry.data);
  });
  return fields;
}

/**
 * Decodes and validates bytes from a peer. Never throws: anything but a well-formed message in the layout
 * above (not a flat array of integers, booleans and byte strings; unknown tag; wrong field count; a negative,
 * fractional or unsafe number; a non-boolean flag; non-byte data; trailing bytes) yields `{ok: false}` with
 * the reason. A message that decodes also satisfies
 * {@link messageViolation}. Its byte arrays are fresh copies, so a small entry kept in the log never pins the
 * (possibly large) buffer it arrived in.
 */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  // Check the shape at the byte level first: a flat array of scalars, of bounded length. Only then let the
  // MessagePack library build values, so a hostile frame cannot make it build millions of nested objects.
  const shapeError = flatArrayError(bytes);
  if (shapeError !== undefined) return { ok: false, error: shapeError };
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (error) {
    return { ok: false, error: `not MessagePack: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const message = parseFields(value);
    const violation = messageViolation(message);
    return violation === undefined ? { ok: true, message } : { ok: false, error: violation };
  } catch (error) {
    if (error instanceof MalformedMessage) return { ok: false, error: error.message };
    throw error;
  }
}

/** Thrown inside the parser only; {@link decodeMessage} turns it into `{ok: false}`. */
class MalformedMessage extends Error {}

/** Reads the fields of a decoded array by position, checking each one's type. */
class FieldReader {
  readonly #fields: readonly unknown[];
  readonly #type: string;

  constructor(fields: readonly unknown[], type: string) {
    this.#fields = fields;
    this.#type = type;
  }

  /** A non-negative safe integer (-0 reads as 0). */
  natural(position: number, name: string): number {
    const value = this.#fields[position];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new MalformedMessage(
        `${this.#type}.${name} is not a non-negative safe integer: ${describe(value)}`,
      );
    }
    return value + 0;
  }

  boolean(position: number, name: string): boolean {
    const value = this.#fields[position];
    if (typeof value !== "boolean") {
      throw new MalformedMessage(`${this.#type}.${name} is not a boolean: ${describe(value)}`);
    }
    return value;
  }

  /** The bytes of a valid configuration (see membership.ts), copied. */
  membership(position: number, name: string): Uint8Array {
    const bytes = this.bytes(position, name);
    try {
      decodeMembership(bytes);
    } catch (error) {
      throw new MalformedMessage(`${this.#type}.${name}: ${(error as Error).message}`);
    }
    return bytes;
  }

  /** The data of the entry at `position`: bytes, or for a membership entry bytes wrapped in an array. */
  entryData(position: number, name: string): { data: Uint8Array; kind?: "membership" } {
    const value = this.#fields[position];
    if (Array.isArray(value) && value.length === 1) {
      return { data: new FieldReader(value, this.#type).membership(0, name), kind: "membership" };
    }
    return { data: this.bytes(position, name) };
  }

  /** A byte array, copied (see {@link decodeMessage}). */
  bytes(position: number, name: string): Uint8Array {
    const value = this.#fields[position];
    if (!(value instanceof Uint8Array)) {
      throw new MalformedMessage(`${this.#type}.${name} is not a byte array: ${describe(value)}`);
    }
    return new Uint8Array(value);
  }

  nodeId(position: number, name: string): NodeId {
    return asNodeId(this.natural(position, name));
  }

  term(position: number, name: string): Term {
    return asTerm(this.natural(position, name));
  }

  index(position: number, name: string): LogIndex {
    return asIndex(this.natural(position, name));
  }
}

/** The number of fields (tag included) of every fixed-size message type. */
const FIXED_FIELD_COUNT = {
  RequestVote: 6,
  RequestVoteReply: 5,
  AppendEntriesReply: 11,
  InstallSnapshot: 7, // 8 with a membership, see checkFieldCount
  InstallSnapshotReply: 5,
  ReadIndex: 5,
  ReadIndexReply: 6,
  TimeoutNow: 4,
} as const satisfies Record<Exclude<Message["type"], "AppendEntries">, number>;

/** Builds a message from a decoded value, checking the layout and every field's type. */
function parseFields(value: unknown): Message {
  if (!Array.isArray(value)) throw new MalformedMessage(`not an array: ${describe(value)}`);
  const fields: readonly unknown[] = value;
  const { type, variant } = messageKind(fields[0]);
  checkFieldCount(type, fields.length);
  const read = new FieldReader(fields, type);
  const envelope = { from: read.nodeId(1, "from"), to: read.nodeId(2, "to"), term: read.term(3, "term") };
  const preVoteFlag = variant === "pre-vote" ? ({ preVote: true } as const) : {};
  const transferFlag = variant === "transfer" ? ({ transfer: true } as const) : {};
  switch (type) {
    case "RequestVote":
      return {
        type,
        ...envelope,
        lastLogIndex: read.index(4, "lastLogIndex"),
        lastLogTerm: read.term(5, "lastLogTerm"),
        ...preVoteFlag,
        ...transferFlag,
      };
    case "RequestVoteReply":
      return { type, ...envelope, voteGranted: read.boolean(4, "voteGranted"), ...preVoteFlag };
    case "AppendEntries":
      return parseAppendEntries(read, envelope, fields.length);
    case "AppendEntriesReply":
      return {
        type,
        ...envelope,
        success: read.boolean(4, "success"),
        prevLogIndex: read.index(5, "prevLogIndex"),
        matchIndex: read.index(6, "matchIndex"),
        conflictTerm: read.term(7, "conflictTerm"),
        conflictIndex: read.index(8, "conflictIndex"),
        lastLogIndex: read.index(9, "lastLogIndex"),
        readRound: read.natural(10, "readRound"),
      };
    case "InstallSnapshot":
      return {
        type,
        ...envelope,
        lastIncludedIndex: read.index(4, "lastIncludedIndex"),
        lastIncludedTerm: read.term(5, "lastIncludedTerm"),
        data: read.bytes(6, "data"),
        ...(fields.length === 8 ? { membership: read.membership(7, "membership") } : {}),
      };
    case "InstallSnapshotReply":
      return { type, ...envelope, matchIndex: read.index(4, "matchIndex") };
    case "ReadIndex":
      return { type, ...envelope, requestId: read.natural(4, "requestId") };
    case "ReadIndexReply":
      return { type, ...envelope, requestId: read.natural(4, "requestId"), index: read.index(5, "index") };
    case "TimeoutNow":
      return { type, ...envelope };
    default:
      return unreachable(type);
  }
}

/** Which variant of its type a tag stands for: plain, a pre-vote's, or a leadership transfer's. */
type TagVariant = "plain" | "pre-vote" | "transfer";

/** The tables of tags, one per variant (see the layout above). */
const TAGS_BY_VARIANT: ReadonlyArray<readonly [TagVariant, Partial<Record<Message["type"], number>>]> = [
  ["plain", WIRE_MESSAGE_TAG],
  ["pre-vote", WIRE_PRE_VOTE_TAG],
  ["transfer", WIRE_TRANSFER_VOTE_TAG],
];

/** The message type a tag stands for, and which variant of it. */
function messageKind(tag: unknown): { type: Message["type"]; variant: TagVariant } {
  for (const [variant, tags] of TAGS_BY_VARIANT) {
    for (const [type, known] of Object.entries(tags)) {
      if (tag === known) return { type: type as Message["type"], variant };
    }
  }
  throw new MalformedMessage(`unknown message type tag ${describe(tag)}`);
}

function checkFieldCount(type: Message["type"], count: number): void {
  if (type === "AppendEntries") {
    if (count < APPEND_ENTRIES_HEADER_FIELDS || (count - APPEND_ENTRIES_HEADER_FIELDS) % 2 !== 0) {
      throw new MalformedMessage(
        `AppendEntries has ${count} fields: expected ${APPEND_ENTRIES_HEADER_FIELDS} plus a (term, data) pair per entry`,
      );
    }
  } else if (type === "InstallSnapshot" && count === FIXED_FIELD_COUNT[type] + 1) {
    // The snapshot's membership follows the data.
  } else if (count !== FIXED_FIELD_COUNT[type]) {
    throw new MalformedMessage(`${type} has ${count} fields, expected ${FIXED_FIELD_COUNT[type]}`);
  }
}

function parseAppendEntries(
  read: FieldReader,
  envelope: Pick<AppendEntries, "from" | "to" | "term">,
  fieldCount: number,
): AppendEntries {
  const prevLogIndex = read.index(4, "prevLogIndex");
  const entries: Entry[] = [];
  for (let position = APPEND_ENTRIES_HEADER_FIELDS; position < fieldCount; position += 2) {
    const k = entries.length;
    entries.push({
      index: asIndex(prevLogIndex + 1 + k),
      term: read.term(position, `entries[${k}].term`),
      ...read.entryData(position + 1, `entries[${k}].data`),
    });
  }
  return {
    type: "AppendEntries",
    ...envelope,
    prevLogIndex,
    prevLogTerm: read.term(5, "prevLogTerm"),
    leaderCommit: read.index(6, "leaderCommit"),
    readRound: read.natural(7, "readRound"),
    entries,
  };
}

/**
 * Why a well-typed message could not have come from a correct node, or undefined if it could. Checked on
 * every decoded message (and by the transport on a reassembled snapshot) so that nothing shaped wrong reaches
 * the core:
 *
 * - `from` differs from `to` (nodes do not message themselves);
 * - every index and term is a non-negative safe integer, and so is the last entry's index;
 * - AppendEntries entries are numbered prevLogIndex + 1, + 2, ... (§5.3), their terms never decrease, start no
 *   lower than prevLogTerm and end no higher than the leader's term (a leader's log only holds terms up to
 *   its own, in order: Log Matching, §5.3);
 * - a term describing the sender's log (lastLogTerm, prevLogTerm, lastIncludedTerm) is at most the sender's
 *   current term; a pre-vote's term is the one proposed, above the sender's, hence above its lastLogTerm;
 * - no RequestVote is both a pre-vote and a leadership transfer's (a transfer skips the pre-vote).
 */
export function messageViolation(message: Message): string | undefined {
  const naturals: Array<[string, number]> = [
    ["from", message.from],
    ["to", message.to],
    ["term", message.term],
  ];
  const termsAtMostCurrent: Array<[string, Term]> = [];
  switch (message.type) {
    case "RequestVote":
      naturals.push(["lastLogIndex", message.lastLogIndex], ["lastLogTerm", message.lastLogTerm]);
      termsAtMostCurrent.push(["lastLogTerm", message.lastLogTerm]);
      break;
    case "RequestVoteReply":
      if (typeof message.voteGranted !== "boolean") return "RequestVoteReply.voteGranted is not a boolean";
      break;
    case "AppendEntries":
      naturals.push(
        ["prevLogIndex", message.prevLogIndex],
        ["prevLogTerm", message.prevLogTerm],
        ["leaderCommit", message.leaderCommit],
        ["readRound", message.readRound],
        ["last entry index", message.prevLogIndex + message.entries.length],
      );
      termsAtMostCurrent.push(["prevLogTerm", message.prevLogTerm]);
      break;
    case "AppendEntriesReply":
      if (typeof message.success !== "boolean") return "AppendEntriesReply.success is not a boolean";
      naturals.push(
        ["prevLogIndex", message.prevLogIndex],
        ["matchIndex", message.matchIndex],
        ["conflictTerm", message.conflictTerm],
        ["conflictIndex", message.conflictIndex],
        ["lastLogIndex", message.lastLogIndex],
        ["readRound", message.readRound],
      );
      break;
    case "InstallSnapshot":
      naturals.push(
        ["lastIncludedIndex", message.lastIncludedIndex],
        ["lastIncludedTerm", message.lastIncludedTerm],
      );
      termsAtMostCurrent.push(["lastIncludedTerm", message.lastIncludedTerm]);
      if (!(message.data instanceof Uint8Array)) return "InstallSnapshot.data is not a byte array";
      break;
    case "InstallSnapshotReply":
      naturals.push(["matchIndex", message.matchIndex]);
      break;
    case "ReadIndex":
      naturals.push(["requestId", message.requestId]);
      break;
    case "ReadIndexReply":
      naturals.push(["requestId", message.requestId], ["index", message.index]);
      break;
    case "TimeoutNow":
      break;
    default:
      return unreachable(message);
  }
  for (const [name, value] of naturals) {
    if (!Number.isSafeInteger(value) || value < 0) {
      return `${message.type}.${name} is not a non-negative safe integer: ${describe(value)}`;
    }
  }
  if (message.from === message.to) return `${message.type} is from node ${message.from} to itself`;
  for (const [name, value] of termsAtMostCurrent) {
    if (value > message.term)
      return `${message.type}.${name} ${value} is above the sender's term ${message.term}`;
  }
  if (message.type === "RequestVote" && message.preVote === true && message.transfer === true) {
    return "RequestVote is both a pre-vote and a leadership transfer's vote";
  }
  if (message.type === "RequestVote" && message.preVote === true && message.lastLogTerm >= message.term) {
    return `RequestVote (pre-vote) proposes term ${message.term}, not above its lastLogTerm ${message.lastLogTerm}`;
  }
  return message.type === "AppendEntries" ? entriesViolation(message) : undefined;
}

/** The AppendEntries rules of {@link messageViolation} about the entries themselves. */
function entriesViolation(message: AppendEntries): string | undefined {
  let previousTerm: number = message.prevLogTerm;
  for (const [k, entry] of message.entries.entries()) {
    if (entry.index !== message.prevLogIndex + 1 + k) {
      return `AppendEntries.entries[${k}].index is ${describe(entry.index)}, expected ${message.prevLogIndex + 1 + k}`;
    }
    if (!Number.isSafeInteger(entry.term) || entry.term < previousTerm || entry.term > message.term) {
      return `AppendEntries.entries[${k}].term ${describe(entry.term)} is not between the previous term ${previousTerm} and the leader's term ${message.term}`;
    }
    if (!(entry.data instanceof Uint8Array)) return `AppendEntries.entries[${k}].data is not a byte array`;
    previousTerm = entry.term;
  }
  return undefined;
}

/**
 * Why `bytes` is not one MessagePack array of at most {@link WIRE_FIELDS_MAX} scalars of the kinds a message
 * uses (integers, floats, booleans, byte strings), or undefined if it is. A linear scan that allocates
 * nothing, whatever lengths the headers claim.
 */
function flatArrayError(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = bytes[0];
  if (first === undefined) return "not MessagePack: no bytes";
  let count: number;
  let at: number;
  if (first >= 0x90 && first <= 0x9f) {
    count = first & 0x0f;
    at = 1;
  } else if (first === 0xdc && bytes.length >= 3) {
    count = view.getUint16(1);
    at = 3;
  } else if (first === 0xdd && bytes.length >= 5) {
    count = view.getUint32(1);
    at = 5;
  } else {
    return `not an array: starts with MessagePack byte 0x${first.toString(16)}`;
  }
  if (count > WIRE_FIELDS_MAX)
    return `an array of ${count} fields is longer than any message (${WIRE_FIELDS_MAX})`;
  for (let field = 0; field < count; field++) {
    const size = fieldSize(bytes, view, at);
    if (size === TRUNCATED) return `not MessagePack: truncated in field ${field}`;
    if (typeof size === "string") return `field ${field}: ${size}`;
    at += size;
  }
  if (at > bytes.length) return `not MessagePack: truncated (${bytes.length} of ${at} bytes)`;
  if (at < bytes.length) return `not MessagePack: ${bytes.length - at} trailing bytes`;
  return undefined;
}

/** The first byte of a one-element MessagePack array: how a membership entry's data is wrapped. */
const ONE_ELEMENT_ARRAY = 0x91;

/**
 * The encoded size of the field at `at`: a scalar, or a one-element array holding a byte string (a
 * membership entry's data, see the layout at the top), the only nesting a message has.
 */
function fieldSize(bytes: Uint8Array, view: DataView, at: number): number | string {
  if (bytes[at] !== ONE_ELEMENT_ARRAY) return scalarSize(bytes, view, at);
  const inner = bytes[at + 1];
  if (inner === undefined) return TRUNCATED;
  if (inner < 0xc4 || inner > 0xc6)
    return "MessagePack array (byte 0x91) not holding one byte string, which no message carries";
  const size = scalarSize(bytes, view, at + 1);
  return typeof size === "number" ? 1 + size : size;
}

/** What {@link scalarSize} says when the bytes end inside a header. */
const TRUNCATED = "truncated";

/**
 * The encoded size of the scalar at `at` (it may run past the end; the caller checks), {@link TRUNCATED}, or
 * why it is not a scalar a message carries.
 */
function scalarSize(bytes: Uint8Array, view: DataView, at: number): number | string {
  const byte = bytes[at];
  if (byte === undefined) return TRUNCATED;
  if (byte <= 0x7f || byte >= 0xe0) return 1; // positive and negative fixint
  const fixed = SCALAR_SIZES.get(byte);
  if (fixed !== undefined) return fixed;
  if (byte >= 0xc4 && byte <= 0xc6) {
    // bin 8/16/32: a length of 1, 2 or 4 bytes, then the bytes.
    const lengthBytes = 1 << (byte - 0xc4);
    if (at + 1 + lengthBytes > bytes.length) return TRUNCATED;
    const length =
      lengthBytes === 1
        ? view.getUint8(at + 1)
        : lengthBytes === 2
          ? view.getUint16(at + 1)
          : view.getUint32(at + 1);
    return 1 + lengthBytes + length;
  }
  return `MessagePack ${msgpackKind(byte)} (byte 0x${byte.toString(16)}), which no message carries`;
}

/** Encoded sizes of the fixed-size scalars a message may hold: booleans, floats and sized integers. */
const SCALAR_SIZES: ReadonlyMap<number, number> = new Map([
  [0xc2, 1], // false
  [0xc3, 1], // true
  [0xca, 5], // float 32
  [0xcb, 9], // float 64
  [0xcc, 2], // uint 8
  [0xcd, 3], // uint 16
  [0xce, 5], // uint 32
  [0xcf, 9], // uint 64
  [0xd0, 2], // int 8
  [0xd1, 3], // int 16
  [0xd2, 5], // int 32
  [0xd3, 9], // int 64
]);

/** The MessagePack kind of a header byte that no message uses, for error messages. */
function msgpackKind(byte: number): string {
  if (byte >= 0x80 && byte <= 0x8f) return "map";
  if (byte >= 0x90 && byte <= 0x9f) return "array";
  if (byte >= 0xa0 && byte <= 0xbf) return "string";
  if (byte === 0xc0) return "nil";
  if (byte === 0xc1) return "reserved byte";
  if (byte === 0xd9 || byte === 0xda || byte === 0xdb) return "string";
  if (byte === 0xdc || byte === 0xdd) return "array";
  if (byte === 0xde || byte === 0xdf) return "map";
  return "extension";
}

/** A short description of an unexpected value for error messages (never the whole of a large value). */
function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return String(value);
}
