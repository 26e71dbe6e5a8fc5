import CRC32 from "crc-32";
import type { InstallSnapshot } from "../../core/index.ts";
import { type SnapshotAck, type SnapshotChunk, type SnapshotTransferId, sameTransfer } from "./envelope.ts";

/** Tunables of a {@link SnapshotSender}. */
export interface SnapshotSenderOptions {
  /** Snapshot bytes per chunk frame. */
  readonly chunkBytes: number;
  /** Chunks sent and not yet acknowledged, at most (once the receiver has answered on this connection). */
  readonly chunksInFlightMax: number;
  /** A transfer whose acknowledged offset has not moved for this long is abandoned, in milliseconds. */
  readonly transferTimeoutMs: number;
  /**
   * After the last chunk is acknowledged, how long a re-send of the same snapshot is absorbed while the
   * receiver installs it and its InstallSnapshotReply travels back, in milliseconds.
   */
  readonly installTimeoutMs: number;
}

/** A transfer in progress: chunks go out from `sentOffset`; the receiver holds everything before `ackedOffset`. */
interface Sending {
  readonly phase: "sending";
  readonly id: SnapshotTransferId;
  readonly data: Uint8Array;
  /** The snapshot's configuration, sent with every chunk (see SnapshotChunk). */
  readonly membership: Uint8Array | undefined;
  ackedOffset: number;
  sentOffset: number;
  /** When `ackedOffset` last moved (or the transfer started), in the caller's milliseconds. */
  lastProgressAt: number;
  /** Chunk bytes sent for this transfer so far, resends included. */
  bytesSent: number;
}

/** Every byte acknowledged; waiting for the follower's InstallSnapshotReply (or for the install timeout). */
interface Delivered {
  readonly phase: "delivered";
  readonly id: SnapshotTransferId;
  readonly data: Uint8Array;
  readonly deliveredAt: number;
}

/** What {@link SnapshotSender.offer} did with a snapshot the core sent. */
export type OfferOutcome =
  | {
      readonly kind: "started";
      readonly id: SnapshotTransferId;
      /** The transfer this one replaced, if one was in progress or awaiting its reply. */
      readonly replaced: SnapshotTransferId | undefined;
    }
  /** The same snapshot is already being sent, or was delivered and is being installed: nothing to do. */
  | { readonly kind: "absorbed"; readonly id: SnapshotTransferId; readonly phase: "sending" | "delivered" };

/** What {@link SnapshotSender.onAck} made of an acknowledgement. */
export type AckOutcome =
  | { readonly kind: "ignored" }
  | { readonly kind: "progress"; readonly ackedOffset: number }
  /** The receiver has less than it had acknowledged (it lost its partial copy): resend from `offset`. */
  | { readonly kind: "restarted"; readonly offset: number }
  | { readonly kind: "completed"; readonly id: SnapshotTransferId; readonly bytesSent: number };

/** A transfer given up on because its acknowledged offset stopped moving. */
export interface AbandonedTransfer {
  readonly id: SnapshotTransferId;
  readonly ackedOffset: number;
}

/**
 * The sending side of chunked snapshot transfer to one peer, as a state machine without I/O: the caller feeds
 * it the core's InstallSnapshot messages, the receiver's acks and the clock, and pulls chunks to write. One
 * transfer at a time; a different snapshot replaces the current one, the same one is absorbed.
 *
 * Resumption: the receiver keeps a partial transfer across connections. After a reconnect, sending restarts
 * at the last acknowledged offset with a single chunk; the receiver's ack to it says where it really is
 * (further on if acks were lost, 0 if it lost its copy), and sending continues from there.
 */
export class SnapshotSender {
  readonly #options: SnapshotSenderOptions;
  #transfer: Sending | Delivered | undefined = undefined;
  /** Whether the receiver has acknowledged anything on the current connection (the window opens then). */
  #heardOnConnection = false;

  constructor(options: SnapshotSenderOptions) {
    this.#options = options;
  }

  /** The current transfer's phase, or "idle". */
  get phase(): "idle" | "sending" | "delivered" {
    return this.#transfer?.phase ?? "idle";
  }

  /** The current transfer's id, if any. */
  get id(): SnapshotTransferId | undefined {
    return this.#transfer?.id;
  }

  /** How many bytes the receiver has acknowledged in the transfer being sent (0 when none is). */
  get ackedOffset(): number {
    return this.#transfer?.phase === "sending" ? this.#transfer.ackedOffset : 0;
  }

  /** When the transfer being sent is abandoned unless its acknowledged offset moves, in the caller's milliseconds. */
  get deadline(): number | undefined {
    const transfer = this.#transfer;
    return transfer?.phase === "sending"
      ? transfer.lastProgressAt + this.#options.transferTimeoutMs
      : undefined;
  }

