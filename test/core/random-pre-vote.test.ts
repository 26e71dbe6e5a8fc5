/**
 * Randomized cluster runs with PreVote (thesis §9.6) and CheckQuorum (§6.2, with leader stickiness §4.2.3)
 * turned on, in the style of random-cluster.test.ts:
 * - the full fault set of random-run.ts (loss, duplication, reordering, partitions, crashes mid-Ready,
 *   restarts, compaction), checked against the Figure 3 properties, and a leader and a new commit within a
 *   bounded time after healing (the features must not cost liveness);
 * - a run of its own with Log Matching (§5.3) checked between every pair of nodes after every tick, under
 *   loss, duplication, reordering, restarts and partitions that often cut off a single node — the case
 *   pre-vote is for.
 * Failures name the seed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Message, NodeId } from "../../src/core/index.ts";
import { deriveSeed, Random } from "../../src/util/random.ts";
import { Cluster } from "./helpers.ts";
import { checkLogMatching, nodeOptionsFor, randomGroups } from "./random-features.ts";
import { ALL_FAULTS, runRandomCluster, SafetyChecker } from "./random-run.ts";

/** Seeds per cluster size and per kind of run. */
const SEEDS = 60;
/** Ticks per seed in the Log Matching runs. */
const LOG_MATCHING_TICKS = 300;
/** Messages kept in flight at most in the Log Matching runs; older ones are dropped first. */
const NETWORK_MESSAGES_MAX = 400;

/** One seeded run with Log Matching and the Figure 3 checks; returns the highest index committed. */
function runLogMatching(seed: number, size: number): number {
  const random = new Random(deriveSeed(seed, "pre-vote-faults"));
  const cluster = new Cluster(size, { ...nodeOptionsFor(seed), seed });
  let tick = 0;
  const context = () => `seed ${seed} (size ${size}, tick ${tick})`;
  const checker = new SafetyChecker(cluster, context);
  cluster.onReady = (id, rd) => checker.onReady(id, rd);
  cluster.onRestart = (id) => checker.onRestart(id);
  let groups = new Map<NodeId, number>(cluster.ids.map((id) => [id, 0]));
  cluster.drop = (m) => groups.get(m.from) !== groups.get(m.to);
  let proposals = 0;

  const deliverSome = (count: number) => {
    for (let i = 0; i < count && cluster.network.length > 0; i++) {
      const at = random.int(cluster.network.length); // reordering
      const message = cluster.network[at] as Message;
      if (!random.chance(3, 100)) cluster.network.splice(at, 1); // else duplicated
      if (random.chance(5, 100) || cluster.isLost(message)) continue;
      cluster.node(message.to).step(message);
      cluster.flushNode(message.to);
      checker.check();
    }
    if (cluster.network.length > NETWORK_MESSAGES_MAX) {
      cluster.network.splice(0, cluster.network.length - NETWORK_MESSAGES_MAX);
    }
  };

  for (; tick < LOG_MATCHING_TICKS; tick++) {
    if (random.chance(5, 100)) groups = randomGroups(random, cluster.ids);
    if (random.chance(1, 100)) {
      cluster.restart(random.pick(cluster.ids));
      checker.check();
    }
    for (const id of cluster.ids) {
      cluster.node(id).tick();
      cluster.flushNode(id);
      checker.check();
    }
    for (const leader of cluster.leaders()) {
      if (!random.chance(30, 100)) continue;
      proposals++;
      assert.ok(leader.propose(new Uint8Array([seed & 0xff, proposals & 0xff])).accepted);
      cluster.flushNode(leader.id);
      checker.check();
    }
    deliverSome(random.int(6 * size));
    checker.checkLeaders();
    const nodes = [...cluster.nodes.values()];
    for (const [k, a] of nodes.entries()) {
      for (const b of nodes.slice(k + 1)) checkLogMatching(a, b, context());
    }
  }
  return checker.highestCommitted();
}

describe("random clusters with PreVote and CheckQuorum", () => {
  for (const size of [3, 5]) {
    test(`${size} nodes, ${SEEDS} seeds: Figure 3 properties under every fault, and progress after healing`, () => {
      let committed = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        committed += runRandomCluster(seed * 1000 + size, size, ALL_FAULTS, nodeOptionsFor(seed)).committed;
      }
      assert.ok(committed > SEEDS * 10, `only ${committed} entries committed over ${SEEDS} seeds`);
    });

    test(`${size} nodes, ${SEEDS} seeds: election safety and Log Matching after every tick`, () => {
      let committed = 0;
      for (let seed = 1; seed <= SEEDS; seed++) committed += runLogMatching(seed * 7919 + size, size);
      assert.ok(committed > SEEDS * 10, `only ${committed} entries committed over ${SEEDS} seeds`);
    });
  }

  test("the Log Matching check notices logs that agree at an index but differ below it", () => {
    // Two single-node clusters whose logs both end with (2, term 1) but hold different commands at 1.
    const logWith = (first: number) => {
      const cluster = new Cluster(1, { noopOnElection: false });
      cluster.elect(1);
      cluster.propose(1, first);
      cluster.propose(1, 2);
      return cluster.node(1);
    };
    const [a, b] = [logWith(1), logWith(9)];
    assert.throws(
      () => checkLogMatching(a, b, "seed 5"),
      /seed 5: nodes 1 and 1 agree on \(2, term 1\) but differ at 1/,
    );
    assert.doesNotThrow(() => checkLogMatching(a, logWith(1), "seed 5"));
  });
});
