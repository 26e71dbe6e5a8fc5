import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asIndex, asNodeId, asTerm, type Entry, type NodeId, RaftNode } from "../../src/core/index.ts";
import { makeVirtualClock } from "../../src/lab/clocks.ts";
import {
  decodeCommand,
  defaultSettings,
  drawPartition,
  encodeCommand,
  FAULT_KINDS,
  formatFaultKinds,
  NodeProcess,
  PAUSED_INPUTS_MAX,
  parseFaultKinds,
  planRun,
  replayCommand,
  runSwarmSeed,
  SimDisk,
  SwarmChecker,
  type SwarmSettings,
  type SwarmTraceEvent,
  type Violation,
  WrittenLog,
} from "../../src/sim/swarm/index.ts";
import { Random } from "../../src/util/random.ts";

// The swarm's parts one by one (disk, process, fingerprints, checker, partitions, plan), then whole runs:
// determinism byte for byte, and the trace's event kinds.

const yieldToHost = (callback: () => void): void => {
  setImmediate(callback);
};

const n = asNodeId;
const entry = (index: number, term: number, text = `${index}/${term}`): Entry => ({
  index: asIndex(index),
  term: asTerm(term),
  data: new TextEncoder().encode(text),
});

describe("SimDisk", () => {
  test("a write is durable only once it syncs; a crash before that loses it", async () => {
    const clock = makeVirtualClock();
    try {
      const disk = new SimDisk(clock, new Random(1), 1000, 1000);
      let synced = false;
      const latency = disk.write({ entries: [entry(1, 1)] }, () => {
        synced = true;
      });
      assert.equal(latency, 1);
      assert.equal(disk.durable.lastIndex(), 0, "issued, not yet durable");
      assert.equal(disk.unsynced, 1);
      await clock.sleep(1);
      assert.ok(synced);
      assert.equal(disk.durable.lastIndex(), 1);

      let lostSynced = false;
      disk.write(
        { entries: [entry(2, 1)], hardState: { term: asTerm(1), vote: n(2), commit: asIndex(1) } },
        () => {
          lostSynced = true;
        },
      );
      const loss = disk.crash(false);
      assert.deepEqual(loss, { lostWrites: 1, lostEntries: 1, torn: null });
      await clock.sleep(5);
      assert.equal(lostSynced, false, "the sync of a lost write never completes");
      assert.equal(disk.durable.lastIndex(), 1);
      assert.equal(disk.durable.hardState.vote, null);
    } finally {
      clock.stop();
    }
  });

  test("a torn write puts a prefix of its entries on disk, never its hard state", () => {
    const clock = makeVirtualClock();
    try {
      for (let seed = 1; seed <= 20; seed++) {
        const disk = new SimDisk(clock, new Random(seed), 100, 5000);
        const entries = [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)];
        disk.write({ entries, hardState: { term: asTerm(1), vote: n(1), commit: asIndex(0) } }, () => {});
        const loss = disk.crash(true);
        assert.ok(loss.torn !== null);
        const kept = loss.torn.keptEntries;
        assert.equal(disk.durable.lastIndex(), kept);
        assert.deepEqual(
          disk.durable.entries.map((e) => e.index),
          entries.slice(0, kept).map((e) => e.index),
        );
        assert.equal(disk.durable.hardState.term, 0, "the hard state is lost");
        assert.equal(loss.lostEntries, 4 - kept);
      }
    } finally {
      clock.stop();
    }
  });

  test("writes sync in the order they were issued", async () => {
    const clock = makeVirtualClock();
    try {
      const disk = new SimDisk(clock, new Random(3), 100, 5000);
      const order: number[] = [];
      for (let i = 1; i <= 5; i++) disk.write({ entries: [entry(i, 1)] }, () => order.push(i));
      await clock.sleep(30);
      assert.deepEqual(order, [1, 2, 3, 4, 5]);
      assert.equal(disk.durable.lastIndex(), 5);
    } finally {
      clock.stop();
    }
  });
});

