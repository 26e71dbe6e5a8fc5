import { randomInt } from "node:crypto";
import type { Logger } from "pino";
import { asNodeId, type NodeId, type SoftState } from "../../core/index.ts";
import type { MemberAddresses } from "../../kv/command.ts";
import { KvService } from "../../kv/kv-service.ts";
import { Random } from "../../util/random.ts";
import { KvHttpServer } from "../http/kv-http-server.ts";
import { type DiskLog, openDiskLog } from "../storage/index.ts";
import { SystemClock } from "../system-clock.ts";
import { TcpTransport } from "../transport/index.ts";
import { formatHostPort, type HostPort, hostPort, type NodeConfig } from "./node-config.ts";

/**
 * One real node: the key-value service on a Raft peer, with the on-disk log as its storage, TCP between
 * peers, the system clock, and the HTTP API in front. Everything here is assembly and lifecycle; the
 * behaviour lives in the layers it wires together, the same ones the simulator runs.
 */

/**
 * Reconnect backoff between peers: a restarted node should hear from its leader within about a second, so
 * the cap is well under an election timeout's worth of seconds, yet a dead peer costs only a dial a second.
 */
const RECONNECT_DELAY_MS = { min: 50, max: 1000 } as const;

/** WAL segment size: preallocated, so a three-node local cluster starts with 48 MiB of log, not 192. */
const SEGMENT_BYTES = 16 * 1024 * 1024;

/** Where a started node listens. */
export interface NodeAddresses {
  readonly peer: HostPort;
  readonly http: HostPort | null;
}

export class KvNode {
  readonly config: NodeConfig;
  readonly #logger: Logger;
  readonly #clock = new SystemClock();
  #disk: DiskLog | null = null;
  #transport: TcpTransport | null = null;
  #service: KvService | null = null;
  #http: KvHttpServer | null = null;
  #stopping: Promise<void> | null = null;
  #lastSoftState: SoftState | null = null;
  /** Every member's API address: from the config, then from the replicated address book. */
  readonly #apiAddresses = new Map<NodeId, string>();
  /** Every member's peer address: from the config, then from the replicated address book. */
  readonly #peerAddresses = new Map<NodeId, string>();
  /** Resolves when the node has stopped, with the error that stopped it (undefined for a clean stop). */
  readonly stopped: Promise<Error | undefined>;
  #resolveStopped: (error: Error | undefined) => void = () => {};

