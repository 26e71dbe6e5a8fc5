/**
 * Lease-based reads (Raft thesis §6.4.1): with a lease, the leader answers a read at once from its commit
 * index; the lease lasts from the start of the latest heartbeat round a quorum echoed until
 * electionTicks - leaseMarginTicks later, it is never held after TimeoutNow, and it is sound only while no
 * node's clock runs fast enough to outpace the margin — which the last test shows by breaking it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asNodeId, type NodeId, RaftNode } from "../../src/core/index.ts";
import { leaseHolds } from "../../src/core/read-only.ts";
import { deriveSeed, Random } from "../../src/util/random.ts";
import { Cluster, ELECTION_TICKS, initialState, ofType, requestVote } from "./helpers.ts";
import { randomGroups } from "./random-features.ts";

const LEASE = { preVote: true, checkQuorum: true, leaseReads: true } as const;

function readsOf(cluster: Cluster, id: number) {
  return cluster.readStates.get(asNodeId(id)) ?? [];
}

/** Elects node 1 and runs one heartbeat round, so a quorum has echoed a round with a known start. */
function leaseCluster(size = 3): Cluster {
  const cluster = new Cluster(size, LEASE);
  // Freshly started nodes refuse to vote for an election timeout (the restart test below); skip that here.
  for (const id of cluster.ids) cluster.node(id).leaderContactAssumed = false;
  cluster.elect(1);
  cluster.propose(1, 1);
  cluster.tick();
  return cluster;
}

describe("lease reads (thesis §6.4.1)", () => {
  test("lease reads need CheckQuorum", () => {
    assert.throws(
      () =>
        new RaftNode({
          id: asNodeId(1),
          voters: [asNodeId(1)],
          electionTicks: 10,
          heartbeatTicks: 1,
          random: new Random(1),
          initialState: initialState(),
          leaseReads: true,
        }),
      /leaseReads needs checkQuorum/,
    );
  });

  test("with a lease the leader answers at once, without a heartbeat round", () => {
    const cluster = leaseCluster();
    const leader = cluster.node(1);
    assert.ok(leaseHolds(leader));
    leader.readIndex(7);
    const delivered = cluster.deliver();
    assert.deepEqual(readsOf(cluster, 1), [{ requestId: 7, index: leader.log.committed }]);
    assert.equal(ofType(delivered, "AppendEntries").length, 0, "no round was needed");
    // A follower's read costs one round trip to the leader and no heartbeat round either.
    cluster.node(2).readIndex(8);
    const forwarded = cluster.deliver();
    assert.deepEqual(
      forwarded.map((m) => m.type),
      ["ReadIndex", "ReadIndexReply"],
    );
    assert.deepEqual(readsOf(cluster, 2), [{ requestId: 8, index: leader.log.committed }]);
  });

  test("the lease lapses electionTicks - margin ticks after the last echoed round; reads then wait for one", () => {
    const cluster = leaseCluster();
    const leader = cluster.node(1);
    const margin = leader.config.leaseMarginTicks;
    cluster.isolated.add(asNodeId(2));
    cluster.isolated.add(asNodeId(3));
    let held = 0;
    while (leaseHolds(leader)) {
      leader.tick();
      cluster.deliver();
      held++;
    }
    assert.equal(held, ELECTION_TICKS - margin, "the lease ran out exactly margin ticks early");
    leader.readIndex(9);
    cluster.deliver();
    assert.deepEqual(readsOf(cluster, 1), [], "without a lease and without a quorum, nothing is answered");
  });

  test("a leader that sent TimeoutNow holds no lease for the rest of its term", () => {
    const cluster = leaseCluster();
    const leader = cluster.node(1);
    cluster.isolated.add(asNodeId(3)); // the TimeoutNow is lost, so the transfer is aborted
    assert.ok(leader.transferLeader(asNodeId(3)).accepted);
    cluster.deliver();
    for (let t = 0; t < 3 * ELECTION_TICKS; t++) cluster.tick([1, 2]);
    assert.equal(leader.role, "leader", "still leading, with node 2");
    assert.equal(leader.transferTarget, null, "the transfer was aborted");
    assert.ok(!leaseHolds(leader), "but the TimeoutNow went out: no lease in this term");
    leader.readIndex(5);
    const delivered = cluster.deliver();
    assert.ok(ofType(delivered, "AppendEntries").length > 0, "reads go through a heartbeat round again");
    assert.equal(readsOf(cluster, 1).length, 1);
  });

  test("a restarted node refuses votes for an election timeout, as if it had just heard from a leader", () => {
    const cluster = leaseCluster();
    const restarted = cluster.restart(2);
    restarted.step(requestVote(3, 2, restarted.term + 1, 100, restarted.term + 1));
    const refused = ofType(restarted.ready().messagesAfterPersist, "RequestVoteReply");
    assert.ok(
      refused.every((m) => !m.voteGranted),
      "no vote right after a restart",
    );
  });
});

