/**
 * Randomized cluster runs (see random-run.ts): 3 and 5 nodes under loss, duplication, reordering, partitions,
 * crashes (some with a Ready half done), restarts, Readies left in flight while the node keeps stepping, and
 * log compaction; checked after every step against the paper's Figure 3 properties and the durability
 * contract. Failures name the seed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asNodeId } from "../../src/core/index.ts";
import { Cluster, type NodeOptions } from "./helpers.ts";
import { ALL_FAULTS, FAULTY_TICKS, type Faults, runRandomCluster, SafetyChecker } from "./random-run.ts";

/** Seeds per cluster size. */
const SEEDS = 50;

/**
 * Seeds alternate between the two shapes the core runs in: real clusters (a no-op entry on election,
 * heartbeats every tick) and the lab (no no-op, so the Figure 8 rule alone keeps old-term entries from
 * committing early; slower heartbeats; small messages and a small inflight window).
 */
function nodeOptionsFor(seed: number): NodeOptions {
  return seed % 2 === 0
    ? {}
    : { noopOnElection: false, heartbeatTicks: 3, entriesPerMessageMax: 2, inflightMessagesMax: 2 };
}

/**
 * Lab-shaped seeds also propose rarely, so that leaders often replicate earlier terms' entries alone, and keep
 * more Readies in flight while the node goes on stepping.
 */
function faultsFor(seed: number): Faults {
  return seed % 2 === 0 ? ALL_FAULTS : { ...ALL_FAULTS, proposePercent: 5, asyncReadyPercent: 50 };
}

describe("random clusters: Figure 3 safety properties under faults", () => {
  for (const size of [3, 5]) {
    test(`${size} nodes, ${SEEDS} seeds, ${FAULTY_TICKS} faulty ticks each`, () => {
      let committed = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        committed += runRandomCluster(
          seed * 1000 + size,
          size,
          faultsFor(seed),
          nodeOptionsFor(seed),
        ).committed;
      }
      // The runs must do real work, not just survive: entries commit despite the faults.
      assert.ok(committed > SEEDS * 10, `only ${committed} entries committed over ${SEEDS} seeds`);
    });
  }

  test("a run is a pure function of its seed", () => {
    const first = runRandomCluster(4242, 5, ALL_FAULTS);
    assert.deepEqual(runRandomCluster(4242, 5, ALL_FAULTS), first);
    assert.notDeepEqual(runRandomCluster(4243, 5, ALL_FAULTS), first, "another seed, another run");
  });

  test("the checker notices two leaders in one term and names the seed", () => {
    const cluster = new Cluster(3);
    const checker = new SafetyChecker(cluster, () => "seed 99");
    cluster.elect(1);
    // Forge a second leader in the same term, as a broken core would.
    const forged = cluster.node(2);
    forged.role = "leader";
    assert.throws(() => checker.check(), /seed 99: two leaders in term 1/);
  });

  test("the checker notices a committed entry that differs between nodes", () => {
    const cluster = new Cluster(3, { noopOnElection: false });
    cluster.elect(1);
    cluster.propose(1, 1);
    cluster.tick([1]);
    // Node 3 replaced by one whose log says otherwise at the same committed index.
    const other = new Cluster(1, { noopOnElection: false });
    other.elect(1);
    other.propose(1, 2);
    other.node(1).becomeFollower(other.node(1).term, null);
    cluster.nodes.set(asNodeId(3), other.node(1));
    const checker = new SafetyChecker(cluster, () => "seed 7");
    assert.throws(() => checker.check(), /seed 7: node 3 has \(1, term 1\) committed, but/);
  });
});
