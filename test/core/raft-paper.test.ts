/**
 * One test per rule of the Raft paper's Figure 2, §5 and §7, named with its section, in the style of etcd's
 * raft_paper_test.go. Each test drives RaftNode directly (tick, step, propose, campaign, compact, ready,
 * advance) or through the small FIFO cluster in helpers.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AppendEntries,
  type AppendEntriesReply,
  asIndex,
  asNodeId,
  asTerm,
  type Entry,
  type InstallSnapshot,
  type Message,
  type RaftNode,
  type RequestVote,
  type Role,
} from "../../src/core/index.ts";
import { MemoryLogStore } from "../../src/sim/memory-log-store.ts";
import { Random } from "../../src/util/random.ts";
import {
  allMessages,
  Cluster,
  drainReadies,
  ELECTION_TICKS,
  entries,
  ids,
  initialState,
  newNode,
  ofType,
  takeReady,
} from "./helpers.ts";

// ---- message builders ----------------------------------------------------------------------------------

function requestVote(from: number, to: number, term: number, lastLogIndex = 0, lastLogTerm = 0): RequestVote {
  return {
    type: "RequestVote",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    lastLogIndex: asIndex(lastLogIndex),
    lastLogTerm: asTerm(lastLogTerm),
  };
}

function voteReply(from: number, to: number, term: number, voteGranted: boolean): Message {
  return {
    type: "RequestVoteReply",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    voteGranted,
  };
}

function appendEntries(
  from: number,
  to: number,
  term: number,
  prevLogIndex: number,
  prevLogTerm: number,
  sent: readonly Entry[] = [],
  leaderCommit = 0,
): AppendEntries {
  return {
    type: "AppendEntries",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    prevLogIndex: asIndex(prevLogIndex),
    prevLogTerm: asTerm(prevLogTerm),
    entries: sent,
    leaderCommit: asIndex(leaderCommit),
    readRound: 0,
  };
}

function appendReply(from: number, to: number, term: number, fields: Partial<AppendEntriesReply>): Message {
  return {
    type: "AppendEntriesReply",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    success: false,
    prevLogIndex: asIndex(0),
    matchIndex: asIndex(0),
    conflictTerm: asTerm(0),
    conflictIndex: asIndex(0),
    readRound: 0,
    lastLogIndex: asIndex(0),
    ...fields,
  };
}

function installSnapshot(
  from: number,
  to: number,
  term: number,
  lastIncludedIndex: number,
  lastIncludedTerm: number,
): InstallSnapshot {
  return {
    type: "InstallSnapshot",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    lastIncludedIndex: asIndex(lastIncludedIndex),
    lastIncludedTerm: asTerm(lastIncludedTerm),
    data: new Uint8Array([42]),
  };
}

/** Steps `message` into `node` and returns every message of the Readies that follow. */
function stepAndCollect(node: RaftNode, message: Message, store?: MemoryLogStore): Message[] {
  node.step(message);
  return drainReadies(node, store).flatMap(allMessages);
}

/** The terms of a node's held log entries, in index order. */
function logTerms(node: RaftNode): number[] {
  const terms: number[] = [];
  for (let index = node.log.firstIndex(); index <= node.log.lastIndex(); index++) {
    terms.push(node.log.term(asIndex(index)) ?? -1);
  }
  return terms;
}

/**
 * Node 1 of `size` voters in `role` at term 1 with an empty log (the leader without its no-op), every Ready
 * drained.
 */
function nodeInRole(role: Role, size = 3): RaftNode {
  const node = newNode(1, ids(size), { noopOnElection: false });
  if (role === "follower") {
    node.step(appendEntries(2, 1, 1, 0, 0));
  } else {
    node.campaign();
    takeReady(node);
    if (role === "leader") node.step(voteReply(2, 1, 1, true));
  }
  drainReadies(node);
  assert.equal(node.role, role);
  assert.equal(node.term, 1);
  return node;
}

/**
 * Node 1 of three voters, leader of term `term + 1`, whose log holds entries of `terms` (no no-op). Its first
 * round of AppendEntries has been taken and thrown away; the followers' progress is probing.
 */
function leaderWithLog(terms: readonly number[], term: number): RaftNode {
  const node = newNode(1, ids(3), { noopOnElection: false, initialState: initialState({ term, terms }) });
  node.campaign();
  takeReady(node);
  node.step(voteReply(3, 1, term + 1, true));
  assert.equal(node.role, "leader");
  drainReadies(node);
  return node;
}

// ---- §5.1 ------------------------------------------------------------------------------------------------

describe("§5.1 terms", () => {
  const roles: Role[] = ["follower", "candidate", "leader"];
  const higherTermMessages: Array<[string, Message, boolean]> = [
    ["RequestVote", requestVote(2, 1, 2), false],
    ["RequestVoteReply", voteReply(2, 1, 2, false), false],
    ["AppendEntries", appendEntries(2, 1, 2, 0, 0), true],
    ["AppendEntriesReply", appendReply(2, 1, 2, {}), false],
    ["InstallSnapshot", installSnapshot(2, 1, 2, 1, 1), true],
    [
      "InstallSnapshotReply",
      {
        type: "InstallSnapshotReply",
        from: asNodeId(2),
        to: asNodeId(1),
        term: asTerm(2),
        matchIndex: asIndex(0),
      },
      false,
    ],
  ];
  for (const role of roles) {
    for (const [name, message, fromLeader] of higherTermMessages) {
      test(`§5.1 a ${role} seeing a higher term in a ${name} adopts the term and becomes follower`, () => {
        const node = nodeInRole(role);
        node.step(message);
        assert.equal(node.term, 2);
        assert.equal(node.role, "follower");
        assert.equal(node.leader, fromLeader ? 2 : null, "only AppendEntries/InstallSnapshot name a leader");
        if (name !== "RequestVote") assert.equal(node.vote, null, "a new term starts without a vote");
        const rd = takeReady(node);
        assert.equal(rd.hardState?.term, 2, "the new term must be persisted");
      });
    }
  }

  test("§5.1 a stale-term request is rejected with the current term and changes nothing", () => {
    const node = newNode(1, ids(3), { initialState: initialState({ term: 3, terms: [1, 2] }) });
    const before = logTerms(node);

    const [vote] = stepAndCollect(node, requestVote(2, 1, 2, 9, 2));
    assert.deepEqual(vote, voteReply(1, 2, 3, false));
    assert.equal(node.vote, null);

    const [append] = stepAndCollect(node, appendEntries(2, 1, 2, 2, 2, entries([2], 3), 3));
    assert.equal(append?.type, "AppendEntriesReply");
    assert.ok(append?.type === "AppendEntriesReply" && !append.success);
    assert.equal(append.term, 3);
    assert.equal(node.leader, null, "a stale leader is not accepted");

    const [snapshot] = stepAndCollect(node, installSnapshot(2, 1, 2, 5, 2));
    assert.deepEqual(snapshot, {
      type: "InstallSnapshotReply",
      from: 1,
      to: 2,
      term: 3,
      matchIndex: 0,
    });

    assert.deepEqual(logTerms(node), before);
    assert.equal(node.log.offset, 0);
    assert.equal(node.log.committed, 0);
    assert.equal(node.term, 3);
  });

  test("§5.1 a stale-term reply is ignored", () => {
    const node = nodeInRole("candidate", 3);
    node.campaign(); // term 2
    takeReady(node);
    node.step(voteReply(2, 1, 1, true)); // a grant from term 1 must not count in term 2
    assert.equal(node.role, "candidate");
    node.step(voteReply(3, 1, 2, true));
    assert.equal(node.role, "leader");
  });
});

