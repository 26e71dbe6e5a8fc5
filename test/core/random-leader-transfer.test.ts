/**
 * Randomized cluster runs with leadership transfers (Raft thesis §3.10) issued at random, with PreVote and
 * CheckQuorum on, in the style of random-pre-vote.test.ts: under message loss, duplication, reordering,
 * shifting partitions, restarts and crashes before a Ready is persisted, leaders are asked at random to hand
 * over to a random node. Checked after every step: the Figure 3 properties (election safety first), that only
 * a leader has a transfer in progress and that it refuses proposals only for that reason; after every tick, Log
 * Matching (§5.3) between every pair of nodes. After healing, a transfer must complete within a bounded time.
 * Failures name the seed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asNodeId, type Message, type NodeId, type RaftNode } from "../../src/core/index.ts";
import { deriveSeed, Random } from "../../src/util/random.ts";
import { Cluster, ELECTION_TICKS } from "./helpers.ts";
import { checkLogMatching, nodeOptionsFor, randomGroups } from "./random-features.ts";
import { SafetyChecker } from "./random-run.ts";

/** Seeds per cluster size. */
const SEEDS = 60;
/** Ticks of faulty running per seed. */
const FAULTY_TICKS = 300;
/** Ticks allowed after healing for a transfer to complete. */
const HEAL_TICKS_MAX = 40 * ELECTION_TICKS;
/** Messages kept in flight at most; older ones are dropped first. */
const NETWORK_MESSAGES_MAX = 400;
/** Percent of picked messages held back for a long delay instead of being delivered. */
const HOLD_PERCENT = 3;
/** The longest a held-back message waits, in ticks: long enough to outlive a transfer and its abort. */
const HOLD_TICKS_MAX = 3 * ELECTION_TICKS;
/** Percent chance per tick that each leader is asked to transfer (to a random node, itself included). */
const TRANSFER_PERCENT = 8;

/** What one run did. */
interface TransferRunSummary {
  /** Transfers the leaders accepted. */
  readonly started: number;
  /** Accepted transfers whose target then led the very next term. */
  readonly completed: number;
  /** The highest index committed. */
  readonly committed: number;
}

/** A transfer a leader accepted: the target should lead `term` + 1. */
interface Transfer {
  readonly term: number;
  readonly target: NodeId;
}

