/**
 * Leadership transfer (Raft thesis §3.10), one test per rule: the leader stops taking proposals, brings the
 * target up to date, then sends it TimeoutNow; the target campaigns at once, skipping the pre-vote, with vote
 * requests that get past leader stickiness; the old leader steps down on the higher term. A transfer that does
 * not complete within an election timeout is aborted.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  asIndex,
  asNodeId,
  asTerm,
  type Message,
  type RaftNode,
  type RequestVote,
  type TimeoutNow,
} from "../../src/core/index.ts";
import { Cluster, ELECTION_TICKS, type NodeOptions, ofType } from "./helpers.ts";

const FEATURES = { preVote: true, checkQuorum: true } as const;

/** A cluster of `size` with node 1 elected and one command committed and known committed everywhere. */
function withLeader(size: number, options: NodeOptions = {}): { cluster: Cluster; leader: RaftNode } {
  const cluster = new Cluster(size, options);
  const leader = cluster.elect(1);
  cluster.propose(1, 1);
  cluster.tick();
  return { cluster, leader };
}

function timeoutNow(from: number, to: number, term: number): TimeoutNow {
  return { type: "TimeoutNow", from: asNodeId(from), to: asNodeId(to), term: asTerm(term) };
}

/** A real vote request of `from` for `term`, with an up-to-date log (`lastLogIndex`, `lastLogTerm`). */
function voteRequest(
  from: number,
  to: number,
  term: number,
  last: { index: number; term: number },
  transfer: boolean,
): RequestVote {
  return {
    type: "RequestVote",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    lastLogIndex: asIndex(last.index),
    lastLogTerm: asTerm(last.term),
    ...(transfer ? { transfer: true as const } : {}),
  };
}

/** Every message in flight from `from` to `to`, taken off the network. */
function takeSent(cluster: Cluster, from: number, to: number): Message[] {
  const taken = cluster.network.filter((m) => m.from === from && m.to === to);
  cluster.network = cluster.network.filter((m) => !(m.from === from && m.to === to));
  return taken;
}

