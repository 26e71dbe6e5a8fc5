import CRC32 from "crc-32";
import type { SnapshotChunk, SnapshotTransferId } from "./envelope.ts";
import { sameTransfer } from "./envelope.ts";

/** What {@link SnapshotAssembler.accept} made of a chunk. */
export type ChunkOutcome =
  /** Acknowledge with `nextOffset`; `started` when this chunk began a new partial transfer. */
  | { readonly kind: "ack"; readonly nextOffset: number; readonly started: boolean }
  /** The last byte arrived and the checksum matches: here is the whole snapshot. */
  | { readonly kind: "complete"; readonly data: Uint8Array }
  /** This transfer will not be taken; tell the sender why. */
  | { readonly kind: "refuse"; readonly reason: string };

/** The bytes received so far of one transfer: `parts` hold bytes [0, received) in order. */
interface Partial {
  readonly id: SnapshotTransferId;
  readonly parts: Uint8Array[];
  received: number;
}

/**
 * The receiving side of chunked snapshot transfer from one peer, without I/O: keeps one partial transfer
 * (kept across connections, so the sender can resume) and reassembles it.
 *
 * Chunks must arrive in order: a chunk at any other offset than the next expected one is not stored, and
 * the ack names the offset expected, which makes the sender go back (or forward) to it. A chunk of a
 * different transfer replaces the partial one (one transfer per peer pair; the sender only moves on). The
 * memory held is the bytes actually received, at most `snapshotBytesMax`; chunk data are copied, so no
 * partial pins the frames it arrived in.
 */
export class SnapshotAssembler {
  readonly #snapshotBytesMax: number;
  #partial: Partial | undefined = undefined;

  constructor(snapshotBytesMax: number) {
    this.#snapshotBytesMax = snapshotBytesMax;
  }

  /** Bytes held for the partial transfer. */
  get heldBytes(): number {
    return this.#partial?.received ?? 0;
  }

  /** The partial transfer's id, if one is held. */
  get partialId(): SnapshotTransferId | undefined {
    return this.#partial?.id;
  }

  /** Takes one chunk (already checked to lie within its snapshot) and says what to answer. */
  accept(chunk: SnapshotChunk): ChunkOutcome {
    const { id } = chunk;
    if (id.totalBytes > this.#snapshotBytesMax) {
      if (this.#partial !== undefined && sameTransfer(this.#partial.id, id)) this.#partial = undefined;
      return {
        kind: "refuse",
        reason: `snapshot of ${id.totalBytes} bytes exceeds this node's limit of ${this.#snapshotBytesMax} bytes`,
      };
    }
    let started = false;
    let partial = this.#partial;
    if (partial === undefined || !sameTransfer(partial.id, id)) {
      partial = { id, parts: [], received: 0 };
      this.#partial = partial;
      started = true;
    }
    if (chunk.offset !== partial.received) return { kind: "ack", nextOffset: partial.received, started };
    partial.parts.push(chunk.data.slice());
    partial.received += chunk.data.length;
    if (partial.received < id.totalBytes) return { kind: "ack", nextOffset: partial.received, started };
    this.#partial = undefined;
    const data = concatenate(partial.parts, id.totalBytes);
    const checksum = CRC32.buf(data) >>> 0;
    if (checksum !== id.checksum) {
      return {
        kind: "refuse",
        reason: `reassembled snapshot has CRC-32 ${checksum}, the sender announced ${id.checksum}`,
      };
    }
    return { kind: "complete", data };
  }

  /** Drops the partial transfer, if any; returns how many bytes it held. */
  discard(): number {
    const held = this.heldBytes;
    this.#partial = undefined;
    return held;
  }
}

function concatenate(parts: readonly Uint8Array[], totalBytes: number): Uint8Array {
  if (parts.length === 1 && parts[0]?.length === totalBytes) return parts[0];
  const data = new Uint8Array(totalBytes);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.length;
  }
  return data;
}
