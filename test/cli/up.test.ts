/**
 * `tsraft up` as a user runs it: it starts a local cluster and prints where it is, `tsraft kv` and `status`
 * find it through its data directory, Ctrl-C (SIGINT) stops every node, and starting it again recovers the
 * data.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  freeBase,
  poll,
  runTsraft,
  spawnTsraft,
  type TsraftProcess,
} from "../drivers/server/process-cluster.ts";

function startUp(cwd: string, peerPort: number, apiPort: number): TsraftProcess {
  return spawnTsraft(["up", "--peer-port", String(peerPort), "--api-port", String(apiPort)], cwd);
}

function cli(cwd: string, ...args: string[]) {
  return runTsraft(args, cwd);
}

describe("tsraft up", () => {
  test("starts a cluster, stops it on Ctrl-C, and recovers its data on the next start", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "tsraft-up-"));
    const peerPort = await freeBase(3);
    const apiPort = peerPort + 10;
    let up = startUp(cwd, peerPort, apiPort);
    try {
      await poll(
        "the cluster to take a write",
        async () => (await cli(cwd, "kv", "put", "color", "blue")).status === 0,
      );
      assert.match(up.output(), new RegExp(`node 1: API http://127\\.0\\.0\\.1:${apiPort}`));
      assert.match(up.output(), /curl/);
      const status = await cli(cwd, "status");
      assert.equal(status.status, 0, status.stderr);
      const rows = status.stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((line) => line.trim().split(/\s+/));
      assert.equal(rows.length, 3, status.stdout);
      assert.equal(
        rows.filter((row) => row[2] === "leader").length,
        1,
        `exactly one leader:\n${status.stdout}`,
      );

      up.child.kill("SIGINT");
      const [code] = (await once(up.child, "exit")) as [number | null];
      assert.equal(code, 0, up.output());
      assert.match(up.output(), /all nodes stopped/);
      assert.notEqual(
        (await cli(cwd, "kv", "get", "color", "--endpoints", `127.0.0.1:${apiPort}`)).status,
        0,
        "nothing answers",
      );

      up = startUp(cwd, peerPort, apiPort);
      await poll(
        "the restarted cluster to answer",
        async () => (await cli(cwd, "kv", "get", "color")).stdout.trim() === "blue",
      );
    } finally {
      up.child.kill("SIGINT");
      if (up.child.exitCode === null) await once(up.child, "exit");
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
