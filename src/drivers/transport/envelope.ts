import { decode, encode } from "../../codec/msgpack.ts";
import { decodeMessage, encodeMessage } from "../../codec/wire-message.ts";
import {
  asIndex,
  asNodeId,
  asTerm,
  decodeMembership,
  type LogIndex,
  type Message,
  type NodeId,
  type Term,
} from "../../core/index.ts";
import { unreachable } from "../../util/assert.ts";
import { encodeFrame } from "./frame-decoder.ts";

/**
 * The envelope inside every frame: one byte of frame kind, then a body. Bodies are MessagePack arrays with
 * fields by position, except a `message` body, which is the wire encoding of src/codec/wire-message.ts.
 *
 *   kind 1 hello             dialler -> acceptor   [protocolVersion, clusterId, from, to]
 *   kind 2 welcome           acceptor -> dialler   [protocolVersion, clusterId, from]
 *   kind 3 refusal           acceptor -> dialler   [reason]                      (then the acceptor closes)
 *   kind 4 message           dialler -> acceptor   a Raft message (wire-message.ts)
 *   kind 5 snapshot-chunk    dialler -> acceptor   [term, lastIncludedIndex, lastIncludedTerm, totalBytes, crc32, offset, data]
 *                                                 or the same with the snapshot's membership as an eighth field
 *   kind 6 snapshot-ack      acceptor -> dialler   [term, lastIncludedIndex, lastIncludedTerm, totalBytes, crc32, nextOffset]
 *   kind 7 snapshot-refusal  acceptor -> dialler   [term, lastIncludedIndex, lastIncludedTerm, totalBytes, crc32, reason]
 *
 * The first five fields of the snapshot frames are the transfer id (see {@link SnapshotTransferId}).
 */

/** The protocol version this code speaks; sent in every hello and welcome. */
export const PROTOCOL_VERSION = 1;

/** The versions an acceptor agrees to speak. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

/** The longest cluster id a hello may carry, in characters. */
export const CLUSTER_ID_CHARS_MAX = 256;

/** The longest reason a refusal may carry, in characters. */
export const REASON_CHARS_MAX = 1024;

/** The frame kind byte of each frame. */
export const FRAME_KIND = {
  hello: 1,
  welcome: 2,
  refusal: 3,
  message: 4,
  "snapshot-chunk": 5,
  "snapshot-ack": 6,
  "snapshot-refusal": 7,
} as const;

/** Every frame kind byte this code knows. */
const KNOWN_FRAME_KINDS: ReadonlySet<number> = new Set(Object.values(FRAME_KIND));

/** The first frame on every connection, from the node that dialled. */
export interface Hello {
  readonly version: number;
  readonly clusterId: string;
  /** The dialler's node id. */
  readonly from: NodeId;
  /** The node id the dialler believes it is talking to. */
  readonly to: NodeId;
}

/** The acceptor's answer to an acceptable hello: it names itself too, so the dialler can check whom it reached. */
export interface Welcome {
  readonly version: number;
  readonly clusterId: string;
  /** The acceptor's node id. */
  readonly from: NodeId;
}

/**
 * Names one snapshot transfer: the snapshot's identity (the leader's term and the snapshot's last included
 * index and term), its size in bytes and its CRC-32, so two different snapshots never share a transfer (and
 * the receiver can check the bytes it reassembled).
 */
export interface SnapshotTransferId {
  readonly term: Term;
  readonly lastIncludedIndex: LogIndex;
  readonly lastIncludedTerm: Term;
  readonly totalBytes: number;
  /** CRC-32 of the whole snapshot, as an unsigned 32-bit integer. */
  readonly checksum: number;
}

/** Bytes [offset, offset + data.length) of a snapshot. */
export interface SnapshotChunk {
  readonly id: SnapshotTransferId;
  readonly offset: number;
  readonly data: Uint8Array;
  /**
   * The snapshot's configuration (`SnapshotMeta.membership`, thesis §4), when it records one. Every chunk
   * carries it, so whichever chunk completes the snapshot has it; it is a few dozen bytes.
   */
  readonly membership?: Uint8Array;
}

/** The receiver has every byte before `nextOffset` (all of them when it equals totalBytes) and wants more. */
export interface SnapshotAck {
  readonly id: SnapshotTransferId;
  readonly nextOffset: number;
}