  constructor(config: NodeConfig, logger: Logger) {
    this.config = config;
    this.#logger = logger;
    for (const [id, address] of config.httpPeers) this.#apiAddresses.set(id, formatHostPort(address));
    for (const [id, address] of config.peers) this.#peerAddresses.set(id, formatHostPort(address));
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** The service, once started (tests and the CLI look at its status). */
  get service(): KvService | null {
    return this.#service;
  }

  /** Opens the log (recovering it), starts the transport, the peer and the API. Throws if any of them fails. */
  async start(): Promise<NodeAddresses> {
    const { config } = this;
    const log = this.#logger;
    const disk = await openDiskLog({
      dir: config.dataDir,
      segmentBytes: SEGMENT_BYTES,
      logger: log.child({ component: "storage" }),
      // UNSAFE calibration switches (node-config.ts); both false unless `--unsafe-debug` allowed them.
      unsafe: {
        acknowledgeBeforeSync: config.unsafe?.ackBeforeSync === true,
        volatileWrites: config.unsafe?.volatileWrites === true,
      },
    });
    this.#disk = disk;
    const recovered = disk.initialState;
    log.info(
      {
        event: "recovered",
        term: recovered.hardState.term,
        vote: recovered.hardState.vote,
        commit: recovered.hardState.commit,
        snapshotIndex: recovered.snapshot?.meta.index ?? 0,
        entries: recovered.entries.length,
      },
      "storage recovered",
    );
    const self = config.peers.get(config.id);
    if (self === undefined) throw new Error(`node ${config.id} has no peer address`);
    const others = new Map([...config.peers].filter(([id]) => id !== config.id));
    const transport = new TcpTransport({
      clusterId: config.clusterId,
      nodeId: config.id,
      listen: self,
      peers: others,
      onMessage: (message) => this.#service?.peer.receive(message),
      logger: log.child({ component: "transport" }),
      reconnectDelayMs: RECONNECT_DELAY_MS,
    });
    this.#transport = transport;
    const peerAddress = await transport.start();

    const service = new KvService({
      peer: {
        raft: {
          id: config.id,
          // A joining node starts with no configuration: the leader's log makes it a member (thesis §4).
          voters: config.join ? [] : [...config.peers.keys()],
          electionTicks: config.electionTicks,
          heartbeatTicks: config.heartbeatTicks,
          random: new Random(randomInt(0x7fff_ffff)),
          initialState: recovered,
          // A rejoining or flapping node must not depose a healthy leader, and a leader cut off from its
          // majority must step down rather than hold on to clients (thesis §9.6, §6.2).
          preVote: true,
          checkQuorum: true,
          leaseReads: config.leaseReads,
        },
        clock: this.#clock,
        tickMs: config.tickMs,
        transport,
        storage: disk,
        onSoftState: (state) => this.#onSoftState(state),
        onFatal: (error) => {
          log.fatal({ event: "fatal", err: error }, `node stopping: ${(error as Error).message ?? error}`);
          void this.stop(error instanceof Error ? error : new Error(String(error)));
        },
      },
      snapshotThresholdBytes: config.snapshotThresholdBytes,
      requestTimeoutMs: config.requestTimeoutMs,
      timestampMs: () => Date.now(),
      onMembers: (members) => this.#learnAddresses(members),
      onSnapshot: (index, bytes) =>
        log.info({ event: "snapshot", index, bytes }, `snapshot taken at index ${index}`),
      onSnapshotInstalled: (index, bytes) =>
        log.info(
          { event: "snapshot-installed", index, bytes },
          `installed the leader's snapshot at index ${index}`,
        ),
    });
    this.#service = service;

    let httpAddress: HostPort | null = null;
    if (config.http !== null) {
      this.#apiAddresses.set(config.id, formatHostPort(config.http));
      const http = new KvHttpServer({
        service,
        listen: config.http,
        apiAddresses: this.#apiAddresses,
        peerAddresses: this.#peerAddresses,
        onError: (error) => log.error({ event: "http-error", err: error }, "request handler failed"),
        unsafeLocalReads: config.unsafe?.localReads === true,
      });
      this.#http = http;
      httpAddress = await http.listen();
    }
    service.start();
    return { peer: peerAddress, http: httpAddress };
  }

  /**
   * Stops the node: the peer first (no new work; a write in progress finishes), then the log (waits for
   * in-flight syncs), then the network and the API. Safe to call more than once.
   */
  stop(cause?: Error): Promise<void> {
    if (this.#stopping !== null) return this.#stopping;
    this.#stopping = (async () => {
      this.#service?.stop();
      try {
        await this.#disk?.close();
      } catch (error) {
        this.#logger.error({ event: "storage-close-failed", err: error }, "closing the log failed");
      }
      await this.#transport?.close();
      await this.#http?.close();
      this.#clock.clearAll();
      this.#logger.info({ event: "stopped", cause: cause?.message }, "node stopped");
      this.#resolveStopped(cause);
    })();
    return this.#stopping;
  }

  /**
   * Takes in the replicated member address book (thesis §4: how members added since the start are reached):
   * new peers are dialled, API addresses are used for redirects and /v1/status. A peer this node's own
   * `--peers` names keeps that address: the operator said how this node reaches it (through a proxy or a
   * private network, say), which one replicated address cannot say for every node.
   */
  #learnAddresses(members: ReadonlyMap<number, MemberAddresses>): void {
    for (const [node, { peerAddress, apiAddress }] of members) {
      const id = asNodeId(node);
      if (this.config.peers.has(id)) {
        if (apiAddress !== null && !this.config.httpPeers.has(id)) this.#apiAddresses.set(id, apiAddress);
        continue;
      }
      if (id !== this.config.id) {
        try {
          this.#transport?.setPeerAddress(id, hostPort(peerAddress, `peer address of node ${id}`));
        } catch (error) {
          this.#logger.warn({ event: "bad-member-address", node, peerAddress }, (error as Error).message);
          continue;
        }
      }
      if (this.#peerAddresses.get(id) !== peerAddress) {
        this.#logger.info(
          { event: "member-address", node, peerAddress, apiAddress },
          `member ${node} at ${peerAddress}`,
        );
      }
      this.#peerAddresses.set(id, peerAddress);
      if (apiAddress !== null) this.#apiAddresses.set(id, apiAddress);
    }
  }

  #onSoftState(state: SoftState): void {
    const previous = this.#lastSoftState;
    this.#lastSoftState = state;
    const log = this.#logger;
    if (previous === null || previous.term !== state.term) {
      log.info({ event: "term", term: state.term, from: previous?.term ?? null }, `term ${state.term}`);
    }
    if (previous === null || previous.role !== state.role || previous.leader !== state.leader) {
      log.info(
        { event: "role", role: state.role, term: state.term, leader: state.leader },
        state.role === "leader"
          ? `became leader in term ${state.term}`
          : `${state.role} in term ${state.term}, leader ${state.leader ?? "unknown"}`,
      );
    }
  }
}
