import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  asIndex,
  asNodeId,
  asTerm,
  type Entry,
  encodeMembership,
  type Membership,
  type NodeId,
  RaftNode,
} from "../../src/core/index.ts";
import { leaveJoint, planMembershipChange } from "../../src/core/membership.ts";
import { makeVirtualClock } from "../../src/lab/clocks.ts";
import {
  defaultSettings,
  disjointQuorums,
  drawPartition,
  emptyCounts,
  includesQuorum,
  invalidStep,
  planRun,
  runSwarmSeed,
  SwarmChecker,
  SwarmCluster,
  type SwarmResult,
  type SwarmSettings,
  type SwarmTraceEvent,
  type Violation,
} from "../../src/sim/swarm/index.ts";
import { Random } from "../../src/util/random.ts";

// The swarm's membership side: the configuration checks (brute-force quorum arithmetic, joint-consensus steps,
// leaders' configurations, two majorities at once), the cluster's new node slots and flapping cuts, and whole
// runs of the `membership` mix.

const yieldToHost = (callback: () => void): void => {
  setImmediate(callback);
};

const n = asNodeId;
const ids = (list: readonly number[]): NodeId[] => list.map(n);
const of = (voters: number[], outgoing: number[] = [], learners: number[] = []): Membership => ({
  voters: ids(voters),
  outgoing: ids(outgoing),
  learners: ids(learners),
});

/** A membership entry at `index` of `term`. */
const configEntry = (index: number, term: number, membership: Membership): Entry => ({
  index: asIndex(index),
  term: asTerm(term),
  data: encodeMembership(membership),
  kind: "membership",
});

/** A real core: node `id` of `term` with `entries` committed through `commit`, starting from `voters`. */
function raftWith(id: number, term: number, entries: Entry[], commit: number, voters = [1, 2, 3]): RaftNode {
  return new RaftNode({
    id: n(id),
    voters: ids(voters),
    electionTicks: 10,
    heartbeatTicks: 1,
    random: new Random(id),
    initialState: {
      hardState: { term: asTerm(term), vote: null, commit: asIndex(commit) },
      snapshot: null,
      entries,
    },
  });
}

/** A checker whose starting configuration is {1, 2, 3}, recording its violations. */
function makeChecker(): { checker: SwarmChecker; violations: Violation[] } {
  const violations: Violation[] = [];
  const checker = new SwarmChecker({
    nodes: ids([1, 2, 3]),
    now: () => 0,
    onViolation: (violation) => violations.push(violation),
  });
  return { checker, violations };
}

