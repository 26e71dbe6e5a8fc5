/**
 * The cluster under test: `tsraft serve` processes on loopback, each with its own data directory and log
 * files in the run directory, whose peer links all go through a {@link FaultProxy}. The harness kills,
 * restarts, pauses and resumes them; every exit it did not cause is recorded as a crash.
 *
 * With `netns`, each node runs in a network namespace of its own instead, on its own address, its peers
 * dialled directly, and the links' faults made by the kernel ({@link NetnsNetwork}).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { LinkPolicy } from "../../drivers/fault-proxy/index.ts";
import { FaultProxy, type LinkAddress } from "../../drivers/fault-proxy/index.ts";
import { UNSAFE_SWITCH_FLAGS, type UnsafeDebugSwitches } from "../../drivers/server/node-config.ts";
import { NetnsNetwork } from "./netns.ts";

const BIN = fileURLToPath(new URL("../../../bin/tsraft.js", import.meta.url));
const HOST = "127.0.0.1";
/** The cluster id the harness's nodes share. */
export const JEPSEN_CLUSTER_ID = "jepsen";
/** How long a node gets to answer /healthz after it is started. */
const START_WAIT_MS = 30_000;
/** How long a node gets to exit after SIGTERM before it is killed (and the slow stop recorded). */
const STOP_GRACE_MS = 15_000;

/** Raft timing and service settings every node runs with. */
export interface NodeTiming {
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  readonly requestTimeoutMs: number;
  readonly snapshotBytes: number;
}

export interface ClusterOptions {
  readonly nodes: number;
  /** Each node's data directory goes under here (`node-N`). */
  readonly dataDir: string;
  /** Each node's stdout and stderr go under here (`node-N.log`, `node-N.stderr.log`), across restarts. */
  readonly logDir: string;
  readonly timing: NodeTiming;
  /** Unsafe switches passed to every node (with --unsafe-debug), or undefined for a healthy build. */
  readonly unsafe: UnsafeDebugSwitches | undefined;
  /** Seed of the proxy's random choices. */
  readonly seed: number;
  /** Run the nodes in network namespaces, faults by nftables and tc (needs root; see netns.ts). */
  readonly netns?: boolean;
}

/** What the nemeses use of the network: the proxy's surface, which {@link NetnsNetwork} offers too. */
export interface LinkControl {
  setPolicy(from: number, to: number, policy: LinkPolicy): void;
  heal(): void;
}

/** An exit the harness did not ask for: a crash. */
export interface UnexpectedExit {
  readonly node: number;
  /** Milliseconds since the cluster started. */
  readonly at: number;
  readonly code: number | null;
  readonly signal: string | null;
}

/** The state of one node's process, as the harness left it. */
type NodeState = "running" | "paused" | "down";

interface NodeProcess {
  child: ChildProcess | null;
  state: NodeState;
  /** Whether the harness sent the signal that will end this process (its exit is expected). */
  exitExpected: boolean;
  exited: Promise<void>;
  logs: WriteStream[];
  /** How often the process was started. */
  starts: number;
}

/** A clean stop's outcome per node: its exit code, or why it was not clean. */
export interface StopOutcome {
  readonly node: number;
  readonly clean: boolean;
  readonly detail: string;
}

export class JepsenCluster {
  readonly ids: readonly number[];
  /** The links' faults: the userspace proxy, or the namespaces' nftables and netem. */
  readonly proxy: LinkControl;
  readonly #faultProxy: FaultProxy | null;
  readonly #network: NetnsNetwork | null;
  readonly #options: ClusterOptions;
  readonly #apiPorts: ReadonlyMap<number, number>;
  readonly #peerPorts: ReadonlyMap<number, number>;
  readonly #processes = new Map<number, NodeProcess>();
  readonly #started = performance.now();
  readonly unexpectedExits: UnexpectedExit[] = [];
  readonly #onHarnessExit = () => this.#killAllNow();