  /** Takes a snapshot the core wants sent at time `now` (milliseconds). */
  offer(message: InstallSnapshot, now: number): OfferOutcome {
    const current = this.#transfer;
    const id = this.#transferIdOf(message, current);
    if (current !== undefined && sameTransfer(current.id, id)) {
      if (current.phase === "sending" && now - current.lastProgressAt < this.#options.transferTimeoutMs) {
        return { kind: "absorbed", id, phase: "sending" };
      }
      if (current.phase === "delivered" && now - current.deliveredAt < this.#options.installTimeoutMs) {
        return { kind: "absorbed", id, phase: "delivered" };
      }
    }
    this.#transfer = {
      phase: "sending",
      id,
      data: message.data,
      membership: message.membership,
      ackedOffset: 0,
      sentOffset: 0,
      lastProgressAt: now,
      bytesSent: 0,
    };
    this.#heardOnConnection = false;
    return { kind: "started", id, replaced: current?.id };
  }

  /**
   * The next chunk to write, if the window allows one: a single chunk until the receiver answers on this
   * connection, then up to `chunksInFlightMax` unacknowledged chunks.
   */
  nextChunk(): SnapshotChunk | undefined {
    const transfer = this.#transfer;
    if (transfer?.phase !== "sending" || transfer.sentOffset >= transfer.id.totalBytes) return undefined;
    const { chunkBytes, chunksInFlightMax } = this.#options;
    const windowBytes = this.#heardOnConnection ? chunksInFlightMax * chunkBytes : chunkBytes;
    if (transfer.sentOffset - transfer.ackedOffset >= windowBytes) return undefined;
    const offset = transfer.sentOffset;
    const data = transfer.data.subarray(offset, Math.min(transfer.id.totalBytes, offset + chunkBytes));
    transfer.sentOffset += data.length;
    transfer.bytesSent += data.length;
    const { membership } = transfer;
    return membership === undefined
      ? { id: transfer.id, offset, data }
      : { id: transfer.id, offset, data, membership };
  }

  /**
   * A new connection is ready: sending resumes at the last acknowledged offset. Returns that offset when a
   * transfer is being sent, else undefined.
   */
  onConnected(): number | undefined {
    this.#heardOnConnection = false;
    const transfer = this.#transfer;
    if (transfer?.phase !== "sending") return undefined;
    transfer.sentOffset = transfer.ackedOffset;
    return transfer.ackedOffset;
  }

  /** Takes the receiver's acknowledgement, received at `now`. */
  onAck(ack: SnapshotAck, now: number): AckOutcome {
    const transfer = this.#transfer;
    if (transfer?.phase !== "sending" || !sameTransfer(transfer.id, ack.id)) return { kind: "ignored" };
    this.#heardOnConnection = true;
    const offset = ack.nextOffset;
    if (offset < transfer.ackedOffset) {
      transfer.ackedOffset = offset;
      transfer.sentOffset = offset;
      transfer.lastProgressAt = now;
      return { kind: "restarted", offset };
    }
    if (offset === transfer.id.totalBytes) {
      this.#transfer = { phase: "delivered", id: transfer.id, data: transfer.data, deliveredAt: now };
      return { kind: "completed", id: transfer.id, bytesSent: transfer.bytesSent };
    }
    if (offset === transfer.ackedOffset) return { kind: "ignored" };
    transfer.ackedOffset = offset;
    // The receiver may be ahead of what we sent on this connection (its acks to the old one were lost).
    transfer.sentOffset = Math.max(transfer.sentOffset, offset);
    transfer.lastProgressAt = now;
    return { kind: "progress", ackedOffset: offset };
  }

  /** The receiver refused the transfer `id`: forget it if it is the current one. Returns whether it was. */
  onRefusal(id: SnapshotTransferId): boolean {
    if (this.#transfer === undefined || !sameTransfer(this.#transfer.id, id)) return false;
    this.#transfer = undefined;
    return true;
  }

  /** The follower answered an InstallSnapshot: a delivered transfer is finished. */
  onReply(): void {
    if (this.#transfer?.phase === "delivered") this.#transfer = undefined;
  }

  /** Abandons the transfer if its acknowledged offset has not moved for the transfer timeout. */
  expire(now: number): AbandonedTransfer | undefined {
    const transfer = this.#transfer;
    if (transfer?.phase !== "sending" || now - transfer.lastProgressAt < this.#options.transferTimeoutMs) {
      return undefined;
    }
    this.#transfer = undefined;
    return { id: transfer.id, ackedOffset: transfer.ackedOffset };
  }

  /** Forgets the current transfer (a smaller snapshot went out as a plain message); returns its id, if any. */
  cancel(): SnapshotTransferId | undefined {
    const id = this.#transfer?.id;
    this.#transfer = undefined;
    return id;
  }

  /**
   * The transfer id of `message`. The CRC-32 of the data is computed unless the current transfer carries the
   * very same byte array for the same snapshot (the core re-sends its snapshot object as it is).
   */
  #transferIdOf(message: InstallSnapshot, current: Sending | Delivered | undefined): SnapshotTransferId {
    const partial = {
      term: message.term,
      lastIncludedIndex: message.lastIncludedIndex,
      lastIncludedTerm: message.lastIncludedTerm,
      totalBytes: message.data.length,
    };
    if (
      current !== undefined &&
      current.data === message.data &&
      sameTransfer(current.id, { ...partial, checksum: current.id.checksum })
    ) {
      return current.id;
    }
    return { ...partial, checksum: CRC32.buf(message.data) >>> 0 };
  }
}
