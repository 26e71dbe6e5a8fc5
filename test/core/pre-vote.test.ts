/**
 * PreVote (Raft thesis §9.6), one test per rule: a pre-candidate asks before it raises its term; a pre-vote
 * changes nothing anywhere; only a majority of pre-votes starts a real election; a node that cannot win (cut
 * off, or behind in its log) never raises terms, so it does not depose a healthy leader when it comes back.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asNodeId, type Message, type RaftNode, type Ready, type RequestVote } from "../../src/core/index.ts";
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
  preVote,
  preVoteReply,
  voteReply,
} from "./helpers.ts";

// ---- helpers -------------------------------------------------------------------------------------------

/** Steps `message` into `node`, carries out the Readies that follow and returns them. */
function stepAndDrain(node: RaftNode, message: Message): Ready[] {
  node.step(message);
  return drainReadies(node);
}

/** Everything about a node that a pre-vote must leave alone. */
function stateOf(node: RaftNode) {
  return {
    term: node.term,
    vote: node.vote,
    role: node.role,
    leader: node.leader,
    preCandidate: node.preCandidate,
    electionElapsed: node.electionElapsed,
    randomizedElectionTimeout: node.randomizedElectionTimeout,
    lastIndex: node.log.lastIndex(),
    committed: node.log.committed,
  };
}

/** Node 1 of 3 (unless `size` says otherwise) with pre-vote on, at term 2 with log [1, 2], voted for 2. */
function preVoteNode(size = 3): RaftNode {
  const node = newNode(1, ids(size), {
    preVote: true,
    initialState: initialState({ term: 2, vote: 2, terms: [1, 2] }),
  });
  drainReadies(node);
  return node;
}

/** Ticks `node` through one whole election timeout. */
function timeOut(node: RaftNode): void {
  const timeout = node.randomizedElectionTimeout;
  for (let i = node.electionElapsed; i < timeout; i++) node.tick();
}

// ---- the pre-candidate -----------------------------------------------------------------------------------