/**
 * Randomized: every read, lease-served or not, must come out at an index at least as high as every index any
 * node knew to be committed when the read was asked (otherwise it could miss a write that completed before
 * it). All nodes tick in lockstep unless `fastNode` is set, whose clock then runs `fastFactor` times as fast.
 */
function runLeaseReads(
  seed: number,
  options: { fastNode?: NodeId; fastFactor?: number } = {},
): { problems: string[]; leaseReads: number } {
  const random = new Random(deriveSeed(seed, "lease-reads"));
  const size = seed % 2 === 0 ? 3 : 5;
  const cluster = new Cluster(size, { ...LEASE, seed });
  const problems: string[] = [];
  const asked = new Map<string, number>(); // `${node}:${requestId}` -> highest commit index when asked
  let requestId = 0;
  let leaseReads = 0;
  let groups = new Map<NodeId, number>();
  cluster.drop = (m) => (groups.get(m.from) ?? 0) !== (groups.get(m.to) ?? 0);
  const seen = new Map<NodeId, number>();
  for (let step = 0; step < 600; step++) {
    if (random.int(40) === 0) groups = randomGroups(random, cluster.ids);
    if (random.int(200) === 0) cluster.restart(random.pick(cluster.ids));
    for (const id of cluster.ids) {
      const times = id === options.fastNode ? (options.fastFactor ?? 1) : 1;
      for (let k = 0; k < times; k++) cluster.node(id).tick();
    }
    cluster.deliver();
    for (const leader of cluster.leaders()) {
      if (random.int(3) === 0 && leader.propose(new Uint8Array([step & 0xff])).accepted) cluster.deliver();
    }
    const reader = random.pick(cluster.ids);
    const highest = Math.max(...cluster.ids.map((id) => cluster.node(id).log.committed));
    requestId++;
    if (leaseHolds(cluster.node(reader))) leaseReads++;
    if (cluster.node(reader).readIndex(requestId).accepted) asked.set(`${reader}:${requestId}`, highest);
    cluster.deliver();
    for (const id of cluster.ids) {
      const reads = cluster.readStates.get(id) ?? [];
      for (const read of reads.slice(seen.get(id) ?? 0)) {
        const floor = asked.get(`${id}:${read.requestId}`);
        if (floor !== undefined && read.index < floor) {
          problems.push(
            `seed ${seed} step ${step}: node ${id} read ${read.requestId} at ${read.index}, but ${floor} was committed when it was asked`,
          );
        }
      }
      seen.set(id, reads.length);
    }
  }
  return { problems, leaseReads };
}

describe("lease reads, randomized", () => {
  test("with clocks in step, no read ever misses a committed write (200 seeds)", () => {
    let leaseReads = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const run = runLeaseReads(seed);
      leaseReads += run.leaseReads;
      assert.deepEqual(
        run.problems,
        [],
        `replay: npx tsx --test --test-name-pattern="lease reads, randomized" test/core/lease-read.test.ts (seed ${seed})`,
      );
    }
    assert.ok(leaseReads > 10_000, `the leaders served reads from their lease (${leaseReads} of 120,000)`);
  });

  test("calibration: a follower whose clock runs at three times the leader's breaks the lease's assumption", () => {
    let violations = 0;
    for (let seed = 1; seed <= 200 && violations === 0; seed++) {
      violations += runLeaseReads(seed, { fastNode: asNodeId(2), fastFactor: 3 }).problems.length;
    }
    assert.ok(violations > 0, "the randomized check should catch stale lease reads under clock drift");
  });
});
