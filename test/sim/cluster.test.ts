import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runDemo } from "../../src/cli/demo.ts";
import { asIndex, asNodeId, asTerm, type NodeId } from "../../src/core/index.ts";
import { makeVirtualClock } from "../../src/lab/clocks.ts";
import {
  type ClusterEvent,
  type LinkFaults,
  SafetyChecker,
  SafetyViolation,
  SimCluster,
  type SimClusterOptions,
  sameBytes,
  Timeline,
} from "../../src/sim/index.ts";
import type { VirtualClock } from "../../src/sim/virtual-clock.ts";
import { Random } from "../../src/util/random.ts";

// Whole clusters of real peers on virtual time: a 10-second scenario takes a few tens of milliseconds of
// wall-clock time, and every run of a seed is the same run.

const LOSSY: LinkFaults = {
  dropProbability: 0.02,
  duplicateProbability: 0.02,
  delayMinMs: 1,
  delayMaxMs: 10,
};
const encoder = new TextEncoder();
const command = (text: string) => encoder.encode(text);

/** Runs `body` on a fresh cluster and virtual clock, and stops the clock however it ends. */
async function withCluster<T>(
  options: Omit<SimClusterOptions, "clock">,
  body: (cluster: SimCluster, clock: VirtualClock) => Promise<T>,
): Promise<T> {
  const clock = makeVirtualClock();
  try {
    const cluster = new SimCluster({ clock, ...options });
    cluster.start();
    return await body(cluster, clock);
  } finally {
    clock.stop();
  }
}

async function awaitLeader(cluster: SimCluster, other: NodeId | null = null): Promise<NodeId> {
  assert.ok(
    await cluster.waitFor(() => cluster.leader() !== null && cluster.leader() !== other, 5000),
    "no leader within 5 s",
  );
  return cluster.leader() as NodeId;
}

/** Proposes `count` commands to the leader, one every 20 ms; returns those accepted. */
async function proposeSome(cluster: SimCluster, prefix: string, count: number): Promise<number> {
  let accepted = 0;
  for (let i = 0; i < count; i++) {
    if (cluster.propose(command(`${prefix} ${i}`)).accepted) accepted++;
    await cluster.runFor(20);
  }
  return accepted;
}

/** Waits until every node is up and has applied all of the leader's log, then checks they agree. */
async function awaitConvergence(cluster: SimCluster): Promise<number> {
  const caughtUp = () => {
    const leader = cluster.leader();
    if (leader === null) return false;
    const status = cluster.status();
    const last = status.find((node) => node.id === leader)?.lastLogIndex;
    return status.every((node) => node.up && node.lastApplied === last);
  };
  assert.ok(await cluster.waitFor(caughtUp, 10_000), "the cluster did not converge within 10 s");
  const result = cluster.checkConvergence();
  assert.ok(result.agreed, result.agreed ? "" : result.detail);
  return result.entries;
}

function appliedTexts(cluster: SimCluster, id: NodeId): string[] {
  const decoder = new TextDecoder();
  return cluster.applied(id).map((data) => decoder.decode(data));
}