describe("§9.6 the pre-candidate", () => {
  test("§9.6 on election timeout a pre-candidate asks for term + 1 without raising its term or changing its vote", () => {
    const node = preVoteNode();
    timeOut(node);
    assert.equal(node.preCandidate, true);
    assert.equal(node.role, "follower", "to the outside a pre-candidate is a follower");
    assert.equal(node.leader, null);
    assert.equal(node.term, 2, "the term is not bumped");
    assert.equal(node.vote, 2, "the vote is kept");
    const readies = drainReadies(node);
    assert.ok(
      readies.every((rd) => rd.hardState === undefined),
      "nothing is persisted",
    );
    const requests = ofType(readies.flatMap(allMessages), "RequestVote");
    assert.deepEqual(requests, [preVote(1, 2, 3, 2, 2), preVote(1, 3, 3, 2, 2)]);
    // Unanswered, it asks again after the next timeout, still without raising its term.
    timeOut(node);
    assert.equal(node.term, 2);
    assert.equal(ofType(drainReadies(node).flatMap(allMessages), "RequestVote").length, 2);
  });

  test("§9.6 a majority of pre-votes starts the real election in term + 1, and only then", () => {
    const node = preVoteNode(5);
    timeOut(node);
    drainReadies(node);
    stepAndDrain(node, preVoteReply(2, 1, 3, true));
    assert.equal(node.term, 2, "two of five (ourselves included) is not a majority");
    assert.equal(node.preCandidate, true);
    const readies = stepAndDrain(node, preVoteReply(3, 1, 3, true));
    assert.equal(node.role, "candidate");
    assert.equal(node.preCandidate, false);
    assert.equal(node.term, 3);
    assert.equal(node.vote, 1);
    assert.deepEqual(readies[0]?.hardState, { term: 3, vote: 1, commit: 0 });
    const requests = ofType(readies.flatMap(allMessages), "RequestVote");
    assert.deepEqual(
      requests.map((m) => [m.to, m.term, m.preVote ?? false]),
      [2, 3, 4, 5].map((to) => [to, 3, false]),
      "real RequestVotes for term 3 to every other voter",
    );
  });

  test("§9.6 a cluster elects its first leader through a pre-vote, raising the term once", () => {
    const cluster = new Cluster(3, { preVote: true });
    timeOut(cluster.node(1));
    const delivered = cluster.deliver();
    assert.equal(cluster.node(1).role, "leader");
    assert.deepEqual(
      cluster.ids.map((id) => cluster.node(id).term),
      [1, 1, 1],
    );
    const requests = ofType(delivered, "RequestVote");
    assert.deepEqual(
      requests.map((m) => [m.to, m.term, m.preVote ?? false]),
      [
        [2, 1, true],
        [3, 1, true],
        [2, 1, false],
        [3, 1, false],
      ],
    );
  });

  test("§9.6 pre-votes never count as votes in the real election of the same term", () => {
    const node = preVoteNode(5);
    timeOut(node);
    drainReadies(node);
    stepAndDrain(node, preVoteReply(2, 1, 3, true));
    stepAndDrain(node, preVoteReply(3, 1, 3, true));
    assert.equal(node.role, "candidate");
    // Late pre-vote grants carry term 3 too; with our own vote they would make a majority of five.
    stepAndDrain(node, preVoteReply(4, 1, 3, true));
    stepAndDrain(node, preVoteReply(5, 1, 3, true));
    assert.equal(node.role, "candidate", "pre-votes are not votes");
    stepAndDrain(node, voteReply(2, 1, 3, true));
    stepAndDrain(node, voteReply(3, 1, 3, true));
    assert.equal(node.role, "leader");
  });

  test("§9.6 votes of an earlier real election never count as pre-votes", () => {
    const node = preVoteNode(5);
    node.startElection(); // a real election of term 3 that times out
    drainReadies(node);
    timeOut(node);
    assert.equal(node.preCandidate, true);
    assert.equal(node.term, 3);
    assert.equal(node.vote, 1, "a candidate turned pre-candidate keeps its vote");
    stepAndDrain(node, voteReply(2, 1, 3, true));
    stepAndDrain(node, voteReply(3, 1, 3, true));
    assert.equal(node.preCandidate, true, "late votes of term 3 are not pre-votes for term 4");
    assert.equal(node.term, 3);
  });

  test("§9.6 a pre-candidate that hears from a leader of its term or higher becomes its follower", () => {
    const node = preVoteNode();
    timeOut(node);
    drainReadies(node);
    stepAndDrain(node, heartbeat(3, 1, 2, 2, 2));
    assert.equal(node.preCandidate, false);
    assert.equal(node.role, "follower");
    assert.equal(node.leader, 3);
    assert.equal(node.term, 2);
    // Pre-vote grants arriving late change nothing now.
    stepAndDrain(node, preVoteReply(2, 1, 3, true));
    assert.equal(node.role, "follower");
    assert.equal(node.term, 2);

    const other = preVoteNode();
    timeOut(other);
    drainReadies(other);
    stepAndDrain(other, heartbeat(3, 1, 4, 2, 2));
    assert.equal(other.preCandidate, false);
    assert.equal(other.leader, 3);
    assert.equal(other.term, 4);
  });

  test("§9.6 a refused pre-vote carrying a higher term brings the pre-candidate up to that real term", () => {
    const node = preVoteNode();
    timeOut(node);
    drainReadies(node);
    stepAndDrain(node, preVoteReply(2, 1, 5, false));
    assert.equal(node.preCandidate, false);
    assert.equal(node.role, "follower");
    assert.equal(node.term, 5);
    assert.equal(node.vote, null);
  });

  test("§9.6 pre-votes refused by a majority send the pre-candidate back to following, in the same term", () => {
    const node = preVoteNode();
    timeOut(node);
    drainReadies(node);
    const elapsed = node.electionElapsed;
    stepAndDrain(node, preVoteReply(2, 1, 2, false));
    stepAndDrain(node, preVoteReply(3, 1, 2, false));
    assert.equal(node.preCandidate, false);
    assert.equal(node.role, "follower");
    assert.equal(node.term, 2);
    assert.equal(node.electionElapsed, elapsed, "the timer keeps running: retry after a full timeout");
  });
});

// ---- the receiver ----------------------------------------------------------------------------------------

