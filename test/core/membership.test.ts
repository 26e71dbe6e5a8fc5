import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  asIndex,
  asNodeId,
  decodeMembership,
  encodeMembership,
  type Membership,
  type MembershipChange,
  type NodeId,
} from "../../src/core/index.ts";
import { hasQuorum, planMembershipChange, quorumValue, tallyVotes } from "../../src/core/membership.ts";
import { Cluster, requestVote } from "./helpers.ts";

/**
 * Membership changes (Raft thesis chapter 4): learners, the joint configuration C_old,new entered for every
 * change of voters and left by the leader on its own, one change at a time, configurations in force from the
 * moment they are appended, and a leader removed from the configuration stepping down.
 */

const n = (id: number): NodeId => asNodeId(id);
const of = (voters: number[], outgoing: number[] = [], learners: number[] = []): Membership => ({
  voters: voters.map(n),
  outgoing: outgoing.map(n),
  learners: learners.map(n),
});
const change = (type: MembershipChange["type"], node: number): MembershipChange => ({ type, node: n(node) });

/** Delivers, ticking the given nodes meanwhile, until `done` holds (at most `ticks` ticks). */
function runUntil(cluster: Cluster, done: () => boolean, ticks = 200): void {
  for (let t = 0; t < ticks && !done(); t++) cluster.tick();
  assert.ok(done(), "the cluster did not get there in time");
}

/** Makes a change at the leader, checks it was accepted, and delivers until quiet. */
function changeAt(cluster: Cluster, leader: number, what: MembershipChange): number {
  const result = cluster.node(leader).changeMembership(what);
  assert.ok(result.accepted, `the change was refused: ${JSON.stringify(result)}`);
  cluster.deliver();
  return result.index;
}

describe("joint quorums (thesis §4.3)", () => {
  test("a joint quorum is a majority of C_new and a majority of C_old, computed by brute force", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 0, maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 8, maxLength: 8 }),
        (voters, outgoing, values) => {
          const membership = of(voters, outgoing);
          const reached = (id: NodeId) => values[id] ?? 0;
          const got = quorumValue(membership, reached);
          // Brute force: the highest v such that a majority of each configuration has reached v.
          const majorityAt = (ids: number[], v: number) =>
            ids.length === 0 || ids.filter((id) => (values[id] ?? 0) >= v).length * 2 > ids.length;
          let expected = 0;
          for (let v = 0; v <= 9; v++) if (majorityAt(voters, v) && majorityAt(outgoing, v)) expected = v;
          assert.equal(got, expected);
        },
      ),
    );
  });

  test("votes: a joint election is won only with both majorities and lost as soon as either is lost", () => {
    const joint = of([1, 2, 4], [1, 2, 3]);
    const votes = (granted: number[], refused: number[] = []) =>
      new Map<NodeId, boolean>([
        ...granted.map((id) => [n(id), true] as const),
        ...refused.map((id) => [n(id), false] as const),
      ]);
    assert.equal(tallyVotes(joint, votes([1, 4])), "pending", "C_new won, C_old not yet");
    assert.equal(tallyVotes(joint, votes([1, 4, 3])), "won");
    assert.equal(tallyVotes(joint, votes([1, 2])), "won", "1 and 2 are a majority of both");
    assert.equal(tallyVotes(joint, votes([1], [2, 3])), "lost", "C_old is lost");
    assert.equal(tallyVotes(of([]), votes([1])), "lost", "no configuration, no election");
    assert.ok(hasQuorum(joint, (id) => id === 1 || id === 2));
    assert.ok(!hasQuorum(joint, (id) => id === 3 || id === 4));
  });
});

