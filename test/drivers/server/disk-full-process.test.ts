/**
 * A real node on a real full disk: a one-node cluster whose data directory is a small tmpfs accepts writes
 * until the disk fills, then stops with a clear message (exit status 1) instead of carrying on; its data,
 * copied to a roomy disk, recovers every acknowledged write. Mounting needs root; elsewhere the test shows
 * that the mount was refused for lack of permission.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { freePorts, poll, spawnTsraft, TEST_TIMING, type TsraftProcess } from "./process-cluster.ts";

/** Room for the first 16 MiB WAL segment and its files, not for a second segment. */
const TMPFS_SIZE = "20m";
/** Each write's value: about 80 of them fill a segment. */
const VALUE_BYTES = 200 * 1024;
/** Writes at most; the disk fills long before. */
const WRITES_MAX = 400;

function startNode(dataDir: string, peerPort: number, apiPort: number): TsraftProcess {
  return spawnTsraft([
    "serve",
    "--id",
    "1",
    "--peers",
    `1=127.0.0.1:${peerPort}`,
    "--http",
    `127.0.0.1:${apiPort}`,
    "--data",
    dataDir,
    "--snapshot-bytes",
    "0",
    ...TEST_TIMING,
  ]);
}

async function put(apiPort: number, key: string, value: string): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${apiPort}/v1/kv/${key}`, {
      method: "PUT",
      body: JSON.stringify({ value }),
      signal: AbortSignal.timeout(5000),
    });
    await response.text();
    return response.ok;
  } catch {
    return false;
  }
}

describe("a real node on a full disk", () => {
  test("stops with a clear message when the disk fills, and loses no acknowledged write", async (t: TestContext) => {
    if (process.getuid?.() !== 0) {
      t.diagnostic("not root: no tmpfs can be mounted, so the real full disk was not exercised");
      assert.notEqual(process.getuid?.(), 0);
      return;
    }
    const root = mkdtempSync(join(tmpdir(), "tsraft-full-"));
    const mountPoint = join(root, "tiny");
    mkdirSync(mountPoint);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE}`, "tmpfs", mountPoint], {
      encoding: "utf8",
    });
    if (mounted.status !== 0) {
      t.diagnostic(`mount refused (${mounted.stderr.trim()}): the real full disk was not exercised`);
      assert.match(`${mounted.stderr}`, /permission|not permitted|superuser|EPERM|EACCES/i);
      rmSync(root, { recursive: true, force: true });
      return;
    }
    const [peerPort = 0, apiPort = 0, peerPort2 = 0, apiPort2 = 0] = await freePorts(4);
    let node: ReturnType<typeof startNode> | null = null;
    try {
      const dataDir = join(mountPoint, "node-1");
      node = startNode(dataDir, peerPort, apiPort);
      const exited = once(node.child, "exit");
      await poll("the node to elect itself", async () => put(apiPort, "hello", "world"));
      const acknowledged: string[] = ["hello"];
      const value = "v".repeat(VALUE_BYTES);
      for (let n = 0; n < WRITES_MAX && node.child.exitCode === null; n++) {
        if (await put(apiPort, `k${n}`, value)) acknowledged.push(`k${n}`);
      }
      const [code] = (await exited) as [number | null];
      assert.equal(code, 1, "the node exits with status 1");
      assert.match(node.output(), /ENOSPC/, "and says the disk is full");
      assert.ok(acknowledged.length > 10, `it took writes before the disk filled (${acknowledged.length})`);

      // The data moved to a roomy disk: every acknowledged write is there.
      const roomy = join(root, "roomy");
      cpSync(dataDir, roomy, { recursive: true });
      node = startNode(roomy, peerPort2, apiPort2);
      await poll("the recovered node to elect itself", async () => put(apiPort2, "after", "x"));
      for (const key of acknowledged) {
        const response = await fetch(`http://127.0.0.1:${apiPort2}/v1/kv/${key}?consistency=local`);
        assert.equal(response.status, 200, `acknowledged write ${key} survived`);
        await response.text();
      }
    } finally {
      node?.child.kill("SIGKILL");
      if (node !== null && node.child.exitCode === null) await once(node.child, "exit");
      const unmounted = spawnSync("umount", [mountPoint], { encoding: "utf8" });
      if (unmounted.status !== 0) spawnSync("umount", ["-l", mountPoint]);
      rmSync(root, { recursive: true, force: true });
    }
  });
});
