import assert from "node:assert/strict";
import { test } from "node:test";
import { asIndex, asNodeId, asTerm, EMPTY_HARD_STATE, RaftNode } from "../../src/core/index.ts";
import { Random } from "../../src/util/random.ts";

// Regression for a livelock found by Figure8Unreliable2C (seeds 285, 385, 572): a follower that refuses a
// stale candidate's vote must not restart its election timer, or stale candidates campaigning in turn keep
// the one up-to-date node from ever timing out.

function follower(): RaftNode {
  return new RaftNode({
    id: asNodeId(1),
    voters: [asNodeId(1), asNodeId(2), asNodeId(3)],
    electionTicks: 10,
    heartbeatTicks: 1,
    random: new Random(7),
    initialState: {
      hardState: { ...EMPTY_HARD_STATE, term: asTerm(2) },
      snapshot: null,
      entries: [{ index: asIndex(1), term: asTerm(2), data: new Uint8Array([1]) }],
    },
  });
}

test("§5.2 refusing a vote for a higher term does not restart the election timer", () => {
  const node = follower();
  for (let i = 0; i < 5; i++) node.tick();
  // A candidate with an empty (less up-to-date) log asks for our vote in term 3.
  node.step({
    type: "RequestVote",
    from: asNodeId(2),
    to: asNodeId(1),
    term: asTerm(3),
    lastLogIndex: asIndex(0),
    lastLogTerm: asTerm(0),
  });
  assert.equal(node.term, 3);
  assert.equal(node.vote, null, "the vote is refused");
  assert.equal(node.electionElapsed, 5, "the timer keeps running");
});

test("§5.2 granting a vote restarts the election timer", () => {
  const node = follower();
  for (let i = 0; i < 5; i++) node.tick();
  node.step({
    type: "RequestVote",
    from: asNodeId(2),
    to: asNodeId(1),
    term: asTerm(3),
    lastLogIndex: asIndex(1),
    lastLogTerm: asTerm(2),
  });
  assert.equal(node.vote, 2);
  assert.equal(node.electionElapsed, 0);
});