describe("§3.10 leadership transfer", () => {
  test("§3.10 a transfer to an up-to-date follower completes in one round: target leads in term + 1", () => {
    const { cluster, leader } = withLeader(3);
    const term = leader.term;
    const lastIndex = leader.log.lastIndex();
    assert.deepEqual(leader.transferLeader(asNodeId(2)), { accepted: true, target: asNodeId(2) });
    assert.deepEqual(leader.messages, [timeoutNow(1, 2, term)], "TimeoutNow goes out at once");

    const delivered = cluster.deliver(); // no tick: one round of messages
    const target = cluster.node(2);
    assert.equal(target.role, "leader");
    assert.equal(target.term, term + 1);
    assert.equal(leader.role, "follower", "the old leader stepped down on the higher term");
    assert.equal(leader.term, term + 1);
    assert.equal(leader.leader, asNodeId(2));
    assert.equal(leader.transferTarget, null);
    assert.equal(cluster.node(3).leader, asNodeId(2));
    const votes = ofType(delivered, "RequestVote");
    assert.ok(votes.length > 0);
    for (const vote of votes) {
      assert.equal(vote.transfer, true, "the transfer's vote requests carry the flag");
      assert.equal(vote.term, term + 1);
      assert.equal(vote.lastLogIndex, lastIndex);
    }
    assert.deepEqual(leader.propose(new Uint8Array([2])), {
      accepted: false,
      reason: "not-leader",
      leader: asNodeId(2),
    });
    // The new leader serves: a command commits and applies everywhere.
    cluster.propose(2, 7);
    cluster.tick();
    for (const id of cluster.ids) assert.deepEqual([...(cluster.appliedBy(id).at(-1)?.data ?? [])], [7]);
  });

  test("§3.10 a lagging target is first caught up, and told to campaign only once it holds the whole log", () => {
    const { cluster, leader } = withLeader(3);
    cluster.isolated.add(asNodeId(3));
    for (let command = 10; command < 15; command++) cluster.propose(1, command);
    // A few heartbeat rounds without an answer: the leader goes back to probing node 3.
    for (let tick = 0; tick < 3; tick++) cluster.tick([1, 2]);
    cluster.isolated.delete(asNodeId(3));
    const lastIndex = leader.log.lastIndex();
    assert.ok(cluster.node(3).log.lastIndex() < lastIndex, "node 3 is behind");

    assert.ok(leader.transferLeader(asNodeId(3)).accepted);
    const sent = leader.messages.filter((m) => m.to === asNodeId(3));
    assert.deepEqual(
      sent.map((m) => m.type),
      ["AppendEntries"],
      "entries go out at once, TimeoutNow not yet",
    );
    assert.deepEqual(leader.propose(new Uint8Array([1])), {
      accepted: false,
      reason: "transferring",
      leader: asNodeId(3),
    });

    const delivered = cluster.deliver();
    const caughtUp = delivered.findIndex(
      (m) =>
        m.type === "AppendEntriesReply" && m.from === asNodeId(3) && m.success && m.matchIndex === lastIndex,
    );
    const told = delivered.findIndex((m) => m.type === "TimeoutNow");
    assert.ok(caughtUp >= 0 && told > caughtUp, `caught up at ${caughtUp}, TimeoutNow at ${told}`);
    const target = cluster.node(3);
    assert.equal(target.role, "leader");
    assert.ok(target.log.lastIndex() > lastIndex, "the new leader holds the old log and its own no-op");
    for (let index = 1; index <= lastIndex; index++) {
      assert.equal(target.log.term(asIndex(index)), leader.log.term(asIndex(index)), `entry ${index}`);
    }
  });

  test("§3.10 proposals are refused while the transfer lasts and accepted again once it is aborted", () => {
    const { cluster, leader } = withLeader(3);
    cluster.isolated.add(asNodeId(3));
    assert.ok(leader.transferLeader(asNodeId(3)).accepted);
    const refused = { accepted: false, reason: "transferring", leader: asNodeId(3) };
    for (let tick = 1; tick < ELECTION_TICKS; tick++) {
      cluster.tick([1, 2]);
      assert.deepEqual(leader.propose(new Uint8Array([tick])), refused, `tick ${tick}`);
      assert.equal(leader.transferTarget, asNodeId(3));
    }
    cluster.tick([1, 2]);
    assert.equal(leader.transferTarget, null, "aborted after one election timeout");
    const index = cluster.propose(1, 42);
    cluster.tick([1, 2]);
    assert.ok(leader.log.committed >= index, "and the next command commits");
  });

  test("§3.10 a transfer to an unreachable target is aborted after an election timeout; the old leader keeps leading", () => {
    const { cluster, leader } = withLeader(3, FEATURES);
    const term = leader.term;
    cluster.isolated.add(asNodeId(3));
    assert.ok(leader.transferLeader(asNodeId(3)).accepted);
    // Every node ticks, the cut-off target too: with pre-vote it cannot raise terms, and nobody else campaigns.
    for (let tick = 0; tick < 3 * ELECTION_TICKS; tick++) cluster.tick();
    assert.equal(leader.role, "leader");
    assert.equal(leader.transferTarget, null);
    for (const id of cluster.ids) assert.equal(cluster.node(id).term, term, `node ${id} kept the term`);
    const index = cluster.propose(1, 5);
    cluster.tick();
    assert.ok(cluster.node(2).log.committed >= index);
  });

  test("§3.10 asking again for the same target changes nothing; another target replaces the transfer", () => {
    const { cluster, leader } = withLeader(3);
    cluster.isolated.add(asNodeId(3));
    assert.ok(leader.transferLeader(asNodeId(3)).accepted);
    const half = ELECTION_TICKS / 2;
    for (let tick = 0; tick < half; tick++) cluster.tick([1, 2]);
    assert.deepEqual(leader.transferLeader(asNodeId(3)), {
      accepted: false,
      reason: "transfer-in-progress",
      leader: asNodeId(1),
    });
    // The repeated request did not extend the deadline.
    for (let tick = 0; tick < half; tick++) cluster.tick([1, 2]);
    assert.equal(leader.transferTarget, null);

    assert.ok(leader.transferLeader(asNodeId(3)).accepted);
    cluster.tick([1, 2]);
    cluster.transfer(1, 2);
    assert.equal(cluster.node(2).role, "leader", "the second target took over");
    assert.equal(leader.role, "follower");
  });

  test("§3.10 transfers to the leader itself or to a non-member are refused, and followers forward nothing", () => {
    const { cluster, leader } = withLeader(3);
    assert.deepEqual(leader.transferLeader(asNodeId(1)), {
      accepted: false,
      reason: "target-is-self",
      leader: asNodeId(1),
    });
    assert.deepEqual(leader.transferLeader(asNodeId(9)), {
      accepted: false,
      reason: "unknown-target",
      leader: asNodeId(1),
    });
    assert.equal(leader.transferTarget, null);
    assert.ok(leader.propose(new Uint8Array([1])).accepted, "a refused transfer leaves proposals open");
    const follower = cluster.node(2);
    assert.deepEqual(follower.transferLeader(asNodeId(3)), {
      accepted: false,
      reason: "not-leader",
      leader: asNodeId(1),
    });
    assert.equal(follower.messages.length, 0, "nothing forwarded");
    const lone = new Cluster(3).node(1);
    assert.deepEqual(lone.transferLeader(asNodeId(2)), {
      accepted: false,
      reason: "not-leader",
      leader: null,
    });
  });

  test("§3.10 any change of role ends the transfer", () => {
    const { cluster, leader } = withLeader(3);
    cluster.isolated.add(asNodeId(2));
    assert.ok(leader.transferLeader(asNodeId(2)).accepted);
    cluster.elect(3); // a higher term deposes the leader mid-transfer
    assert.equal(leader.role, "follower");
    assert.equal(leader.transferTarget, null);
  });
});