describe("SimCluster", () => {
  test("elects one leader and replicates every command to every node", async () => {
    await withCluster({ seed: 11, nodes: 5, faults: LOSSY }, async (cluster) => {
      const leader = await awaitLeader(cluster);
      const leaders = cluster.status().filter((node) => node.role === "leader");
      assert.deepEqual(
        leaders.map((node) => node.id),
        [leader],
      );
      assert.equal(await proposeSome(cluster, "put", 20), 20);
      assert.equal(await awaitConvergence(cluster), 21, "20 commands and the leader's no-op");
      const texts = appliedTexts(cluster, asNodeId(1));
      assert.equal(texts[0], "", "the first entry is the new leader's no-op");
      assert.deepEqual(
        texts.slice(1),
        Array.from({ length: 20 }, (_, i) => `put ${i}`),
      );
    });
  });

  test("survives a leader crash, and the restarted node catches up from its disk", async () => {
    await withCluster({ seed: 12, nodes: 5, faults: LOSSY }, async (cluster) => {
      const first = await awaitLeader(cluster);
      await proposeSome(cluster, "before", 10);
      cluster.crash(first);
      assert.equal(cluster.isUp(first), false);
      assert.equal(cluster.propose(command("x"), first).accepted, false);
      const second = await awaitLeader(cluster, first);
      assert.notEqual(second, first);
      assert.equal(await proposeSome(cluster, "during", 10), 10);
      cluster.restart(first);
      await proposeSome(cluster, "after", 10);
      const entries = await awaitConvergence(cluster);
      const texts = appliedTexts(cluster, first);
      assert.equal(texts.length, entries);
      for (let i = 0; i < 10; i++)
        assert.ok(texts.includes(`during ${i}`), `during ${i} reached node ${first}`);
      assert.equal(cluster.status().find((node) => node.id === first)?.incarnation, 2);
    });
  });

  test("a leader stranded in a minority commits nothing; the majority carries on; healing converges", async () => {
    await withCluster({ seed: 13, nodes: 5, faults: LOSSY }, async (cluster) => {
      const stranded = await awaitLeader(cluster);
      await proposeSome(cluster, "before", 5);
      const majority = cluster.ids.filter((id) => id !== stranded);
      cluster.partition([[stranded], majority]);
      const doomed: { index: number; data: Uint8Array }[] = [];
      for (let i = 0; i < 5; i++) {
        const data = command(`doomed ${i}`);
        const result = cluster.propose(data, stranded);
        assert.ok(result.accepted, "the stranded leader still believes it leads");
        doomed.push({ index: result.index, data });
      }
      const successor = await awaitLeader(cluster, stranded);
      assert.ok(majority.includes(successor));
      assert.equal(cluster.leader(), successor, "the leader of the higher term is the one clients find");
      assert.equal(await proposeSome(cluster, "majority", 10), 10);
      await cluster.runFor(500);
      assert.equal(cluster.status().find((node) => node.id === stranded)?.role, "leader");
      cluster.heal();
      await awaitConvergence(cluster);
      for (const { index, data } of doomed) {
        const committed = cluster.committedAt(asIndex(index));
        assert.ok(
          committed !== undefined && !sameBytes(committed, data),
          "an uncommitted entry was overwritten",
        );
      }
      const texts = appliedTexts(cluster, stranded);
      assert.ok(!texts.some((text) => text.startsWith("doomed")));
      assert.ok(texts.includes("majority 9"));
    });
  });

  test("a leader that can receive but not send (one-way partition) is replaced", async () => {
    await withCluster({ seed: 14, nodes: 3 }, async (cluster) => {
      const mute = await awaitLeader(cluster);
      for (const other of cluster.ids) if (other !== mute) cluster.block(mute, other);
      const successor = await awaitLeader(cluster, mute);
      assert.ok(
        await cluster.waitFor(
          () => cluster.status().find((node) => node.id === mute)?.role !== "leader",
          2000,
        ),
        "the muted leader hears the higher term and steps down",
      );
      assert.equal(await proposeSome(cluster, "put", 5), 5);
      cluster.heal();
      await awaitConvergence(cluster);
      assert.ok(successor !== mute);
    });
  });

  test("random crashes, restarts and partitions on a lossy network never break safety", async () => {
    for (let seed = 100; seed < 106; seed++) {
      await withCluster({ seed, nodes: 5, faults: LOSSY }, async (cluster) => {
        const chaos = new Random(seed);
        let down: NodeId | null = null;
        for (let round = 0; round < 8; round++) {
          cluster.propose(command(`seed ${seed} round ${round}`));
          switch (chaos.int(4)) {
            case 0:
              if (down === null) {
                down = chaos.pick(cluster.ids);
                cluster.crash(down);
              }
              break;
            case 1:
              if (down !== null) {
                cluster.restart(down);
                down = null;
              }
              break;
            case 2: {
              const cut = chaos.pick(cluster.ids);
              cluster.partition([[cut], cluster.ids.filter((id) => id !== cut)]);
              break;
            }
            default:
              cluster.heal();
          }
          await proposeSome(cluster, `seed ${seed} round ${round}`, 10);
        }
        cluster.heal();
        if (down !== null) cluster.restart(down);
        await awaitLeader(cluster);
        await awaitConvergence(cluster);
      });
    }
  });

  test("misuse is an error, not a silent no-op", async () => {
    await withCluster({ seed: 15, nodes: 3 }, async (cluster) => {
      assert.throws(() => cluster.restart(asNodeId(1)), /is up/);
      cluster.crash(asNodeId(1));
      assert.throws(() => cluster.crash(asNodeId(1)), /not up/);
      assert.throws(() => cluster.crash(asNodeId(9)), RangeError);
    });
    assert.throws(() => new SimCluster({ clock: makeVirtualClock(), seed: 1, nodes: 0 }), RangeError);
  });
});