// ---- §5.2 ------------------------------------------------------------------------------------------------

describe("§5.2 leader election", () => {
  test("§5.2 a follower starts an election after its election timeout, and not before", () => {
    const node = newNode(1, ids(3));
    const timeout = node.randomizedElectionTimeout;
    for (let i = 1; i < timeout; i++) node.tick();
    assert.equal(node.role, "follower");
    assert.equal(node.term, 0);
    node.tick();
    assert.equal(node.role, "candidate");
    assert.equal(node.term, 1);
  });

  test("§5.2 a follower that keeps hearing from the leader never campaigns", () => {
    const node = newNode(1, ids(3));
    for (let i = 0; i < 10 * ELECTION_TICKS; i++) {
      node.tick();
      if (i % 5 === 0) node.step(appendEntries(2, 1, 1, 0, 0));
      drainReadies(node);
    }
    assert.equal(node.role, "follower");
    assert.equal(node.term, 1);
    assert.equal(node.leader, 2);
  });

  test("§5.2 granting a vote resets the election timer", () => {
    const node = newNode(1, ids(3), { initialState: initialState({ term: 1 }) });
    const timeout = node.randomizedElectionTimeout;
    for (let i = 1; i < timeout; i++) node.tick();
    const [reply] = stepAndCollect(node, requestVote(2, 1, 1)); // same term: only the grant resets the timer
    assert.ok(reply?.type === "RequestVoteReply" && reply.voteGranted);
    node.tick();
    assert.equal(node.role, "follower", "a vote just granted must hold back our own candidacy");
  });

  for (const size of [1, 3, 5]) {
    test(`§5.2 a candidate votes for itself and sends RequestVote to all ${size - 1} others`, () => {
      const node = newNode(1, ids(size), {
        initialState: initialState({ term: 2, terms: [1, 2] }),
      });
      node.campaign();
      assert.equal(node.role, "candidate");
      assert.equal(node.term, 3);
      assert.equal(node.vote, 1);
      const rd = takeReady(node);
      assert.deepEqual(rd.hardState, { term: 3, vote: 1, commit: 0 });
      const votes = ofType(rd.messages, "RequestVote");
      assert.deepEqual(
        votes.map((m) => m.to),
        ids(size).filter((id) => id !== 1),
      );
      for (const m of votes) {
        assert.equal(m.term, 3);
        assert.equal(m.lastLogIndex, 2);
        assert.equal(m.lastLogTerm, 2);
      }
      assert.deepEqual(rd.messagesAfterPersist, []);
    });
  }

  const elections: Array<{ size: number; votes: Record<number, boolean>; expected: Role }> = [
    { size: 1, votes: {}, expected: "leader" },
    { size: 3, votes: { 2: true, 3: true }, expected: "leader" },
    { size: 3, votes: { 2: true }, expected: "leader" },
    { size: 5, votes: { 2: true, 3: true, 4: true, 5: true }, expected: "leader" },
    { size: 5, votes: { 2: true, 3: true }, expected: "leader" },
    { size: 5, votes: { 2: true, 3: false, 4: false }, expected: "candidate" },
    { size: 3, votes: {}, expected: "candidate" },
    { size: 5, votes: { 2: true }, expected: "candidate" },
    { size: 3, votes: { 2: false, 3: false }, expected: "follower" },
    { size: 5, votes: { 2: false, 3: false, 4: false }, expected: "follower" },
    { size: 5, votes: { 2: true, 3: false, 4: false, 5: false }, expected: "follower" },
  ];
  for (const { size, votes, expected } of elections) {
    test(`§5.2 a candidate of ${size} with votes ${JSON.stringify(votes)} ends up ${expected}`, () => {
      const node = newNode(1, ids(size));
      node.campaign();
      takeReady(node); // our own vote is now durable
      for (const [from, granted] of Object.entries(votes)) node.step(voteReply(Number(from), 1, 1, granted));
      assert.equal(node.role, expected);
      assert.equal(node.term, 1, "winning or losing never changes the term");
    });
  }

  test("§5.2 a duplicated vote grant counts once", () => {
    const node = newNode(1, ids(5));
    node.campaign();
    takeReady(node);
    for (let i = 0; i < 3; i++) node.step(voteReply(2, 1, 1, true));
    assert.equal(node.role, "candidate", "self + node 2 is 2 of 5, however often node 2 answers");
  });

  test("§5.2 a voter grants at most one vote per term, first come first served", () => {
    const node = newNode(1, ids(3));
    const first = stepAndCollect(node, requestVote(2, 1, 1));
    assert.deepEqual(first, [voteReply(1, 2, 1, true)]);
    assert.equal(node.vote, 2);
    const second = stepAndCollect(node, requestVote(3, 1, 1));
    assert.deepEqual(second, [voteReply(1, 3, 1, false)], "the vote of term 1 is taken");
    const retry = stepAndCollect(node, requestVote(2, 1, 1));
    assert.deepEqual(
      retry,
      [voteReply(1, 2, 1, true)],
      "a retried request from the same candidate is granted again",
    );
    const nextTerm = stepAndCollect(node, requestVote(3, 1, 2));
    assert.deepEqual(nextTerm, [voteReply(1, 3, 2, true)], "a new term brings a new vote");
  });

  test("§5.2 a candidate or leader refuses to vote for another node in its term", () => {
    for (const role of ["candidate", "leader"] as const) {
      const node = nodeInRole(role);
      assert.deepEqual(stepAndCollect(node, requestVote(3, 1, 1)), [voteReply(1, 3, 1, false)], role);
      assert.equal(node.role, role);
    }
  });

  test("§5.2 a candidate receiving AppendEntries from a leader of its term steps down", () => {
    const node = nodeInRole("candidate");
    const replies = stepAndCollect(node, appendEntries(2, 1, 1, 0, 0));
    assert.equal(node.role, "follower");
    assert.equal(node.leader, 2);
    assert.equal(node.term, 1);
    assert.equal(node.vote, 1, "stepping down keeps the vote of the term");
    assert.ok(replies.some((m) => m.type === "AppendEntriesReply" && m.success));
  });

  test("§5.2 a candidate receiving InstallSnapshot from a leader of its term steps down", () => {
    const node = nodeInRole("candidate");
    node.step(installSnapshot(2, 1, 1, 3, 1));
    assert.equal(node.role, "follower");
    assert.equal(node.leader, 2);
  });

  test("§5.2 a candidate whose election times out starts a new election in the next term", () => {
    const node = nodeInRole("candidate");
    const timeout = node.randomizedElectionTimeout;
    for (let i = 1; i < timeout; i++) node.tick();
    assert.equal(node.term, 1);
    node.tick();
    assert.equal(node.role, "candidate");
    assert.equal(node.term, 2);
    const rd = takeReady(node);
    assert.equal(ofType(rd.messages, "RequestVote").filter((m) => m.term === 2).length, 2);
  });

  test("§5.2 election timeouts are drawn from [electionTicks, 2 * electionTicks), reproducibly per seed", () => {
    const seen = new Set<number>();
    const ticksToCampaign = (seed: number): number[] => {
      const node = newNode(1, ids(3), { seed });
      const timeouts: number[] = [];
      let ticks = 0;
      while (timeouts.length < 5) {
        ticks++;
        const termBefore = node.term;
        node.tick();
        if (node.term !== termBefore) {
          timeouts.push(ticks);
          ticks = 0;
          drainReadies(node);
        }
        assert.ok(ticks <= 2 * ELECTION_TICKS, `seed ${seed}: no election after ${ticks} ticks`);
      }
      return timeouts;
    };
    for (let seed = 0; seed < 100; seed++) {
      const timeouts = ticksToCampaign(seed);
      for (const t of timeouts) {
        assert.ok(t >= ELECTION_TICKS && t < 2 * ELECTION_TICKS, `seed ${seed}: timeout ${t} out of range`);
        seen.add(t);
      }
      assert.deepEqual(ticksToCampaign(seed), timeouts, `seed ${seed} must replay exactly`);
    }
    assert.ok(seen.size >= ELECTION_TICKS - 2, `timeouts hardly vary: ${[...seen].sort((a, b) => a - b)}`);
  });

  test("§5.2 a new leader sends AppendEntries to every follower at once", () => {
    for (const noopOnElection of [true, false]) {
      const node = newNode(1, ids(5), {
        noopOnElection,
        initialState: initialState({ term: 1, terms: [1] }),
      });
      node.campaign();
      takeReady(node);
      node.step(voteReply(2, 1, 2, true));
      node.step(voteReply(3, 1, 2, true));
      assert.equal(node.role, "leader");
      const appends = ofType(takeReady(node).messages, "AppendEntries");
      assert.deepEqual(
        appends.map((m) => m.to),
        [2, 3, 4, 5],
      );
      for (const m of appends) {
        assert.equal(m.term, 2);
        assert.equal(m.prevLogIndex, 1);
        assert.equal(m.prevLogTerm, 1);
        if (noopOnElection) {
          assert.equal(m.entries.length, 1);
          assert.equal(m.entries[0]?.term, 2);
          assert.equal(m.entries[0]?.data.length, 0, "§8: the leader's first entry is an empty no-op");
        } else {
          assert.deepEqual(m.entries, []);
        }
      }
    }
  });

  test("§5.2 a leader sends heartbeats to every follower each heartbeatTicks", () => {
    const node = newNode(1, ids(3), { heartbeatTicks: 3 });
    node.campaign();
    takeReady(node);
    node.step(voteReply(2, 1, 1, true));
    drainReadies(node);
    for (let round = 0; round < 3; round++) {
      node.tick();
      node.tick();
      assert.equal(node.hasReady(), false, "no heartbeat before heartbeatTicks");
      node.tick();
      const heartbeats = ofType(takeReady(node).messages, "AppendEntries");
      assert.deepEqual(
        heartbeats.map((m) => m.to),
        [2, 3],
      );
    }
    assert.equal(node.role, "leader", "a leader never times out by itself");
  });

  test("§5.2 a cluster elects exactly one leader and everyone learns it", () => {
    const cluster = new Cluster(5, { seed: 7 });
    for (let i = 0; i < 4 * ELECTION_TICKS && cluster.leaders().length === 0; i++) cluster.tick();
    const leaders = cluster.leaders();
    assert.equal(leaders.length, 1);
    const leader = leaders[0] as RaftNode;
    cluster.tick();
    for (const node of cluster.nodes.values()) {
      assert.equal(node.term, leader.term);
      assert.equal(node.leader, leader.id);
    }
  });

  test("Figure 2: a node restarted from its storage keeps its term and vote and does not vote twice", () => {
    const cluster = new Cluster(3);
    const voter = cluster.node(1);
    voter.step(requestVote(2, 1, 4));
    cluster.flushNode(asNodeId(1));
    assert.equal(voter.vote, 2);
    const restarted = cluster.restart(1);
    assert.equal(restarted.term, 4);
    assert.equal(restarted.vote, 2);
    assert.deepEqual(stepAndCollect(restarted, requestVote(3, 1, 4)), [voteReply(1, 3, 4, false)]);
  });
});