describe("§3.10 TimeoutNow and the transfer's election", () => {
  test("§3.10 with PreVote and CheckQuorum on, the transfer skips the pre-vote and gets past leader stickiness", () => {
    const { cluster, leader } = withLeader(3, FEATURES);
    const term = leader.term;
    const delivered = cluster.transfer(1, 3);
    assert.equal(cluster.node(3).role, "leader");
    assert.equal(cluster.node(3).term, term + 1);
    const votes = ofType(delivered, "RequestVote");
    assert.ok(
      votes.length === 2 && votes.every((vote) => vote.transfer === true && vote.preVote === undefined),
    );
    // Both voters had heard from the leader just before: stickiness would have refused an ordinary request.
    assert.equal(leader.vote, asNodeId(3), "the old leader itself voted for its successor");
    assert.equal(cluster.node(2).vote, asNodeId(3));
    assert.equal(leader.role, "follower");
  });

  test("§4.2.3 only the transfer's vote request is exempt: an ordinary one of a higher term is still ignored", () => {
    const { cluster, leader } = withLeader(3, FEATURES);
    const term = leader.term;
    const last = { index: leader.log.lastIndex(), term: leader.log.lastTerm() };
    const follower = cluster.node(3);
    cluster.network = [];

    follower.step(voteRequest(2, 3, term + 1, last, false));
    cluster.flushNode(asNodeId(3));
    assert.equal(follower.term, term, "the ordinary request's term is not adopted");
    assert.deepEqual(
      takeSent(cluster, 3, 2).map((m) => m.type === "RequestVoteReply" && [m.term, m.voteGranted]),
      [[term, false]],
    );

    follower.step(voteRequest(2, 3, term + 1, last, true));
    cluster.flushNode(asNodeId(3));
    assert.equal(follower.term, term + 1);
    assert.equal(follower.vote, asNodeId(2));
    assert.deepEqual(
      takeSent(cluster, 3, 2).map((m) => m.type === "RequestVoteReply" && [m.term, m.voteGranted]),
      [[term + 1, true]],
    );
  });

  test("§3.10 a follower told TimeoutNow campaigns at once, even with PreVote on", () => {
    const { cluster, leader } = withLeader(3, FEATURES);
    const term = leader.term;
    const follower = cluster.node(2);
    cluster.network = [];
    follower.step(timeoutNow(1, 2, term));
    assert.equal(follower.role, "candidate");
    assert.equal(follower.term, term + 1);
    const sent = follower.messages;
    assert.equal(sent.length, 2);
    for (const message of sent) {
      assert.ok(message.type === "RequestVote" && message.transfer === true && message.preVote === undefined);
    }
  });

  test("§3.10 a stale TimeoutNow, or one reaching a candidate, starts nothing", () => {
    const { cluster, leader } = withLeader(3);
    const term = leader.term;
    const follower = cluster.node(2);
    follower.step(timeoutNow(1, 2, term - 1));
    assert.equal(follower.role, "follower");
    assert.equal(follower.term, term);
    assert.equal(follower.messages.length, 0, "a stale one-way message gets no answer");

    const candidate = cluster.node(3);
    candidate.campaign();
    const candidateTerm = candidate.term;
    const sent = candidate.messages.length;
    candidate.step(timeoutNow(1, 3, candidateTerm));
    assert.equal(candidate.term, candidateTerm, "no second election");
    assert.equal(candidate.messages.length, sent);
  });

  test("§5.4.1 a TimeoutNow delayed past its transfer's abort cannot elect a target whose log fell behind", () => {
    const { cluster, leader } = withLeader(3, FEATURES);
    const term = leader.term;
    cluster.isolated.add(asNodeId(3));
    assert.ok(leader.transferLeader(asNodeId(3)).accepted);
    cluster.flush();
    const [delayed] = takeSent(cluster, 1, 3);
    assert.deepEqual(delayed, timeoutNow(1, 3, term), "node 3 was up to date: TimeoutNow went out at once");
    for (let tick = 0; tick < ELECTION_TICKS; tick++) cluster.tick([1, 2]);
    assert.equal(leader.transferTarget, null, "aborted");
    const committed = cluster.propose(1, 9);
    cluster.tick([1, 2]);
    assert.ok(cluster.node(2).log.committed >= committed);

    // The TimeoutNow arrives now, before anything else from the leader: node 3 campaigns with a stale log.
    cluster.isolated.delete(asNodeId(3));
    cluster.node(3).step(delayed);
    assert.equal(cluster.node(3).role, "candidate");
    cluster.deliver();
    assert.notEqual(cluster.node(3).role, "leader", "the voters still apply the election restriction");
    // Its term deposed the leader (the flag bypasses stickiness), but only an up-to-date node can win.
    for (let tick = 0; tick < 5 * ELECTION_TICKS && cluster.leaders().length === 0; tick++) cluster.tick();
    const [next] = cluster.leaders();
    assert.ok(next !== undefined && next.id !== asNodeId(3), "an up-to-date node leads");
    assert.ok(next.term > term + 1);
    assert.deepEqual(
      [...(next.log.entry(asIndex(committed))?.data ?? [])],
      [9],
      "the committed entry survives",
    );
  });

  test("§3.10 a lost TimeoutNow is sent again with the next heartbeat's answer", () => {
    const { cluster, leader } = withLeader(3);
    let lost = 0;
    const dropFirstTimeoutNow = (m: Message) => m.type === "TimeoutNow" && lost++ === 0;
    cluster.transfer(1, 2, dropFirstTimeoutNow);
    assert.equal(lost, 1);
    assert.equal(leader.role, "leader", "nothing happened yet");
    cluster.tick([1]);
    assert.equal(cluster.node(2).role, "leader");
  });
});
