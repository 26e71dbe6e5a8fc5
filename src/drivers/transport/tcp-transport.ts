import { createServer, type Server, type Socket } from "node:net";
import { messageViolation } from "../../codec/wire-message.ts";
import type { InstallSnapshot, Message, NodeId } from "../../core/index.ts";
import type { Transport } from "../../peer/index.ts";
import { unreachable } from "../../util/assert.ts";
import { checkDelayRange } from "./backoff.ts";
import {
  CLUSTER_ID_CHARS_MAX,
  encodeEnvelope,
  type SnapshotChunk,
  type SnapshotTransferId,
  sameTransfer,
} from "./envelope.ts";
import { FRAME_PAYLOAD_BYTES_LIMIT, FRAME_PREFIX_BYTES } from "./frame-decoder.ts";
import { InboundConnection, type InboundHost } from "./inbound-connection.ts";
import { type LinkSettings, OutboundLink } from "./outbound-link.ts";
import { type ChunkOutcome, SnapshotAssembler } from "./snapshot-assembler.ts";
import {
  newPeerCounters,
  type PeerAddress,
  type PeerCounters,
  type PeerTransportStats,
  SILENT_LOGGER,
  type TcpTransportOptions,
  type TransportLogger,
  type TransportStats,
} from "./types.ts";

const MiB = 1024 * 1024;

/** Defaults of the optional {@link TcpTransportOptions}. */
export const TCP_TRANSPORT_DEFAULTS = {
  frameBytesMax: 16 * MiB,
  outboundQueueBytesMax: 32 * MiB,
  outboundQueueMessagesMax: 10_000,
  reconnectDelayMs: { min: 100, max: 5000 },
  snapshotChunkBytes: 1 * MiB,
  snapshotTransferTimeoutMs: 30_000,
  snapshotInstallTimeoutMs: 10_000,
  snapshotBytesMax: 1024 * MiB,
  handshakeTimeoutMs: 5000,
} as const;

/** Snapshot chunks in flight (sent, not acknowledged) per transfer: enough to keep a fast link busy. */
export const SNAPSHOT_CHUNKS_IN_FLIGHT_MAX = 4;

/** Room in a chunk frame for everything but the chunk's bytes (kind, array and bin headers, six integers). */
const SNAPSHOT_CHUNK_FRAME_OVERHEAD_BYTES = 128;

/** Connections accepted that have not completed their handshake, at most; more are closed at once. */
export const UNIDENTIFIED_CONNECTIONS_MAX = 32;

/**
 * A receiver keeps a partial snapshot transfer this many transfer timeouts after its last chunk (so the
 * sender can resume it after a reconnect), then drops it.
 */
const PARTIAL_SNAPSHOT_KEEP_TIMEOUTS = 2;

/** Options with every default filled in. */
type ResolvedOptions = Required<Omit<TcpTransportOptions, "testHooks" | "logger">> & {
  readonly logger: TransportLogger;
};

/**
 * The Transport port over TCP (DESIGN.md §5) for real nodes. Each node dials every peer and sends all its
 * traffic to that peer on the connection it dialled; connections peers dial to it carry their traffic in
 * (and, back out, the acknowledgements of snapshot chunks). Frames are length-prefixed (frame-decoder.ts)
 * envelopes (envelope.ts) carrying wire-encoded messages (src/codec/wire-message.ts).
 *
 * Every connection starts with a handshake (protocol version, cluster id, from, to); nothing from a
 * connection that has not completed it reaches `onMessage`. Outbound queues are bounded per peer, writing
 * waits for 'drain', and dialling retries with capped exponential backoff. Snapshots larger than
 * `snapshotChunkBytes` stream in acknowledged chunks that resume after a reconnect, and arrive as one
 * InstallSnapshot. `send` never throws and never blocks.
 */
export class TcpTransport implements Transport {
  readonly #options: ResolvedOptions;
  readonly #links = new Map<NodeId, OutboundLink>();
  readonly #counters = new Map<NodeId, PeerCounters>();
  readonly #inbound = new Set<InboundConnection>();
  /** The identified connection from each peer; a newer one replaces (closes) the older. */
  readonly #inboundByPeer = new Map<NodeId, InboundConnection>();
  readonly #assemblers = new Map<NodeId, SnapshotAssembler>();
  readonly #partialTimers = new Map<NodeId, NodeJS.Timeout>();
  readonly #unknownPeersLogged = new Set<NodeId>();
  /** The last snapshot transfer refused from each peer, so its remaining chunks do not log again. */
  readonly #lastRefused = new Map<NodeId, SnapshotTransferId>();
  readonly #host: InboundHost;
  #server: Server | undefined = undefined;
  #listening: PeerAddress | undefined = undefined;
  #refusedConnections = 0;
  #unknownPeerDrops = 0;
  #closed = false;