describe("determinism", () => {
  /** A scenario with every kind of fault, returning its timeline and final counters as text. */
  const scenario = (seed: number) =>
    withCluster({ seed, nodes: 5, faults: LOSSY }, async (cluster, clock) => {
      const timeline = new Timeline({ commitEvery: 10, verbose: true });
      cluster.onEvent(timeline.observe);
      const first = await awaitLeader(cluster);
      await proposeSome(cluster, "a", 15);
      cluster.crash(first);
      const second = await awaitLeader(cluster, first);
      await proposeSome(cluster, "b", 15);
      cluster.isolate(second);
      await proposeSome(cluster, "c", 15);
      cluster.heal();
      cluster.restart(first);
      await awaitConvergence(cluster);
      const counters = JSON.stringify(cluster.networkCounters);
      return `${timeline.text()}${clock.now()} ${clock.eventsRun} ${counters}\n`;
    });

  test("the same seed produces a byte-identical timeline", async () => {
    const once = await scenario(3);
    const twice = await scenario(3);
    assert.ok(once.split("\n").length > 20, "the timeline should have something in it");
    assert.equal(once, twice);
  });

  test("a different seed produces a different timeline", async () => {
    assert.notEqual(await scenario(3), await scenario(4));
  });
});

describe("safety checker", () => {
  const data = (text: string) => encoder.encode(text);
  const [n1, n2, n3] = [asNodeId(1), asNodeId(2), asNodeId(3)];

  test("two different commands applied at the same index are a violation that names the seed", () => {
    const checker = new SafetyChecker(42);
    checker.observeApply(n1, asIndex(1), data("x=1"));
    checker.observeApply(n2, asIndex(1), data("x=1"));
    checker.observeApply(n1, asIndex(2), data("x=2"));
    assert.throws(
      () => checker.observeApply(n2, asIndex(2), data("x=3")),
      (error: unknown) =>
        error instanceof SafetyViolation &&
        /State Machine Safety/.test(error.message) &&
        /"x=2"/.test(error.message) &&
        /"x=3"/.test(error.message) &&
        /seed 42/.test(error.message),
    );
  });

  test("two leaders in one term are a violation", () => {
    const checker = new SafetyChecker(7);
    checker.observeLeader(n1, asTerm(1));
    checker.observeLeader(n1, asTerm(1));
    checker.observeLeader(n2, asTerm(2));
    assert.throws(() => checker.observeLeader(n3, asTerm(2)), /Election Safety.*term 2.*seed 7/);
  });

  test("a node applying out of order or twice is a violation; a restart starts it over", () => {
    const checker = new SafetyChecker(1);
    checker.observeApply(n1, asIndex(1), data("a"));
    assert.throws(() => checker.observeApply(n1, asIndex(1), data("a")), /again/);
    assert.throws(() => checker.observeApply(n1, asIndex(3), data("c")), /skipping/);
    checker.observeRestart(n1);
    checker.observeApply(n1, asIndex(1), data("a"));
  });

  test("a planted conflicting apply freezes a running cluster and fails it with the seed", async () => {
    await withCluster({ seed: 7, nodes: 3 }, async (cluster) => {
      const events: ClusterEvent[] = [];
      cluster.onEvent((event) => events.push(event));
      // A phantom node "applied" something else at index 1, where every real node will apply a no-op.
      cluster.checker.observeApply(asNodeId(99), asIndex(1), data("planted"));
      await assert.rejects(
        cluster.waitFor(() => false, 5000),
        (error: unknown) => error instanceof SafetyViolation && /index 1.*seed 7/.test(error.message),
      );
      assert.ok(cluster.failure instanceof SafetyViolation);
      assert.ok(
        cluster.status().every((node) => !node.up),
        "the cluster is frozen",
      );
      assert.equal(events.filter((event) => event.kind === "failure").length, 1);
    });
  });
});

