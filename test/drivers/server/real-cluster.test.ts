/**
 * Real processes on loopback (DESIGN.md §8, "real I/O"): three `tsraft serve` nodes elect a leader and
 * replicate; the leader is SIGKILLed and another takes over; the killed node restarts and catches up by
 * snapshot; nodes SIGKILLed in the middle of a write burst — one, then all at once — lose no acknowledged
 * write; SIGTERM stops a node cleanly; a corrupted log makes a node refuse to start.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { openSync, readdirSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { connect } from "../../../src/drivers/kv.ts";
import { BIN, ProcessCluster, poll, runTsraft } from "./process-cluster.ts";

const clusters: ProcessCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((cluster) => cluster.destroy()));
});

async function newCluster(size: number, extraArgs: readonly string[] = []): Promise<ProcessCluster> {
  const cluster = await ProcessCluster.create(size, extraArgs);
  clusters.push(cluster);
  return cluster;
}

describe("a cluster of real processes", { concurrency: false }, () => {
  test("elects, replicates, survives a SIGKILLed leader, and the restarted node catches up by snapshot", async () => {
    const cluster = await newCluster(3, ["--snapshot-bytes", "4096"]);
    await cluster.startAll();
    const first = await cluster.waitForLeader();
    for (let i = 0; i < 20; i++)
      assert.ok(await cluster.put(`early-${i}`, `v${i}`, first), `write early-${i}`);
    for (const id of cluster.ids) {
      await poll(
        `node ${id} to apply the early writes`,
        async () => (await cluster.get(id, "early-19", "local")) === "v19",
      );
    }

    const before = await cluster.status(first);
    assert.ok(before !== null);
    await cluster.kill(first, "SIGKILL");
    const survivors = cluster.ids.filter((id) => id !== first);
    const second = await cluster.waitForLeader(survivors);
    assert.notEqual(second, first);

    // Enough writes (about 40 KiB of log) for the survivors to snapshot several times past the dead node's log.
    const value = "x".repeat(100);
    for (let i = 0; i < 400; i++)
      assert.ok(await cluster.put(`late-${i}`, `${value}${i}`, second), `write late-${i}`);
    const leaderStatus = await cluster.status(second);
    assert.ok(
      leaderStatus !== null && leaderStatus.snapshotIndex > before.lastLogIndex,
      "the leader compacted past the dead node's log",
    );

    await cluster.start(first);
    await poll(
      "the restarted node to catch up",
      async () => (await cluster.get(first, "late-399", "local")) === `${value}399`,
    );
    const caughtUp = await cluster.status(first);
    assert.ok(caughtUp !== null);
    assert.ok(
      caughtUp.snapshotIndex > before.lastLogIndex,
      `node ${first} holds a snapshot at ${caughtUp.snapshotIndex}, beyond the ${before.lastLogIndex} entries it had: it came from the leader`,
    );
    for (let i = 0; i < 400; i += 37)
      assert.equal(await cluster.get(first, `late-${i}`, "local"), `${value}${i}`);
    for (let i = 0; i < 20; i++) assert.equal(await cluster.get(first, `early-${i}`, "local"), `v${i}`);
    assert.equal(
      await cluster.get(first, "late-7"),
      `${value}7`,
      "a linearizable read through the restarted follower",
    );
    assert.match(cluster.output.get(first) ?? "", /"event":"snapshot-installed"/, "the install is logged");
  });

  test("nodes SIGKILLed in the middle of a write burst lose no acknowledged write", async () => {
    const cluster = await newCluster(3);
    await cluster.startAll();
    await cluster.waitForLeader();
    const acknowledged = new Map<string, string>();
    let writing = true;
    const writer = async (writerId: number) => {
      for (let n = 0; writing; n++) {
        const key = `w${writerId}-${n}`;
        const via = 1 + ((writerId + n) % cluster.size);
        if (await cluster.put(key, `value-${writerId}-${n}`, via))
          acknowledged.set(key, `value-${writerId}-${n}`);
      }
    };
    const writers = Array.from({ length: 8 }, (_, i) => writer(i));
    await poll("some writes to be acknowledged", async () => acknowledged.size >= 100);

    // One node (the leader) dies mid-burst and comes back.
    const leader = await cluster.waitForLeader();
    await cluster.kill(leader, "SIGKILL");
    const countAtKill = acknowledged.size;
    await poll("writes to go on without the old leader", async () => acknowledged.size >= countAtKill + 100);
    await cluster.start(leader);

    // Then every node dies at once, as in a power cut: only what reached the disks survives.
    await poll("more writes", async () => acknowledged.size >= countAtKill + 200);
    await Promise.all(cluster.ids.map((id) => cluster.kill(id, "SIGKILL")));
    writing = false;
    await Promise.all(writers);

    await cluster.startAll();
    const newLeader = await cluster.waitForLeader();
    assert.ok(acknowledged.size >= 300, `only ${acknowledged.size} writes were acknowledged`);
    const lost: string[] = [];
    for (const [key, expected] of acknowledged) {
      if ((await cluster.get(newLeader, key)) !== expected) lost.push(key);
    }
    assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.size} acknowledged writes were lost`);
  });

  test("leadership is handed to another node while a client writes (thesis §3.10)", async () => {
    const cluster = await newCluster(3);
    await cluster.startAll();
    const first = await cluster.waitForLeader();
    const target = cluster.ids.find((id) => id !== first) ?? 1;
    // A client with retries (the library users would use) keeps writing across the hand-over.
    const client = connect(cluster.ids.map((id) => cluster.apiUrl(id)));
    let writing = true;
    let written = 0;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        await client.put(`t${n}`, `v${n}`);
        written++;
      }
    })();
    await poll("some writes before the transfer", async () => written >= 20);
    const transfer = await runTsraft([
      "leader",
      "transfer",
      String(target),
      "--endpoints",
      cluster.ids.map((id) => cluster.apiUrl(id)).join(","),
    ]);
    assert.equal(transfer.status, 0, transfer.stderr);
    assert.match(transfer.stdout, new RegExp(`node ${target} is the leader`));
    assert.equal(await cluster.waitForLeader(), target);
    const atTransfer = written;
    await poll("writes to go on under the new leader", async () => written >= atTransfer + 20);
    writing = false;
    await writer;
  });

  test("SIGTERM stops a node cleanly; a corrupted log stops it from starting, naming file and offset", async () => {
    const cluster = await newCluster(3);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 30; i++) assert.ok(await cluster.put(`k${i}`, `v${i}`, leader));
    const victim = leader === 1 ? 2 : 1;
    await poll(
      "the victim to apply every write",
      async () => (await cluster.get(victim, "k29", "local")) === "v29",
    );
    assert.equal(await cluster.kill(victim, "SIGTERM"), 0, "exit status 0 after SIGTERM");
    assert.match(cluster.output.get(victim) ?? "", /received SIGTERM, stopping/);
    assert.match(cluster.output.get(victim) ?? "", /"msg":"node stopped"/);

    // Flip one byte inside an early record: this is committed data, so the node must refuse to start.
    const dir = cluster.dataDir(victim);
    const segment = readdirSync(dir).find((name) => name.endsWith(".wal"));
    assert.ok(segment !== undefined, "the node has a WAL segment");
    const fd = openSync(join(dir, segment), "r+");
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 40);
    writeSync(fd, Buffer.from([byte[0] === undefined ? 1 : byte[0] ^ 0xff]), 0, 1, 40);
    const result = spawnSync(
      process.execPath,
      [BIN, "serve", "--id", "1", "--peers", "1=127.0.0.1:1", "--data", dir, "--log-level", "silent"],
      { encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(result.status, 1, `exit status; stderr: ${result.stderr}`);
    assert.match(result.stderr, /corrupt/i);
    assert.match(result.stderr, new RegExp(segment.replace(/[.]/g, "\\.")));
    assert.match(result.stderr, /offset \d+/);
  });
});
