import type { Socket } from "node:net";
import type { Message, NodeId } from "../../core/index.ts";
import { assert } from "../../util/assert.ts";
import {
  CLUSTER_ID_CHARS_MAX,
  encodeEnvelope,
  type Frame,
  type Hello,
  PROTOCOL_VERSION,
  parseFrame,
  type SnapshotChunk,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "./envelope.ts";
import { FrameDecoder } from "./frame-decoder.ts";
import type { PeerCounters, TransportLogger } from "./types.ts";

/** The largest frame accepted before the handshake is done: a hello is a few dozen bytes. */
export const HANDSHAKE_FRAME_BYTES_MAX = 1024;

/** UTF-8 takes at most 3 bytes per UTF-16 code unit; 64 bytes cover the rest of a hello. */
assert(
  HANDSHAKE_FRAME_BYTES_MAX >= 3 * CLUSTER_ID_CHARS_MAX + 64,
  "HANDSHAKE_FRAME_BYTES_MAX must hold the longest hello",
);

/** How long a refused connection stays open for its refusal to be read before we destroy it, in ms. */
const REFUSAL_LINGER_MS = 1000;

/** Warnings about dropped messages logged per connection; after that they are only counted. */
const DROPPED_MESSAGE_WARNINGS_MAX = 10;

/** What an {@link InboundConnection} needs from its transport. */
export interface InboundHost {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly frameBytesMax: number;
  readonly handshakeTimeoutMs: number;
  readonly logger: TransportLogger;
  isKnownPeer(id: NodeId): boolean;
  /** The counters of a known peer. */
  countersOf(peer: NodeId): PeerCounters;
  /** The handshake of `connection` with `peer` succeeded. */
  onIdentified(connection: InboundConnection, peer: NodeId): void;
  /** The connection was refused or broke the protocol before identifying itself. */
  onRefused(): void;
  /** A valid message from `peer`, addressed to us. */
  deliver(peer: NodeId, message: Message): void;
  /** A snapshot chunk from `peer`: returns the frame to answer with (an ack or a refusal). */
  onChunk(peer: NodeId, chunk: SnapshotChunk): Uint8Array;
  onClosed(connection: InboundConnection): void;
}

/**
 * A connection a peer dialled to us, which carries that peer's traffic to us: handshake first, then
 * messages and snapshot chunks in; welcome, refusal and snapshot acks out. Nothing from a connection that has
 * not completed its handshake is ever delivered. Any malformed byte closes the connection with a warning
 * naming the remote address; nothing here throws.
 */
export class InboundConnection {
  /** The remote end as host:port, for logs. */
  readonly remote: string;
  readonly #socket: Socket;
  readonly #host: InboundHost;
  readonly #decoder = new FrameDecoder({ frameBytesMax: HANDSHAKE_FRAME_BYTES_MAX });
  #state: "handshake" | "open" | "closing" = "handshake";
  #peer: NodeId | undefined = undefined;
  #counters: PeerCounters | undefined = undefined;
  #droppedWarnings = 0;
  #handshakeTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, host: InboundHost) {
    this.#socket = socket;
    this.#host = host;
    this.remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    socket.setNoDelay(true);
    this.#handshakeTimer = setTimeout(() => {
      const held = this.#decoder.heldBytes;
      this.#reject(
        `no handshake within ${host.handshakeTimeoutMs} ms (${held} bytes of an incomplete frame held)`,
      );
    }, host.handshakeTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => {
      const error = this.#decoder.finish();
      if (error !== undefined) this.#reject(error);
    });
    socket.on("drain", () => socket.resume());
    // An 'error' is always followed by 'close'; the reason is logged by whoever destroyed the socket.
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(this.#handshakeTimer);
      if (this.#state === "open") {
        this.#host.logger.info(
          { peer: this.#peer, remoteAddress: this.remote },
          `connection from peer ${String(this.#peer)} (${this.remote}) closed`,
        );
      }
      this.#state = "closing";
      this.#host.onClosed(this);
    });
  }

  /** The peer this connection identified itself as, once the handshake is done. */
  get peer(): NodeId | undefined {
    return this.#peer;
  }

  /** Closes the connection (a newer one from the same peer replaced it, or the transport is closing). */
  close(reason: string): void {
    if (this.#state === "open") {
      this.#host.logger.info(
        { peer: this.#peer, remoteAddress: this.remote, reason },
        `closing connection from peer ${String(this.#peer)} (${this.remote}): ${reason}`,
      );
    }
    this.#state = "closing";
    this.#socket.destroy();
  }

  /** Whether the connection is going away (a method, so the checker does not narrow it across calls). */
  get #closing(): boolean {
    return this.#state === "closing";
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    if (this.#counters !== undefined) this.#counters.bytesIn += chunk.length;
    // Frames are handled one at a time, in order: the hello raises the frame limit for the frames after it,
    // and a frame that closes the connection stops the rest from being looked at.
    const error = this.#decoder.feedEach(chunk, (payload) => {
      this.#handlePayload(payload);
      return !this.#closing;
    });
    if (error !== undefined) this.#reject(error);
  }

  #handlePayload(payload: Uint8Array): void {
    const parsed = parseFrame(payload);
    if (!parsed.ok) {
      this.#reject(parsed.error);
      return;
    }
    if (this.#state === "handshake") this.#handleHello(parsed.frame);
    else this.#handleTraffic(parsed.frame);
  }

  #handleHello(frame: Frame): void {
    if (frame.kind !== "hello") {
      this.#reject(`expected a hello, got a ${frame.kind} frame`);
      return;
    }
    const refusal = this.#refusalReason(frame.hello);
    if (refusal !== undefined) {
      this.#refuse(refusal);
      return;
    }
    clearTimeout(this.#handshakeTimer);
    const peer = frame.hello.from;
    this.#state = "open";
    this.#peer = peer;
    this.#counters = this.#host.countersOf(peer);
    this.#decoder.frameBytesMax = this.#host.frameBytesMax;
    const { clusterId, nodeId } = this.#host;
    this.#write(
      encodeEnvelope({ kind: "welcome", welcome: { version: PROTOCOL_VERSION, clusterId, from: nodeId } }),
    );
    this.#host.logger.info(
      { peer, remoteAddress: this.remote },
      `accepted connection from peer ${peer} (${this.remote})`,
    );
    this.#host.onIdentified(this, peer);
  }

  /** Why a hello must be refused, or undefined to accept it. */
  #refusalReason(hello: Hello): string | undefined {
    const { clusterId, nodeId } = this.#host;
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(hello.version)) {
      return `unsupported protocol version ${hello.version} (this node speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`;
    }
    if (hello.clusterId !== clusterId) return `wrong cluster id '${hello.clusterId}'`;
    if (hello.to !== nodeId) return `addressed to node ${hello.to}, but this is node ${nodeId}`;
    if (!this.#host.isKnownPeer(hello.from)) return `unknown node id ${hello.from}`;
    return undefined;
  }

  #handleTraffic(frame: Frame): void {
    const peer = this.#peer;
    if (peer === undefined) return;
    switch (frame.kind) {
      case "message":
        this.#handleMessage(peer, frame.message);
        return;
      case "snapshot-chunk":
        this.#write(this.#host.onChunk(peer, frame.chunk));
        return;
      default:
        this.#reject(`unexpected ${frame.kind} frame from a dialler`);
    }
  }

  #handleMessage(peer: NodeId, message: Message): void {
    let problem: string | undefined;
    if (message.from !== peer) problem = `it claims to be from node ${message.from}`;
    else if (message.to !== this.#host.nodeId) problem = `it is addressed to node ${message.to}`;
    if (problem === undefined) {
      this.#host.deliver(peer, message);
      return;
    }
    this.#host.countersOf(peer).rejectedMessages++;
    this.#droppedWarnings++;
    if (this.#droppedWarnings <= DROPPED_MESSAGE_WARNINGS_MAX) {
      const last =
        this.#droppedWarnings === DROPPED_MESSAGE_WARNINGS_MAX
          ? " (further drops on this connection are only counted)"
          : "";
      this.#host.logger.warn(
        { peer, remoteAddress: this.remote, type: message.type },
        `dropped a ${message.type} from peer ${peer} (${this.remote}): ${problem}${last}`,
      );
    }
  }

  /** Writes an answer; if the socket's buffer is full, stop reading until it drains (the dialler is not reading). */
  #write(frame: Uint8Array): void {
    if (this.#counters !== undefined) this.#counters.bytesOut += frame.length;
    if (!this.#socket.write(frame)) this.#socket.pause();
  }

  /** Refuses the handshake: tells the dialler why, logs it, and closes. */
  #refuse(reason: string): void {
    this.#host.logger.warn(
      { remoteAddress: this.remote, reason },
      `refused connection from ${this.remote}: ${reason}`,
    );
    this.#host.onRefused();
    this.#state = "closing";
    clearTimeout(this.#handshakeTimer);
    this.#socket.end(encodeEnvelope({ kind: "refusal", reason }));
    setTimeout(() => this.#socket.destroy(), REFUSAL_LINGER_MS).unref();
  }

  /** The stream is malformed (or the handshake timed out): log it and close at once. */
  #reject(reason: string): void {
    if (this.#state === "closing") return;
    const who = this.#peer === undefined ? this.remote : `peer ${this.#peer} (${this.remote})`;
    this.#host.logger.warn(
      { peer: this.#peer, remoteAddress: this.remote, reason },
      `closing connection from ${who}: ${reason}`,
    );
    if (this.#state === "handshake") this.#host.onRefused();
    this.#state = "closing";
    this.#socket.destroy();
  }
}