describe("timeline", () => {
  test("formats elections, faults and summarised commits with the virtual time", () => {
    const timeline = new Timeline({ commitEvery: 50 });
    const [n1, n3] = [asNodeId(1), asNodeId(3)];
    const commit = (time: number, index: number, appliedOn: number): ClusterEvent => ({
      kind: "commit",
      time,
      index: asIndex(index),
      appliedOn,
      nodes: 5,
    });
    const role = (time: number, node: NodeId, r: "leader" | "candidate" | "follower", from: typeof r) =>
      ({
        kind: "role",
        time,
        node,
        role: r,
        term: asTerm(4),
        leader: r === "leader" ? node : null,
        previousRole: from,
        previousTerm: asTerm(3),
      }) satisfies ClusterEvent;
    timeline.observe(role(1200, n3, "candidate", "follower"));
    timeline.observe(role(1210, n3, "candidate", "candidate"));
    timeline.observe(role(1234, n3, "leader", "candidate"));
    timeline.observe(role(1234, n1, "follower", "follower"));
    timeline.observe(commit(1500, 49, 3));
    timeline.observe(commit(1600, 52, 3));
    timeline.observe(commit(1700, 60, 3));
    timeline.observe({
      kind: "fault",
      time: 2010,
      fault: { kind: "crash", node: n3, role: "leader", term: asTerm(4) },
      commit: { index: asIndex(61), appliedOn: 4, nodes: 5 },
    });
    timeline.observe({
      kind: "fault",
      time: 2600,
      fault: { kind: "partition", groups: [[n1], [asNodeId(2), n3]] },
      commit: { index: asIndex(61), appliedOn: 5, nodes: 5 },
    });
    timeline.note(2700, "client", "sends to node 2");
    assert.equal(
      timeline.text(),
      [
        "  1.200s  node 3   starts an election  term 4",
        "  1.234s  node 3   becomes leader      term 4",
        "  1.600s  commit   index 52 on 3/5 nodes",
        "  2.010s  commit   index 61 on 4/5 nodes",
        "  2.010s  fault    crash node 3 (leader, term 4)",
        "  2.600s  fault    partition {1} | {2, 3}",
        "  2.700s  client   sends to node 2",
        "",
      ].join("\n"),
    );
  });
});

describe("demo", () => {
  const demo = async (seed: number, nodes = 5) => {
    const lines: string[] = [];
    const status = await runDemo({ seed, nodes, print: (line) => lines.push(line) });
    return { status, text: lines.join("\n"), lines };
  };

  test("passes its check and prints the same output for the same seed", async () => {
    const once = await demo(1);
    const twice = await demo(1);
    assert.equal(once.status, 0, once.text);
    assert.ok(
      once.lines.some((line) => /^check: all 5 logs agree on \d+ entries$/.test(line)),
      once.text,
    );
    assert.ok(once.text.includes("npm run demo -- --seed 1"));
    assert.equal(once.text, twice.text);
    assert.notEqual(once.text, (await demo(2)).text);
  });

  test("runs on small and large clusters, and refuses sizes it cannot script", async () => {
    for (const nodes of [3, 4, 7]) {
      const run = await demo(9, nodes);
      assert.equal(run.status, 0, run.text);
      assert.ok(run.text.includes(`--nodes ${nodes}`));
    }
    assert.equal((await demo(1, 2)).status, 2);
  });
});