  /** Checks the options (throwing a RangeError on nonsense) and prepares a link per peer; nothing opens yet. */
  constructor(options: TcpTransportOptions) {
    this.#options = resolveOptions(options);
    this.#linkSettings = linkSettings(this.#options, options);
    for (const [peer, address] of options.peers) this.#addLink(peer, address);
    this.#host = this.#makeInboundHost();
  }

  readonly #linkSettings: ReturnType<typeof linkSettings>;

  #addLink(peer: NodeId, address: PeerAddress): OutboundLink {
    const counters = newPeerCounters();
    this.#counters.set(peer, counters);
    const link = new OutboundLink(peer, address, this.#linkSettings, counters);
    this.#links.set(peer, link);
    this.#assemblers.set(peer, new SnapshotAssembler(this.#options.snapshotBytesMax));
    return link;
  }

  /** Starts listening, then dials every peer. Resolves with the address bound (the real port if 0 was asked). */
  async start(): Promise<PeerAddress> {
    if (this.#closed) throw new Error("TcpTransport.start: the transport is closed");
    if (this.#listening !== undefined) return this.#listening;
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#options.listen.port, this.#options.listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    if (this.#closed) {
      // close() ran while we were binding: do not leave a listener behind.
      server.close();
      throw new Error("TcpTransport.start: the transport was closed while starting");
    }
    server.on("error", (error) => {
      this.#options.logger.error({ error: error.message }, `transport listener failed: ${error.message}`);
    });
    const bound = server.address();
    const port = typeof bound === "object" && bound !== null ? bound.port : this.#options.listen.port;
    this.#listening = { host: this.#options.listen.host, port };
    this.#options.logger.info(
      { nodeId: this.#options.nodeId, address: `${this.#listening.host}:${port}` },
      `node ${this.#options.nodeId} listening on ${this.#listening.host}:${port}`,
    );
    for (const link of this.#links.values()) link.start();
    return this.#listening;
  }

  /**
   * Sends a message to `message.to`: queued on that peer's link (dropped and counted if its queue is full),
   * or streamed in chunks if it is an InstallSnapshot larger than a chunk. Never throws, never blocks.
   */
  send(message: Message): void {
    try {
      this.#send(message);
    } catch (error) {
      // Only an encoding bug can land here (the core sent something the wire cannot carry).
      this.#links.get(message.to)?.countDropped();
      this.#options.logger.error(
        { to: message.to, type: message.type, error: String(error) },
        `could not send a ${message.type} to node ${message.to}: ${String(error)}`,
      );
    }
  }

  /**
   * Changes where a peer is dialled; a live connection to it is dropped and redialled at the new address. A
   * peer not known yet (a member added since the start, thesis §4) is added: it is dialled, and connections
   * it dials to us are accepted from now on.
   */
  setPeerAddress(peer: NodeId, address: PeerAddress): void {
    if (peer === this.#options.nodeId || this.#closed) return;
    const link = this.#links.get(peer);
    if (link !== undefined) {
      link.setAddress(address);
      return;
    }
    const added = this.#addLink(peer, address);
    if (this.#listening !== undefined) added.start();
  }

  /** Destroys our connection to `peer` as a network failure would (for tests); it reconnects after backoff. */
  dropConnection(peer: NodeId): void {
    this.#links.get(peer)?.dropConnection("dropped on request");
  }

  /** Closes the listener and every connection and stops reconnecting. Queued messages are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of this.#links.values()) link.close();
    for (const connection of this.#inbound) connection.close("transport closing");
    for (const timer of this.#partialTimers.values()) clearTimeout(timer);
    this.#partialTimers.clear();
    const server = this.#server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#options.logger.info(
      { nodeId: this.#options.nodeId },
      `node ${this.#options.nodeId} transport closed`,
    );
  }

  /** Counters and state per peer, plus refused connections. */
  stats(): TransportStats {
    const peers: PeerTransportStats[] = [];
    for (const [peer, link] of this.#links) {
      const counters = this.#counters.get(peer) ?? newPeerCounters();
      peers.push({
        peer,
        address: link.address,
        connected: link.connected,
        inboundConnected: this.#inboundByPeer.has(peer),
        queuedMessages: link.queuedMessages,
        queuedBytes: link.queuedBytes,
        socketBufferedBytes: link.socketBufferedBytes,
        sentMessages: counters.sentMessages,
        droppedMessages: counters.droppedMessages,
        reconnects: counters.reconnects,
        bytesIn: counters.bytesIn,
        bytesOut: counters.bytesOut,
        receivedMessages: counters.receivedMessages,
        rejectedMessages: counters.rejectedMessages,
        snapshots: { ...counters.snapshots },
      });
    }
    return {
      nodeId: this.#options.nodeId,
      listening: this.#listening,
      refusedConnections: this.#refusedConnections,
      unknownPeerDrops: this.#unknownPeerDrops,
      peers,
    };
  }

  #send(message: Message): void {
    if (this.#closed) return;
    const link = this.#links.get(message.to);
    if (link === undefined) {
      this.#unknownPeerDrops++;
      if (!this.#unknownPeersLogged.has(message.to)) {
        this.#unknownPeersLogged.add(message.to);
        this.#options.logger.warn(
          { to: message.to },
          `dropping messages to node ${message.to}: it is not a configured peer`,
        );
      }
      return;
    }
    if (message.type === "InstallSnapshot") {
      if (message.data.length > this.#options.snapshotChunkBytes) {
        link.sendSnapshot(message);
        return;
      }
      link.cancelSnapshot();
    }
    const frame = encodeEnvelope({ kind: "message", message });
    if (frame.length - FRAME_PREFIX_BYTES > this.#options.frameBytesMax) {
      link.countDropped();
      this.#options.logger.error(
        { to: message.to, type: message.type, bytes: frame.length },
        `dropped a ${message.type} of ${frame.length} bytes to node ${message.to}: larger than frameBytesMax ${this.#options.frameBytesMax}`,
      );
      return;
    }
    link.enqueue(frame);
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    let unidentified = 0;
    for (const connection of this.#inbound) if (connection.peer === undefined) unidentified++;
    if (unidentified >= UNIDENTIFIED_CONNECTIONS_MAX) {
      this.#refusedConnections++;
      this.#options.logger.warn(
        { remoteAddress: `${socket.remoteAddress}:${socket.remotePort}` },
        `refused connection from ${socket.remoteAddress}:${socket.remotePort}: ${UNIDENTIFIED_CONNECTIONS_MAX} connections are already in their handshake`,
      );
      socket.destroy();
      return;
    }
    this.#inbound.add(new InboundConnection(socket, this.#host));
  }

  #makeInboundHost(): InboundHost {
    const options = this.#options;
    return {
      clusterId: options.clusterId,
      nodeId: options.nodeId,
      frameBytesMax: options.frameBytesMax,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      logger: options.logger,
      isKnownPeer: (id) => this.#links.has(id),
      countersOf: (peer) => this.#countersOf(peer),
      onIdentified: (connection, peer) => {
        const older = this.#inboundByPeer.get(peer);
        this.#inboundByPeer.set(peer, connection);
        older?.close("replaced by a newer connection from the same peer");
      },
      onRefused: () => {
        this.#refusedConnections++;
      },
      deliver: (peer, message) => this.#deliver(peer, message),
      onChunk: (peer, chunk) => this.#receiveChunk(peer, chunk),
      onClosed: (connection) => {
        this.#inbound.delete(connection);
        const peer = connection.peer;
        if (peer !== undefined && this.#inboundByPeer.get(peer) === connection)
          this.#inboundByPeer.delete(peer);
      },
    };
  }

  #countersOf(peer: NodeId): PeerCounters {
    let counters = this.#counters.get(peer);
    if (counters === undefined) {
      counters = newPeerCounters();
      this.#counters.set(peer, counters);
    }
    return counters;
  }