// ---- §5.3 ------------------------------------------------------------------------------------------------

describe("§5.3 log replication", () => {
  test("§5.3 the leader appends a proposal to its log and sends it to every follower", () => {
    const cluster = new Cluster(3);
    const node = cluster.elect(1); // log: the no-op at index 1; both followers replicating
    const result = node.propose(new Uint8Array([7]));
    assert.deepEqual(result, { accepted: true, index: 2, term: 1 });
    assert.equal(node.log.lastIndex(), 2);
    const rd = takeReady(node);
    assert.deepEqual(
      rd.entries.map((e) => [e.index, e.term, [...e.data]]),
      [[2, 1, [7]]],
    );
    const appends = ofType(rd.messages, "AppendEntries");
    assert.deepEqual(
      appends.map((m) => [m.to, m.prevLogIndex, m.prevLogTerm, m.entries.map((e) => [...e.data])]),
      [
        [2, 1, 1, [[7]]],
        [3, 1, 1, [[7]]],
      ],
    );
  });

  test("§5.3 a proposal leaves at once after the followers acknowledged the new leader's probe at match 0", () => {
    // Regression: a probe acknowledged at the match index the leader already knew (0, on empty logs without
    // the election no-op) used to leave the follower paused until the next heartbeat.
    const cluster = new Cluster(3, { noopOnElection: false });
    const leader = cluster.elect(1);
    assert.ok(leader.propose(new Uint8Array([1])).accepted);
    const appends = ofType(takeReady(leader, cluster.store(1)).messages, "AppendEntries");
    assert.deepEqual(
      appends.map((m) => [m.to, m.entries.length]),
      [
        [2, 1],
        [3, 1],
      ],
    );
  });

  test("§5.3 only the leader accepts proposals; others name the leader they know", () => {
    const follower = nodeInRole("follower");
    assert.deepEqual(follower.propose(new Uint8Array([1])), {
      accepted: false,
      reason: "not-leader",
      leader: 2,
    });
    const candidate = nodeInRole("candidate");
    assert.deepEqual(candidate.propose(new Uint8Array([1])), {
      accepted: false,
      reason: "not-leader",
      leader: null,
    });
    assert.equal(follower.log.lastIndex(), 0);
    assert.equal(candidate.log.lastIndex(), 0);
  });

  for (const size of [1, 3, 4, 5]) {
    for (let reachable = 0; reachable < size; reachable++) {
      const commits = reachable + 1 > size / 2;
      test(`§5.3 a leader of ${size} with ${reachable} reachable followers ${commits ? "commits" : "does not commit"}`, () => {
        const cluster = new Cluster(size);
        const leader = cluster.elect(1);
        for (const id of cluster.ids) if (id > reachable + 1) cluster.isolated.add(id);
        const index = cluster.propose(1, 9);
        assert.equal(leader.log.committed >= index, commits);
        for (let i = 0; i < 5; i++) cluster.tick([1]);
        assert.equal(leader.log.committed >= index, commits, "retries do not change the count");
      });
    }
  }

  test("§5.3 a follower learns the commit index from leaderCommit and hands the entries out to apply", () => {
    const node = newNode(1, ids(3), { initialState: initialState({ term: 1, terms: [1, 1, 1] }) });
    const heartbeat = appendEntries(2, 1, 1, 3, 1, [], 2);
    node.step(heartbeat);
    assert.equal(node.log.committed, 2);
    const rd = takeReady(node);
    assert.deepEqual(rd.hardState?.commit, 2);
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [1, 2],
    );
    node.step(appendEntries(2, 1, 1, 3, 1, [], 1));
    assert.equal(node.log.committed, 2, "an older leaderCommit never lowers the commit index");
  });

  test("§5.3 in a cluster, every follower commits and applies what the leader committed", () => {
    const cluster = new Cluster(3);
    const leader = cluster.elect(1);
    const index = cluster.propose(1, 5);
    assert.equal(leader.log.committed, index);
    for (let i = 0; i < 2; i++) cluster.tick([1]);
    for (const id of [1, 2, 3]) {
      assert.equal(cluster.node(id).log.committed, index);
      assert.deepEqual(
        cluster.appliedBy(id).map((e) => e.index),
        [1, 2],
      );
      assert.deepEqual([...(cluster.appliedBy(id)[1]?.data ?? [])], [5]);
    }
  });

  test("§5.3 a follower never commits beyond what the AppendEntries proved it shares", () => {
    const node = newNode(1, ids(3), { initialState: initialState({ term: 1, terms: [1, 1, 1, 1] }) });
    // Matches through 2 only, though the leader has committed 10: the follower's entries 3 and 4 are unproven.
    stepAndCollect(node, appendEntries(2, 1, 1, 1, 1, entries([1], 2), 10));
    assert.equal(node.log.committed, 2);
  });

  const consistency: Array<{ prev: number; prevTerm: number; ok: boolean }> = [
    { prev: 0, prevTerm: 0, ok: true },
    { prev: 1, prevTerm: 1, ok: true },
    { prev: 2, prevTerm: 2, ok: true },
    { prev: 2, prevTerm: 3, ok: false },
    { prev: 1, prevTerm: 2, ok: false },
    { prev: 3, prevTerm: 2, ok: false },
    { prev: 9, prevTerm: 2, ok: false },
  ];
  for (const { prev, prevTerm, ok } of consistency) {
    test(`§5.3 the consistency check ${ok ? "accepts" : "rejects"} prevLogIndex ${prev} / prevLogTerm ${prevTerm} against log [1, 2]`, () => {
      const node = newNode(1, ids(3), { initialState: initialState({ term: 2, terms: [1, 2] }) });
      const [reply] = stepAndCollect(node, appendEntries(2, 1, 2, prev, prevTerm, entries([2], prev + 1)));
      assert.ok(reply?.type === "AppendEntriesReply");
      assert.equal(reply.success, ok);
      assert.equal(reply.prevLogIndex, prev, "the reply names the request it answers");
      if (ok) {
        assert.equal(reply.matchIndex, prev + 1);
        assert.equal(node.log.term(asIndex(prev + 1)), 2);
      } else {
        assert.deepEqual(logTerms(node), [1, 2], "a rejected request leaves the log alone");
      }
    });
  }

  const conflicts: Array<{ prev: number; prevTerm: number; sent: number[]; want: number[] }> = [
    { prev: 2, prevTerm: 2, sent: [3], want: [1, 2, 3] },
    { prev: 1, prevTerm: 1, sent: [3, 4], want: [1, 3, 4] },
    { prev: 0, prevTerm: 0, sent: [1], want: [1, 2] },
    { prev: 0, prevTerm: 0, sent: [3], want: [3] },
    { prev: 1, prevTerm: 1, sent: [2], want: [1, 2] },
  ];
  for (const { prev, prevTerm, sent, want } of conflicts) {
    test(`§5.3 AppendEntries(prev ${prev}/${prevTerm}, terms ${sent}) on log [1, 2] leaves [${want}]`, () => {
      const node = newNode(1, ids(3), { initialState: initialState({ term: 2, terms: [1, 2] }) });
      const store = new MemoryLogStore(initialState({ term: 2, terms: [1, 2] }));
      const [reply] = stepAndCollect(
        node,
        appendEntries(2, 1, 4, prev, prevTerm, entries(sent, prev + 1)),
        store,
      );
      assert.ok(reply?.type === "AppendEntriesReply" && reply.success);
      assert.deepEqual(logTerms(node), want);
      assert.deepEqual(
        store.entries.map((e) => e.term),
        want,
        "storage ends up with the same log",
      );
    });
  }

  test("§5.3 stale, duplicated and reordered AppendEntries never remove matching entries", () => {
    const node = newNode(1, ids(3));
    const store = new MemoryLogStore();
    const three = appendEntries(2, 1, 1, 0, 0, entries([1, 1, 1]));
    const one = appendEntries(2, 1, 1, 0, 0, entries([1]));
    const fourth = appendEntries(2, 1, 1, 3, 1, entries([1], 4));
    const replies = (m: AppendEntries) => ofType(stepAndCollect(node, m, store), "AppendEntriesReply");

    assert.equal(replies(fourth)[0]?.success, false, "arrives before what it follows: rejected");
    assert.equal(replies(three)[0]?.matchIndex, 3);
    assert.equal(replies(fourth)[0]?.matchIndex, 4);
    const staleOne = replies(one)[0];
    assert.equal(staleOne?.success, true);
    assert.equal(staleOne?.matchIndex, 1, "the ack covers what that request proved, no more");
    assert.equal(replies(three)[0]?.matchIndex, 3);
    assert.deepEqual(logTerms(node), [1, 1, 1, 1], "nothing was truncated");
    assert.equal(store.lastIndex(), 4);
  });

  test("§5.3 fast backup: a rejection carries conflictTerm, conflictIndex and lastLogIndex", () => {
    const node = newNode(1, ids(3), { initialState: initialState({ term: 3, terms: [1, 1, 2, 2, 2] }) });
    const reject = (prev: number, prevTerm: number) => {
      const [reply] = ofType(
        stepAndCollect(node, appendEntries(2, 1, 3, prev, prevTerm)),
        "AppendEntriesReply",
      );
      assert.ok(reply !== undefined && !reply.success);
      return [reply.conflictTerm, reply.conflictIndex, reply.lastLogIndex];
    };
    assert.deepEqual(reject(4, 3), [2, 3, 5], "term 2 starts at index 3");
    assert.deepEqual(reject(5, 3), [2, 3, 5]);
    assert.deepEqual(reject(2, 3), [1, 1, 5]);
    assert.deepEqual(reject(8, 3), [0, 6, 5], "a short log reports conflictTerm 0 and its end");
  });

  const backups: Array<{ name: string; reply: Partial<AppendEntriesReply>; prev: number }> = [
    { name: "a short follower log: resume after its end", reply: { lastLogIndex: asIndex(5) }, prev: 5 },
    {
      name: "a conflicting term the leader has: resume after the leader's last entry of it",
      reply: { conflictTerm: asTerm(5), conflictIndex: asIndex(6), lastLogIndex: asIndex(10) },
      prev: 7,
    },
    {
      name: "a conflicting term the leader lacks: skip the follower's whole term",
      reply: { conflictTerm: asTerm(3), conflictIndex: asIndex(7), lastLogIndex: asIndex(11) },
      prev: 6,
    },
    {
      name: "a conflicting term the leader lacks, further back",
      reply: { conflictTerm: asTerm(2), conflictIndex: asIndex(4), lastLogIndex: asIndex(11) },
      prev: 3,
    },
  ];
  for (const { name, reply, prev } of backups) {
    test(`§5.3 fast backup, ${name}`, () => {
      const leader = leaderWithLog([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 7);
      const messages = stepAndCollect(leader, appendReply(2, 1, 8, { prevLogIndex: asIndex(10), ...reply }));
      const [probe] = ofType(messages, "AppendEntries");
      assert.equal(probe?.to, 2);
      assert.equal(probe?.prevLogIndex, prev);
      assert.equal(probe?.prevLogTerm, leader.log.term(asIndex(prev)));
    });
  }

  test("§5.3 fast backup ignores a rejection of a request the leader no longer waits for", () => {
    const leader = leaderWithLog([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 7);
    const stale = stepAndCollect(
      leader,
      appendReply(2, 1, 8, { prevLogIndex: asIndex(4), lastLogIndex: asIndex(2) }),
    );
    assert.deepEqual(stale, []);
    assert.equal(leader.progress.get(asNodeId(2))?.next, 11);
  });

  // Figure 7: the leader of term 8 and six followers (a)-(f) it must bring in line.
  const figure7Leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const figure7: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, follower] of Object.entries(figure7)) {
    test(`§5.3 Figure 7 (${name}): the new leader of term 8 brings the follower's log in line`, () => {
      const cluster = new Cluster(3, {
        initialStates: [
          initialState({ term: 7, terms: figure7Leader }),
          initialState({ term: 7, terms: follower }),
          initialState({ term: 7, terms: figure7Leader }),
        ],
      });
      const leader = cluster.node(1);
      leader.campaign();
      const rejections = cluster
        .deliver()
        .filter((m) => m.type === "AppendEntriesReply" && m.from === 2 && !m.success);
      assert.equal(leader.role, "leader");
      // One rejection per conflicting term at most (plus one for a short log), never one per entry.
      assert.ok(rejections.length <= 3, `${rejections.length} rejections`);
      cluster.tick([1]);
      const want = [...figure7Leader, 8];
      assert.deepEqual(logTerms(cluster.node(2)), want);
      assert.deepEqual(
        cluster.store(2).entries.map((e) => e.term),
        want,
      );
      assert.equal(leader.log.committed, 11);
      assert.equal(cluster.node(2).log.committed, 11);
    });
  }

  test("§5.3 Figure 7 (f): fast backup needs at most one rejection per conflicting term", () => {
    const cluster = new Cluster(3, {
      initialStates: [
        initialState({ term: 7, terms: figure7Leader }),
        initialState({ term: 7, terms: figure7.f ?? [] }),
        initialState({ term: 7, terms: figure7Leader }),
      ],
    });
    cluster.node(1).campaign();
    const delivered = cluster.deliver();
    const rejections = delivered.filter((m) => m.type === "AppendEntriesReply" && m.from === 2 && !m.success);
    assert.ok(rejections.length <= 3, `${rejections.length} rejections for 2 conflicting terms`);
    assert.deepEqual(logTerms(cluster.node(2)), [...figure7Leader, 8]);
  });
});

