import type { Message, NodeId } from "../../core/index.ts";
import type { DelayRange } from "./backoff.ts";

/** Where the transport writes what happens to its connections (a pino logger fits). Never one line per message. */
export interface TransportLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  debug?(fields: object, message: string): void;
}

/** A TCP endpoint. */
export interface PeerAddress {
  readonly host: string;
  /** 0 when listening means "any free port". */
  readonly port: number;
}

/** Hooks for tests to observe or steer what is otherwise random or too fast to watch. */
export interface TransportTestHooks {
  /** The jitter source for reconnect delays, returning [0, 1); `() => 1` makes every delay its base value. */
  readonly random?: () => number;
  /** Called each time a reconnect to `peer` is scheduled, with its delay in milliseconds. */
  readonly onReconnectScheduled?: (peer: NodeId, delayMs: number) => void;
  /** Called on the sending side each time `peer` acknowledges snapshot bytes (before more are sent). */
  readonly onSnapshotAck?: (peer: NodeId, ackedOffset: number, totalBytes: number) => void;
}

/** Configuration of a {@link TcpTransport}. Sizes are in bytes, durations in milliseconds. */
export interface TcpTransportOptions {
  /** Every member of a cluster uses the same id; connections from another cluster are refused. */
  readonly clusterId: string;
  readonly nodeId: NodeId;
  /** Where to listen; port 0 picks any free port (see the address `start()` resolves with). */
  readonly listen: PeerAddress;
  /** Every other member of the cluster (never this node). */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** Called once for each valid inbound message addressed to `nodeId`. */
  readonly onMessage: (message: Message) => void;
  readonly logger?: TransportLogger;
  /** Largest frame payload sent or accepted (default 16 MiB); a larger inbound frame closes its connection. */
  readonly frameBytesMax?: number;
  /** Bytes of encoded messages queued per peer, at most (default 32 MiB); beyond it messages are dropped. */
  readonly outboundQueueBytesMax?: number;
  /** Messages queued per peer, at most (default 10,000); beyond it messages are dropped. */
  readonly outboundQueueMessagesMax?: number;
  /** Reconnect delays: capped exponential backoff with jitter (default 100 ms to 5 s). */
  readonly reconnectDelayMs?: DelayRange;
  /** An InstallSnapshot with more data than this is streamed in chunks of this size (default 1 MiB). */
  readonly snapshotChunkBytes?: number;
  /** A snapshot transfer whose acknowledged offset has not moved for this long is abandoned (default 30 s). */
  readonly snapshotTransferTimeoutMs?: number;
  /**
   * After the last chunk is acknowledged, how long re-sends of the same snapshot are absorbed while the
   * receiver installs it, unless its InstallSnapshotReply comes first (default 10 s).
   */
  readonly snapshotInstallTimeoutMs?: number;
  /** Largest snapshot this node accepts from a peer (default 1 GiB); the sender of a larger one is told no. */
  readonly snapshotBytesMax?: number;
  /** A connection must complete its handshake within this time (default 5 s). */
  readonly handshakeTimeoutMs?: number;
  readonly testHooks?: TransportTestHooks;
}

/** Counters and state of the transport's traffic with one peer. */
export interface PeerTransportStats {
  readonly peer: NodeId;
  readonly address: PeerAddress;
  /** Our outbound connection to the peer has completed its handshake. */
  readonly connected: boolean;
  /** The peer's connection to us has completed its handshake. */
  readonly inboundConnected: boolean;
  /** Messages and bytes waiting in the outbound queue. */
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  /** Bytes handed to the socket and not yet written to the kernel (bounded by backpressure). */
  readonly socketBufferedBytes: number;
  /** Messages written to the socket. */
  readonly sentMessages: number;
  /** Messages dropped: the queue was full, the message was too large, or it could not be encoded. */
  readonly droppedMessages: number;
  /** Reconnect attempts scheduled (after a failed dial, a refusal, or a lost connection). */
  readonly reconnects: number;
  /** Bytes read from and written to this peer's sockets, both directions' connections. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Valid messages from this peer passed to onMessage (a reassembled snapshot counts once). */
  readonly receivedMessages: number;
  /** Messages from this peer dropped because they named the wrong sender or recipient. */
  readonly rejectedMessages: number;
  readonly snapshots: SnapshotTransferStats;
}

/** Chunked snapshot transfers to one peer. */
export interface SnapshotTransferStats {
  readonly started: number;
  /** Times a transfer continued on a new connection from a non-zero acknowledged offset. */
  readonly resumed: number;
  readonly completed: number;
  /** Re-sends by the core of a snapshot already in transfer (or delivered and being installed). */
  readonly absorbed: number;
  readonly abandoned: number;
  /** Transfers the receiver refused (too large, bad checksum). */
  readonly refused: number;
  /** Snapshot bytes written in chunks, resends included. */
  readonly bytesSent: number;
  /** Snapshot bytes received from this peer in chunks (stored or not). */
  readonly bytesReceived: number;
}

/** A snapshot of the transport's state, for metrics and tests. */
export interface TransportStats {
  readonly nodeId: NodeId;
  /** The listening address, once started. */
  readonly listening: PeerAddress | undefined;
  /** Inbound connections refused in the handshake or closed for a malformed stream before it. */
  readonly refusedConnections: number;
  /** Messages dropped because they were addressed to a node that is not a peer. */
  readonly unknownPeerDrops: number;
  readonly peers: readonly PeerTransportStats[];
}

/** The mutable counters behind {@link PeerTransportStats}, shared by a peer's outbound and inbound sides. */
export interface PeerCounters {
  sentMessages: number;
  droppedMessages: number;
  reconnects: number;
  bytesIn: number;
  bytesOut: number;
  receivedMessages: number;
  rejectedMessages: number;
  snapshots: { -readonly [K in keyof SnapshotTransferStats]: number };
}

/** Fresh zeroed counters. */
export function newPeerCounters(): PeerCounters {
  return {
    sentMessages: 0,
    droppedMessages: 0,
    reconnects: 0,
    bytesIn: 0,
    bytesOut: 0,
    receivedMessages: 0,
    rejectedMessages: 0,
    snapshots: {
      started: 0,
      resumed: 0,
      completed: 0,
      absorbed: 0,
      abandoned: 0,
      refused: 0,
      bytesSent: 0,
      bytesReceived: 0,
    },
  };
}

/** A logger that discards everything (the default). */
export const SILENT_LOGGER: TransportLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};