describe("planning a change", () => {
  const settled = of([1, 2, 3], [], [4]);
  test("every change of voters enters the joint configuration; learner changes take one step", () => {
    assert.deepEqual(planMembershipChange(settled, change("add-learner", 5)), of([1, 2, 3], [], [4, 5]));
    assert.deepEqual(planMembershipChange(settled, change("promote", 4)), of([1, 2, 3, 4], [1, 2, 3]));
    assert.deepEqual(planMembershipChange(settled, change("remove", 2)), of([1, 3], [1, 2, 3], [4]));
    assert.deepEqual(planMembershipChange(settled, change("remove", 4)), of([1, 2, 3]));
  });
  test("impossible changes are refused with their reason", () => {
    assert.equal(planMembershipChange(settled, change("add-learner", 2)), "already-member");
    assert.equal(planMembershipChange(settled, change("promote", 2)), "not-a-learner");
    assert.equal(planMembershipChange(settled, change("remove", 9)), "not-a-member");
    assert.equal(planMembershipChange(of([1]), change("remove", 1)), "last-voter");
  });
  test("membership entries round-trip and malformed ones are refused", () => {
    const joint = of([1, 2, 4], [1, 2, 3], [7]);
    assert.deepEqual(decodeMembership(encodeMembership(joint)), joint);
    const bad = (text: string) => () => decodeMembership(new TextEncoder().encode(text));
    assert.throws(bad("not json"), /not valid JSON/);
    assert.throws(bad('{"voters":[],"outgoing":[],"learners":[]}'), /no voters/);
    assert.throws(bad('{"voters":[1],"outgoing":[],"learners":[1]}'), /learner is also a voter/);
    assert.throws(bad('{"voters":[1,-2],"outgoing":[],"learners":[]}'), /not a list of node ids/);
    assert.throws(bad('{"voters":[1,1],"outgoing":[],"learners":[]}'), /listed twice/);
  });
});

