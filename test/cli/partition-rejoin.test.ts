/**
 * PreVote and CheckQuorum on real processes (thesis §9.6, §6.2): a follower cut off by a real network
 * partition (a userspace proxy on every peer link) for several election timeouts, while a client writes,
 * comes back without raising anyone's term and without changing the leader; and it catches up.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { JepsenCluster, sleep } from "../../src/cli/jepsen/cluster.ts";
import { PASS } from "../../src/drivers/fault-proxy/index.ts";
import { connect } from "../../src/drivers/kv.ts";
import { poll } from "../drivers/server/process-cluster.ts";

/** Fast timing: 20 ms ticks, elections after 200–400 ms without a leader. */
const TIMING = { tickMs: 20, heartbeatTicks: 2, electionTicks: 10, requestTimeoutMs: 2000, snapshotBytes: 0 };
const ELECTION_TIMEOUT_MS = TIMING.tickMs * TIMING.electionTicks;

interface Status {
  readonly role?: string;
  readonly term?: number;
  readonly leader?: number | null;
  readonly commitIndex?: number;
}

describe("a partitioned follower rejoins (real processes)", () => {
  test("no term bump, no leader change, and it catches up", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsraft-rejoin-"));
    const cluster = await JepsenCluster.start({
      nodes: 3,
      dataDir: join(root, "data"),
      logDir: join(root, "logs"),
      timing: TIMING,
      unsafe: undefined,
      seed: 1,
    });
    const client = connect(cluster.ids.map((id) => cluster.apiUrl(id)));
    const status = async (id: number): Promise<Status> => {
      const response = await fetch(`${cluster.apiUrl(id)}/v1/status`);
      return (await response.json()) as Status;
    };
    let writing = true;
    let acknowledged = 0;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        await client.put(`k${n % 10}`, String(n));
        acknowledged++;
      }
    })();
    try {
      await poll("writes to flow", async () => acknowledged > 10);
      // Every node must follow the same leader in the same term before the cut (a node that started late may
      // not have heard from the leader yet).
      let agreed: { leader: number; term: number } | null = null;
      await poll("every node to follow one leader", async () => {
        const all = await Promise.all(cluster.ids.map(status));
        const { leader, term } = all[0] ?? {};
        const same = all.every((answer) => answer.leader === leader && answer.term === term);
        agreed = same && typeof leader === "number" && typeof term === "number" ? { leader, term } : null;
        return agreed !== null;
      });
      assert.ok(agreed !== null);
      const { leader, term } = agreed as { leader: number; term: number };
      const follower = cluster.ids.find((id) => id !== leader) as number;

      // Cut the follower off in both directions for five election timeouts.
      for (const other of cluster.ids) {
        if (other === follower) continue;
        cluster.proxy.setPolicy(follower, other, { ...PASS, block: "blackhole" });
        cluster.proxy.setPolicy(other, follower, { ...PASS, block: "blackhole" });
      }
      const before = acknowledged;
      await sleep(5 * ELECTION_TIMEOUT_MS);
      assert.ok(acknowledged > before, "the majority kept taking writes");
      const cutOff = await status(follower);
      assert.equal(cutOff.term, term, "PreVote: the cut-off follower did not raise its term");

      cluster.proxy.heal();
      const leaderCommit = async () => (await status(leader)).commitIndex ?? 0;
      const target = await leaderCommit();
      await poll(
        "the follower to catch up",
        async () => ((await status(follower)).commitIndex ?? 0) >= target,
      );
      for (const id of cluster.ids) {
        const now = await status(id);
        assert.equal(now.term, term, `node ${id} is still in term ${term}`);
        assert.equal(now.leader, leader, `node ${id} still follows node ${leader}`);
      }
    } finally {
      writing = false;
      await writer;
      const outcomes = await cluster.stop();
      rmSync(root, { recursive: true, force: true });
      assert.deepEqual(
        outcomes.filter((outcome) => !outcome.clean),
        [],
        "every node stopped cleanly",
      );
    }
  });
});