describe("quorum arithmetic by brute force", () => {
  test("quorums of simple and joint configurations", () => {
    assert.ok(includesQuorum(of([1, 2, 3]), (id) => id !== 3));
    assert.ok(!includesQuorum(of([1, 2, 3, 4]), (id) => id <= 2), "two of four is no majority");
    const joint = of([1, 2, 4], [1, 2, 3]);
    assert.ok(includesQuorum(joint, (id) => id === 1 || id === 2));
    assert.ok(!includesQuorum(joint, (id) => id === 2 || id === 4), "a majority of C_new alone");
    assert.ok(!includesQuorum(of([]), () => true), "no voters, no quorum");
  });

  test("disjoint quorums are found exactly when they exist", () => {
    assert.deepEqual(disjointQuorums(of([1, 2, 3]), of([3, 4, 5])), {
      ofA: ids([1, 2]),
      ofB: ids([3, 4, 5]),
    });
    assert.notEqual(disjointQuorums(of([1, 2, 3]), of([4, 5, 6])), null);
    assert.equal(disjointQuorums(of([1, 2, 3]), of([1, 2, 3, 4])), null);
    assert.equal(disjointQuorums(of([1, 2, 3]), of([1, 2, 3, 4], [1, 2, 3])), null);
    assert.notEqual(disjointQuorums(of([1, 2, 3]), of([1, 2, 3, 4, 5])), null, "two voters at once");
    assert.equal(disjointQuorums(of([1, 2]), of([])), null, "no voters: nothing to conflict with");
  });

  test("every step the core plans from a settled configuration is a joint-consensus step with meeting quorums", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 7 }),
        fc.uniqueArray(fc.integer({ min: 10, max: 12 }), { maxLength: 2 }),
        fc.constantFrom("add-learner", "promote", "remove"),
        fc.integer({ min: 1, max: 12 }),
        (voters, learners, type, node) => {
          const current = of(voters, [], learners);
          const next = planMembershipChange(current, { type, node: n(node) });
          if (typeof next === "string") return;
          assert.equal(invalidStep(current, next), undefined);
          assert.equal(disjointQuorums(current, next), null);
          const settled = leaveJoint(next);
          if (next.outgoing.length > 0) {
            assert.equal(invalidStep(next, settled), undefined);
            assert.equal(disjointQuorums(next, settled), null);
          }
        },
      ),
    );
  });

  test("steps that skip or stack joint configurations are refused", () => {
    assert.match(invalidStep(of([1, 2, 3]), of([1, 2, 4])) ?? "", /without passing through a joint/);
    assert.match(invalidStep(of([1, 2, 3]), of([1, 2, 4], [1, 2])) ?? "", /outgoing voters/);
    assert.match(invalidStep(of([1, 2, 4], [1, 2, 3]), of([1, 4], [1, 2, 4])) ?? "", /another joint/);
    assert.match(invalidStep(of([1, 2, 4], [1, 2, 3]), of([1, 2, 3])) ?? "", /other than its C_new/);
    assert.match(invalidStep(of([1, 2, 3]), of([1, 2, 3], [], [4, 5])) ?? "", /one learner/);
    assert.equal(invalidStep(of([1, 2, 3], [], [4]), of([1, 2, 3])), undefined);
  });
});