describe("learners and membership changes in a cluster", () => {
  test("a new node joins as a learner: it receives the log, never campaigns, and never counts", () => {
    const cluster = new Cluster(3);
    cluster.elect(1);
    cluster.propose(1, 7);
    const learner = cluster.addNode(4);
    changeAt(cluster, 1, change("add-learner", 4));
    assert.deepEqual(learner.membership, of([1, 2, 3], [], [4]));
    assert.equal(learner.log.committed, cluster.node(1).log.committed, "the learner caught up");
    // With 2 and 3 cut off, the learner's acknowledgement does not make a majority.
    cluster.isolated.add(n(2));
    cluster.isolated.add(n(3));
    const index = cluster.node(1).propose(new Uint8Array([9]));
    assert.ok(index.accepted);
    cluster.deliver();
    assert.equal(learner.log.lastIndex(), index.index, "the learner holds the entry");
    assert.ok(cluster.node(1).log.committed < index.index, "but a learner does not count toward commitment");
    // A learner never campaigns, however long it goes without hearing from a leader.
    cluster.isolated.clear();
    cluster.isolated.add(n(4));
    for (let t = 0; t < 100; t++) cluster.tick([4]);
    assert.equal(learner.role, "follower");
    assert.equal(learner.term, cluster.node(1).term, "it never raised its term");
  });

  test("promotion waits for the learner to catch up, then joint consensus is entered and left", () => {
    const cluster = new Cluster(3);
    cluster.elect(1);
    const learner = cluster.addNode(4);
    cluster.isolated.add(n(4));
    changeAt(cluster, 1, change("add-learner", 4));
    const leader = cluster.node(1);
    assert.deepEqual(leader.changeMembership(change("promote", 4)), {
      accepted: false,
      reason: "not-caught-up",
      leader: n(1),
    });
    cluster.isolated.clear();
    runUntil(cluster, () => learner.log.lastIndex() === leader.log.lastIndex());
    const jointIndex = changeAt(cluster, 1, change("promote", 4));
    // The joint entry committed, so the leader appended C_new right after it, by itself.
    const leaveIndex = jointIndex + 1;
    assert.equal(leader.log.entry(asIndex(leaveIndex))?.kind, "membership");
    assert.equal(leader.log.committed, leaveIndex);
    for (const id of [1, 2, 3, 4]) {
      assert.deepEqual(cluster.node(id).membership, of([1, 2, 3, 4]), `node ${id}'s configuration`);
    }
    // The new voter now counts: with 3 and 4 cut off, 1 and 2 are no majority of four.
    cluster.isolated.add(n(3));
    cluster.isolated.add(n(4));
    const result = leader.propose(new Uint8Array([1]));
    assert.ok(result.accepted);
    cluster.deliver();
    assert.ok(leader.log.committed < result.index);
  });

  test("while joint, commitment needs a majority of C_old and of C_new", () => {
    const cluster = new Cluster(3);
    cluster.elect(1);
    const learner = cluster.addNode(4);
    changeAt(cluster, 1, change("add-learner", 4));
    runUntil(cluster, () => learner.log.lastIndex() === cluster.node(1).log.lastIndex());
    // 2 and 3 cut off: 1 and 4 are a majority of C_new = {1,2,3,4}? No (2 of 4); of C_old neither.
    cluster.isolated.add(n(2));
    cluster.isolated.add(n(3));
    const leader = cluster.node(1);
    const result = leader.changeMembership(change("promote", 4));
    assert.ok(result.accepted);
    cluster.deliver();
    assert.ok(leader.log.committed < result.index, "the joint entry waits for C_old's majority");
    assert.deepEqual(leader.changeMembership(change("add-learner", 5)), {
      accepted: false,
      reason: "change-in-progress",
      leader: n(1),
    });
    cluster.isolated.delete(n(2));
    runUntil(cluster, () => leader.log.committed >= result.index);
    assert.deepEqual(leader.membership, of([1, 2, 3, 4]), "joint entered and left once 2 answered");
  });

  test("a leader removed from the configuration steps down once C_new commits; the rest elect a new one", () => {
    const cluster = new Cluster(3);
    cluster.elect(1);
    const leader = cluster.node(1);
    changeAt(cluster, 1, change("remove", 1));
    assert.equal(leader.role, "follower", "the removed leader stepped down");
    assert.deepEqual(cluster.node(2).membership, of([2, 3]));
    assert.ok(!leader.isVoter());
    runUntil(cluster, () => cluster.leaders().length === 1);
    const [newLeader] = cluster.leaders();
    assert.ok(newLeader !== undefined && newLeader.id !== n(1));
    // The removed node never campaigns again.
    const term = leader.term;
    for (let t = 0; t < 100; t++) cluster.tick([1]);
    assert.equal(leader.term, term);
  });

  test("a leader that removed itself and lost its quorum before C_new committed can still finish the change (key-value simulator seeds 3102, 6654, 7010)", () => {
    // Two voters, 1 (leader) removes itself: joint {2} with C_old {1,2}, then C_new {2}, which needs node 2.
    const cluster = new Cluster(2, { checkQuorum: true });
    cluster.elect(1);
    cluster.propose(1, 1);
    const leader = cluster.node(1);
    const joint = leader.changeMembership(change("remove", 1));
    assert.ok(joint.accepted);
    // The joint entry commits; then node 2 is cut off before it gets C_new.
    cluster.drop = (m) => m.type === "AppendEntries" && m.entries.some((e) => e.index > joint.index);
    cluster.deliver();
    assert.equal(leader.log.committed, joint.index);
    assert.deepEqual(leader.membership, of([2]), "C_new appended, uncommitted");
    cluster.isolated.add(n(2));
    runUntil(cluster, () => leader.role !== "leader");
    assert.ok(!leader.isVoter(), "node 1 is in no majority of its latest configuration...");
    assert.ok(leader.mayCampaign(), "...but it is in the committed joint one, so it may campaign");
    // Node 2 (joint: needs node 1's vote) cannot win: node 1's log is longer. Node 1 wins, commits C_new with
    // node 2's acknowledgement, and hands over.
    cluster.drop = () => false;
    cluster.isolated.clear();
    runUntil(cluster, () => cluster.node(2).role === "leader" && cluster.node(2).log.committed > joint.index);
    assert.deepEqual(cluster.node(2).membership, of([2]));
    assert.equal(leader.role, "follower");
  });

  test("a removed node that keeps campaigning cannot depose a live leader, even without CheckQuorum (key-value simulator seed 305449)", () => {
    const cluster = new Cluster(3); // PreVote and CheckQuorum off
    cluster.elect(1);
    changeAt(cluster, 1, change("remove", 3));
    const leader = cluster.node(1);
    const term = leader.term;
    // Node 3 never learned that its removal committed, and campaigns again and again with a longer log.
    leader.step(requestVote(3, 1, term + 5, 100, term + 5));
    cluster.deliver();
    assert.equal(leader.role, "leader");
    assert.equal(leader.term, term, "the non-member's term was not adopted");
    // A voter's vote request of a higher term still counts as usual (no CheckQuorum here).
    leader.step(requestVote(2, 1, term + 1, 100, term));
    assert.equal(leader.role, "follower");
  });

  test("a configuration takes effect when appended, and goes away with its entry when truncated", () => {
    const cluster = new Cluster(3);
    cluster.elect(1);
    // 1 appends the learner's entry but nobody hears of it.
    cluster.isolated.add(n(1));
    const result = cluster.node(1).changeMembership(change("add-learner", 4));
    assert.ok(result.accepted);
    cluster.deliver();
    assert.deepEqual(cluster.node(1).membership, of([1, 2, 3], [], [4]), "in force at once, uncommitted");
    runUntil(cluster, () => cluster.leaders().some((node) => node.id !== n(1)));
    cluster.isolated.clear();
    const [leader] = cluster.leaders().filter((node) => node.id !== n(1));
    assert.ok(leader !== undefined);
    cluster.propose(leader.id, 5);
    runUntil(cluster, () => cluster.node(1).log.committed === leader.log.committed);
    assert.deepEqual(cluster.node(1).membership, of([1, 2, 3]), "the truncated entry took its configuration");
  });

  test("snapshots carry the configuration to a node that joins after compaction, and across restarts", () => {
    const cluster = new Cluster(3);
    cluster.elect(1);
    changeAt(cluster, 1, change("add-learner", 5));
    changeAt(cluster, 1, change("remove", 5));
    cluster.propose(1, 1);
    const leader = cluster.node(1);
    for (const id of [1, 2, 3]) {
      const node = cluster.node(id);
      assert.ok(node.compact(node.log.applied, new Uint8Array([42])).compacted);
    }
    cluster.deliver();
    assert.ok(leader.log.snapshot?.meta.membership !== undefined, "the snapshot records the configuration");
    const joiner = cluster.addNode(4);
    changeAt(cluster, 1, change("add-learner", 4));
    runUntil(cluster, () => joiner.log.lastIndex() === leader.log.lastIndex());
    assert.equal(cluster.snapshotsApplied.get(n(4))?.length, 1, "the joiner got the snapshot");
    assert.deepEqual(joiner.membership, of([1, 2, 3], [], [4]));
    const restarted = cluster.restart(4);
    assert.deepEqual(restarted.membership, of([1, 2, 3], [], [4]), "a restart finds it in storage");
    const restartedVoter = cluster.restart(2);
    assert.deepEqual(restartedVoter.membership, of([1, 2, 3], [], [4]));
  });

  test("one change at a time, and none before the leader has committed an entry of its term", () => {
    const cluster = new Cluster(3, { noopOnElection: false });
    cluster.elect(1);
    assert.deepEqual(cluster.node(1).changeMembership(change("add-learner", 4)), {
      accepted: false,
      reason: "change-in-progress",
      leader: n(1),
    });
    cluster.propose(1, 1);
    const first = cluster.node(1).changeMembership(change("add-learner", 4));
    assert.ok(first.accepted);
    assert.deepEqual(cluster.node(1).changeMembership(change("add-learner", 5)), {
      accepted: false,
      reason: "change-in-progress",
      leader: n(1),
    });
    assert.deepEqual(cluster.node(2).changeMembership(change("add-learner", 5)), {
      accepted: false,
      reason: "not-leader",
      leader: n(1),
    });
  });
});