describe("§9.6 answering a pre-vote", () => {
  /** Node 2 of 3 at term 2, log [1, 2], voted for 3, no known leader, a few ticks into its timeout. */
  function receiver(): RaftNode {
    const node = newNode(2, ids(3), {
      preVote: true,
      initialState: initialState({ term: 2, vote: 3, commit: 1, terms: [1, 2] }),
    });
    drainReadies(node);
    for (let i = 0; i < 3; i++) node.tick();
    return node;
  }

  test("§9.6 granting a pre-vote changes nothing at the receiver: no term, no vote, no timer restart", () => {
    const node = receiver();
    const before = stateOf(node);
    const readies = stepAndDrain(node, preVote(1, 2, 3, 2, 2));
    assert.deepEqual(readies.flatMap(allMessages), [preVoteReply(2, 1, 3, true)], "granted, for term 3");
    assert.deepEqual(stateOf(node), before);
    assert.ok(
      readies.every((rd) => rd.hardState === undefined),
      "nothing to persist",
    );
  });

  const cases: Array<[string, RequestVote, boolean]> = [
    ["an up-to-date log and a higher term", preVote(1, 2, 3, 2, 2), true],
    ["a longer log", preVote(1, 2, 5, 9, 2), true],
    ["a log ending in a later term", preVote(1, 2, 4, 1, 3), true],
    ["a shorter log (§5.4.1)", preVote(1, 2, 3, 1, 2), false],
    ["a log ending in an earlier term (§5.4.1)", preVote(1, 2, 3, 5, 1), false],
    ["a proposed term equal to ours", preVote(1, 2, 2, 2, 1), false],
    ["a proposed term below ours", preVote(1, 2, 1, 0, 0), false],
  ];
  for (const [name, request, granted] of cases) {
    test(`§9.6 a pre-vote with ${name} is ${granted ? "granted" : "refused"}, and changes nothing`, () => {
      const node = receiver();
      const before = stateOf(node);
      const replies = ofType(stepAndDrain(node, request).flatMap(allMessages), "RequestVoteReply");
      assert.deepEqual(replies, [preVoteReply(2, 1, granted ? request.term : 2, granted)]);
      assert.deepEqual(stateOf(node), before);
    });
  }

  test("§9.6 leader stickiness: a follower that heard from its leader within electionTicks refuses pre-votes", () => {
    const node = receiver();
    stepAndDrain(node, heartbeat(3, 2, 2, 2, 2));
    assert.equal(node.leader, 3);
    // Keep the node's own timeout out of the way, to look at the minimum election timeout alone.
    node.randomizedElectionTimeout = 2 * ELECTION_TICKS;
    for (let i = 0; i < ELECTION_TICKS - 1; i++) node.tick();
    const before = stateOf(node);
    const refused = ofType(
      stepAndDrain(node, preVote(1, 2, 3, 2, 2)).flatMap(allMessages),
      "RequestVoteReply",
    );
    assert.deepEqual(refused, [preVoteReply(2, 1, 2, false)], "the leader was heard from within the timeout");
    assert.deepEqual(stateOf(node), before);
    node.tick();
    const granted = ofType(
      stepAndDrain(node, preVote(1, 2, 3, 2, 2)).flatMap(allMessages),
      "RequestVoteReply",
    );
    assert.deepEqual(granted, [preVoteReply(2, 1, 3, true)], "a full minimum timeout without the leader");
    assert.equal(node.leader, 3, "granting a pre-vote does not even forget the leader");
    assert.equal(node.term, 2);
  });

  test("§9.6 higher-term pre-vote traffic makes nobody step down or adopt the term", () => {
    const cluster = new Cluster(3, { preVote: true });
    const leader = cluster.elect(1);
    cluster.propose(1, 7);
    const term = leader.term;
    const last = leader.log.lastIndex();
    // A pre-vote for a far higher term, from a node whose log is as up to date, to the leader and a follower.
    for (const to of [1, 2]) {
      const replies = ofType(
        stepAndDrain(cluster.node(to), preVote(3, to, term + 5, last, term)).flatMap(allMessages),
        "RequestVoteReply",
      );
      assert.deepEqual(
        replies,
        [preVoteReply(to, 3, term, false)],
        `node ${to} refuses: it has a live leader`,
      );
    }
    // Granted pre-votes for a far higher term, stray or forged, reach the leader and a follower.
    stepAndDrain(cluster.node(1), preVoteReply(3, 1, term + 5, true));
    stepAndDrain(cluster.node(2), preVoteReply(3, 2, term + 5, true));
    cluster.network = [];
    assert.equal(leader.role, "leader");
    assert.deepEqual(
      cluster.ids.map((id) => cluster.node(id).term),
      [term, term, term],
    );
    assert.equal(cluster.node(2).leader, 1);
    const index = cluster.propose(1, 8);
    cluster.tick();
    for (const id of cluster.ids) {
      assert.equal(cluster.appliedBy(id).at(-1)?.index, index, `node ${id} applied it: the leader goes on`);
    }
  });
});