  private constructor(
    options: ClusterOptions,
    network: FaultProxy | NetnsNetwork,
    peerPorts: Map<number, number>,
    apiPorts: Map<number, number>,
  ) {
    this.#options = options;
    this.proxy = network;
    this.#faultProxy = network instanceof FaultProxy ? network : null;
    this.#network = network instanceof NetnsNetwork ? network : null;
    this.#apiPorts = apiPorts;
    this.#peerPorts = peerPorts;
    this.ids = [...peerPorts.keys()];
    process.on("exit", this.#onHarnessExit);
  }

  /** Picks ports, starts the proxy, then every node; resolves once every node answers /healthz. */
  static async start(options: ClusterOptions): Promise<JepsenCluster> {
    const ids = Array.from({ length: options.nodes }, (_, k) => k + 1);
    if (options.netns === true) return JepsenCluster.#startInNamespaces(options, ids);
    // Held while the proxy binds its own listeners (port 0), so the kernel cannot hand it one of these.
    const held = await holdFreePorts(2 * ids.length);
    const ports = held.ports;
    const peerPorts = new Map(ids.map((id, k) => [id, ports[k] ?? 0] as const));
    const apiPorts = new Map(ids.map((id, k) => [id, ports[ids.length + k] ?? 0] as const));
    const targets = new Map<number, LinkAddress>(
      ids.map((id) => [id, { host: HOST, port: peerPorts.get(id) ?? 0 }] as const),
    );
    mkdirSync(options.logDir, { recursive: true });
    mkdirSync(options.dataDir, { recursive: true });
    let proxy: FaultProxy;
    try {
      proxy = await FaultProxy.start({ targets, host: HOST, seed: options.seed });
    } finally {
      await held.release();
    }
    const cluster = new JepsenCluster(options, proxy, peerPorts, apiPorts);
    try {
      await Promise.all(ids.map((id) => cluster.start(id)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  static async #startInNamespaces(options: ClusterOptions, ids: number[]): Promise<JepsenCluster> {
    mkdirSync(options.logDir, { recursive: true });
    mkdirSync(options.dataDir, { recursive: true });
    const network = NetnsNetwork.create(ids);
    const peerPorts = new Map(ids.map((id) => [id, network.peerAddress(id).port] as const));
    const apiPorts = new Map(ids.map((id) => [id, network.apiAddress(id).port] as const));
    const cluster = new JepsenCluster(options, network, peerPorts, apiPorts);
    try {
      await Promise.all(ids.map((id) => cluster.start(id)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** What the run's network is, for the log: the proxy, or the namespaces and their addresses. */
  describeNetwork(): string {
    const network = this.#network;
    if (network === null) return "userspace TCP proxy on loopback";
    const { plan } = network;
    const stale =
      network.removedStale.length === 0 ? "" : `; removed leftovers ${network.removedStale.join(",")}`;
    return `namespaces ${plan.namespace(plan.ids[0] ?? 1)}.., bridge ${plan.bridge} ${plan.bridgeAddress}/24${stale}`;
  }

  /** The address node `id` runs on: loopback, or its namespace's. */
  #host(id: number): string {
    return this.#network?.plan.address(id) ?? HOST;
  }

  /** Milliseconds since the cluster started (the harness's clock for timelines). */
  now(): number {
    return performance.now() - this.#started;
  }

  apiUrl(id: number): string {
    return `http://${this.#host(id)}:${this.#apiPorts.get(id)}`;
  }

  /** Where node `id` itself listens for peers (the proxy's links forward there). */
  peerAddress(id: number): string {
    return `${this.#host(id)}:${this.#peerPorts.get(id)}`;
  }

  logPath(id: number): string {
    return join(this.#options.logDir, `node-${id}.log`);
  }

  stderrPath(id: number): string {
    return join(this.#options.logDir, `node-${id}.stderr.log`);
  }

  stateOf(id: number): NodeState {
    return this.#processes.get(id)?.state ?? "down";
  }

  /** Nodes whose process runs and is not paused. */
  running(): number[] {
    return this.ids.filter((id) => this.stateOf(id) === "running");
  }

  /** How often each node was started (1 + restarts). */
  starts(): Record<number, number> {
    return Object.fromEntries(this.ids.map((id) => [id, this.#processes.get(id)?.starts ?? 0]));
  }

  /** Starts node `id` (again, with the same data) and waits until its API answers. */
  async start(id: number): Promise<void> {
    const existing = this.#processes.get(id);
    if (existing !== undefined && existing.state !== "down") return;
    const node = [process.execPath, BIN, "serve", ...this.#serveArgs(id)];
    // `ip netns exec` execs the command in place, so the child's pid is the node's (signals reach it).
    const [file = "", ...args] = this.#network === null ? node : [...this.#network.execPrefix(id), ...node];
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    const stdout = createWriteStream(this.logPath(id), { flags: "a" });
    const stderr = createWriteStream(this.stderrPath(id), { flags: "a" });
    child.stdout?.pipe(stdout);
    child.stderr?.pipe(stderr);
    const entry: NodeProcess = {
      child,
      state: "running",
      exitExpected: false,
      exited: Promise.resolve(),
      logs: [...(existing?.logs ?? []), stdout, stderr],
      starts: (existing?.starts ?? 0) + 1,
    };
    entry.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        if (!entry.exitExpected) {
          this.unexpectedExits.push({ node: id, at: this.now(), code, signal });
        }
        entry.state = "down";
        entry.child = null;
        resolve();
      });
    });
    this.#processes.set(id, entry);
    const deadline = performance.now() + START_WAIT_MS;
    for (;;) {
      if (entry.state === "down")
        throw new Error(`node ${id} exited while starting; see ${this.stderrPath(id)}`);
      if (await this.#healthy(id)) return;
      if (performance.now() > deadline)
        throw new Error(`node ${id} did not answer within ${START_WAIT_MS} ms`);
      await sleep(50);
    }
  }

  /** SIGKILLs node `id` (resuming it first if paused makes no difference to SIGKILL) and waits for the exit. */
  async kill(id: number): Promise<void> {
    const entry = this.#processes.get(id);
    if (entry === undefined || entry.child === null || entry.state === "down") return;
    entry.exitExpected = true;
    entry.child.kill("SIGKILL");
    await entry.exited;
  }

  /** SIGSTOPs node `id`: it keeps its sockets but runs nothing, as a long GC pause or a stalled VM would. */
  pause(id: number): void {
    const entry = this.#processes.get(id);
    if (entry === undefined || entry.child === null || entry.state !== "running") return;
    entry.child.kill("SIGSTOP");
    entry.state = "paused";
  }

  resume(id: number): void {
    const entry = this.#processes.get(id);
    if (entry === undefined || entry.child === null || entry.state !== "paused") return;
    entry.child.kill("SIGCONT");
    entry.state = "running";
  }

  /** Undoes every fault: every link passes, paused nodes resume, nodes that are down start again. */
  async healAll(): Promise<void> {
    this.proxy.heal();
    for (const id of this.ids) this.resume(id);
    await Promise.all(this.ids.filter((id) => this.stateOf(id) === "down").map((id) => this.start(id)));
  }

  /**
   * Stops every node with SIGTERM (resuming paused ones first) and waits for them to exit; a node that takes
   * longer than {@link STOP_GRACE_MS} is killed. Closes the proxy and the log files.
   */
  async stop(): Promise<StopOutcome[]> {
    const outcomes = await Promise.all(
      this.ids.map(async (id): Promise<StopOutcome> => {
        const entry = this.#processes.get(id);
        if (entry === undefined || entry.child === null || entry.state === "down") {
          return { node: id, clean: true, detail: "already down" };
        }
        const child = entry.child;
        this.resume(id);
        entry.exitExpected = true;
        let status: { code: number | null; signal: string | null } = { code: null, signal: null };
        child.once("exit", (code, signal) => {
          status = { code, signal };
        });
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
        await entry.exited;
        clearTimeout(timer);
        const clean = status.code === 0;
        const detail = clean
          ? "exited 0 after SIGTERM"
          : `did not stop cleanly after SIGTERM (exit ${status.code ?? status.signal})`;
        return { node: id, clean, detail };
      }),
    );
    await this.#faultProxy?.close();
    this.#network?.close();
    await Promise.all(
      [...this.#processes.values()].flatMap((entry) =>
        entry.logs.map((log) => (log.closed ? Promise.resolve() : once(log, "close").catch(() => undefined))),
      ),
    );
    process.off("exit", this.#onHarnessExit);
    return outcomes;
  }

  #serveArgs(id: number): string[] {
    const { timing, unsafe } = this.#options;
    const addresses =
      this.#faultProxy?.peerAddressesOf(id) ??
      new Map(this.ids.map((node) => [node, { host: this.#host(node), port: this.#peerPorts.get(node) }]));
    const peers = [...addresses]
      .map(([node, address]) => `${node}=${address.host}:${address.port}`)
      .join(",");
    const apis = this.ids.map((node) => `${node}=${this.#host(node)}:${this.#apiPorts.get(node)}`).join(",");
    const args = [
      "--id",
      String(id),
      "--peers",
      peers,
      "--http",
      `${this.#host(id)}:${this.#apiPorts.get(id)}`,
      "--http-peers",
      apis,
      "--data",
      join(this.#options.dataDir, `node-${id}`),
      "--cluster-id",
      JEPSEN_CLUSTER_ID,
      "--tick-ms",
      String(timing.tickMs),
      "--heartbeat-ticks",
      String(timing.heartbeatTicks),
      "--election-ticks",
      String(timing.electionTicks),
      "--request-timeout-ms",
      String(timing.requestTimeoutMs),
      "--snapshot-bytes",
      String(timing.snapshotBytes),
    ];
    if (unsafe !== undefined) {
      args.push("--unsafe-debug");
      for (const name of Object.keys(UNSAFE_SWITCH_FLAGS) as (keyof UnsafeDebugSwitches)[]) {
        if (unsafe[name]) args.push(UNSAFE_SWITCH_FLAGS[name]);
      }
    }
    return args;
  }

  async #healthy(id: number): Promise<boolean> {
    try {
      const response = await fetch(`${this.apiUrl(id)}/healthz`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Last resort when the harness itself exits: no node may outlive it. */
  #killAllNow(): void {
    for (const entry of this.#processes.values()) {
      if (entry.child === null) continue;
      entry.exitExpected = true;
      entry.child.kill("SIGKILL");
    }
  }
}

/**
 * `count` distinct free ports, each held by a listener until `release()`: the caller binds what must not
 * collide with them first, then releases them for the processes it starts.
 */
export async function holdFreePorts(
  count: number,
): Promise<{ ports: number[]; release: () => Promise<void> }> {
  const servers: Server[] = [];
  const ports: number[] = [];
  // Each listener holds its port, so the kernel hands out a different one every round.
  for (let k = 0; k < count; k++) {
    const server = createServer();
    server.listen(0, HOST);
    await once(server, "listening");
    servers.push(server);
    const address = server.address();
    if (address !== null && typeof address === "object") ports.push(address.port);
  }
  const release = async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  };
  return { ports, release };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
