/**
 * CheckQuorum (Raft thesis §6.2) and leader stickiness (§4.2.3), one test per rule: a leader that has not
 * heard from a majority within an election timeout steps down; a node that heard from a live leader within the
 * minimum election timeout refuses vote requests of higher terms without adopting their term.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asNodeId, type Message, type RaftNode } from "../../src/core/index.ts";
import {
  allMessages,
  Cluster,
  drainReadies,
  ELECTION_TICKS,
  heartbeat,
  ids,
  initialState,
  newNode,
  ofType,
  requestVote,
  voteReply,
} from "./helpers.ts";

/** Steps `message` into `node` and returns the replies it sends. */
function repliesTo(node: RaftNode, message: Message): Message[] {
  node.step(message);
  return drainReadies(node).flatMap(allMessages);
}

/** A cluster of `size` with node 1 elected and one entry committed everywhere. */
function withLeader(size: number, checkQuorum: boolean): { cluster: Cluster; leader: RaftNode } {
  const cluster = new Cluster(size, { checkQuorum });
  const leader = cluster.elect(1);
  cluster.propose(1, 1);
  cluster.tick();
  return { cluster, leader };
}

// ---- CheckQuorum -----------------------------------------------------------------------------------------

describe("§6.2 CheckQuorum", () => {
  test("§6.2 an isolated leader steps down at its second quorum check, with reads and proposals refused", () => {
    const cluster = new Cluster(3, { checkQuorum: true });
    const leader = cluster.elect(1);
    const term = leader.term;
    cluster.isolated.add(leader.id);
    leader.readIndex(1);
    // The first check, electionTicks after the election, still counts the followers' answers to the leader's
    // first AppendEntries; the second finds nobody.
    for (let tick = 1; tick < 2 * ELECTION_TICKS; tick++) {
      cluster.tick([1]);
      assert.equal(leader.role, "leader", `still leader at tick ${tick}`);
    }
    cluster.tick([1]);
    assert.equal(leader.role, "follower");
    assert.equal(leader.leader, null, "it knows no leader");
    assert.equal(leader.term, term, "stepping down raises no term");
    assert.equal(leader.readOnly.outstanding, 0, "the pending read is dropped (its caller times out)");
    assert.deepEqual(leader.propose(new Uint8Array([1])), {
      accepted: false,
      reason: "not-leader",
      leader: null,
    });
    assert.deepEqual(leader.readIndex(2), { accepted: false, reason: "no-leader" });
    assert.deepEqual(cluster.readStates.get(leader.id), [], "the read was never confirmed");
  });

  test("§6.2 the majority elects a new leader, and the old one is no longer leader by then", () => {
    const cluster = new Cluster(3, { checkQuorum: true });
    const old = cluster.elect(1);
    cluster.isolated.add(old.id);
    for (let i = 0; i < 4 * ELECTION_TICKS; i++) cluster.tick();
    const leaders = cluster.leaders();
    assert.equal(leaders.length, 1);
    assert.notEqual(leaders[0]?.id, old.id);
    assert.notEqual(old.role, "leader", "it stepped down (and, cut off, campaigns in vain)");
  });

  test("§6.2 without CheckQuorum the isolated leader stays leader however long it is cut off", () => {
    const { cluster, leader } = withLeader(3, false);
    cluster.isolated.add(leader.id);
    for (let i = 0; i < 10 * ELECTION_TICKS; i++) cluster.tick([1]);
    assert.equal(leader.role, "leader");
  });

  test("§6.2 a connected leader stays leader, check after check", () => {
    const { cluster, leader } = withLeader(3, true);
    const term = leader.term;
    for (let i = 0; i < 10 * ELECTION_TICKS; i++) cluster.tick();
    assert.equal(leader.role, "leader");
    assert.deepEqual(
      cluster.ids.map((id) => cluster.node(id).term),
      [term, term, term],
    );
  });

  test("§6.2 a leader of five keeps office with two followers, and steps down with one", () => {
    const { cluster, leader } = withLeader(5, true);
    cluster.isolated.add(asNodeId(4));
    cluster.isolated.add(asNodeId(5));
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) cluster.tick([1, 2, 3]);
    assert.equal(leader.role, "leader", "itself and two followers are a majority of five");
    cluster.isolated.add(asNodeId(3));
    for (let i = 0; i < 2 * ELECTION_TICKS; i++) cluster.tick([1, 2]);
    assert.equal(leader.role, "follower", "itself and one follower are not");
  });

  test("§6.2 any message of the leader's term counts as hearing from a follower", () => {
    const node = newNode(1, ids(3), { checkQuorum: true, initialState: initialState({ term: 1 }) });
    node.campaign();
    drainReadies(node);
    node.step(voteReply(2, 1, 2, true));
    drainReadies(node);
    assert.equal(node.role, "leader");
    // First period: a late vote refusal of our term from node 3, not even an AppendEntries answer.
    node.step(voteReply(3, 1, 2, false));
    drainReadies(node);
    for (let i = 0; i < ELECTION_TICKS; i++) node.tick();
    assert.equal(node.role, "leader", "node 3 was heard in our term: with us that is a majority");
    // Second period: only a message of an earlier term, which proves nothing about this one.
    node.step(voteReply(2, 1, 1, false));
    drainReadies(node);
    for (let i = 0; i < ELECTION_TICKS; i++) node.tick();
    assert.equal(node.role, "follower", "nobody heard in our term: step down");
  });
});