describe("SwarmChecker: configurations", () => {
  test("committed configurations must move by joint-consensus steps", () => {
    const joint = of([1, 2, 3, 4], [1, 2, 3], []);
    const good = [configEntry(1, 1, of([1, 2, 3], [], [4])), configEntry(2, 1, of([1, 2, 3, 4], [1, 2, 3]))];
    const { checker, violations } = makeChecker();
    checker.attach(n(1), raftWith(1, 1, [...good, configEntry(3, 1, leaveJoint(joint))], 3));
    assert.deepEqual(violations, []);
    assert.deepEqual(checker.latestMembership, of([1, 2, 3, 4]));
    assert.equal(checker.configCounts.jointEntered, 1);
    assert.equal(checker.configCounts.jointLeft, 1);
    assert.equal(checker.configCounts.learnerChanges, 1);

    const skipped = makeChecker();
    skipped.checker.attach(n(1), raftWith(1, 1, [configEntry(1, 1, of([1, 2, 4]))], 1));
    assert.equal(skipped.violations[0]?.property, "config-joint-steps");
    assert.deepEqual(skipped.violations[0]?.indexes, [0, 1]);
  });

  test("a leader must win with a configuration whose quorums meet the committed one's", () => {
    const { checker, violations } = makeChecker();
    // Node 4 was started with a configuration of its own, {4, 5, 6}: disjoint from the cluster's {1, 2, 3}.
    const stranger = raftWith(4, 2, [], 0, [4, 5, 6]);
    checker.attach(n(4), stranger);
    assert.equal(violations.length, 0);
    stranger.role = "leader";
    checker.observeAll();
    assert.equal(violations[0]?.property, "config-leader-quorum");
    assert.deepEqual(violations[0]?.nodes, [4]);
  });

  test("a stale candidate may win its term after a later term committed configurations it never saw", () => {
    // Seed 6761 of the membership mix: node 6 was paused as a candidate of term 5 with its votes queued, and won
    // when it resumed, long after leaders of terms 6 and 7 had changed the configuration. Leader Completeness
    // asks it to hold only what was committed before term 5, and so does the configuration check.
    const { checker, violations } = makeChecker();
    // From {1, 2, 3} to {3, 4, 5}, whose quorums can miss {1, 2, 3}'s: add 4, remove 1, add 5, remove 2.
    const configurations: Membership[] = [];
    let current = of([1, 2, 3]);
    for (const [type, node] of [
      ["add-learner", 4],
      ["promote", 4],
      ["remove", 1],
      ["add-learner", 5],
      ["promote", 5],
      ["remove", 2],
    ] as const) {
      const next = planMembershipChange(current, { type, node: n(node) });
      assert.ok(typeof next !== "string");
      configurations.push(next);
      current = next.outgoing.length > 0 ? leaveJoint(next) : next;
      if (next.outgoing.length > 0) configurations.push(current);
    }
    assert.deepEqual(current, of([3, 4, 5]));
    const moved = configurations.map((membership, i) => configEntry(i + 1, 7, membership));
    checker.attach(n(3), raftWith(3, 7, moved, moved.length));
    assert.equal(violations.length, 0);
    assert.deepEqual(checker.latestMembership, of([3, 4, 5]));
    const stale = raftWith(2, 5, [], 0);
    checker.attach(n(2), stale);
    stale.role = "leader";
    checker.observeAll();
    assert.deepEqual(violations, []);
  });

  test("two leaders may coexist only while at most one still holds a majority", () => {
    const { checker, violations } = makeChecker();
    const stale = raftWith(1, 2, [], 0);
    const fresh = raftWith(2, 3, [], 0);
    checker.attach(n(1), stale);
    checker.attach(n(2), fresh);
    checker.attach(n(3), raftWith(3, 1, [], 0));
    stale.role = "leader";
    fresh.role = "leader";
    // Node 3's term on disk is 1: it could still accept either leader's entries, so both hold a majority.
    checker.observeAll();
    assert.equal(violations[0]?.property, "config-two-majorities");
    assert.deepEqual(violations[0]?.nodes, [1, 2]);

    const after = makeChecker();
    const deposed = raftWith(1, 2, [], 0);
    const winner = raftWith(2, 3, [], 0);
    after.checker.attach(n(1), deposed);
    after.checker.attach(n(2), winner);
    after.checker.attach(n(3), raftWith(3, 1, [], 0));
    // Node 3 voted in term 3 (synced): leader 1 of term 2 can no longer commit anything.
    after.checker.onSync(n(3), 0, 3);
    deposed.role = "leader";
    winner.role = "leader";
    after.checker.observeAll();
    assert.deepEqual(after.violations, []);
  });

  test("nodes added later are watched from their first boot", () => {
    const { checker, violations } = makeChecker();
    const joining = new RaftNode({
      id: n(4),
      voters: [],
      electionTicks: 10,
      heartbeatTicks: 1,
      random: new Random(4),
      initialState: {
        hardState: { term: asTerm(0), vote: null, commit: asIndex(0) },
        snapshot: null,
        entries: [],
      },
    });
    checker.attach(n(4), joining);
    checker.onWrite(n(4), { entries: [configEntry(1, 1, of([1, 2, 3], [], [4]))] });
    checker.observeAll();
    assert.deepEqual(violations, []);
  });
});