/** One seeded run; throws, naming the seed, on the first broken property. */
function runTransfers(seed: number, size: number): TransferRunSummary {
  const random = new Random(deriveSeed(seed, "transfer-faults"));
  const cluster = new Cluster(size, { ...nodeOptionsFor(seed), seed });
  let tick = 0;
  const context = () => `seed ${seed} (size ${size}, tick ${tick})`;
  const checker = new SafetyChecker(cluster, context);
  let faulty = true;
  let groups = new Map<NodeId, number>(cluster.ids.map((id) => [id, 0]));
  cluster.drop = (m) => groups.get(m.from) !== groups.get(m.to);
  cluster.crashBeforePersist = () => faulty && random.chance(1, 100);
  cluster.onReady = (id, rd) => checker.onReady(id, rd);
  cluster.onRestart = (id) => checker.onRestart(id);
  let proposals = 0;
  /** Accepted transfers not yet seen to complete, keyed by the term of the leader that accepted. */
  const pending = new Map<number, Transfer>();
  let started = 0;
  let completed = 0;
  /** Messages held back for a long delay, with the tick at which they rejoin the network. */
  let held: Array<{ readonly message: Message; readonly until: number }> = [];

  const afterStep = () => {
    checker.check();
    for (const node of cluster.nodes.values()) {
      if (node.transferTarget !== null && node.role !== "leader") {
        assert.fail(
          `${context()}: node ${node.id} is ${node.role} with a transfer to ${node.transferTarget}`,
        );
      }
      const transfer = pending.get(node.term - 1);
      if (node.role === "leader" && transfer?.target === node.id) {
        completed++;
        pending.delete(node.term - 1);
      }
    }
  };
  /** Carries out the node's Readies now, or (sometimes, while faulty) leaves the next one in flight. */
  const settle = (id: NodeId) => {
    if (faulty && random.chance(20, 100)) cluster.beginReady(id);
    else cluster.flushNode(id);
    afterStep();
  };
  const deliverSome = (count: number) => {
    cluster.network.push(...held.filter((h) => h.until <= tick || !faulty).map((h) => h.message));
    held = held.filter((h) => h.until > tick && faulty);
    for (let i = 0; i < count && cluster.network.length > 0; i++) {
      const at = random.int(cluster.network.length); // reordering
      const message = cluster.network[at] as Message;
      if (!(faulty && random.chance(3, 100))) cluster.network.splice(at, 1); // else duplicated
      if (faulty && random.chance(HOLD_PERCENT, 100)) {
        // A long delay: a TimeoutNow or a transfer's vote request may arrive after its transfer was aborted.
        held.push({ message, until: tick + 1 + random.int(HOLD_TICKS_MAX) });
        continue;
      }
      if ((faulty && random.chance(5, 100)) || cluster.isLost(message)) continue;
      cluster.node(message.to).step(message);
      settle(message.to);
    }
    if (cluster.network.length > NETWORK_MESSAGES_MAX) {
      cluster.network.splice(0, cluster.network.length - NETWORK_MESSAGES_MAX);
    }
    for (const id of [...cluster.inFlight.keys()]) {
      if (!faulty || random.chance(1, 2)) {
        cluster.finishReady(id);
        afterStep();
      }
    }
  };
  const transfer = (leader: RaftNode, target: NodeId) => {
    const before = leader.transferTarget;
    const result = leader.transferLeader(target);
    if (target === leader.id) {
      assert.deepEqual(result, { accepted: false, reason: "target-is-self", leader: leader.id }, context());
    } else if (before === target) {
      assert.deepEqual(
        result,
        { accepted: false, reason: "transfer-in-progress", leader: leader.id },
        context(),
      );
    } else {
      assert.deepEqual(result, { accepted: true, target }, context());
      assert.equal(leader.transferTarget, target, context());
      started++;
      pending.set(leader.term, { term: leader.term, target });
    }
    settle(leader.id);
  };
  const propose = (leader: RaftNode) => {
    proposals++;
    const result = leader.propose(new Uint8Array([seed & 0xff, proposals & 0xff, (proposals >> 8) & 0xff]));
    if (!result.accepted) {
      // A leader refuses only while it hands over, and names the target.
      assert.equal(result.reason, "transferring", context());
      assert.equal(result.leader, leader.transferTarget, context());
    }
    settle(leader.id);
  };
  const checkEveryPair = () => {
    checker.checkLeaders();
    const nodes = [...cluster.nodes.values()];
    for (const [k, a] of nodes.entries()) {
      for (const b of nodes.slice(k + 1)) checkLogMatching(a, b, context());
    }
  };

  try {
    for (; tick < FAULTY_TICKS; tick++) {
      if (random.chance(5, 100)) groups = randomGroups(random, cluster.ids);
      if (random.chance(1, 100)) {
        cluster.restart(random.pick(cluster.ids));
        afterStep();
      }
      for (const id of cluster.ids) {
        cluster.node(id).tick();
        settle(id);
      }
      for (const leader of cluster.leaders()) {
        if (random.chance(TRANSFER_PERCENT, 100)) transfer(leader, random.pick(cluster.ids));
        if (random.chance(30, 100)) propose(leader);
      }
      deliverSome(random.int(6 * size));
      checkEveryPair();
    }

    // Heal every fault: a leader of the highest term must hand over to a follower within the bound.
    faulty = false;
    groups = new Map(cluster.ids.map((id) => [id, 0]));
    pending.clear();
    const completedBeforeHealing = completed;
    for (let healed = 0; completed === completedBeforeHealing; healed++, tick++) {
      if (healed >= HEAL_TICKS_MAX) {
        assert.fail(`${context()}: no transfer completed within ${HEAL_TICKS_MAX} ticks of healing`);
      }
      for (const id of cluster.ids) {
        cluster.node(id).tick();
        settle(id);
      }
      deliverSome(cluster.network.length);
      checkEveryPair();
      const highest = Math.max(...[...cluster.nodes.values()].map((node) => node.term));
      const leader = cluster.leaders().find((node) => node.term === highest);
      if (leader !== undefined && leader.transferTarget === null) {
        transfer(leader, random.pick(cluster.ids.filter((id) => id !== leader.id)));
      }
    }
    return { started, completed, committed: checker.highestCommitted() };
  } catch (error) {
    if (error instanceof Error && !error.message.startsWith(`seed ${seed}`)) {
      error.message = `${context()}: ${error.message}`;
    }
    throw error;
  }
}

describe("random clusters with leadership transfers, PreVote and CheckQuorum", () => {
  for (const size of [3, 5]) {
    test(`${size} nodes, ${SEEDS} seeds: election safety and Log Matching under faults, and a transfer after healing`, () => {
      let started = 0;
      let completed = 0;
      let committed = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const run = runTransfers(seed * 104_729 + size, size);
        started += run.started;
        completed += run.completed;
        committed += run.committed;
      }
      // The runs must exercise what they claim: transfers start, many complete even under faults, and
      // proposals still commit between them.
      assert.ok(started > SEEDS * 8, `only ${started} transfers started over ${SEEDS} seeds`);
      assert.ok(completed > SEEDS * 4, `only ${completed} transfers completed over ${SEEDS} seeds`);
      assert.ok(committed > SEEDS * 10, `only ${committed} entries committed over ${SEEDS} seeds`);
    });
  }

  test("a transfer accepted in a healthy cluster completes, whatever the seed's node shape", () => {
    for (const seed of [2, 3]) {
      const cluster = new Cluster(5, { ...nodeOptionsFor(seed), seed });
      const leader = cluster.elect(1);
      cluster.propose(1, 1);
      cluster.tick();
      cluster.transfer(1, 4);
      assert.equal(cluster.node(4).role, "leader", `seed ${seed}`);
      assert.equal(leader.role, "follower", `seed ${seed}`);
      assert.equal(cluster.node(2).leader, asNodeId(4), `seed ${seed}`);
    }
  });
});