describe("NodeProcess", () => {
  test("a paused process queues its inputs and handles them in order, one per event, on resume", async () => {
    const clock = makeVirtualClock();
    try {
      const process = new NodeProcess(clock, 1000, (callback) => callback());
      const seen: string[] = [];
      process.pause();
      for (const name of ["a", "b", "c"]) process.run(() => seen.push(`${name}@${clock.now()}`), true);
      assert.equal(process.queued, 3);
      await clock.sleep(10);
      assert.equal(seen.length, 0);
      process.resume();
      process.run(() => seen.push(`d@${clock.now()}`), true);
      await clock.sleep(1);
      assert.deepEqual(seen, ["a@10", "b@10", "c@10", "d@10"], "new inputs wait behind the queued ones");
      process.kill();
      assert.equal(
        process.run(() => seen.push("late")),
        false,
      );
    } finally {
      clock.stop();
    }
  });

  test("its clock runs at the node's rate, and its timers wait out a pause", async () => {
    const clock = makeVirtualClock();
    try {
      const process = new NodeProcess(clock, 1200, (callback) => callback());
      const fired: number[] = [];
      process.clock.setTimer(() => fired.push(clock.now()), 10);
      await clock.sleep(11);
      assert.equal(fired.length, 0, "10 ms at rate 1.2 is 12 ms");
      await clock.sleep(1);
      assert.deepEqual(fired, [12]);
      process.clock.setTimer(() => fired.push(clock.now()), 10);
      process.pause();
      await clock.sleep(50);
      assert.deepEqual(fired, [12], "due at 24, but the process is stopped");
      process.resume();
      await clock.sleep(1);
      assert.deepEqual(fired, [12, 62]);
    } finally {
      clock.stop();
    }
  });

  test("a paused process drops droppable inputs beyond its bound, never timers", () => {
    const clock = makeVirtualClock();
    try {
      const process = new NodeProcess(clock, 1000, (callback) => callback());
      process.pause();
      for (let i = 0; i < PAUSED_INPUTS_MAX; i++) assert.ok(process.run(() => {}, true));
      assert.equal(
        process.run(() => {}, true),
        false,
      );
      assert.equal(
        process.run(() => {}, false),
        true,
      );
    } finally {
      clock.stop();
    }
  });
});

describe("WrittenLog", () => {
  test("equal prefixes have equal fingerprints; any difference at or before an index changes it", () => {
    const a = new WrittenLog();
    const b = new WrittenLog();
    a.reset([entry(1, 1), entry(2, 1), entry(3, 2)]);
    b.reset([entry(1, 1), entry(2, 1), entry(3, 2)]);
    assert.deepEqual(a.fingerprint(3), b.fingerprint(3));
    b.truncate(1);
    b.append(entry(2, 1, "other"));
    b.append(entry(3, 2));
    assert.deepEqual(a.fingerprint(1), b.fingerprint(1));
    assert.notDeepEqual(a.fingerprint(3), b.fingerprint(3));
    assert.equal(a.firstDifference(b, 3), 2);
  });
});

/** A checker over nodes 1..3 that records its violation. */
function makeChecker(): { checker: SwarmChecker; violations: Violation[] } {
  const violations: Violation[] = [];
  const checker = new SwarmChecker({
    nodes: [n(1), n(2), n(3)],
    now: () => 0,
    onViolation: (violation) => violations.push(violation),
  });
  return { checker, violations };
}