describe("SwarmCluster: new nodes and the flapping cut", () => {
  function makeCluster(settings: SwarmSettings): { cluster: SwarmCluster; stop: () => void } {
    const clock = makeVirtualClock();
    const plan = planRun(settings);
    const checker = new SwarmChecker({
      nodes: ids([1, 2, 3]),
      now: () => clock.now(),
      onViolation: () => {},
    });
    const cluster = new SwarmCluster({
      plan,
      clock,
      checker,
      counts: emptyCounts(),
      trace: null,
      onApplied: () => {},
    });
    cluster.start();
    return {
      cluster,
      stop: () => {
        cluster.freeze();
        clock.stop();
      },
    };
  }

  test("a node the operator adds gets the next id, no configuration, and once retired never restarts", () => {
    const { cluster, stop } = makeCluster({ ...defaultSettings(1), nodes: 3, faults: [] });
    try {
      const id = cluster.addNode();
      assert.equal(id, 4);
      assert.deepEqual(cluster.ids, ids([1, 2, 3, 4]));
      assert.deepEqual(cluster.raftOf(n(4))?.membership.voters, []);
      assert.equal(cluster.raftOf(n(4))?.isVoter(), false);
      cluster.retire(n(4));
      assert.ok(cluster.isRetired(n(4)) && !cluster.isUp(n(4)));
      assert.deepEqual(cluster.activeIds, ids([1, 2, 3]));
      cluster.restart(n(4));
      assert.ok(!cluster.isUp(n(4)), "a retired node is never restarted");
      cluster.healAll();
      assert.ok(!cluster.isUp(n(4)), "not even by the heal");
    } finally {
      stop();
    }
  });

  test("the flapping cut stays through partitions and their heals, and the final heal lifts it", () => {
    const { cluster, stop } = makeCluster({ ...defaultSettings(1), nodes: 3, faults: [] });
    try {
      cluster.setFlapCut(n(2));
      assert.ok(cluster.network.isBlocked(n(2), n(1)) && cluster.network.isBlocked(n(3), n(2)));
      cluster.setPartition(drawPartition("isolate", cluster.ids, n(1), new Random(1)));
      cluster.healPartition();
      assert.ok(cluster.network.isBlocked(n(1), n(2)), "healing the partition leaves the flapping node cut");
      assert.ok(!cluster.network.isBlocked(n(1), n(3)));
      cluster.setFlapCut(null);
      assert.ok(!cluster.network.isBlocked(n(1), n(2)));
      cluster.setFlapCut(n(3));
      cluster.healAll();
      assert.ok(!cluster.network.isBlocked(n(1), n(3)));
    } finally {
      stop();
    }
  });
});

describe("the membership mix", () => {
  const run = async (seed: number, trace?: (event: SwarmTraceEvent) => void): Promise<SwarmResult> =>
    await runSwarmSeed({
      settings: { ...defaultSettings(seed), mix: "membership" },
      yieldToHost,
      ...(trace === undefined ? {} : { trace }),
    });

  test("runs change membership, transfer leadership and flap a node, and pass", async () => {
    const totals = emptyCounts();
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const result = await run(seed);
      assert.ok(result.passed, `seed ${seed}: ${result.violation?.message}; replay: ${result.replay}`);
      assert.ok(result.plan.some((line) => line.startsWith("operator: membership changes")));
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += result.counts[key];
    }
    for (const key of [
      "nodesAdded",
      "membershipAccepted",
      "refusedInFlight",
      "refusedNotCaughtUp",
      "jointEntered",
      "jointLeft",
      "learnerChanges",
      "leaderRemovals",
      "leaderRemovalsCommitted",
      "removedNodesStopped",
      "transfersRequested",
      "transfersCompleted",
      "flaps",
    ] as const) {
      assert.ok(totals[key] > 0, `${key} happened`);
    }
    // Every joint configuration entered was left (the leader leaves it by itself), up to one per run in flight.
    assert.ok(totals.jointEntered - totals.jointLeft <= 6);
  });

  test("a seed replays byte for byte, operator and flaps included", async () => {
    const texts: string[] = [];
    for (let round = 0; round < 2; round++) {
      const events: SwarmTraceEvent[] = [];
      await run(2, (event) => events.push(event));
      assert.ok(events.some((event) => event.kind === "operator"));
      assert.ok(events.some((event) => event.kind === "flap"));
      texts.push(events.map((event) => JSON.stringify(event)).join("\n"));
    }
    assert.equal(texts[0], texts[1]);
  });

  test("the mixes run PreVote and CheckQuorum on and off, and lease reads, across seeds", () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const { protocol } = planRun({ ...defaultSettings(seed), mix: "default" });
      seen.add(`${protocol.preVote}/${protocol.checkQuorum}/${protocol.leaseReads}`);
      assert.ok(!protocol.leaseReads || protocol.checkQuorum, "lease reads only with CheckQuorum");
    }
    assert.deepEqual([...seen].sort(), [
      "false/false/false",
      "false/true/false",
      "true/false/false",
      "true/true/false",
      "true/true/true",
    ]);
  });
});
