import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { connect, KvClientError } from "../drivers/kv.ts";
import { EXIT_FAILURE, EXIT_USAGE } from "./exit-status.ts";
import {
  CLUSTER_FILE,
  DEFAULT_DATA_DIR,
  type LocalClusterFile,
  type LocalNode,
  readClusterFile,
} from "./local-cluster.ts";
import { formatMembers } from "./member.ts";
import { integerOption, positiveOption } from "./parse.ts";

const BIN = fileURLToPath(new URL("../../bin/tsraft.js", import.meta.url));
/** How long children get to stop after SIGTERM before they are killed. */
const STOP_GRACE_MS = 10_000;
/** The cluster id of local clusters. */
const LOCAL_CLUSTER_ID = "local";
/** The size of a new local cluster unless --nodes says otherwise. */
const DEFAULT_NODES = 3;
/** How long a new node gets to open its API before `grow` gives up on it. */
const NODE_START_TIMEOUT_MS = 15_000;

interface UpFlags {
  readonly nodes?: number;
  readonly data: string;
  readonly peerPort: number;
  readonly apiPort: number;
  readonly host: string;
}

/**
 * Adds `tsraft up` (also `npm start`): a local cluster of node processes on this machine, and `tsraft up grow`
 * / `tsraft up shrink`, which change its membership while it runs (thesis §4): the running `up` starts or
 * stops the node process, and the cluster adds or removes the member.
 */
export function registerUpCommand(program: Command): void {
  const up = program
    .command("up")
    .description(
      "start a local cluster of node processes (Ctrl-C stops them; running it again recovers the data)",
    )
    .option("--nodes <n>", `number of nodes of a new cluster (default ${DEFAULT_NODES})`, positiveOption)
    .option("--data <dir>", "data directory (one subdirectory per node)", DEFAULT_DATA_DIR)
    .option("--peer-port <n>", "peer port of node 1; node i uses this + i - 1", integerOption(1, 65535), 7001)
    .option(
      "--api-port <n>",
      "HTTP API port of node 1; node i uses this + i - 1",
      integerOption(1, 65535),
      8001,
    )
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .action(async (flags: UpFlags) => {
      process.exitCode = await runUp(flags);
    });
  // `--data` is up's own option, so `tsraft up grow --data dir` finds the cluster that `tsraft up --data dir` runs.
  up.command("grow")
    .description("add nodes to the running local cluster: each starts, joins as a learner, and is promoted")
    .option("--count <n>", "how many nodes to add, one after the other", positiveOption, 1)
    .action(async (flags: { count: number }) => {
      process.exitCode = await askRunningUp(up.opts<UpFlags>().data, "grow", { count: flags.count });
    });
  up.command("shrink")
    .description("remove a node from the running local cluster (the newest, unless --node): leave, then stop")
    .option("--node <id>", "the node to remove", positiveOption)
    .action(async (flags: { node?: number }) => {
      const body = flags.node === undefined ? {} : { node: flags.node };
      process.exitCode = await askRunningUp(up.opts<UpFlags>().data, "shrink", body);
    });
}