/** A real core holding `entries`, committed through `commit`, for the checker to look at. */
function raftWith(id: number, term: number, entries: Entry[], commit: number): RaftNode {
  return new RaftNode({
    id: n(id),
    voters: [n(1), n(2), n(3)],
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

describe("SwarmChecker", () => {
  test("election safety: a second leader in a term is a violation", () => {
    const { checker, violations } = makeChecker();
    checker.observeLeaderReport(n(1), 3);
    checker.observeLeaderReport(n(1), 3);
    assert.equal(violations.length, 0);
    checker.observeLeaderReport(n(2), 3);
    assert.equal(violations[0]?.property, "election-safety");
    assert.deepEqual(violations[0]?.nodes, [1, 2]);
    assert.deepEqual(violations[0]?.terms, [3]);
  });

  test("log matching: the same (index, term) over different prefixes is a violation", () => {
    const { checker, violations } = makeChecker();
    checker.onWrite(n(1), { entries: [entry(1, 1), entry(2, 2)] });
    checker.onWrite(n(2), { entries: [entry(1, 1), entry(2, 2)] });
    assert.equal(violations.length, 0);
    checker.onWrite(n(3), { entries: [entry(1, 2), entry(2, 2)] });
    assert.equal(violations[0]?.property, "log-matching");
    assert.deepEqual(violations[0]?.indexes, [2, 1]);
  });

  test("leader completeness: a new leader must hold what was committed in earlier terms", () => {
    const { checker, violations } = makeChecker();
    const follower = raftWith(1, 2, [entry(1, 1), entry(2, 2)], 2);
    checker.attach(n(1), follower);
    const leader = raftWith(2, 3, [entry(1, 1), entry(2, 1)], 0);
    checker.attach(n(2), leader);
    assert.equal(violations.length, 0);
    leader.role = "leader";
    checker.observe(n(2));
    assert.equal(violations[0]?.property, "leader-completeness");
    assert.deepEqual(violations[0]?.indexes, [2]);
  });

  test("state machine safety and apply order: different entries at an index, an index twice, a gap", () => {
    const first = makeChecker();
    first.checker.onApply(n(1), [entry(1, 1)]);
    first.checker.onApply(n(2), [entry(1, 2)]);
    assert.equal(first.violations[0]?.property, "state-machine-safety");

    const twice = makeChecker();
    twice.checker.onApply(n(1), [entry(1, 1), entry(2, 1)]);
    twice.checker.onApply(n(1), [entry(2, 1)]);
    assert.equal(twice.violations[0]?.property, "apply-once");

    const gap = makeChecker();
    gap.checker.onApply(n(1), [entry(1, 1), entry(3, 1)]);
    assert.equal(gap.violations[0]?.property, "apply-monotonic");
  });

  test("commit monotonicity: the persisted commit index never goes back", () => {
    const { checker, violations } = makeChecker();
    checker.onSync(n(1), 5, 1);
    checker.onSync(n(1), 5, 1);
    assert.equal(violations.length, 0);
    checker.onSync(n(1), 4, 1);
    assert.equal(violations[0]?.property, "commit-monotonic");
  });

  test("a node that drops entries below its own commit index breaks state machine safety", () => {
    const { checker, violations } = makeChecker();
    const raft = raftWith(1, 1, [entry(1, 1), entry(2, 1), entry(3, 1)], 3);
    checker.attach(n(1), raft);
    checker.onWrite(n(1), { entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    checker.onWrite(n(1), { entries: [entry(2, 1, "rewritten")] });
    assert.equal(violations[0]?.property, "state-machine-safety");
  });
});

describe("partition shapes", () => {
  const ids = [n(1), n(2), n(3), n(4), n(5)];
  const blocks = (links: readonly (readonly [NodeId, NodeId])[], from: number, to: number) =>
    links.some(([a, b]) => a === from && b === to);

  test("a bridge node talks to both sides, which cannot talk to each other", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const shape = drawPartition("bridge", ids, null, new Random(seed));
      const blocked = shape.blocked;
      const touched = new Set(blocked.flat());
      const bridges = ids.filter((id) => !touched.has(id));
      assert.equal(bridges.length, 1, shape.description);
      for (const [from, to] of blocked) assert.ok(blocks(blocked, to, from), "both ways");
    }
  });

  test("a split puts the target in the minority; isolation cuts every link of the target", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const split = drawPartition("split", ids, n(3), new Random(seed));
      const minority = new Set(split.blocked.filter(([from]) => from === 3).map(([, to]) => to));
      assert.ok(minority.size >= 3, `node 3 is cut from the majority: ${split.description}`);
    }
    const isolated = drawPartition("isolate", ids, n(2), new Random(1));
    assert.equal(isolated.blocked.length, 8);
  });

  test("one-way partitions block a link in one direction only", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const shape = drawPartition("one-way", ids, null, new Random(seed));
      assert.ok(shape.blocked.length > 0);
      assert.ok(
        shape.blocked.some(([from, to]) => !blocks(shape.blocked, to, from)),
        `some link stays open the other way: ${shape.description}`,
      );
    }
  });
});