// ---- §5.4 ------------------------------------------------------------------------------------------------

describe("§5.4 safety", () => {
  const upToDate: Array<{ lastLogTerm: number; lastLogIndex: number; granted: boolean }> = [
    { lastLogTerm: 1, lastLogIndex: 1, granted: false },
    { lastLogTerm: 1, lastLogIndex: 3, granted: false },
    { lastLogTerm: 2, lastLogIndex: 1, granted: false },
    { lastLogTerm: 2, lastLogIndex: 2, granted: true },
    { lastLogTerm: 2, lastLogIndex: 3, granted: true },
    { lastLogTerm: 3, lastLogIndex: 1, granted: true },
    { lastLogTerm: 0, lastLogIndex: 0, granted: false },
  ];
  for (const { lastLogTerm, lastLogIndex, granted } of upToDate) {
    test(`§5.4.1 a voter with log [1, 2] ${granted ? "grants" : "refuses"} a candidate ending at term ${lastLogTerm} index ${lastLogIndex}`, () => {
      const node = newNode(1, ids(3), { initialState: initialState({ term: 2, terms: [1, 2] }) });
      const replies = stepAndCollect(node, requestVote(2, 1, 3, lastLogIndex, lastLogTerm));
      assert.deepEqual(replies, [voteReply(1, 2, 3, granted)]);
      assert.equal(node.term, 3, "the term is adopted either way");
      assert.equal(node.vote, granted ? 2 : null);
    });
  }

  test("§5.4.1 a candidate missing a committed entry cannot win", () => {
    const cluster = new Cluster(3, { seed: 3 });
    cluster.elect(1);
    cluster.isolated.add(asNodeId(3));
    const index = cluster.propose(1, 1);
    assert.equal(cluster.node(1).log.committed, index);
    cluster.isolated.clear();
    const lagging = cluster.node(3);
    lagging.campaign();
    const replies = ofType(cluster.deliver(), "RequestVoteReply").filter((m) => m.to === 3);
    assert.deepEqual(
      replies.map((m) => [m.from, m.voteGranted]),
      [
        [1, false],
        [2, false],
      ],
    );
    assert.equal(lagging.role, "follower");
    assert.equal(cluster.leaders().length, 0, "the old leader stepped down for the higher term");
  });

  test("§5.4.2 (Figure 8) a leader never commits an earlier term's entry by counting replicas", () => {
    // Node 1 holds an entry of term 2 at index 2 that nobody else has; it wins term 3 and replicates it.
    const cluster = new Cluster(3, {
      noopOnElection: false,
      initialStates: [
        initialState({ term: 2, terms: [1, 2] }),
        initialState({ term: 2, terms: [1] }),
        initialState({ term: 2, terms: [1] }),
      ],
    });
    const leader = cluster.elect(1);
    assert.equal(leader.term, 3);
    for (let i = 0; i < 3; i++) cluster.tick([1]);
    for (const id of [2, 3]) {
      assert.equal(leader.progress.get(asNodeId(id))?.match, 2, `node ${id} holds index 2`);
      assert.deepEqual(logTerms(cluster.node(id)), [1, 2]);
    }
    assert.equal(leader.log.committed, 0, "index 2 is on every node, but it is of term 2, not 3");
    for (const id of cluster.ids) assert.deepEqual(cluster.appliedBy(id), []);

    const index = cluster.propose(1, 3);
    assert.equal(index, 3);
    assert.equal(leader.log.committed, 3, "committing a term-3 entry commits everything before it");
    cluster.tick([1]);
    for (const id of cluster.ids) {
      assert.deepEqual(
        cluster.appliedBy(id).map((e) => [e.index, e.term]),
        [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
      );
    }
  });

  test("§5.4.2 (Figure 8) an earlier-term entry on a majority can still be overwritten, so it must not commit", () => {
    // Figure 8 just before (c): S1 and S2 hold (2, term 2) from S1's term-2 leadership; S5 holds (2, term 3)
    // from its term-3 leadership; S3 and S4 hold only index 1.
    const cluster = new Cluster(5, {
      noopOnElection: false,
      initialStates: [
        initialState({ term: 3, commit: 1, terms: [1, 2] }),
        initialState({ term: 3, commit: 1, terms: [1, 2] }),
        initialState({ term: 3, commit: 1, terms: [1] }),
        initialState({ term: 3, commit: 1, terms: [1] }),
        initialState({ term: 4, commit: 1, terms: [1, 3] }),
      ],
    });
    const only = (...reachable: number[]) => {
      cluster.isolated.clear();
      for (const id of cluster.ids) if (!reachable.includes(id)) cluster.isolated.add(id);
    };
    // (c) S1 leads term 4 and copies (2, term 2) to S3: a majority holds it.
    only(1, 2, 3);
    const s1 = cluster.elect(1);
    assert.equal(s1.term, 4);
    for (let i = 0; i < 3; i++) cluster.tick([1]);
    for (const id of [1, 2, 3]) assert.equal(cluster.node(id).log.term(asIndex(2)), 2);
    assert.equal(s1.log.committed, 1, "three of five hold (2, term 2), yet S1 must not count it committed");

    // (d) S1 is cut off; S5 wins term 5 (its last term 3 beats term 2) and overwrites index 2 everywhere.
    only(2, 3, 4, 5);
    const s5 = cluster.elect(5);
    assert.equal(s5.term, 5);
    for (let i = 0; i < 3; i++) cluster.tick([5]);
    for (const id of [2, 3, 4, 5]) assert.equal(cluster.node(id).log.term(asIndex(2)), 3);
    for (const id of cluster.ids) {
      for (const entry of cluster.appliedBy(id)) {
        assert.ok(
          entry.index !== 2 || entry.term === 3,
          `node ${id} applied (2, term 2), which was overwritten`,
        );
      }
    }
  });
});

// ---- the Ready contract ----------------------------------------------------------------------------------

describe("Ready contract", () => {
  test("Ready: a vote grant leaves only after the vote is persisted", () => {
    const node = newNode(1, ids(3));
    node.step(requestVote(2, 1, 1));
    const rd = node.ready();
    assert.deepEqual(rd.messages, []);
    assert.deepEqual(rd.messagesAfterPersist, [voteReply(1, 2, 1, true)]);
    assert.deepEqual(rd.hardState, { term: 1, vote: 2, commit: 0 });
    node.advance(rd);
    assert.equal(node.hasReady(), false);
  });

  test("Ready: an AppendEntries ack leaves only after the entries are persisted", () => {
    const node = newNode(1, ids(3));
    node.step(appendEntries(2, 1, 1, 0, 0, entries([1, 1])));
    const rd = node.ready();
    assert.deepEqual(rd.messages, []);
    assert.deepEqual(
      rd.entries.map((e) => e.index),
      [1, 2],
    );
    const [ack] = ofType(rd.messagesAfterPersist, "AppendEntriesReply");
    assert.ok(ack?.success);
    assert.equal(ack.matchIndex, 2);
    node.advance(rd);
    assert.equal(node.log.stableIndex, 2);
  });

  test("Ready: requests (RequestVote, AppendEntries) may leave before the state they carry is persisted", () => {
    const node = newNode(1, ids(3));
    node.campaign();
    const rd = node.ready();
    assert.equal(rd.hardState?.term, 1, "the new term is persisted by this very Ready");
    assert.equal(ofType(rd.messages, "RequestVote").length, 2);
    assert.deepEqual(rd.messagesAfterPersist, []);
    node.advance(rd);

    const cluster = new Cluster(3);
    const leader = cluster.elect(1);
    leader.propose(new Uint8Array([1]));
    const append = leader.ready();
    assert.deepEqual(
      append.entries.map((e) => e.index),
      [2],
      "the leader persists the entry in this Ready...",
    );
    assert.equal(
      ofType(append.messages, "AppendEntries").filter((m) => m.entries.length === 1).length,
      2,
      "...and may send it to the followers at the same time (§10.2.1)",
    );
    assert.deepEqual(append.messagesAfterPersist, []);
  });

  test("Ready: a candidate counts its own vote only after advance()", () => {
    const single = newNode(1, ids(1));
    single.campaign();
    assert.equal(single.role, "candidate", "its vote for itself is not durable yet");
    const rd = single.ready();
    assert.equal(single.role, "candidate");
    single.advance(rd);
    assert.equal(single.role, "leader");

    const node = newNode(1, ids(5));
    node.campaign();
    const first = node.ready();
    node.step(voteReply(2, 1, 1, true));
    node.step(voteReply(3, 1, 1, false));
    assert.equal(node.role, "candidate", "one durable grant of five is not enough yet");
    node.advance(first);
    assert.equal(node.role, "candidate", "two of five");
    node.step(voteReply(4, 1, 1, true));
    assert.equal(node.role, "leader");
  });

  test("Ready: a leader counts its own match only after advance()", () => {
    const cluster = new Cluster(3);
    const leader = cluster.elect(1);
    cluster.tick([1]);
    const committedBefore = leader.log.committed;
    const result = leader.propose(new Uint8Array([1]));
    assert.ok(result.accepted);
    const rd = leader.ready(); // entries not yet durable on the leader
    const toTwo = ofType(rd.messages, "AppendEntries").find((m) => m.to === 2);
    assert.ok(toTwo !== undefined);
    const follower = cluster.node(2);
    follower.step(toTwo);
    const ack = ofType(takeReady(follower).messagesAfterPersist, "AppendEntriesReply")[0];
    assert.ok(ack?.success);
    leader.step(ack);
    assert.equal(
      leader.log.committed,
      committedBefore,
      "leader + one follower, but the leader's copy is not durable",
    );
    leader.advance(rd);
    assert.equal(leader.log.committed, result.index);
  });

  test("Ready: hardState appears only when term, vote or commit changed", () => {
    const node = newNode(1, ids(3));
    node.campaign();
    const first = takeReady(node);
    assert.deepEqual(first.hardState, { term: 1, vote: 1, commit: 0 });
    assert.deepEqual(first.softState, { role: "candidate", leader: null, term: 1 });
    node.tick();
    assert.equal(node.hasReady(), false, "a tick short of the timeout has nothing to say");
    node.step(voteReply(2, 1, 1, false));
    assert.equal(node.hasReady(), false, "a refusal that decides nothing has nothing to say");
    node.step(voteReply(3, 1, 1, false));
    assert.equal(node.role, "follower");
    const lost = takeReady(node);
    assert.deepEqual(lost.softState, { role: "follower", leader: null, term: 1 });
    assert.equal(lost.hardState, undefined, "losing keeps term and vote");
  });

  test("Ready: committed entries are handed out in index order, exactly once, across many readies", () => {
    const cluster = new Cluster(3, { seed: 11 });
    const random = new Random(12345);
    cluster.drop = () => random.chance(1, 5);
    let proposed = 0;
    for (let round = 0; round < 300; round++) {
      const leader = cluster.leaders()[0];
      if (leader !== undefined && round % 2 === 0) {
        leader.propose(new Uint8Array([proposed++ & 0xff]));
      }
      cluster.tick();
    }
    cluster.drop = () => false;
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) cluster.tick();
    assert.ok(proposed > 50);
    const reference = cluster.appliedBy(1);
    const commit = cluster.node(1).log.committed;
    assert.ok(commit > 50, `only ${commit} committed`);
    for (const id of cluster.ids) {
      const applied = cluster.appliedBy(id);
      assert.deepEqual(
        applied.map((e) => e.index),
        Array.from({ length: applied.length }, (_, i) => i + 1),
        `node ${id} applied out of order or twice`,
      );
      assert.equal(applied.length, commit, `node ${id} applied everything committed`);
      assert.deepEqual(applied, reference, `node ${id} applied different entries`);
    }
  });
});