/** The receiver will not take this snapshot (too large, or it failed its checksum). */
export interface SnapshotRefusal {
  readonly id: SnapshotTransferId;
  readonly reason: string;
}

/** A decoded envelope. */
export type Frame =
  | { readonly kind: "hello"; readonly hello: Hello }
  | { readonly kind: "welcome"; readonly welcome: Welcome }
  | { readonly kind: "refusal"; readonly reason: string }
  | { readonly kind: "message"; readonly message: Message }
  | { readonly kind: "snapshot-chunk"; readonly chunk: SnapshotChunk }
  | { readonly kind: "snapshot-ack"; readonly ack: SnapshotAck }
  | { readonly kind: "snapshot-refusal"; readonly refusal: SnapshotRefusal };

/** What {@link parseFrame} returns. */
export type ParseFrameResult =
  | { readonly ok: true; readonly frame: Frame }
  | { readonly ok: false; readonly error: string };

/** Whether two transfer ids name the same transfer. */
export function sameTransfer(a: SnapshotTransferId, b: SnapshotTransferId): boolean {
  return (
    a.term === b.term &&
    a.lastIncludedIndex === b.lastIncludedIndex &&
    a.lastIncludedTerm === b.lastIncludedTerm &&
    a.totalBytes === b.totalBytes &&
    a.checksum === b.checksum
  );
}

/** Encodes a frame, length prefix included, ready to write to a socket. */
export function encodeEnvelope(frame: Frame): Uint8Array {
  const kind = FRAME_KIND[frame.kind];
  switch (frame.kind) {
    case "hello": {
      const { version, clusterId, from, to } = frame.hello;
      return encodeFrame(kind, encode([version, clusterId, from, to]));
    }
    case "welcome": {
      const { version, clusterId, from } = frame.welcome;
      return encodeFrame(kind, encode([version, clusterId, from]));
    }
    case "refusal":
      return encodeFrame(kind, encode([frame.reason.slice(0, REASON_CHARS_MAX)]));
    case "message":
      return encodeFrame(kind, encodeMessage(frame.message));
    case "snapshot-chunk":
      return encodeFrame(
        kind,
        encode([
          ...transferIdFields(frame.chunk.id),
          frame.chunk.offset,
          frame.chunk.data,
          ...(frame.chunk.membership === undefined ? [] : [frame.chunk.membership]),
        ]),
      );
    case "snapshot-ack":
      return encodeFrame(kind, encode([...transferIdFields(frame.ack.id), frame.ack.nextOffset]));
    case "snapshot-refusal":
      return encodeFrame(
        kind,
        encode([...transferIdFields(frame.refusal.id), frame.refusal.reason.slice(0, REASON_CHARS_MAX)]),
      );
    default:
      return unreachable(frame);
  }
}

function transferIdFields(id: SnapshotTransferId): number[] {
  return [id.term, id.lastIncludedIndex, id.lastIncludedTerm, id.totalBytes, id.checksum];
}

