/**
 * Membership changes as a user makes them (thesis §4): `tsraft up` runs a three-node cluster, a client keeps
 * appending, `tsraft up grow` takes it to five voters, `tsraft up shrink` takes it back to three — the leader
 * among the nodes removed — and `tsraft member list` shows each configuration. No acknowledged append is
 * lost or applied twice, and the cluster starts again from its data with its new members.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { connect } from "../../src/drivers/kv.ts";
import type { MembersView } from "../../src/kv/client/kv-client.ts";
import {
  freeBase,
  poll,
  runTsraft,
  spawnTsraft,
  type TsraftProcess,
} from "../drivers/server/process-cluster.ts";

/** Nodes the cluster reaches at its largest. */
const NODES_MAX = 5;

describe("tsraft up grow and shrink", () => {
  test("3 -> 5 -> 3 voters while a client appends: nothing acknowledged is lost or doubled", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "tsraft-members-"));
    const peerPort = await freeBase(NODES_MAX);
    const apiPort = peerPort + 10;
    const endpoints = Array.from({ length: NODES_MAX }, (_, i) => `http://127.0.0.1:${apiPort + i}`);
    const cli = (...args: string[]) => runTsraft(args, cwd);
    const members = async (): Promise<MembersView> => {
      const listed = await cli("member", "list", "--json");
      assert.equal(listed.status, 0, listed.stderr);
      return JSON.parse(listed.stdout) as MembersView;
    };
    const voters = (view: MembersView) =>
      view.members.filter((member) => member.role === "voter").map((member) => member.id);
    const startUp = (): TsraftProcess =>
      spawnTsraft(["up", "--peer-port", String(peerPort), "--api-port", String(apiPort)], cwd);
    let up = startUp();
    const client = connect(endpoints, { deadlineMs: 30_000 });
    const acknowledged: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        const value = `<${n}>`;
        try {
          await client.append("log", value);
          acknowledged.push(value);
        } catch {
          // Not acknowledged: it may or may not be in the log; only acknowledged appends are checked.
        }
      }
    })();
    try {
      await poll("the first append", async () => acknowledged.length > 0);
      assert.deepEqual(voters(await members()), [1, 2, 3]);

      const grown = await cli("up", "grow", "--count", "2");
      assert.equal(grown.status, 0, `${grown.stderr}\n${up.output()}`);
      assert.match(grown.stdout, /node 4 joined/);
      assert.match(grown.stdout, /node 5 joined/);
      assert.deepEqual(voters(await members()), [1, 2, 3, 4, 5]);
      const afterGrow = acknowledged.length;
      await poll("appends through the five-node cluster", async () => acknowledged.length > afterGrow + 5);

      // Remove the leader first: it steps down and hands over once the change commits.
      const leader = (await members()).leader;
      assert.ok(leader !== null);
      const shrunk = await cli("up", "shrink", "--node", String(leader));
      assert.equal(shrunk.status, 0, `${shrunk.stderr}\n${up.output()}`);
      assert.match(shrunk.stdout, new RegExp(`node ${leader} left the cluster`));
      const again = await cli("up", "shrink");
      assert.equal(again.status, 0, again.stderr);
      const remaining = [1, 2, 3, 4, 5].filter((id) => id !== leader).slice(0, 3);
      await poll("three voters", async () => voters(await members()).join() === remaining.join());
      const afterShrink = acknowledged.length;
      await poll("appends through the three-node cluster", async () => acknowledged.length > afterShrink + 5);
    } finally {
      writing = false;
      await writer;
    }
    try {
      const value = (await client.get("log")) ?? "";
      const applied: string[] = value.match(/<\d+>/g) ?? [];
      assert.equal(new Set(applied).size, applied.length, "an append was applied twice");
      const missing = acknowledged.filter((entry) => !applied.includes(entry));
      assert.deepEqual(missing, [], "acknowledged appends are missing");

      up.child.kill("SIGINT");
      const [code] = (await once(up.child, "exit")) as [number | null];
      assert.equal(code, 0, up.output());
      up = startUp();
      await poll("the restarted cluster to answer with the same data", async () => {
        const reread = await cli("kv", "get", "log");
        return reread.status === 0 && reread.stdout.trim() === value;
      });
      assert.equal(voters(await members()).length, 3);
    } finally {
      up.child.kill("SIGINT");
      if (up.child.exitCode === null) await once(up.child, "exit");
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