// ---- whole-cluster outcomes ------------------------------------------------------------------------------

describe("§9.6 nodes that cannot win do not disrupt", () => {
  /**
   * Elects node 1, cuts node 3 off for five election timeouts (nothing is proposed meanwhile, so node 3's log
   * stays as up to date as anyone's), then heals the partition for five more.
   */
  function partitionAndRejoin(preVoteOn: boolean) {
    const cluster = new Cluster(3, { preVote: preVoteOn });
    const leader = cluster.elect(1);
    cluster.propose(1, 1);
    const term = leader.term;
    cluster.isolated.add(asNodeId(3));
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) cluster.tick();
    const termWhileCutOff = cluster.node(3).term;
    cluster.isolated.delete(asNodeId(3));
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) cluster.tick();
    return { cluster, term, termWhileCutOff };
  }

  test("§9.6 with pre-vote, a partitioned node rejoining raises no term and leaves the leader in place", () => {
    const { cluster, term, termWhileCutOff } = partitionAndRejoin(true);
    assert.equal(termWhileCutOff, term, "cut off, it never got a majority of pre-votes");
    assert.deepEqual(
      cluster.ids.map((id) => cluster.node(id).term),
      [term, term, term],
    );
    assert.deepEqual(
      cluster.leaders().map((node) => node.id),
      [1],
    );
    assert.equal(cluster.node(3).leader, 1, "it rejoined as a follower");
  });

  test("§9.6 without pre-vote, the same node raises its term while cut off and deposes the leader", () => {
    const { cluster, term, termWhileCutOff } = partitionAndRejoin(false);
    assert.ok(termWhileCutOff > term + 1, `cut off, it campaigned again and again (term ${termWhileCutOff})`);
    assert.ok(
      cluster.ids.every((id) => cluster.node(id).term > term),
      "everyone moved to a new term",
    );
    const [leader] = cluster.leaders();
    assert.ok(
      leader !== undefined && leader.term > term,
      "a new election replaced the leader of the old term",
    );
  });

  test("§9.6 a node with a stale log never wins a pre-vote, so it never raises terms", () => {
    // Nodes 1 and 2 hold [1, 1]; node 3 missed the second entry. Nobody is leader.
    const states = [
      initialState({ term: 1, terms: [1, 1] }),
      initialState({ term: 1, terms: [1, 1] }),
      initialState({ term: 1, terms: [1] }),
    ];
    const stale = new Cluster(3, { preVote: true, initialStates: states });
    for (let i = 0; i < 10 * ELECTION_TICKS; i++) stale.tick([3]);
    assert.deepEqual(
      stale.ids.map((id) => stale.node(id).term),
      [1, 1, 1],
    );
    assert.equal(stale.node(3).role, "follower");
    // An up-to-date node then wins at once, in term 2.
    timeOut(stale.node(2));
    stale.deliver();
    assert.equal(stale.node(2).role, "leader");
    assert.equal(stale.node(2).term, 2);

    // Without pre-vote, node 3 drags everyone's term up with every timeout.
    const noPreVote = new Cluster(3, { initialStates: states });
    for (let i = 0; i < 10 * ELECTION_TICKS; i++) noPreVote.tick([3]);
    assert.ok(noPreVote.node(1).term > 3, `term ${noPreVote.node(1).term}`);
    assert.deepEqual(noPreVote.leaders(), []);
  });
});
