import { connect, type Socket } from "node:net";
import type { InstallSnapshot, NodeId } from "../../core/index.ts";
import { assert, unreachable } from "../../util/assert.ts";
import { type DelayRange, reconnectDelayMs } from "./backoff.ts";
import {
  CLUSTER_ID_CHARS_MAX,
  encodeEnvelope,
  type Frame,
  PROTOCOL_VERSION,
  parseFrame,
  REASON_CHARS_MAX,
  type SnapshotAck,
  type SnapshotRefusal,
  type SnapshotTransferId,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "./envelope.ts";
import { FrameDecoder } from "./frame-decoder.ts";
import { OutboundQueue } from "./outbound-queue.ts";
import { SnapshotSender } from "./snapshot-sender.ts";
import type { PeerAddress, PeerCounters, TransportLogger, TransportTestHooks } from "./types.ts";

/**
 * Frames an acceptor sends back on our connection (welcome, refusal, snapshot acks and refusals) are all
 * small; anything larger than this is a broken peer.
 */
const CONTROL_FRAME_BYTES_MAX = 4096;

/** UTF-8 takes at most 3 bytes per UTF-16 code unit; 64 bytes cover the rest of a refusal or welcome. */
assert(
  CONTROL_FRAME_BYTES_MAX >= 3 * Math.max(REASON_CHARS_MAX, CLUSTER_ID_CHARS_MAX) + 64,
  "CONTROL_FRAME_BYTES_MAX must hold the longest refusal and welcome",
);

/** What an {@link OutboundLink} needs from its transport. */
export interface LinkSettings {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly handshakeTimeoutMs: number;
  readonly reconnectDelayMs: DelayRange;
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotChunksInFlightMax: number;
  readonly snapshotTransferTimeoutMs: number;
  readonly snapshotInstallTimeoutMs: number;
  readonly logger: TransportLogger;
  readonly hooks: TransportTestHooks;
}

/**
 * idle: not started. connecting: dialling or in the handshake. ready: handshake done, writing. backoff:
 * waiting to reconnect. closed: for good.
 */
type LinkState = "idle" | "connecting" | "ready" | "backoff" | "closed";

/**
 * This node's connection to one peer, which carries all our traffic to it: dials, says hello, writes queued
 * messages and snapshot chunks with backpressure, reads the peer's acks, and reconnects with capped
 * exponential backoff after any failure. Messages sent while disconnected wait in the bounded queue.
 */
export class OutboundLink {
  readonly peer: NodeId;
  readonly counters: PeerCounters;
  #address: PeerAddress;
  /** The address of the current (or last) connection attempt, for logs: #address may have changed since. */
  #dialled: PeerAddress;
  readonly #settings: LinkSettings;
  readonly #queue: OutboundQueue;
  readonly #snapshots: SnapshotSender;
  #state: LinkState = "idle";
  #socket: Socket | undefined = undefined;
  /** False after a write returned false, until the socket drains. */
  #writable = true;
  /** Failed attempts since the last successful handshake: the backoff exponent. */
  #failures = 0;
  /** Why the current connection is going away, when we decided it (for the log line). */
  #closeReason: string | undefined = undefined;
  /** The last refusal reason logged, so a peer that keeps refusing for the same reason is logged once. */
  #lastRefusal: string | undefined = undefined;
  /** Whether the queue is refusing messages (logged once per overflow episode). */
  #dropping = false;
  #reconnectTimer: NodeJS.Timeout | undefined = undefined;
  #handshakeTimer: NodeJS.Timeout | undefined = undefined;
  #transferTimer: NodeJS.Timeout | undefined = undefined;

  constructor(peer: NodeId, address: PeerAddress, settings: LinkSettings, counters: PeerCounters) {
    this.peer = peer;
    this.#address = address;
    this.#dialled = address;
    this.#settings = settings;
    this.counters = counters;
    this.#queue = new OutboundQueue({
      messagesMax: settings.queueMessagesMax,
      bytesMax: settings.queueBytesMax,
    });
    this.#snapshots = new SnapshotSender({
      chunkBytes: settings.snapshotChunkBytes,
      chunksInFlightMax: settings.snapshotChunksInFlightMax,
      transferTimeoutMs: settings.snapshotTransferTimeoutMs,
      installTimeoutMs: settings.snapshotInstallTimeoutMs,
    });
  }

  get address(): PeerAddress {
    return this.#address;
  }

  get connected(): boolean {
    return this.#state === "ready";
  }

  get queuedMessages(): number {
    return this.#queue.messages;
  }

  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  get socketBufferedBytes(): number {
    return this.#socket?.writableLength ?? 0;
  }

  /** Starts dialling. */
  start(): void {
    if (this.#state === "idle") this.#connect();
  }

  /** Closes the connection and stops for good; queued messages are dropped. */
  close(): void {
    this.#state = "closed";
    this.#clearTimers();
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#queue.clear();
    this.#snapshots.cancel();
  }

  /** Queues an encoded message frame (dropping and counting it if the queue is full) and writes what it can. */
  enqueue(frame: Uint8Array): void {
    if (this.#state === "closed") return;
    if (!this.#queue.push(frame)) {
      this.counters.droppedMessages++;
      if (!this.#dropping) {
        this.#dropping = true;
        this.#settings.logger.warn(
          { peer: this.peer, queuedMessages: this.#queue.messages, queuedBytes: this.#queue.bytes },
          `outbound queue to peer ${this.peer} is full: dropping messages until it drains`,
        );
      }
      return;
    }
    this.#pump();
  }

  /** Counts a message dropped before it reached the queue (too large, or not encodable). */
  countDropped(): void {
    this.counters.droppedMessages++;
  }

  /** Streams a large InstallSnapshot, unless the same snapshot is already on its way (then absorbs it). */
  sendSnapshot(message: InstallSnapshot): void {
    if (this.#state === "closed") return;
    const outcome = this.#snapshots.offer(message, performance.now());
    const fields = { peer: this.peer, ...transferFields(outcome.id) };
    if (outcome.kind === "absorbed") {
      this.counters.snapshots.absorbed++;
      this.#settings.logger.debug?.(
        { ...fields, phase: outcome.phase },
        `snapshot re-send to peer ${this.peer} absorbed`,
      );
      return;
    }
    this.counters.snapshots.started++;
    this.#settings.logger.info(
      { ...fields, replaced: outcome.replaced === undefined ? undefined : transferFields(outcome.replaced) },
      `snapshot transfer to peer ${this.peer} started: ${outcome.id.totalBytes} bytes through index ${outcome.id.lastIncludedIndex}`,
    );
    this.#armTransferTimer();
    this.#pump();
  }

  /** A small snapshot went out as a plain message: it supersedes any chunked transfer. */
  cancelSnapshot(): void {
    const cancelled = this.#snapshots.cancel();
    if (cancelled !== undefined) {
      this.#settings.logger.info(
        { peer: this.peer, ...transferFields(cancelled) },
        `snapshot transfer to peer ${this.peer} replaced by a newer snapshot`,
      );
    }
  }

  /** The peer answered an InstallSnapshot: a delivered transfer is done. */
  onSnapshotReply(): void {
    this.#snapshots.onReply();
  }

  /** Destroys the current connection (tests, address changes); the link reconnects after the backoff delay. */
  dropConnection(reason: string): void {
    if (this.#socket === undefined) return;
    this.#closeReason = reason;
    // 'close' comes later; nothing more may be written to this socket meanwhile.
    this.#writable = false;
    this.#socket.destroy();
  }

  /**
   * Points the link at a new address: a connection to the old one is dropped and redialled there after the
   * backoff delay; a link waiting to retry dials the new address at once.
   */
  setAddress(address: PeerAddress): void {
    if (address.host === this.#address.host && address.port === this.#address.port) return;
    this.#address = address;
    if (this.#state === "backoff") {
      clearTimeout(this.#reconnectTimer);
      this.#connect();
      return;
    }
    this.dropConnection(`peer address changed to ${address.host}:${address.port}`);
  }

  #connect(): void {
    this.#state = "connecting";
    this.#writable = true;
    this.#closeReason = undefined;
    this.#dialled = this.#address;
    const { host, port } = this.#address;
    let socket: Socket;
    try {
      socket = connect({ host, port });
    } catch (error) {
      // A malformed address (say, port 0) throws at once instead of failing the connection: retry later all
      // the same, as the address may be corrected with setAddress.
      this.#scheduleReconnect(false, error instanceof Error ? describeError(error) : String(error));
      return;
    }
    socket.setNoDelay(true);
    this.#socket = socket;
    const decoder = new FrameDecoder({ frameBytesMax: CONTROL_FRAME_BYTES_MAX });
    this.#handshakeTimer = setTimeout(() => {
      this.dropConnection(`no answer to our handshake within ${this.#settings.handshakeTimeoutMs} ms`);
    }, this.#settings.handshakeTimeoutMs);
    socket.on("connect", () => {
      if (socket !== this.#socket) return;
      const { clusterId, nodeId } = this.#settings;
      this.#write(
        encodeEnvelope({
          kind: "hello",
          hello: { version: PROTOCOL_VERSION, clusterId, from: nodeId, to: this.peer },
        }),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      if (socket !== this.#socket) return;
      this.counters.bytesIn += chunk.length;
      // Handling a frame may drop this connection; nothing after that is looked at.
      const current = (): boolean => socket === this.#socket && !socket.destroyed;
      const error = decoder.feedEach(chunk, (payload) => {
        this.#handlePayload(payload);
        return current();
      });
      if (error !== undefined && current()) this.#protocolError(error);
    });
    socket.on("drain", () => {
      if (socket !== this.#socket) return;
      this.#writable = true;
      this.#pump();
    });
    socket.on("error", (error: Error) => {
      if (socket === this.#socket) this.#closeReason ??= describeError(error);
    });
    socket.on("close", () => this.#onClose(socket));
  }

  #handlePayload(payload: Uint8Array): void {
    const parsed = parseFrame(payload);
    if (!parsed.ok) {
      this.#protocolError(parsed.error);
      return;
    }
    const frame = parsed.frame;
    if (this.#state === "connecting") this.#handleHandshakeAnswer(frame);
    else if (frame.kind === "snapshot-ack") this.#handleAck(frame.ack);
    else if (frame.kind === "snapshot-refusal") this.#handleSnapshotRefusal(frame.refusal);
    else this.#protocolError(`unexpected ${frame.kind} frame after the handshake`);
  }

  #handleHandshakeAnswer(frame: Frame): void {
    if (frame.kind === "refusal") {
      const where = `${this.#dialled.host}:${this.#dialled.port}`;
      const line = `peer ${this.peer} at ${where} refused our connection: ${frame.reason}`;
      if (frame.reason !== this.#lastRefusal)
        this.#settings.logger.warn({ peer: this.peer, address: where }, line);
      else this.#settings.logger.debug?.({ peer: this.peer, address: where }, line);
      this.#lastRefusal = frame.reason;
      this.dropConnection(`refused: ${frame.reason}`);
      return;
    }
    if (frame.kind !== "welcome") {
      this.#protocolError(`expected a welcome or a refusal, got a ${frame.kind} frame`);
      return;
    }
    const { version, clusterId, from } = frame.welcome;
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      this.#protocolError(`peer chose unsupported protocol version ${version}`);
      return;
    }
    if (clusterId !== this.#settings.clusterId || from !== this.peer) {
      this.#protocolError(
        `the node there is node ${from} of cluster '${clusterId}', not node ${this.peer} of '${this.#settings.clusterId}'`,
      );
      return;
    }
    clearTimeout(this.#handshakeTimer);
    this.#state = "ready";
    this.#failures = 0;
    this.#lastRefusal = undefined;
    this.#settings.logger.info(
      { peer: this.peer, address: `${this.#dialled.host}:${this.#dialled.port}` },
      `connected to peer ${this.peer} at ${this.#dialled.host}:${this.#dialled.port}`,
    );
    const resumeAt = this.#snapshots.onConnected();
    if (resumeAt !== undefined && resumeAt > 0) {
      this.counters.snapshots.resumed++;
      const id = this.#snapshots.id;
      this.#settings.logger.info(
        { peer: this.peer, offset: resumeAt, ...(id === undefined ? {} : transferFields(id)) },
        `snapshot transfer to peer ${this.peer} resumed at byte ${resumeAt}`,
      );
    }
    this.#pump();
  }

  #handleAck(ack: SnapshotAck): void {
    const outcome = this.#snapshots.onAck(ack, performance.now());
    switch (outcome.kind) {
      case "ignored":
        return;
      case "progress":
        break;
      case "restarted":
        this.#settings.logger.info(
          { peer: this.peer, offset: outcome.offset, ...transferFields(ack.id) },
          `peer ${this.peer} lost part of the snapshot transfer: resending from byte ${outcome.offset}`,
        );
        break;
      case "completed":
        this.counters.snapshots.completed++;
        clearTimeout(this.#transferTimer);
        this.#settings.logger.info(
          { peer: this.peer, bytesSent: outcome.bytesSent, ...transferFields(outcome.id) },
          `snapshot transfer to peer ${this.peer} completed: ${outcome.id.totalBytes} bytes (${outcome.bytesSent} sent)`,
        );
        break;
      default:
        unreachable(outcome);
    }
    this.#settings.hooks.onSnapshotAck?.(this.peer, ack.nextOffset, ack.id.totalBytes);
    this.#pump();
  }

  #handleSnapshotRefusal(refusal: SnapshotRefusal): void {
    if (!this.#snapshots.onRefusal(refusal.id)) return;
    this.counters.snapshots.refused++;
    clearTimeout(this.#transferTimer);
    this.#settings.logger.warn(
      { peer: this.peer, ...transferFields(refusal.id) },
      `peer ${this.peer} refused the snapshot transfer: ${refusal.reason}`,
    );
  }

  /** The peer broke the protocol: log it and drop the connection (we reconnect after the backoff delay). */
  #protocolError(reason: string): void {
    const where = `${this.#dialled.host}:${this.#dialled.port}`;
    this.#settings.logger.warn(
      { peer: this.peer, address: where, reason },
      `closing connection to peer ${this.peer} at ${where}: ${reason}`,
    );
    this.dropConnection(`protocol error: ${reason}`);
  }

  /**
   * Writes queued messages, then snapshot chunks as the transfer window allows, until the socket asks us to
   * wait for 'drain'. Bounded: the queue is bounded and so is the window.
   */
  #pump(): void {
    while (this.#state === "ready" && this.#writable) {
      const message = this.#queue.shift();
      if (message !== undefined) {
        this.counters.sentMessages++;
        this.#write(message);
        continue;
      }
      if (this.#dropping) this.#dropping = false;
      const chunk = this.#snapshots.nextChunk();
      if (chunk === undefined) return;
      this.counters.snapshots.bytesSent += chunk.data.length;
      this.#write(encodeEnvelope({ kind: "snapshot-chunk", chunk }));
    }
  }

  #write(frame: Uint8Array): void {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return;
    this.counters.bytesOut += frame.length;
    if (!socket.write(frame)) this.#writable = false;
  }

  #onClose(socket: Socket): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    clearTimeout(this.#handshakeTimer);
    if (this.#state === "closed") return;
    this.#scheduleReconnect(this.#state === "ready", this.#closeReason ?? "closed by the peer");
  }

  /** Logs why the last connection (or attempt) ended and dials again after the backoff delay. */
  #scheduleReconnect(wasReady: boolean, reason: string): void {
    const delayMs = reconnectDelayMs(
      this.#failures,
      this.#settings.reconnectDelayMs,
      this.#settings.hooks.random ?? Math.random,
    );
    const where = `${this.#dialled.host}:${this.#dialled.port}`;
    const fields = { peer: this.peer, address: where, reason, delayMs };
    if (wasReady) {
      this.#settings.logger.info(fields, `connection to peer ${this.peer} at ${where} lost: ${reason}`);
    } else if (this.#failures === 0 && !reason.startsWith("refused")) {
      // Only the first failure of a streak is worth a line; the rest repeat it every backoff period.
      this.#settings.logger.info(fields, `cannot connect to peer ${this.peer} at ${where}: ${reason}`);
    } else {
      this.#settings.logger.debug?.(fields, `cannot connect to peer ${this.peer} at ${where}: ${reason}`);
    }
    this.#failures++;
    this.counters.reconnects++;
    this.#state = "backoff";
    this.#settings.hooks.onReconnectScheduled?.(this.peer, delayMs);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state === "backoff") this.#connect();
    }, delayMs);
  }

  /** Checks the snapshot transfer for lack of progress at its deadline, and re-arms while it progresses. */
  #armTransferTimer(): void {
    clearTimeout(this.#transferTimer);
    const deadline = this.#snapshots.deadline;
    if (deadline === undefined) return;
    this.#transferTimer = setTimeout(
      () => {
        const abandoned = this.#snapshots.expire(performance.now());
        if (abandoned === undefined) {
          this.#armTransferTimer();
          return;
        }
        this.counters.snapshots.abandoned++;
        this.#settings.logger.warn(
          { peer: this.peer, ackedOffset: abandoned.ackedOffset, ...transferFields(abandoned.id) },
          `snapshot transfer to peer ${this.peer} abandoned: no progress for ${this.#settings.snapshotTransferTimeoutMs} ms at byte ${abandoned.ackedOffset}`,
        );
      },
      Math.max(0, deadline - performance.now()),
    );
    this.#transferTimer.unref();
  }

  #clearTimers(): void {
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#transferTimer);
    this.#reconnectTimer = undefined;
  }
}

/** A transfer id as log fields. */
function transferFields(id: SnapshotTransferId): Record<string, number> {
  return {
    snapshotTerm: id.term,
    snapshotIndex: id.lastIncludedIndex,
    snapshotLastTerm: id.lastIncludedTerm,
    snapshotBytes: id.totalBytes,
  };
}

/** A socket error as a short reason: its code when it has one. */
function describeError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined ? error.message : `${code} (${error.message})`;
}
