/** The TCP transport between real Raft nodes: see tcp-transport.ts for the design, envelope.ts for the wire. */
export { type DelayRange, reconnectDelayMs } from "./backoff.ts";
export {
  encodeEnvelope,
  FRAME_KIND,
  type Frame,
  type Hello,
  PROTOCOL_VERSION,
  parseFrame,
  type SnapshotTransferId,
  type Welcome,
} from "./envelope.ts";
export {
  encodeFrame,
  type FrameDecodeResult,
  FrameDecoder,
  type FrameDecoderOptions,
} from "./frame-decoder.ts";
export { HANDSHAKE_FRAME_BYTES_MAX } from "./inbound-connection.ts";
export {
  SNAPSHOT_CHUNKS_IN_FLIGHT_MAX,
  TCP_TRANSPORT_DEFAULTS,
  TcpTransport,
  UNIDENTIFIED_CONNECTIONS_MAX,
} from "./tcp-transport.ts";
export type {
  PeerAddress,
  PeerTransportStats,
  SnapshotTransferStats,
  TcpTransportOptions,
  TransportLogger,
  TransportStats,
  TransportTestHooks,
} from "./types.ts";