/** A running local cluster: its record, its node processes, and how to change them. */
class LocalCluster {
  readonly #dataDir: string;
  readonly #host: string;
  #record: LocalClusterFile;
  readonly #children = new Map<number, ChildProcess>();
  readonly #exited: Promise<void>[] = [];
  /** Nodes this process stopped on purpose (shrink, Ctrl-C): their exit is not news. */
  readonly #stoppingIds = new Set<number>();
  stopping = false;
  /** One membership change at a time, like the cluster itself. */
  #changing: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string, host: string, record: LocalClusterFile) {
    this.#dataDir = dataDir;
    this.#host = host;
    this.#record = record;
  }

  get nodes(): readonly LocalNode[] {
    return this.#record.nodes;
  }

  get size(): number {
    return this.#children.size;
  }

  /** Writes cluster.json, which `tsraft kv`, `status`, `member` and `up grow|shrink` read. */
  save(control: string | undefined): void {
    this.#record = { ...this.#record, ...(control === undefined ? {} : { control }) };
    writeFileSync(join(this.#dataDir, CLUSTER_FILE), `${JSON.stringify(this.#record, null, 2)}\n`);
  }

  /** Starts one node's process; `join` makes a new node wait to be added instead of starting a cluster. */
  start(node: LocalNode): void {
    const everyone = this.#record.nodes;
    const peers = everyone.map((other) => `${other.id}=${other.peer}`).join(",");
    const apis = everyone.map((other) => `${other.id}=${other.api}`).join(",");
    const logPath = join(this.#dataDir, `node-${node.id}.log`);
    const log = createWriteStream(logPath, { flags: "a" });
    const args = [
      BIN,
      "serve",
      "--id",
      String(node.id),
      "--peers",
      peers,
      "--http",
      node.api,
      "--http-peers",
      apis,
      "--data",
      this.#nodeDir(node.id),
      "--cluster-id",
      LOCAL_CLUSTER_ID,
      // A node that joined later starts the same way every time: its log soon says it is a member.
      ...(node.joined === true ? ["--join"] : []),
    ];
    // Own process group: Ctrl-C in the terminal reaches only us, and we stop the children in order.
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.#children.set(node.id, child);
    child.stdout?.pipe(log);
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on("line", (line) => reportEvent(node.id, line));
    }
    if (child.stderr !== null) {
      createInterface({ input: child.stderr }).on("line", (line) => console.log(`[node ${node.id}] ${line}`));
    }
    this.#exited.push(
      once(child, "exit").then(([code, signal]) => {
        this.#children.delete(node.id);
        if (!this.stopping && !this.#stoppingIds.has(node.id)) {
          console.log(`[node ${node.id}] exited (${signal ?? `status ${code}`}); its log is ${logPath}`);
        }
      }),
    );
  }

  /** Resolves when every node process has exited (nodes started later included). */
  async allExited(): Promise<void> {
    while (this.#children.size > 0) await Promise.all(this.#exited);
  }

  /** Stops every node: SIGTERM, then SIGKILL after a grace period. */
  stopAll(): void {
    this.stopping = true;
    for (const child of this.#children.values()) child.kill("SIGTERM");
    setTimeout(() => {
      for (const child of this.#children.values()) child.kill("SIGKILL");
    }, STOP_GRACE_MS).unref();
  }

  /** Adds `count` nodes, one at a time: start with --join, then add as learner and promote (thesis §4). */
  grow(count: number): Promise<string> {
    return this.#serially(async () => {
      const lines: string[] = [];
      for (let k = 0; k < count; k++) {
        const id = this.#record.nextId ?? Math.max(...this.#record.nodes.map((node) => node.id)) + 1;
        const node = this.#nextNode(id);
        this.#record = { ...this.#record, nodes: [...this.#record.nodes, node], nextId: id + 1 };
        this.save(undefined);
        this.start(node);
        await waitForApi(node.api);
        const view = await this.#client().addMember(id, { peerAddress: node.peer, apiAddress: node.api });
        lines.push(`node ${id} joined (API http://${node.api})`, formatMembers(view));
      }
      return lines.join("\n");
    });
  }

  /** Removes node `id` (default: the newest) from the configuration, then stops it and deletes its data. */
  shrink(id: number | undefined): Promise<string> {
    return this.#serially(async () => {
      const target = id ?? Math.max(...this.#record.nodes.map((node) => node.id));
      if (!this.#record.nodes.some((node) => node.id === target)) {
        throw new KvClientError("rejected", `node ${target} is not part of this local cluster`);
      }
      const view = await this.#client().removeMember(target);
      this.#record = { ...this.#record, nodes: this.#record.nodes.filter((node) => node.id !== target) };
      this.save(undefined);
      const child = this.#children.get(target);
      if (child !== undefined) {
        this.#stoppingIds.add(target);
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      // A removed node's log says it is still a member of the old configuration; ids are never reused, and
      // its data is of no use to a future node.
      rmSync(this.#nodeDir(target), { recursive: true, force: true });
      return [`node ${target} left the cluster and was stopped`, formatMembers(view)].join("\n");
    });
  }

  #client() {
    return connect(this.#record.nodes.map((node) => `http://${node.api}`));
  }

  #nodeDir(id: number): string {
    return join(this.#dataDir, `node-${id}`);
  }

  /** The addresses of a new node `id`: the ports after the highest in use. */
  #nextNode(id: number): LocalNode {
    const port = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));
    const peerPort = Math.max(...this.#record.nodes.map((node) => port(node.peer))) + 1;
    const apiPort = Math.max(...this.#record.nodes.map((node) => port(node.api))) + 1;
    return { id, peer: `${this.#host}:${peerPort}`, api: `${this.#host}:${apiPort}`, joined: true };
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#changing.then(work, work);
    this.#changing = next.catch(() => undefined);
    return next;
  }
}

async function runUp(flags: UpFlags): Promise<number> {
  const dataDir = resolve(flags.data);
  const fresh = Array.from({ length: flags.nodes ?? DEFAULT_NODES }, (_, i) => ({
    id: i + 1,
    peer: `${flags.host}:${flags.peerPort + i}`,
    api: `${flags.host}:${flags.apiPort + i}`,
  }));
  const previous = readClusterFile(dataDir);
  if (previous !== undefined && flags.nodes !== undefined && previous.nodes.length !== flags.nodes) {
    console.error(
      `tsraft up: ${dataDir} holds a ${previous.nodes.length}-node cluster; run without --nodes to start it, ` +
        "change its size with `tsraft up grow` / `tsraft up shrink`, or use another --data directory",
    );
    return EXIT_USAGE;
  }
  mkdirSync(dataDir, { recursive: true });
  const cluster = new LocalCluster(
    dataDir,
    flags.host,
    previous ?? { clusterId: LOCAL_CLUSTER_ID, nodes: fresh },
  );
  const control = await startControlServer(cluster);
  cluster.save(control);
  for (const node of cluster.nodes) cluster.start(node);

  console.log(`tsraft: local cluster of ${cluster.nodes.length} nodes, data in ${dataDir}`);
  for (const node of cluster.nodes)
    console.log(`  node ${node.id}: API http://${node.api}  peers ${node.peer}`);
  const first = cluster.nodes[0]?.api ?? "127.0.0.1:8001";
  console.log(`
Try:
  curl -L -X PUT http://${first}/v1/kv/greeting -d '{"value":"hello"}'
  curl http://${first}/v1/kv/greeting
  curl http://${first}/v1/status
  npx tsraft kv put color blue && npx tsraft kv get color
  npx tsraft status
  npx tsraft member list
  npx tsraft up grow      (add a node; 'npx tsraft up shrink' removes the newest)
Press Ctrl-C to stop the cluster; run this again to start it with its data.
`);

  const stop = (signal: NodeJS.Signals) => {
    if (cluster.stopping) return;
    console.log(`\ntsraft: ${signal}: stopping ${cluster.size} nodes`);
    cluster.stopAll();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  await cluster.allExited();
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  console.log("tsraft: all nodes stopped");
  return cluster.stopping ? 0 : EXIT_FAILURE;
}

/**
 * The running `up` listens on a loopback port for `tsraft up grow|shrink` (recorded in cluster.json as
 * `control`): only it can start and stop the node processes it supervises.
 */
async function startControlServer(cluster: LocalCluster): Promise<string> {
  const server = createServer((request, response) => {
    void handleControl(cluster, request, response);
  });
  await new Promise<void>((resolveListen) => server.listen(0, "127.0.0.1", resolveListen));
  server.unref();
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function handleControl(cluster: LocalCluster, request: IncomingMessage, response: ServerResponse) {
  const answer = (status: number, text: string) => {
    response.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    response.end(`${text}\n`);
  };
  try {
    let body = "";
    for await (const chunk of request) body += String(chunk);
    const parsed = (body === "" ? {} : JSON.parse(body)) as { count?: number; node?: number };
    if (request.method === "POST" && request.url === "/grow") {
      answer(200, await cluster.grow(parsed.count ?? 1));
    } else if (request.method === "POST" && request.url === "/shrink") {
      answer(200, await cluster.shrink(parsed.node));
    } else {
      answer(404, `no such control request: ${request.method} ${request.url}`);
    }
  } catch (error) {
    answer(
      error instanceof KvClientError ? 409 : 500,
      error instanceof Error ? error.message : String(error),
    );
  }
}

/** `tsraft up grow|shrink`: asks the `up` running on `dataDir` to change the cluster, and prints its answer. */
async function askRunningUp(dataDir: string, action: "grow" | "shrink", body: object): Promise<number> {
  const record = readClusterFile(resolve(dataDir));
  if (record?.control === undefined) {
    console.error(
      `tsraft up ${action}: no local cluster is recorded in ${resolve(dataDir)}; start one with tsraft up`,
    );
    return EXIT_USAGE;
  }
  let response: Response;
  try {
    response = await fetch(`http://${record.control}/${action}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
  } catch {
    console.error(
      `tsraft up ${action}: the local cluster in ${resolve(dataDir)} is not running (start it with tsraft up)`,
    );
    return EXIT_FAILURE;
  }
  const text = (await response.text()).trimEnd();
  if (!response.ok) {
    console.error(`tsraft up ${action}: ${text}`);
    return EXIT_FAILURE;
  }
  console.log(text);
  return 0;
}

/** Waits until a node's API answers, or throws after {@link NODE_START_TIMEOUT_MS}. */
async function waitForApi(api: string): Promise<void> {
  const deadline = Date.now() + NODE_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${api}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 100));
  }
  throw new KvClientError("timeout", `the new node's API at ${api} did not come up`);
}

/** Prints the events a person watching the cluster cares about: role changes, snapshots, errors. */
function reportEvent(id: number, line: string): void {
  let event: { level?: number; event?: string; msg?: string };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    console.log(`[node ${id}] ${line}`);
    return;
  }
  const interesting =
    event.event === "role" ||
    event.event === "member-address" ||
    event.event?.startsWith("snapshot") === true ||
    (event.level ?? 0) >= 40;
  if (interesting && event.msg !== undefined) console.log(`[node ${id}] ${event.msg}`);
}