/** Decodes and validates one frame's payload (kind byte and body). Never throws. */
export function parseFrame(payload: Uint8Array): ParseFrameResult {
  const kind = payload[0];
  const body = payload.subarray(1);
  if (kind === FRAME_KIND.message) {
    const result = decodeMessage(body);
    return result.ok
      ? { ok: true, frame: { kind: "message", message: result.message } }
      : { ok: false, error: `malformed message: ${result.error}` };
  }
  if (!KNOWN_FRAME_KINDS.has(kind ?? -1)) return { ok: false, error: `unknown frame kind ${String(kind)}` };
  let fields: unknown;
  try {
    fields = decode(body);
  } catch (error) {
    return {
      ok: false,
      error: `malformed frame body: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  try {
    return { ok: true, frame: parseBody(kind, fields) };
  } catch (error) {
    if (error instanceof MalformedFrame) return { ok: false, error: error.message };
    throw error;
  }
}

/** Thrown inside the body parsers only; {@link parseFrame} turns it into `{ok: false}`. */
class MalformedFrame extends Error {}

function parseBody(kind: number | undefined, value: unknown): Frame {
  switch (kind) {
    case FRAME_KIND.hello: {
      const fields = fieldsOf(value, 4, "hello");
      return {
        kind: "hello",
        hello: {
          version: natural(fields[0], "hello.version"),
          clusterId: text(fields[1], CLUSTER_ID_CHARS_MAX, "hello.clusterId"),
          from: asNodeId(natural(fields[2], "hello.from")),
          to: asNodeId(natural(fields[3], "hello.to")),
        },
      };
    }
    case FRAME_KIND.welcome: {
      const fields = fieldsOf(value, 3, "welcome");
      return {
        kind: "welcome",
        welcome: {
          version: natural(fields[0], "welcome.version"),
          clusterId: text(fields[1], CLUSTER_ID_CHARS_MAX, "welcome.clusterId"),
          from: asNodeId(natural(fields[2], "welcome.from")),
        },
      };
    }
    case FRAME_KIND.refusal:
      return {
        kind: "refusal",
        reason: text(fieldsOf(value, 1, "refusal")[0], REASON_CHARS_MAX, "refusal.reason"),
      };
    case FRAME_KIND["snapshot-chunk"]:
      return {
        kind: "snapshot-chunk",
        chunk: parseChunk(
          fieldsOf(value, Array.isArray(value) && value.length === 8 ? 8 : 7, "snapshot-chunk"),
        ),
      };
    case FRAME_KIND["snapshot-ack"]: {
      const fields = fieldsOf(value, 6, "snapshot-ack");
      const id = parseTransferId(fields, "snapshot-ack");
      const nextOffset = natural(fields[5], "snapshot-ack.nextOffset");
      if (nextOffset > id.totalBytes) {
        throw new MalformedFrame(
          `snapshot-ack.nextOffset ${nextOffset} is beyond the snapshot's ${id.totalBytes} bytes`,
        );
      }
      return { kind: "snapshot-ack", ack: { id, nextOffset } };
    }
    case FRAME_KIND["snapshot-refusal"]: {
      const fields = fieldsOf(value, 6, "snapshot-refusal");
      return {
        kind: "snapshot-refusal",
        refusal: {
          id: parseTransferId(fields, "snapshot-refusal"),
          reason: text(fields[5], REASON_CHARS_MAX, "snapshot-refusal.reason"),
        },
      };
    }
    default:
      throw new MalformedFrame(`unknown frame kind ${String(kind)}`);
  }
}

function parseChunk(fields: readonly unknown[]): SnapshotChunk {
  const id = parseTransferId(fields, "snapshot-chunk");
  const offset = natural(fields[5], "snapshot-chunk.offset");
  const data = fields[6];
  if (!(data instanceof Uint8Array) || data.length === 0) {
    throw new MalformedFrame("snapshot-chunk.data is not a non-empty byte array");
  }
  if (offset + data.length > id.totalBytes) {
    throw new MalformedFrame(
      `snapshot-chunk bytes ${offset}..${offset + data.length} run past the snapshot's ${id.totalBytes} bytes`,
    );
  }
  if (fields.length === 7) return { id, offset, data };
  const membership = fields[7];
  if (!(membership instanceof Uint8Array)) {
    throw new MalformedFrame("snapshot-chunk.membership is not a byte array");
  }
  try {
    decodeMembership(membership);
  } catch (error) {
    throw new MalformedFrame(`snapshot-chunk.membership: ${(error as Error).message}`);
  }
  return { id, offset, data, membership };
}

function parseTransferId(fields: readonly unknown[], frame: string): SnapshotTransferId {
  const checksum = natural(fields[4], `${frame}.checksum`);
  if (checksum > 0xffff_ffff) throw new MalformedFrame(`${frame}.checksum ${checksum} is not a CRC-32`);
  return {
    term: asTerm(natural(fields[0], `${frame}.term`)),
    lastIncludedIndex: asIndex(natural(fields[1], `${frame}.lastIncludedIndex`)),
    lastIncludedTerm: asTerm(natural(fields[2], `${frame}.lastIncludedTerm`)),
    totalBytes: natural(fields[3], `${frame}.totalBytes`),
    checksum,
  };
}

function fieldsOf(value: unknown, count: number, frame: string): readonly unknown[] {
  if (!Array.isArray(value) || value.length !== count) {
    throw new MalformedFrame(`${frame} body is not an array of ${count} fields`);
  }
  return value;
}

function natural(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new MalformedFrame(`${name} is not a non-negative safe integer`);
  }
  return value + 0;
}

function text(value: unknown, charsMax: number, name: string): string {
  if (typeof value !== "string" || value.length > charsMax) {
    throw new MalformedFrame(`${name} is not a string of at most ${charsMax} characters`);
  }
  return value;
}
