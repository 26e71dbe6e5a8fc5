import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { EXIT_FAILURE, EXIT_USAGE } from "./exit-status.ts";
import { CLUSTER_FILE, DEFAULT_DATA_DIR, type LocalClusterFile } from "./local-cluster.ts";
import { integerOption, positiveOption } from "./parse.ts";

const BIN = fileURLToPath(new URL("../../bin/tsraft.js", import.meta.url));
/** How long children get to stop after SIGTERM before they are killed. */
const STOP_GRACE_MS = 10_000;
/** The cluster id of local clusters. */
const LOCAL_CLUSTER_ID = "local";

interface UpFlags {
  readonly nodes: number;
  readonly data: string;
  readonly peerPort: number;
  readonly apiPort: number;
  readonly host: string;
}

/** Adds `tsraft up` (also `npm start`): a local cluster of node processes on this machine. */
export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description(
      "start a local cluster of node processes (Ctrl-C stops them; running it again recovers the data)",
    )
    .option("--nodes <n>", "number of nodes", positiveOption, 3)
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
      process.exitCode = await up(flags);
    });
}

async function up(flags: UpFlags): Promise<number> {
  const dataDir = resolve(flags.data);
  const nodes = Array.from({ length: flags.nodes }, (_, i) => ({
    id: i + 1,
    peer: `${flags.host}:${flags.peerPort + i}`,
    api: `${flags.host}:${flags.apiPort + i}`,
  }));
  const clusterFile = join(dataDir, CLUSTER_FILE);
  if (existsSync(clusterFile)) {
    const previous = JSON.parse(readFileSync(clusterFile, "utf8")) as LocalClusterFile;
    if (previous.nodes.length !== nodes.length) {
      console.error(
        `tsraft up: ${dataDir} holds a ${previous.nodes.length}-node cluster; start it with --nodes ${previous.nodes.length}, ` +
          "or use another --data directory (changing membership is not supported yet)",
      );
      return EXIT_USAGE;
    }
  }
  mkdirSync(dataDir, { recursive: true });
  const record: LocalClusterFile = { clusterId: LOCAL_CLUSTER_ID, nodes };
  writeFileSync(clusterFile, `${JSON.stringify(record, null, 2)}\n`);

  const peers = nodes.map((node) => `${node.id}=${node.peer}`).join(",");
  const apis = nodes.map((node) => `${node.id}=${node.api}`).join(",");
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  const exited: Promise<void>[] = [];
  for (const node of nodes) {
    const logPath = join(dataDir, `node-${node.id}.log`);
    const log = createWriteStream(logPath, { flags: "a" });
    const child = spawn(
      process.execPath,
      [
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
        join(dataDir, `node-${node.id}`),
        "--cluster-id",
        LOCAL_CLUSTER_ID,
      ],
      // Own process group: Ctrl-C in the terminal reaches only us, and we stop the children in order.
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    children.set(node.id, child);
    child.stdout?.pipe(log);
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on("line", (line) => reportEvent(node.id, line));
    }
    if (child.stderr !== null) {
      createInterface({ input: child.stderr }).on("line", (line) => console.log(`[node ${node.id}] ${line}`));
    }
    exited.push(
      once(child, "exit").then(([code, signal]) => {
        children.delete(node.id);
        if (!stopping) {
          console.log(`[node ${node.id}] exited (${signal ?? `status ${code}`}); its log is ${logPath}`);
        }
      }),
    );
  }

  console.log(`tsraft: local cluster of ${nodes.length} nodes, data in ${dataDir}`);
  for (const node of nodes) console.log(`  node ${node.id}: API http://${node.api}  peers ${node.peer}`);
  const first = nodes[0]?.api ?? "127.0.0.1:8001";
  console.log(`
Try:
  curl -L -X PUT http://${first}/v1/kv/greeting -d '{"value":"hello"}'
  curl http://${first}/v1/kv/greeting
  curl http://${first}/v1/status
  npx tsraft kv put color blue && npx tsraft kv get color
  npx tsraft status
Press Ctrl-C to stop the cluster; run this again to start it with its data.
`);

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\ntsraft: ${signal}: stopping ${children.size} nodes`);
    for (const child of children.values()) child.kill("SIGTERM");
    setTimeout(() => {
      for (const child of children.values()) child.kill("SIGKILL");
    }, STOP_GRACE_MS).unref();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  await Promise.all(exited);
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  console.log("tsraft: all nodes stopped");
  return stopping ? 0 : EXIT_FAILURE;
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
    event.event === "role" || event.event?.startsWith("snapshot") === true || (event.level ?? 0) >= 40;
  if (interesting && event.msg !== undefined) console.log(`[node ${id}] ${event.msg}`);
}