describe("plans and settings", () => {
  test("a plan is a pure function of its settings and keeps to the allowed faults and size", () => {
    const settings: SwarmSettings = { ...defaultSettings(77), faults: ["crash", "loss"], nodes: 3 };
    assert.deepEqual(planRun(settings), planRun(settings));
    const plan = planRun(settings);
    assert.equal(plan.nodes, 3);
    assert.ok(plan.enabled.every((kind) => kind === "crash" || kind === "loss"));
    const none = planRun({ ...defaultSettings(77), faults: [] });
    assert.deepEqual(none.enabled, []);
    assert.ok(none.skewPerMille.every((rate) => rate === 1000));
  });

  test("--faults parses and prints back; the replay command spells out what differs from the defaults", () => {
    assert.deepEqual(parseFaultKinds("all"), FAULT_KINDS);
    assert.deepEqual(parseFaultKinds("torn-write, crash"), ["crash", "torn-write"]);
    assert.ok("error" in parseFaultKinds("crash,meteor"));
    assert.equal(formatFaultKinds(["crash", "pause"]), "crash,pause");
    assert.equal(replayCommand(defaultSettings(5)), "npx tsraft sim --seed 5 --time 10");
    assert.equal(
      replayCommand({
        ...defaultSettings(5),
        nodes: 7,
        faults: ["crash"],
        plantedBug: "forget-vote",
        mix: "churn",
      }),
      "npx tsraft sim --seed 5 --time 10 --nodes 7 --faults crash --planted-bug forget-vote --mix churn",
    );
    assert.equal(
      replayCommand({ ...defaultSettings(5), plantedBug: "forget-vote", mix: "amnesia" }),
      "npx tsraft sim --seed 5 --time 10 --planted-bug forget-vote",
      "a planted bug's own mix is its default",
    );
  });

  test("client commands round-trip", () => {
    assert.equal(decodeCommand(encodeCommand(0)), 0);
    assert.equal(decodeCommand(encodeCommand(123456)), 123456);
    assert.equal(decodeCommand(new Uint8Array(0)), null);
  });
});

/** Runs one seed and returns its result and its trace as NDJSON text. */
async function traced(settings: SwarmSettings): Promise<{ text: string; events: SwarmTraceEvent[] }> {
  const events: SwarmTraceEvent[] = [];
  await runSwarmSeed({ settings, yieldToHost, trace: (event) => events.push(event) });
  return { text: events.map((event) => `${JSON.stringify(event)}\n`).join(""), events };
}

describe("whole runs", () => {
  test("a seed replays byte for byte", async () => {
    for (const mix of ["default", "churn"] as const) {
      const settings: SwarmSettings = { ...defaultSettings(11), mix, timeMs: 3000 };
      const first = await traced(settings);
      const second = await traced(settings);
      assert.ok(first.text.length > 10_000);
      assert.equal(first.text, second.text, `mix ${mix}`);
    }
  });

  test("the trace has every kind of event the format documents, bracketed by run and end", async () => {
    const kinds = new Set<string>();
    let last: SwarmTraceEvent | undefined;
    for (const seed of [3, 4, 5, 6]) {
      const { events } = await traced({ ...defaultSettings(seed), mix: "durability", timeMs: 4000 });
      assert.equal(events[0]?.kind, "run");
      last = events[events.length - 1];
      assert.equal(last?.kind, "end");
      for (const event of events) kinds.add(event.kind);
    }
    for (const kind of ["input", "role", "send", "deliver", "drop", "persist", "apply", "crash", "restart"]) {
      assert.ok(kinds.has(kind), `a ${kind} event`);
    }
    const { events } = await traced({ ...defaultSettings(2), faults: ["isolate", "split"], timeMs: 3000 });
    assert.ok(events.some((event) => event.kind === "partition"));
    assert.ok(events.some((event) => event.kind === "heal-all"));
  });

  test("without faults, a cluster elects a leader, commits, and passes the liveness phase at once", async () => {
    const result = await runSwarmSeed({
      settings: { ...defaultSettings(9), faults: [], timeMs: 2000 },
      yieldToHost,
    });
    assert.ok(result.passed, result.violation?.message);
    assert.ok(result.counts.committed > 0);
    assert.equal(result.counts.crashes, 0);
    assert.ok(
      result.liveness !== null && result.liveness.convergeMs !== null && result.liveness.convergeMs < 1000,
    );
  });
});
