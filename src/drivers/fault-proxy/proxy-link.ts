import { connect, createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { checkLinkPolicy, type LinkPolicy, PASS } from "./link-policy.ts";

/**
 * One directed link of the fault proxy: a TCP listener that node i dials instead of node j, forwarding each
 * connection to node j's real peer address under the link's {@link LinkPolicy}. The policy applies to both
 * directions of a connection: node i's messages to j go one way, and only the handshake reply and snapshot
 * chunk acknowledgements come back, which are part of the same conversation and are cut off with it.
 */

/** A host and port. */
export interface LinkAddress {
  readonly host: string;
  readonly port: number;
}

export interface ProxyLinkOptions {
  /** Where to listen; port 0 lets the kernel choose (see {@link ProxyLink.address}). */
  readonly listen: LinkAddress;
  /** Where to forward connections. */
  readonly target: LinkAddress;
  /** Uniform numbers in [0, 1) for jitter and cuts; a seeded source keeps the choices reproducible. */
  readonly random: () => number;
}

/** Counters of one link since it started. */
export interface ProxyLinkStats {
  /** Connections accepted from the dialling node. */
  readonly connectionsAccepted: number;
  /** Connections reset because the link refused them or the target could not be reached. */
  readonly connectionsRefused: number;
  /** Connections reset by a random cut (`cutProbability`). */
  readonly connectionsCut: number;
  /** Bytes written on, in either direction. */
  readonly bytesForwarded: number;
  /** Bytes read and thrown away (blackholed, or in flight when the connection was cut or blocked). */
  readonly bytesDiscarded: number;
}

/**
 * Bytes one direction of a connection may hold back (delayed, or waiting for the destination to drain)
 * before the proxy stops reading from the source: TCP backpressure then reaches the sender, as it would on
 * a slow network, instead of the proxy buffering without bound.
 */
export const HELD_BYTES_MAX = 4 * 1024 * 1024;

interface MutableStats {
  connectionsAccepted: number;
  connectionsRefused: number;
  connectionsCut: number;
  bytesForwarded: number;
  bytesDiscarded: number;
}

export class ProxyLink {
  readonly #options: ProxyLinkOptions;
  readonly #server: Server;
  readonly #connections = new Set<ProxiedConnection>();
  readonly #stats: MutableStats = {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    connectionsCut: 0,
    bytesForwarded: 0,
    bytesDiscarded: 0,
  };
  #policy: LinkPolicy = PASS;
  #address: LinkAddress | null = null;
  #closed = false;

  constructor(options: ProxyLinkOptions) {
    this.#options = options;
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<LinkAddress> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#options.listen.port, this.#options.listen.host, () => {
        this.#server.off("error", reject);
        const bound = this.#server.address();
        const port = typeof bound === "object" && bound !== null ? bound.port : this.#options.listen.port;
        this.#address = { host: this.#options.listen.host, port };
        resolve(this.#address);
      });
    });
  }

  /** The address the link listens on (after {@link listen}). */
  get address(): LinkAddress {
    if (this.#address === null) throw new Error("ProxyLink.address: the link is not listening yet");
    return this.#address;
  }

  get policy(): LinkPolicy {
    return this.#policy;
  }

  /**
   * Changes the policy. Blocking takes effect on live connections at once: `refuse` resets them, `blackhole`
   * starts discarding on them (and drops what they held back). Unblocking resets the blackholed ones so their
   * senders redial with a clean stream.
   */
  setPolicy(policy: LinkPolicy): void {
    checkLinkPolicy(policy);
    this.#policy = policy;
    for (const connection of [...this.#connections]) {
      if (policy.block === "refuse") {
        this.#stats.connectionsRefused++;
        connection.reset();
      } else if (policy.block === "blackhole") connection.blackhole();
      else if (connection.blackholed) connection.reset();
    }
  }

  stats(): ProxyLinkStats {
    return { ...this.#stats };
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Stops listening and resets every connection. */
  close(): Promise<void> {
    this.#closed = true;
    for (const connection of [...this.#connections]) connection.reset();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    this.#stats.connectionsAccepted++;
    if (this.#policy.block === "refuse") {
      this.#stats.connectionsRefused++;
      client.resetAndDestroy();
      return;
    }
    const connection = new ProxiedConnection(client, this.#options.target, {
      policy: () => this.#policy,
      random: this.#options.random,
      stats: this.#stats,
      onClosed: () => this.#connections.delete(connection),
    });
    this.#connections.add(connection);
    if (this.#policy.block === "blackhole") connection.blackhole();
    else connection.dial();
  }
}

/** What a connection needs from its link. */
interface ConnectionHost {
  readonly policy: () => LinkPolicy;
  readonly random: () => number;
  readonly stats: MutableStats;
  readonly onClosed: () => void;
}

/** One accepted connection and the connection the proxy dialled for it. */
class ProxiedConnection {
  readonly #client: Socket;
  readonly #target: LinkAddress;
  readonly #host: ConnectionHost;
  #upstream: Socket | null = null;
  #pipes: Pipe[] = [];
  #blackholed = false;
  #closed = false;

  constructor(client: Socket, target: LinkAddress, host: ConnectionHost) {
    this.#client = client;
    this.#target = target;
    this.#host = host;
    client.on("error", () => this.reset());
    client.on("close", () => this.reset());
    // Until the upstream is dialled (or forever, when blackholed from the start) the client's bytes are read
    // and discarded here; once dialled, the pipe takes over.
    client.on("data", (chunk: Buffer) => {
      if (this.#upstream === null) this.#discard(chunk.length);
    });
  }

  get blackholed(): boolean {
    return this.#blackholed;
  }

  /** Dials the target and starts forwarding both ways. */
  dial(): void {
    if (this.#closed || this.#upstream !== null) return;
    const upstream = connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: true });
    this.#upstream = upstream;
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
    });
    upstream.on("error", () => {
      // A target that is down (killed) refuses: the dialling node sees a reset, as it would without us.
      if (!connected) this.#host.stats.connectionsRefused++;
      this.reset();
    });
    upstream.on("close", () => this.reset());
    this.#client.removeAllListeners("data");
    this.#pipes = [
      new Pipe(this.#client, upstream, this, this.#host),
      new Pipe(upstream, this.#client, this, this.#host),
    ];
  }

  /** Starts discarding everything in both directions, including what was held back. */
  blackhole(): void {
    if (this.#closed) return;
    this.#blackholed = true;
    for (const pipe of this.#pipes) pipe.dropHeld();
  }

  /** Resets both sockets (the peers see ECONNRESET) and forgets the connection. Idempotent. */
  reset(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pipe of this.#pipes) pipe.dropHeld();
    resetQuietly(this.#client);
    if (this.#upstream !== null) resetQuietly(this.#upstream);
    this.#host.onClosed();
  }

  /** A random cut: counted, then reset. */
  cut(): void {
    if (this.#closed) return;
    this.#host.stats.connectionsCut++;
    this.reset();
  }

  #discard(bytes: number): void {
    this.#host.stats.bytesDiscarded += bytes;
  }
}

/** A chunk held back until `due` (a performance.now() time). */
interface HeldChunk {
  readonly due: number;
  readonly bytes: Buffer;
}

/** One direction of a proxied connection: reads the source, applies the policy, writes the destination. */
class Pipe {
  readonly #source: Socket;
  readonly #destination: Socket;
  readonly #connection: ProxiedConnection;
  readonly #host: ConnectionHost;
  #held: HeldChunk[] = [];
  #heldBytes = 0;
  #lastDue = 0;
  #timer: NodeJS.Timeout | undefined;
  #sourceEnded = false;
  #waitingForDrain = false;

  constructor(source: Socket, destination: Socket, connection: ProxiedConnection, host: ConnectionHost) {
    this.#source = source;
    this.#destination = destination;
    this.#connection = connection;
    this.#host = host;
    source.on("data", (chunk: Buffer) => this.#onData(chunk));
    source.on("end", () => {
      this.#sourceEnded = true;
      this.#flush();
    });
    destination.on("drain", () => {
      this.#waitingForDrain = false;
      this.#flush();
    });
  }

  /** Throws away everything held back (the connection is being cut or blackholed). */
  dropHeld(): void {
    this.#host.stats.bytesDiscarded += this.#heldBytes;
    this.#held = [];
    this.#heldBytes = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onData(chunk: Buffer): void {
    const policy = this.#host.policy();
    if (this.#connection.blackholed || policy.block === "blackhole") {
      this.#host.stats.bytesDiscarded += chunk.length;
      this.#connection.blackhole();
      return;
    }
    if (policy.block === "refuse") {
      this.#host.stats.bytesDiscarded += chunk.length;
      this.#host.stats.connectionsRefused++;
      this.#connection.reset();
      return;
    }
    if (policy.cutProbability > 0 && this.#host.random() < policy.cutProbability) {
      this.#host.stats.bytesDiscarded += chunk.length;
      this.#connection.cut();
      return;
    }
    const hold = policy.delayMs + (policy.jitterMs > 0 ? this.#host.random() * policy.jitterMs : 0);
    // In order: a chunk is never due before the one ahead of it.
    const due = Math.max(performance.now() + hold, this.#lastDue);
    this.#lastDue = due;
    this.#held.push({ due, bytes: chunk });
    this.#heldBytes += chunk.length;
    if (this.#heldBytes > HELD_BYTES_MAX) this.#source.pause();
    this.#flush();
  }

  /** Writes every chunk that is due, then arms a timer for the next one; ends the destination when done. */
  #flush(): void {
    if (this.#waitingForDrain) return;
    const now = performance.now();
    // Bounded by the chunks held; each pass removes one.
    for (let head = this.#held[0]; head !== undefined && head.due <= now; head = this.#held[0]) {
      this.#held.shift();
      this.#heldBytes -= head.bytes.length;
      this.#host.stats.bytesForwarded += head.bytes.length;
      if (!this.#destination.write(head.bytes)) {
        this.#waitingForDrain = true;
        this.#source.pause();
        return;
      }
    }
    if (this.#heldBytes <= HELD_BYTES_MAX / 2 && !this.#source.destroyed) this.#source.resume();
    const next = this.#held[0];
    if (next !== undefined) {
      if (this.#timer === undefined) {
        this.#timer = setTimeout(
          () => {
            this.#timer = undefined;
            this.#flush();
          },
          Math.max(0, next.due - now),
        );
      }
      return;
    }
    if (this.#sourceEnded && !this.#destination.destroyed) this.#destination.end();
  }
}

function resetQuietly(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    // resetAndDestroy throws on a socket that is not connected yet; plain destroy ends it all the same.
    socket.destroy();
  }
}