  #deliver(peer: NodeId, message: Message): void {
    if (this.#closed) return;
    this.#countersOf(peer).receivedMessages++;
    if (message.type === "InstallSnapshotReply") this.#links.get(peer)?.onSnapshotReply();
    try {
      this.#options.onMessage(message);
    } catch (error) {
      this.#options.logger.error(
        { from: peer, type: message.type, error: String(error) },
        `onMessage threw on a ${message.type} from node ${peer}: ${String(error)}`,
      );
    }
  }

  /** Stores a snapshot chunk from `peer`, delivers the snapshot when it is whole, and returns the answer frame. */
  #receiveChunk(peer: NodeId, chunk: SnapshotChunk): Uint8Array {
    const assembler = this.#assemblers.get(peer);
    const counters = this.#countersOf(peer);
    counters.snapshots.bytesReceived += chunk.data.length;
    const fields = { peer, snapshotIndex: chunk.id.lastIncludedIndex, snapshotBytes: chunk.id.totalBytes };
    if (assembler === undefined)
      return encodeEnvelope({ kind: "snapshot-refusal", refusal: { id: chunk.id, reason: "unknown peer" } });
    // The snapshot's fields must make a message a correct leader could send, checked before storing anything.
    const violation = messageViolation(this.#snapshotMessage(peer, chunk.id, new Uint8Array(0)));
    const outcome: ChunkOutcome =
      violation === undefined ? assembler.accept(chunk) : { kind: "refuse", reason: violation };
    this.#armPartialTimer(peer, assembler);
    switch (outcome.kind) {
      case "ack":
        if (outcome.started) {
          this.#options.logger.info(
            fields,
            `receiving a snapshot of ${chunk.id.totalBytes} bytes from peer ${peer}`,
          );
        }
        return encodeEnvelope({
          kind: "snapshot-ack",
          ack: { id: chunk.id, nextOffset: outcome.nextOffset },
        });
      case "refuse": {
        // The chunks already in flight of a refused transfer are refused too, but logged once.
        const previous = this.#lastRefused.get(peer);
        if (previous === undefined || !sameTransfer(previous, chunk.id)) {
          this.#options.logger.warn(
            { ...fields, reason: outcome.reason },
            `refused a snapshot from peer ${peer}: ${outcome.reason}`,
          );
        }
        this.#lastRefused.set(peer, chunk.id);
        return encodeEnvelope({
          kind: "snapshot-refusal",
          refusal: { id: chunk.id, reason: outcome.reason },
        });
      }
      case "complete": {
        this.#options.logger.info(
          fields,
          `received a snapshot of ${chunk.id.totalBytes} bytes from peer ${peer}`,
        );
        const ack = encodeEnvelope({
          kind: "snapshot-ack",
          ack: { id: chunk.id, nextOffset: chunk.id.totalBytes },
        });
        this.#deliver(peer, this.#snapshotMessage(peer, chunk.id, outcome.data, chunk.membership));
        return ack;
      }
      default:
        return unreachable(outcome);
    }
  }

  /** The InstallSnapshot a transfer from `peer` stands for, carrying `data`. */
  #snapshotMessage(
    peer: NodeId,
    id: SnapshotTransferId,
    data: Uint8Array,
    membership?: Uint8Array,
  ): InstallSnapshot {
    return {
      type: "InstallSnapshot",
      from: peer,
      to: this.#options.nodeId,
      term: id.term,
      lastIncludedIndex: id.lastIncludedIndex,
      lastIncludedTerm: id.lastIncludedTerm,
      data,
      ...(membership === undefined ? {} : { membership }),
    };
  }

  /** (Re)starts the clock after which a partial transfer from `peer` with no new chunks is dropped. */
  #armPartialTimer(peer: NodeId, assembler: SnapshotAssembler): void {
    clearTimeout(this.#partialTimers.get(peer));
    this.#partialTimers.delete(peer);
    if (assembler.heldBytes === 0 || this.#closed) return;
    const keepMs = PARTIAL_SNAPSHOT_KEEP_TIMEOUTS * this.#options.snapshotTransferTimeoutMs;
    const timer = setTimeout(() => {
      this.#partialTimers.delete(peer);
      const dropped = assembler.discard();
      this.#options.logger.info(
        { peer, bytes: dropped },
        `dropped a partial snapshot from peer ${peer} (${dropped} bytes) after ${keepMs} ms without chunks`,
      );
    }, keepMs);
    timer.unref();
    this.#partialTimers.set(peer, timer);
  }
}