// ---- §7 --------------------------------------------------------------------------------------------------

describe("§7 log compaction", () => {
  function clusterWithApplied(count: number): Cluster {
    const cluster = new Cluster(3);
    cluster.elect(1);
    for (let i = 0; i < count; i++) cluster.propose(1, i);
    cluster.tick([1]);
    return cluster;
  }

  test("§7 compact() drops the log through an applied index and persists a snapshot", () => {
    const cluster = clusterWithApplied(5); // no-op + 5 entries
    const node = cluster.node(2);
    assert.equal(node.log.applied, 6);
    const termAt3 = node.log.term(asIndex(3));
    assert.deepEqual(node.compact(asIndex(3), new Uint8Array([3])), { compacted: true });
    assert.equal(node.log.offset, 3);
    assert.equal(node.log.firstIndex(), 4);
    assert.equal(node.log.lastIndex(), 6);
    assert.equal(node.log.term(asIndex(3)), termAt3, "the boundary keeps its term");
    assert.equal(node.log.term(asIndex(2)), undefined);
    const rd = takeReady(node, cluster.store(2));
    assert.deepEqual(rd.snapshot?.meta, { index: 3, term: termAt3 });
    assert.equal(rd.snapshotToApply, undefined, "a local snapshot is not re-applied");
    assert.deepEqual(rd.entries, []);
    assert.equal(cluster.store(2).offset, 3);
    assert.deepEqual(
      cluster.store(2).entries.map((e) => e.index),
      [4, 5, 6],
    );
  });

  test("§7 compact() refuses an index not yet applied or already compacted", () => {
    const cluster = clusterWithApplied(3);
    const node = cluster.node(1);
    const applied = node.log.applied;
    node.propose(new Uint8Array([9])); // not even committed
    assert.deepEqual(node.compact(asIndex(applied + 1), new Uint8Array()), {
      compacted: false,
      reason: "not-applied",
    });
    assert.deepEqual(node.compact(asIndex(2), new Uint8Array()), { compacted: true });
    assert.deepEqual(node.compact(asIndex(2), new Uint8Array()), {
      compacted: false,
      reason: "already-compacted",
    });
    assert.deepEqual(node.compact(asIndex(1), new Uint8Array()), {
      compacted: false,
      reason: "already-compacted",
    });
    assert.deepEqual(node.compact(asIndex(0), new Uint8Array()), {
      compacted: false,
      reason: "already-compacted",
    });
    assert.equal(node.log.offset, 2);
  });

  test("§7 a leader sends InstallSnapshot to a follower whose next entries it compacted", () => {
    const cluster = new Cluster(3);
    const leader = cluster.elect(1);
    cluster.isolated.add(asNodeId(3));
    for (let i = 0; i < 5; i++) cluster.propose(1, i);
    cluster.tick([1]);
    const applied = leader.log.applied;
    assert.equal(applied, 6);
    assert.deepEqual(leader.compact(applied, new Uint8Array([0xaa])), { compacted: true });
    cluster.isolated.clear();

    leader.tick();
    const sent = leader.ready();
    const snapshots = ofType(sent.messages, "InstallSnapshot");
    assert.deepEqual(
      snapshots.map((m) => [m.to, m.lastIncludedIndex, m.lastIncludedTerm, [...m.data]]),
      [[3, 6, 1, [0xaa]]],
    );
    assert.equal(leader.progress.get(asNodeId(3))?.state, "snapshot");
    const follower = cluster.node(3);
    follower.step(snapshots[0] as InstallSnapshot);
    const rd = takeReady(follower, cluster.store(3));
    assert.deepEqual(rd.snapshot?.meta, { index: 6, term: 1 });
    assert.deepEqual(rd.snapshotToApply?.meta, { index: 6, term: 1 });
    assert.deepEqual([...(rd.snapshotToApply?.data ?? [])], [0xaa]);
    assert.deepEqual(rd.committedEntries, [], "entries covered by the snapshot are not applied again");
    assert.equal(follower.log.offset, 6);
    assert.equal(follower.log.committed, 6);
    assert.equal(follower.log.applied, 6);
    assert.equal(cluster.store(3).offset, 6);
    const [reply] = ofType(rd.messagesAfterPersist, "InstallSnapshotReply");
    assert.equal(reply?.matchIndex, 6);

    cluster.network.push(...sent.messages.filter((m) => m.type !== "InstallSnapshot"), reply as Message);
    leader.advance(sent);
    cluster.deliver();
    assert.equal(leader.progress.get(asNodeId(3))?.state, "replicate");
    assert.equal(leader.progress.get(asNodeId(3))?.match, 6);

    const index = cluster.propose(1, 7);
    cluster.tick([1]);
    assert.equal(follower.log.committed, index);
    assert.deepEqual(
      cluster.appliedBy(3).map((e) => e.index),
      [index],
    );
  });

  test("§7 a replicating follower whose match index was compacted gets the snapshot at the next heartbeat", () => {
    const cluster = new Cluster(3);
    const leader = cluster.elect(1); // everyone matches the no-op
    assert.equal(leader.progress.get(asNodeId(2))?.state, "replicate");
    const dropTwo = (m: Message) => m.to === 2 || m.from === 2;
    for (let i = 0; i < 5; i++) cluster.propose(1, i, dropTwo);
    assert.equal(leader.progress.get(asNodeId(2))?.match, 1);
    assert.deepEqual(leader.compact(leader.log.applied, new Uint8Array()), { compacted: true });
    cluster.flush();
    leader.tick();
    cluster.deliver();
    assert.equal(cluster.node(2).log.offset, 6);
    assert.equal(leader.progress.get(asNodeId(2))?.match, 6);
  });

  test("§7 a leader that compacted its log sends InstallSnapshot to a follower with an empty log", () => {
    // Regression: RaftLog.term(0) used to be 0 whatever the boundary, so a follower backed up to nextIndex 1
    // made the leader slice compacted entries instead of sending its snapshot.
    const cluster = new Cluster(3);
    cluster.isolated.add(asNodeId(3)); // node 3 never hears anything: its log stays empty
    const leader = cluster.elect(1);
    for (let i = 0; i < 5; i++) cluster.propose(1, i);
    cluster.tick([1]);
    assert.equal(leader.log.applied, 6);
    assert.deepEqual(leader.compact(leader.log.applied, new Uint8Array([1])), { compacted: true });
    cluster.flush();
    cluster.isolated.clear();
    // Node 3 rejects the probe at the boundary with lastLogIndex 0; nextIndex falls to 1, which is compacted.
    for (let i = 0; i < 3; i++) cluster.tick([1]);
    assert.equal(cluster.node(3).log.offset, 6, "node 3 installed the leader's snapshot");
    assert.equal(leader.progress.get(asNodeId(3))?.match, 6);
  });

  test("§7 a follower installing a snapshot keeps the entries after it only if they match", () => {
    const keep = newNode(1, ids(3), { initialState: initialState({ term: 1, terms: [1, 1, 1, 1, 1] }) });
    const [kept] = ofType(stepAndCollect(keep, installSnapshot(2, 1, 1, 3, 1)), "InstallSnapshotReply");
    assert.equal(keep.log.offset, 3);
    assert.equal(keep.log.lastIndex(), 5, "entries 4 and 5 continue the snapshot");
    assert.equal(kept?.matchIndex, 3);

    const store = new MemoryLogStore(initialState({ term: 2, terms: [1, 1, 2, 2] }));
    const drop = newNode(1, ids(3), { initialState: store.initialState() });
    stepAndCollect(drop, installSnapshot(2, 1, 3, 3, 3), store);
    assert.equal(drop.log.offset, 3);
    assert.equal(drop.log.lastIndex(), 3, "our entry at index 3 has another term: the whole log goes");
    assert.equal(drop.log.term(asIndex(3)), 3);
    assert.equal(store.offset, 3);
    assert.deepEqual(store.entries, []);
  });

  test("§7 a snapshot the follower's commit index already covers is acknowledged, not installed", () => {
    const node = newNode(1, ids(3), {
      initialState: initialState({ term: 1, terms: [1, 1, 1, 1, 1], commit: 4 }),
    });
    const messages = stepAndCollect(node, installSnapshot(2, 1, 1, 3, 1));
    assert.equal(node.log.offset, 0);
    assert.equal(node.log.lastIndex(), 5);
    assert.equal(ofType(messages, "InstallSnapshotReply")[0]?.matchIndex, 4);
  });

  describe("§7 AppendEntries whose prevLogIndex lies inside the follower's snapshot", () => {
    const snapshotAt5 = () =>
      newNode(1, ids(3), {
        initialState: initialState({
          term: 1,
          commit: 5,
          snapshot: { meta: { index: asIndex(5), term: asTerm(1) }, data: new Uint8Array() },
        }),
      });

    test("§7 entries reaching past the snapshot are appended after it", () => {
      const node = snapshotAt5();
      const [reply] = ofType(
        stepAndCollect(node, appendEntries(2, 1, 1, 2, 1, entries([1, 1, 1, 1, 1], 3), 6)),
        "AppendEntriesReply",
      );
      assert.ok(reply?.success);
      assert.equal(reply.matchIndex, 7);
      assert.equal(node.log.offset, 5);
      assert.equal(node.log.lastIndex(), 7);
      assert.equal(node.log.committed, 6);
    });

    test("§7 entries entirely inside the snapshot are acknowledged through the snapshot", () => {
      const node = snapshotAt5();
      const [reply] = ofType(
        stepAndCollect(node, appendEntries(2, 1, 1, 2, 1, entries([1, 1], 3))),
        "AppendEntriesReply",
      );
      assert.ok(reply?.success);
      assert.ok(reply.matchIndex >= 5);
      assert.equal(node.log.lastIndex(), 5);
    });

    test("§7 a heartbeat inside the snapshot is acknowledged through the snapshot", () => {
      const node = snapshotAt5();
      const [reply] = ofType(stepAndCollect(node, appendEntries(2, 1, 1, 1, 1)), "AppendEntriesReply");
      assert.ok(reply?.success);
      assert.ok(reply.matchIndex >= 5);
    });
  });
});