// ---- leader stickiness -----------------------------------------------------------------------------------

describe("§4.2.3 leader stickiness", () => {
  test("§4.2.3 with CheckQuorum, a follower with a live leader ignores a higher-term vote request", () => {
    const { cluster, leader } = withLeader(3, true);
    const term = leader.term;
    const last = leader.log.lastIndex();
    const follower = cluster.node(2);
    const replies = repliesTo(follower, requestVote(3, 2, term + 1, last, term));
    assert.deepEqual(replies, [voteReply(2, 3, term, false)], "refused, with its own (lower) term");
    assert.equal(follower.term, term, "the higher term is not adopted");
    assert.equal(follower.vote, leader.id);
    assert.equal(follower.leader, leader.id);
    // The leader, hearing from itself, ignores it too.
    const leaderReplies = repliesTo(leader, requestVote(3, 1, term + 1, last, term));
    assert.deepEqual(leaderReplies, [voteReply(1, 3, term, false)]);
    assert.equal(leader.role, "leader");
    assert.equal(leader.term, term);
  });

  test("§4.2.3 without CheckQuorum, the same request makes the follower adopt the term and vote", () => {
    const { cluster, leader } = withLeader(3, false);
    const term = leader.term;
    const follower = cluster.node(2);
    const replies = repliesTo(follower, requestVote(3, 2, term + 1, leader.log.lastIndex(), term));
    assert.deepEqual(replies, [voteReply(2, 3, term + 1, true)]);
    assert.equal(follower.term, term + 1);
    assert.equal(follower.vote, 3);
    assert.equal(follower.leader, null);
  });

  test("§4.2.3 after a minimum election timeout without the leader, vote requests are heard again", () => {
    const node = newNode(2, ids(3), {
      checkQuorum: true,
      initialState: initialState({ term: 2, terms: [1, 2] }),
    });
    node.step(heartbeat(1, 2, 2, 2, 2));
    drainReadies(node);
    // Keep the node's own timeout out of the way, to look at the minimum election timeout alone.
    node.randomizedElectionTimeout = 2 * ELECTION_TICKS;
    for (let i = 0; i < ELECTION_TICKS - 1; i++) node.tick();
    assert.deepEqual(repliesTo(node, requestVote(3, 2, 3, 2, 2)), [voteReply(2, 3, 2, false)]);
    assert.equal(node.term, 2);
    node.tick();
    assert.deepEqual(repliesTo(node, requestVote(3, 2, 3, 2, 2)), [voteReply(2, 3, 3, true)]);
    assert.equal(node.term, 3);
    assert.equal(node.vote, 3);
  });

  test("§4.2.3 a node that knows no leader hears vote requests at once", () => {
    const node = newNode(2, ids(3), {
      checkQuorum: true,
      initialState: initialState({ term: 2, terms: [1, 2] }),
    });
    drainReadies(node);
    assert.deepEqual(repliesTo(node, requestVote(3, 2, 3, 2, 2)), [voteReply(2, 3, 3, true)]);
  });

  test("§4.2.3 a cut-off node rejoining with CheckQuorum alone cannot win votes, but its term still reaches the leader", () => {
    // Without pre-vote the cut-off node raises its term; sticky followers ignore its votes, yet its answer to
    // the leader's next AppendEntries carries that term, and the leader steps down (Figure 2). Pre-vote is what
    // keeps the term from rising in the first place (pre-vote.test.ts).
    const { cluster, leader } = withLeader(3, true);
    const term = leader.term;
    cluster.isolated.add(asNodeId(3));
    for (let i = 0; i < 3 * ELECTION_TICKS; i++) cluster.tick();
    const raised = cluster.node(3).term;
    assert.ok(raised > term);
    cluster.isolated.delete(asNodeId(3));
    // Node 3's next vote request reaches a sticky follower: ignored.
    const follower = cluster.node(2);
    assert.deepEqual(
      ofType(
        repliesTo(follower, requestVote(3, 2, raised + 1, leader.log.lastIndex(), term)),
        "RequestVoteReply",
      ),
      [voteReply(2, 3, term, false)],
    );
    assert.equal(follower.term, term);
    cluster.network = [];
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) cluster.tick();
    assert.equal(cluster.leaders().length, 1, "the cluster settles on one leader in the new term");
    assert.ok(cluster.ids.every((id) => cluster.node(id).term >= raised));
  });
});
