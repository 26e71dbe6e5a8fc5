/**
 * Shared pieces of the transport tests: a logger that records, bounded polling, clusters of transports on
 * 127.0.0.1 with ephemeral ports, and raw sockets that speak (or break) the protocol.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { asNodeId, type Message, type NodeId } from "../../../src/core/index.ts";
import {
  encodeEnvelope,
  type Frame,
  FrameDecoder,
  type PeerAddress,
  type PeerTransportStats,
  PROTOCOL_VERSION,
  parseFrame,
  TcpTransport,
  type TcpTransportOptions,
  type TransportLogger,
} from "../../../src/drivers/transport/index.ts";

/** The host every test listens on. */
export const LOCALHOST = "127.0.0.1";

/** The longest any test waits for something to happen on loopback before failing, in ms. */
export const WAIT_MS_MAX = 10_000;

/** How often {@link waitFor} looks again, in ms. */
const POLL_MS = 5;

/** One recorded log line. */
export interface LogLine {
  readonly level: "info" | "warn" | "error" | "debug";
  readonly fields: object;
  readonly message: string;
}

/** A {@link TransportLogger} that keeps every line for assertions (set TSRAFT_TEST_LOG=1 to print them too). */
export class RecordingLogger implements TransportLogger {
  readonly lines: LogLine[] = [];
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  info(fields: object, message: string): void {
    this.#record("info", fields, message);
  }
  warn(fields: object, message: string): void {
    this.#record("warn", fields, message);
  }
  error(fields: object, message: string): void {
    this.#record("error", fields, message);
  }
  debug(fields: object, message: string): void {
    this.#record("debug", fields, message);
  }

  /** Lines of `level` whose message matches `pattern`. */
  matching(level: LogLine["level"], pattern: RegExp): LogLine[] {
    return this.lines.filter((line) => line.level === level && pattern.test(line.message));
  }

  #record(level: LogLine["level"], fields: object, message: string): void {
    this.lines.push({ level, fields, message });
    if (process.env.TSRAFT_TEST_LOG === "1") console.log(`[${this.#name}] ${level}: ${message}`);
  }
}

/** Polls `condition` until it holds; fails with `what` after {@link WAIT_MS_MAX}. */
export async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = WAIT_MS_MAX,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago), for links not yet pointed anywhere. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

/** One node of a test cluster: its transport, what it received, and its log. */
export interface TestNode {
  readonly id: NodeId;
  readonly transport: TcpTransport;
  readonly received: Message[];
  readonly logger: RecordingLogger;
  address: PeerAddress;
}

/** Per-node option overrides for {@link startCluster}. */
export type NodeOverrides = Partial<Omit<TcpTransportOptions, "nodeId" | "peers" | "onMessage" | "logger">>;

/**
 * Starts one transport per id on 127.0.0.1 (ephemeral ports), all peers of each other in cluster "test",
 * and waits until every node's outbound connection to every other node is up.
 */
export async function startCluster(
  ids: readonly number[],
  overrides: (id: NodeId) => NodeOverrides = () => ({}),
): Promise<TestNode[]> {
  const placeholder = { host: LOCALHOST, port: await deadPort() };
  const nodes: TestNode[] = [];
  for (const raw of ids) {
    const id = asNodeId(raw);
    const received: Message[] = [];
    const logger = new RecordingLogger(`node ${id}`);
    const peers = new Map(
      ids.filter((other) => other !== raw).map((other) => [asNodeId(other), placeholder]),
    );
    const transport = new TcpTransport({
      clusterId: "test",
      nodeId: id,
      listen: { host: LOCALHOST, port: 0 },
      peers,
      onMessage: (message) => received.push(message),
      logger,
      reconnectDelayMs: { min: 5, max: 50 },
      ...overrides(id),
    });
    nodes.push({ id, transport, received, logger, address: await transport.start() });
  }
  for (const node of nodes) {
    for (const other of nodes) if (other !== node) node.transport.setPeerAddress(other.id, other.address);
  }
  await waitFor("every link to connect", () =>
    nodes.every((node) => node.transport.stats().peers.every((peer) => peer.connected)),
  );
  return nodes;
}

/** Closes every node. */
export async function closeAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.close()));
}

/** The stats of `node`'s traffic with `peer`. */
export function peerStats(transport: TcpTransport, peer: number): PeerTransportStats {
  const stats = transport.stats().peers.find((entry) => entry.peer === peer);
  if (stats === undefined) throw new Error(`no peer ${peer}`);
  return stats;
}

/** A raw client socket connected to `address`, recording the frames and the close it gets. */
export interface RawClient {
  readonly socket: Socket;
  readonly frames: Frame[];
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

/** Connects a raw socket to a transport's port. */
export async function rawClient(address: PeerAddress): Promise<RawClient> {
  const socket = connect({ host: address.host, port: address.port });
  const frames: Frame[] = [];
  const decoder = new FrameDecoder({ frameBytesMax: 1 << 20 });
  let closed = false;
  socket.on("data", (chunk: Buffer) => {
    for (const payload of decoder.feed(chunk).frames) {
      const parsed = parseFrame(payload);
      if (parsed.ok) frames.push(parsed.frame);
    }
  });
  socket.on("error", () => {});
  const closedPromise = new Promise<void>((resolve) =>
    socket.on("close", () => {
      closed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, frames, closed: closedPromise, isClosed: () => closed };
}

/** A hello frame as node `from` of cluster "test" would send it to node `to`. */
export function helloFrame(
  from: number,
  to: number,
  clusterId = "test",
  version = PROTOCOL_VERSION,
): Uint8Array {
  return encodeEnvelope({
    kind: "hello",
    hello: { version, clusterId, from: asNodeId(from), to: asNodeId(to) },
  });
}

/**
 * A raw server standing in for node 2 of cluster "test": it accepts connections paused (reading nothing)
 * and answers each with a welcome, so the dialler believes the handshake succeeded and starts writing.
 */
export interface SilentPeer {
  readonly server: Server;
  readonly address: PeerAddress;
  readonly sockets: Socket[];
  close(): Promise<void>;
}

export async function silentPeer(): Promise<SilentPeer> {
  const sockets: Socket[] = [];
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    socket.write(
      encodeEnvelope({
        kind: "welcome",
        welcome: { version: PROTOCOL_VERSION, clusterId: "test", from: asNodeId(2) },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  const bound = server.address();
  if (typeof bound !== "object" || bound === null) throw new Error("no port");
  return {
    server,
    address: { host: LOCALHOST, port: bound.port },
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