/** Fills in defaults and checks the options; throws a RangeError naming the first bad one. */
function resolveOptions(options: TcpTransportOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    clusterId: options.clusterId,
    nodeId: options.nodeId,
    listen: options.listen,
    peers: options.peers,
    onMessage: options.onMessage,
    logger: options.logger ?? SILENT_LOGGER,
    frameBytesMax: options.frameBytesMax ?? TCP_TRANSPORT_DEFAULTS.frameBytesMax,
    outboundQueueBytesMax: options.outboundQueueBytesMax ?? TCP_TRANSPORT_DEFAULTS.outboundQueueBytesMax,
    outboundQueueMessagesMax:
      options.outboundQueueMessagesMax ?? TCP_TRANSPORT_DEFAULTS.outboundQueueMessagesMax,
    reconnectDelayMs: checkDelayRange(options.reconnectDelayMs ?? TCP_TRANSPORT_DEFAULTS.reconnectDelayMs),
    snapshotChunkBytes: options.snapshotChunkBytes ?? TCP_TRANSPORT_DEFAULTS.snapshotChunkBytes,
    snapshotTransferTimeoutMs:
      options.snapshotTransferTimeoutMs ?? TCP_TRANSPORT_DEFAULTS.snapshotTransferTimeoutMs,
    snapshotInstallTimeoutMs:
      options.snapshotInstallTimeoutMs ?? TCP_TRANSPORT_DEFAULTS.snapshotInstallTimeoutMs,
    snapshotBytesMax: options.snapshotBytesMax ?? TCP_TRANSPORT_DEFAULTS.snapshotBytesMax,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? TCP_TRANSPORT_DEFAULTS.handshakeTimeoutMs,
  };
  const positive: Array<[string, number]> = [
    ["frameBytesMax", resolved.frameBytesMax],
    ["outboundQueueBytesMax", resolved.outboundQueueBytesMax],
    ["outboundQueueMessagesMax", resolved.outboundQueueMessagesMax],
    ["snapshotChunkBytes", resolved.snapshotChunkBytes],
    ["snapshotTransferTimeoutMs", resolved.snapshotTransferTimeoutMs],
    ["snapshotInstallTimeoutMs", resolved.snapshotInstallTimeoutMs],
    ["snapshotBytesMax", resolved.snapshotBytesMax],
    ["handshakeTimeoutMs", resolved.handshakeTimeoutMs],
  ];
  for (const [name, value] of positive) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new RangeError(`TcpTransport: ${name} must be a positive integer, got ${value}`);
  }
  if (resolved.frameBytesMax > FRAME_PAYLOAD_BYTES_LIMIT) {
    throw new RangeError(`TcpTransport: frameBytesMax must be at most ${FRAME_PAYLOAD_BYTES_LIMIT}`);
  }
  if (resolved.snapshotChunkBytes + SNAPSHOT_CHUNK_FRAME_OVERHEAD_BYTES > resolved.frameBytesMax) {
    throw new RangeError(
      `TcpTransport: snapshotChunkBytes ${resolved.snapshotChunkBytes} plus ${SNAPSHOT_CHUNK_FRAME_OVERHEAD_BYTES} bytes of framing must fit in frameBytesMax ${resolved.frameBytesMax}`,
    );
  }
  if (resolved.clusterId.length === 0 || resolved.clusterId.length > CLUSTER_ID_CHARS_MAX) {
    throw new RangeError(`TcpTransport: clusterId must have 1 to ${CLUSTER_ID_CHARS_MAX} characters`);
  }
  if (resolved.peers.has(resolved.nodeId)) {
    throw new RangeError(`TcpTransport: peers must not include this node (${resolved.nodeId})`);
  }
  return resolved;
}

function linkSettings(options: ResolvedOptions, raw: TcpTransportOptions): LinkSettings {
  return {
    clusterId: options.clusterId,
    nodeId: options.nodeId,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    reconnectDelayMs: options.reconnectDelayMs,
    queueMessagesMax: options.outboundQueueMessagesMax,
    queueBytesMax: options.outboundQueueBytesMax,
    snapshotChunkBytes: options.snapshotChunkBytes,
    snapshotChunksInFlightMax: SNAPSHOT_CHUNKS_IN_FLIGHT_MAX,
    snapshotTransferTimeoutMs: options.snapshotTransferTimeoutMs,
    snapshotInstallTimeoutMs: options.snapshotInstallTimeoutMs,
    logger: options.logger,
    hooks: raw.testHooks ?? {},
  };
}
