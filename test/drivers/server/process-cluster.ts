/**
 * Real `tsraft serve` processes on loopback for the real-process tests: start, SIGKILL, restart, and a small
 * HTTP client that follows the leader. Every wait is a poll with a deadline, never a fixed sleep.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `tsraft` command, as a user's shell would run it. */
export const BIN = fileURLToPath(new URL("../../../bin/tsraft.js", import.meta.url));

/** A `tsraft` process started by a test, with everything it wrote to stdout and stderr so far. */
export interface TsraftProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
}

/** Runs `tsraft ...args` to completion without blocking this process's event loop. */
export function runTsraft(
  args: readonly string[],
  cwd?: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { encoding: "utf8", timeout: 30_000, ...(cwd === undefined ? {} : { cwd }) },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

/** Starts `tsraft ...args` and collects its output. */
export function spawnTsraft(args: readonly string[], cwd?: string): TsraftProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(cwd === undefined ? {} : { cwd }),
  });
  let output = "";
  const append = (chunk: Buffer) => {
    output += chunk.toString("utf8");
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return { child, output: () => output };
}

/** Fast timing for tests: 20 ms ticks, heartbeats every 40 ms, elections after 200–400 ms. */
export const TEST_TIMING = ["--tick-ms", "20", "--heartbeat-ticks", "2", "--election-ticks", "10"];

/** How long a poll waits before failing the test; generous, as the machine is shared and noisy. */
export const WAIT_MS = 30_000;

/** Whether every port in `ports` can be listened on right now. */
async function allFree(ports: readonly number[]): Promise<boolean> {
  for (const port of ports) {
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (!ok) return false;
    server.close();
    await once(server, "close");
  }
  return true;
}

/**
 * A base port for a `tsraft up` cluster of up to `nodes` nodes (`--peer-port base --api-port base + 10`):
 * base..base+nodes-1 and base+10..base+10+nodes-1 are free right now.
 */
export async function freeBase(nodes: number): Promise<number> {
  const offsets = Array.from({ length: nodes }, (_, i) => [i, 10 + i]).flat();
  for (;;) {
    const [probe = 0] = await freePorts(1);
    const base = 20_000 + (probe % 40_000);
    if (await allFree(offsets.map((offset) => base + offset))) return base;
  }
}

/** Ports the kernel reports free right now (a listener on port 0, closed again). */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address !== null && typeof address === "object" && !ports.includes(address.port))
      ports.push(address.port);
    server.close();
    await once(server, "close");
  }
  return ports;
}

export interface NodeStatus {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  readonly lastLogIndex: number;
}

/** A cluster of `tsraft serve` processes, each with its own data directory under one temp directory. */
export class ProcessCluster {
  readonly size: number;
  readonly root = mkdtempSync(join(tmpdir(), "tsraft-proc-"));
  readonly #peerPorts: number[];
  readonly #httpPorts: number[];
  readonly #extraArgs: readonly string[];
  readonly processes = new Map<number, ChildProcess>();
  /** Everything each node wrote to stdout (pino lines) and stderr, across restarts. */
  readonly output = new Map<number, string>();

  private constructor(size: number, ports: number[], extraArgs: readonly string[]) {
    this.size = size;
    this.#peerPorts = ports.slice(0, size);
    this.#httpPorts = ports.slice(size);
    this.#extraArgs = extraArgs;
  }

  static async create(size: number, extraArgs: readonly string[] = []): Promise<ProcessCluster> {
    return new ProcessCluster(size, await freePorts(2 * size), extraArgs);
  }

  get ids(): number[] {
    return Array.from({ length: this.size }, (_, i) => i + 1);
  }

  dataDir(id: number): string {
    return join(this.root, `node-${id}`);
  }

  apiUrl(id: number): string {
    return `http://127.0.0.1:${this.#httpPorts[id - 1]}`;
  }

  /** Starts node `id` (again) and waits until its API answers. */
  async start(id: number): Promise<void> {
    const peers = this.ids.map((n) => `${n}=127.0.0.1:${this.#peerPorts[n - 1]}`).join(",");
    const httpPeers = this.ids.map((n) => `${n}=127.0.0.1:${this.#httpPorts[n - 1]}`).join(",");
    const child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "--id",
        String(id),
        "--peers",
        peers,
        "--http",
        `127.0.0.1:${this.#httpPorts[id - 1]}`,
        "--http-peers",
        httpPeers,
        "--data",
        this.dataDir(id),
        "--cluster-id",
        "test-cluster",
        ...TEST_TIMING,
        ...this.#extraArgs,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.processes.set(id, child);
    const append = (chunk: Buffer) =>
      this.output.set(id, (this.output.get(id) ?? "") + chunk.toString("utf8"));
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    await poll(`node ${id} to answer /healthz`, async () => (await this.health(id)) === true);
  }

  async startAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.start(id)));
  }

  /** Sends `signal` to node `id` and waits for the process to exit; returns its exit code. */
  async kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    const child = this.processes.get(id);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    const exited = once(child, "exit");
    child.kill(signal);
    const [code] = (await exited) as [number | null];
    this.processes.delete(id);
    return code;
  }

  /** Kills every node and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
    rmSync(this.root, { recursive: true, force: true });
  }

  async health(id: number): Promise<boolean> {
    try {
      const response = await fetch(`${this.apiUrl(id)}/healthz`, { signal: AbortSignal.timeout(1000) });
      return response.ok;
    } catch {
      return false;
    }
  }

  async status(id: number): Promise<NodeStatus | null> {
    try {
      const response = await fetch(`${this.apiUrl(id)}/v1/status`, { signal: AbortSignal.timeout(2000) });
      return (await response.json()) as NodeStatus;
    } catch {
      return null;
    }
  }

  /** Waits until the running nodes agree on one leader among them; returns its id. */
  async waitForLeader(running: readonly number[] = [...this.processes.keys()]): Promise<number> {
    let leader = 0;
    await poll("a leader all running nodes agree on", async () => {
      const statuses = await Promise.all(running.map((id) => this.status(id)));
      const leaders = new Set(statuses.map((status) => status?.leader ?? null));
      const [only] = [...leaders];
      if (leaders.size !== 1 || only === null || only === undefined || !running.includes(only)) return false;
      leader = only;
      return statuses.some((status) => status?.id === only && status.role === "leader");
    });
    return leader;
  }

  /**
   * PUTs `key` through any running node, following redirects to the leader. Resolves true when the write
   * was acknowledged, false when it was not (an error or no answer: it may or may not have been applied).
   */
  async put(key: string, value: string, via: number): Promise<boolean> {
    try {
      const response = await fetch(`${this.apiUrl(via)}/v1/kv/${encodeURIComponent(key)}`, {
        method: "PUT",
        body: JSON.stringify({ value }),
        redirect: "follow",
        signal: AbortSignal.timeout(5000),
      });
      await response.text();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Reads `key` from node `id`: linearizable by default, or its local copy. Undefined when the read failed. */
  async get(id: number, key: string, consistency = "linearizable"): Promise<string | null | undefined> {
    try {
      const response = await fetch(
        `${this.apiUrl(id)}/v1/kv/${encodeURIComponent(key)}?consistency=${consistency}`,
        { signal: AbortSignal.timeout(5000) },
      );
      const body = (await response.json()) as { value?: string; code?: string };
      if (response.ok) return body.value ?? null;
      return body.code === "key-not-found" ? null : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Polls `condition` every 50 ms until it holds; fails after {@link WAIT_MS} naming what it waited for. */
export async function poll(what: string, condition: () => Promise<boolean>, waitMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${waitMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
