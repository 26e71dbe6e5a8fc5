/**
 * ReadIndex (Raft thesis §6.4): a read is confirmed only at a commit index of the leader's own term and
 * only after a majority acknowledged a heartbeat round that began after the read arrived; followers forward
 * reads to the leader; nothing is confirmed by a leader that has lost its majority.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asNodeId } from "../../src/core/index.ts";
import { READS_OUTSTANDING_MAX } from "../../src/core/read-only.ts";
import { allMessages, Cluster, heartbeat, initialState, newNode, ofType, takeReady } from "./helpers.ts";

function readsOf(cluster: Cluster, id: number) {
  return cluster.readStates.get(asNodeId(id)) ?? [];
}

describe("ReadIndex (thesis §6.4)", () => {
  test("a request of an older term is refused without echoing its read round (key-value simulator seed 4908)", () => {
    // Rounds restart in every term: echoing an old term's round 7 with our term 3 would credit node 1, should
    // it lead term 3, with a round it never sent.
    const node = newNode(2, [1, 2, 3].map(asNodeId), { initialState: initialState({ term: 3 }) });
    node.step({ ...heartbeat(1, 2, 2, 0, 0), readRound: 7 });
    const [reply] = ofType(allMessages(takeReady(node)), "AppendEntriesReply");
    assert.ok(reply !== undefined && !reply.success && reply.term === 3);
    assert.equal(reply.readRound, 0);
    node.step({ ...heartbeat(1, 2, 3, 0, 0), readRound: 7 });
    const [current] = ofType(allMessages(takeReady(node)), "AppendEntriesReply");
    assert.equal(current?.readRound, 7, "a request of our own term is echoed as usual");
  });

  test("the leader confirms a read at its commit index after one heartbeat round", () => {
    const cluster = new Cluster(3);
    const leader = cluster.elect(1);
    cluster.propose(1, 5);
    const commit = leader.log.committed;
    assert.deepEqual(leader.readIndex(7), { accepted: true });
    cluster.flush();
    assert.deepEqual(readsOf(cluster, 1), [], "nothing is confirmed before a majority answered");
    const delivered = cluster.deliver();
    const heartbeats = ofType(delivered, "AppendEntries").filter((m) => m.entries.length === 0);
    assert.ok(heartbeats.length >= 2, "the read starts a heartbeat round to every follower");
    assert.ok(heartbeats.every((m) => m.readRound === 1));
    assert.deepEqual(readsOf(cluster, 1), [{ requestId: 7, index: commit }]);
  });

  test("reads taken on together share one round: one heartbeat per follower", () => {
    const cluster = new Cluster(5);
    const leader = cluster.elect(1);
    for (let id = 1; id <= 20; id++) leader.readIndex(id);
    const delivered = cluster.deliver();
    assert.equal(ofType(delivered, "AppendEntries").length, 4);
    assert.deepEqual(
      readsOf(cluster, 1).map((read) => read.requestId),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  test("a leader that has not committed an entry of its term holds reads until it has", () => {
    const cluster = new Cluster(3, { noopOnElection: false });
    const first = cluster.elect(1);
    cluster.propose(1, 1);
    // Node 1 appends an entry nobody else gets, then node 2 takes over without a no-op.
    cluster.isolated.add(first.id);
    first.propose(new Uint8Array([9]));
    cluster.flush();
    cluster.isolated.delete(first.id);
    cluster.network = [];
    const leader = cluster.elect(2);
    assert.notEqual(leader.log.term(leader.log.committed), leader.term);
    leader.readIndex(1);
    cluster.deliver();
    cluster.tick();
    assert.deepEqual(readsOf(cluster, 2), [], "no read before the first commit of the term");
    const index = cluster.propose(2, 2);
    cluster.tick();
    assert.deepEqual(readsOf(cluster, 2), [{ requestId: 1, index }]);
  });

  test("an isolated leader never confirms a read, while the majority moves on", () => {
    const cluster = new Cluster(3);
    const old = cluster.elect(1);
    cluster.propose(1, 1);
    cluster.isolated.add(old.id);
    old.readIndex(42);
    for (let i = 0; i < 30; i++) cluster.tick();
    const leader = cluster.leaders().find((node) => node.id !== old.id);
    assert.ok(leader !== undefined, "the majority elected a new leader");
    cluster.propose(leader.id, 2);
    assert.equal(old.role, "leader", "the old leader does not know it was replaced");
    assert.deepEqual(readsOf(cluster, 1), [], "and it never confirms the read");
  });

  test("acknowledgements of an earlier round do not confirm a later read", () => {
    const cluster = new Cluster(3);
    const leader = cluster.elect(1);
    leader.readIndex(1);
    cluster.deliver();
    assert.equal(readsOf(cluster, 1).length, 1);
    leader.readIndex(2);
    // Every reply that echoes the new round is lost; replies to older messages still arrive.
    cluster.deliver((m) => m.type === "AppendEntriesReply" && m.readRound >= 2);
    assert.equal(readsOf(cluster, 1).length, 1, "read 2 is still unconfirmed");
    cluster.propose(1, 3);
    assert.deepEqual(
      readsOf(cluster, 1).map((read) => read.requestId),
      [1, 2],
    );
  });

  test("a follower forwards its read to the leader and gets the leader's index", () => {
    const cluster = new Cluster(3);
    const leader = cluster.elect(1);
    cluster.propose(1, 1);
    const follower = cluster.node(3);
    assert.deepEqual(follower.readIndex(11), { accepted: true });
    const delivered = cluster.deliver();
    assert.equal(ofType(delivered, "ReadIndex").length, 1);
    assert.equal(ofType(delivered, "ReadIndexReply").length, 1);
    assert.deepEqual(readsOf(cluster, 3), [{ requestId: 11, index: leader.log.committed }]);
    assert.deepEqual(readsOf(cluster, 1), [], "the leader's own callers see nothing");
  });

  test("a node that knows no leader refuses; a one-node cluster confirms at once", () => {
    const cluster = new Cluster(3);
    assert.deepEqual(cluster.node(2).readIndex(1), { accepted: false, reason: "no-leader" });
    const single = new Cluster(1);
    single.elect(1);
    single.node(1).readIndex(5);
    single.flush();
    assert.deepEqual(readsOf(single, 1), [{ requestId: 5, index: single.node(1).log.committed }]);
  });

  test("stepping down forgets unconfirmed reads; the outstanding reads are bounded", () => {
    const cluster = new Cluster(3);
    const leader = cluster.elect(1);
    leader.readIndex(1);
    cluster.flush();
    cluster.network = [];
    cluster.elect(2);
    assert.equal(leader.role, "follower");
    assert.equal(leader.readOnly.outstanding, 0);
    assert.deepEqual(readsOf(cluster, 1), []);

    const now = cluster.node(2);
    cluster.isolated.add(now.id);
    for (let id = 0; id < READS_OUTSTANDING_MAX; id++) assert.equal(now.readIndex(id).accepted, true);
    assert.deepEqual(now.readIndex(-1), { accepted: false, reason: "too-many-reads" });
  });
});
