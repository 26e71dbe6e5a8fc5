/**
 * `tsraft bench` as a person runs it: the real executable as a child process against a real three-node
 * cluster on loopback. It must print its table, write JSON whose figures hang together, refuse bad flags
 * with a usage error, and fail quickly (not hang) when no node answers.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { freePorts, ProcessCluster } from "../drivers/server/process-cluster.ts";

const BIN = fileURLToPath(new URL("../../bin/tsraft.js", import.meta.url));
/** A bench child that runs longer than this is killed and the test fails: it must never hang. */
const CHILD_TIMEOUT_MS = 30_000;
/** How long an unreachable cluster may take to be reported, process start-up (tsx) included. */
const UNREACHABLE_REPORTED_WITHIN_MS = 15_000;

interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** Runs `tsraft <args>` to completion (killed after {@link CHILD_TIMEOUT_MS}), collecting its output. */
async function tsraft(args: readonly string[]): Promise<ChildResult> {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr, elapsedMs: Date.now() - startedAt };
}

interface LatencyJson {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

interface OperationJson {
  readonly ops: number;
  readonly perSecond: number;
  readonly latencyMs: LatencyJson | null;
}

interface PhaseJson {
  readonly concurrency: number;
  readonly writes: OperationJson;
  readonly reads: OperationJson;
  readonly errors: { readonly total: number };
}

interface ReportJson {
  readonly date: string;
  readonly node: string;
  readonly cluster: { readonly nodes: number };
  readonly settings: { readonly ops: number; readonly valueBytes: number };
  readonly phases: readonly PhaseJson[];
}

function assertOperation(what: string, operation: OperationJson): void {
  assert.ok(operation.ops > 0, `${what}: some operations succeeded`);
  assert.ok(operation.perSecond > 0, `${what}: positive throughput`);
  const latency = operation.latencyMs;
  assert.ok(latency !== null, `${what}: latencies were recorded`);
  assert.ok(latency.p50 > 0, `${what}: p50 is positive`);
  assert.ok(
    latency.p50 <= latency.p99 && latency.p99 <= latency.p999,
    `${what}: p50 ${latency.p50} <= p99 ${latency.p99} <= p99.9 ${latency.p999}`,
  );
}

const scratch = mkdtempSync(join(tmpdir(), "tsraft-bench-test-"));
const clusters: ProcessCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((cluster) => cluster.destroy()));
  rmSync(scratch, { recursive: true, force: true });
});

describe("tsraft bench", { concurrency: false }, () => {
  test("loads a real cluster at two concurrencies, prints the table and writes consistent JSON", async () => {
    const cluster = await ProcessCluster.create(3);
    clusters.push(cluster);
    await cluster.startAll();
    await cluster.waitForLeader();
    const jsonPath = join(scratch, "bench.json");
    const endpoints = cluster.ids.map((id) => cluster.apiUrl(id)).join(",");
    const ops = 300;

    const run = await tsraft([
      "bench",
      "--endpoints",
      endpoints,
      "--ops",
      String(ops),
      "--concurrency",
      "1,8",
      "--json",
      jsonPath,
    ]);

    assert.equal(run.code, 0, `exit status 0; stderr: ${run.stderr}`);
    assert.match(run.stdout, /3 nodes/);
    assert.match(run.stdout, /concurrency\s+writes\/s\s+reads\/s\s+write p50\s+p99\s+p99\.9\s+read p50/);
    assert.match(run.stdout, /^\s+1\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0$/m);
    assert.match(run.stdout, /^\s+8\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0$/m);
    assert.equal(run.stderr, "", "no progress bar when stderr is not a terminal");

    const report = JSON.parse(readFileSync(jsonPath, "utf8")) as ReportJson;
    assert.equal(report.cluster.nodes, 3);
    assert.equal(report.node, process.version);
    assert.ok(!Number.isNaN(Date.parse(report.date)), "an ISO date");
    assert.equal(report.settings.ops, ops);
    assert.equal(report.settings.valueBytes, 100);
    assert.deepEqual(
      report.phases.map((phase) => phase.concurrency),
      [1, 8],
    );
    for (const phase of report.phases) {
      assert.equal(phase.errors.total, 0, `no errors at concurrency ${phase.concurrency}`);
      assert.equal(phase.writes.ops + phase.reads.ops, ops, "every operation counted once");
      assertOperation(`writes at concurrency ${phase.concurrency}`, phase.writes);
      assertOperation(`reads at concurrency ${phase.concurrency}`, phase.reads);
    }
  });

  test("bad flags are a usage error (exit 2) and nothing runs", async () => {
    const cases: readonly (readonly string[])[] = [
      ["--concurrency", "0"],
      ["--concurrency", "1,x"],
      ["--ops", "10", "--duration", "5"],
      ["--read-ratio", "1.5"],
      ["--consistency", "sometimes"],
    ];
    for (const flags of cases) {
      const run = await tsraft(["bench", "--endpoints", "127.0.0.1:1", ...flags]);
      assert.equal(run.code, 2, `${flags.join(" ")}: exit 2; stderr: ${run.stderr}`);
      assert.match(run.stderr, /error:/, `${flags.join(" ")}: says what is wrong`);
      assert.equal(run.stdout, "", `${flags.join(" ")}: runs nothing`);
    }
  });

  test("an unreachable cluster is reported quickly with exit 1", async () => {
    const ports = await freePorts(3);
    const run = await tsraft([
      "bench",
      "--endpoints",
      ports.map((port) => `127.0.0.1:${port}`).join(","),
      "--ops",
      "10",
    ]);
    assert.equal(run.code, 1, `exit 1; stderr: ${run.stderr}`);
    assert.match(run.stderr, /no node answered/);
    assert.ok(
      run.elapsedMs < UNREACHABLE_REPORTED_WITHIN_MS,
      `reported in ${run.elapsedMs} ms, under ${UNREACHABLE_REPORTED_WITHIN_MS} ms`,
    );
  });
});
