/**
 * The harness's nemesis against a fake cluster (no processes): the choices are a function of the seed,
 * every fault is healed by the end, and each partition shape blocks exactly the links it should.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { describe, test } from "node:test";
import { parseNemeses } from "../../src/cli/jepsen/command.ts";
import {
  NEMESES,
  type Nemesis,
  type NemesisCluster,
  type NemesisContext,
  runNemeses,
  type TimelineEntry,
} from "../../src/cli/jepsen/nemesis.ts";
import { type LinkPolicy, PASS } from "../../src/drivers/fault-proxy/index.ts";
import { Random } from "../../src/util/random.ts";

/** A cluster that only records what was done to it. */
class FakeCluster implements NemesisCluster {
  readonly ids: readonly number[];
  readonly down = new Set<number>();
  readonly paused = new Set<number>();
  readonly policies = new Map<string, LinkPolicy>();
  readonly #started = performance.now();

  constructor(size: number) {
    this.ids = Array.from({ length: size }, (_, k) => k + 1);
  }

  now(): number {
    return performance.now() - this.#started;
  }
  async kill(id: number): Promise<void> {
    this.down.add(id);
  }
  async start(id: number): Promise<void> {
    this.down.delete(id);
  }
  pause(id: number): void {
    this.paused.add(id);
  }
  resume(id: number): void {
    this.paused.delete(id);
  }
  readonly proxy = {
    setPolicy: (from: number, to: number, policy: LinkPolicy) => {
      if (policy === PASS) this.policies.delete(`${from}->${to}`);
      else this.policies.set(`${from}->${to}`, policy);
    },
  };

  /** Nodes removed from the configuration and not added back. */
  readonly removed = new Set<number>();
  readonly members = {
    remove: async (id: number) => {
      this.removed.add(id);
    },
    add: async (id: number) => {
      this.removed.delete(id);
    },
  };

  /** The directed links currently blocked. */
  blocked(): Set<string> {
    return new Set([...this.policies].filter(([, policy]) => policy.block !== "none").map(([link]) => link));
  }
}

function context(cluster: FakeCluster, leader: number | null = 1): NemesisContext {
  return { cluster, electionTimeoutMs: 2, leader: async () => leader, members: cluster.members };
}

function nemesis(name: string): Nemesis {
  const found = NEMESES.find((candidate) => candidate.name === name);
  assert.ok(found !== undefined, name);
  return found;
}

async function schedule(
  seed: number,
  size: number,
): Promise<{ timeline: TimelineEntry[]; cluster: FakeCluster }> {
  const cluster = new FakeCluster(size);
  const timeline: TimelineEntry[] = [];
  // Holds are sized in election timeouts (2 ms here) except kills, which hold up to 3 s: leave kill out.
  const selected = NEMESES.filter((candidate) => candidate.name !== "kill");
  await runNemeses({
    selected,
    context: context(cluster),
    seed,
    endAt: 400,
    record: (entry) => timeline.push(entry),
  });
  return { timeline, cluster };
}

describe("jepsen nemesis", () => {
  test("the same seed makes the same choices; every fault is healed by the end", async () => {
    const first = await schedule(42, 5);
    const second = await schedule(42, 5);
    const starts = (timeline: TimelineEntry[]) =>
      timeline
        .filter((entry) => entry.event === "start")
        .map((entry) => `${entry.lane} ${entry.description}`);
    const a = starts(first.timeline);
    const b = starts(second.timeline);
    assert.ok(Math.min(a.length, b.length) >= 4, `too few faults: ${a.length}, ${b.length}`);
    // Lanes interleave by real time, so compare each lane's own sequence.
    for (const lane of ["process", "network"]) {
      const ofLane = (list: string[]) => list.filter((line) => line.startsWith(lane));
      const [x, y] = [ofLane(a), ofLane(b)];
      const common = Math.min(x.length, y.length);
      assert.ok(common >= 1, `no ${lane} faults`);
      assert.deepEqual(x.slice(0, common), y.slice(0, common), `lane ${lane} (seed 42)`);
    }
    const other = starts((await schedule(43, 5)).timeline);
    assert.notDeepEqual(other.slice(0, 4), a.slice(0, 4), "another seed, another schedule");
    for (const { timeline, cluster } of [first, second]) {
      assert.equal(timeline.filter((entry) => entry.event === "error").length, 0);
      assert.equal(
        timeline.filter((entry) => entry.event === "heal").length,
        timeline.filter((entry) => entry.event === "start").length,
      );
      assert.equal(cluster.policies.size, 0, "every link passes again");
      assert.equal(cluster.paused.size, 0, "no node left paused");
      assert.equal(cluster.removed.size, 0, "no node left out of the configuration");
    }
  });

  test("membership removes one node, the leader at times, and adds the same node back", async () => {
    const removedLeader = new Set<boolean>();
    for (let seed = 0; seed < 20; seed++) {
      const cluster = new FakeCluster(3);
      const fault = await nemesis("membership").inject(context(cluster, 2), new Random(seed));
      assert.deepEqual([...cluster.removed], [...fault.nodes], fault.description);
      removedLeader.add(fault.nodes[0] === 2);
      await fault.heal();
      assert.equal(cluster.removed.size, 0);
    }
    assert.deepEqual([...removedLeader].sort(), [false, true], "both the leader and other nodes are removed");
  });

  test("kill takes nodes down and brings the same nodes back", async () => {
    for (let seed = 0; seed < 20; seed++) {
      const cluster = new FakeCluster(5);
      const fault = await nemesis("kill").inject(context(cluster), new Random(seed));
      assert.deepEqual([...cluster.down].sort(), [...fault.nodes].sort(), fault.description);
      assert.ok(fault.nodes.length >= 1 && fault.nodes.length <= 5);
      await fault.heal();
      assert.equal(cluster.down.size, 0);
    }
  });

  test("bridge: one node reaches both halves, which cannot reach each other", async () => {
    for (const size of [3, 5]) {
      for (let seed = 0; seed < 10; seed++) {
        const cluster = new FakeCluster(size);
        const fault = await nemesis("bridge").inject(context(cluster), new Random(seed));
        const blocked = cluster.blocked();
        const touched = (id: number) => [...blocked].some((link) => link.split("->").includes(String(id)));
        const bridges = cluster.ids.filter((id) => !touched(id));
        assert.equal(bridges.length, 1, fault.description);
        const others = cluster.ids.filter((id) => id !== bridges[0]);
        // Each non-bridge node is cut, both ways, from exactly the nodes of the other half.
        for (const id of others) {
          const cut = others.filter((other) => other !== id && blocked.has(`${id}->${other}`));
          assert.equal(cut.length, (size - 1) / 2, fault.description);
          for (const other of cut) assert.ok(blocked.has(`${other}->${id}`), "two-way");
        }
        await fault.heal();
        assert.equal(cluster.policies.size, 0);
      }
    }
  });

  test("oneway: a mute or deaf node is cut in one direction only", async () => {
    let oneDirection = 0;
    for (let seed = 0; seed < 30; seed++) {
      const cluster = new FakeCluster(5);
      const fault = await nemesis("oneway").inject(context(cluster), new Random(seed));
      const blocked = cluster.blocked();
      assert.ok(blocked.size >= 1, fault.description);
      if (fault.description.includes("cannot send") || fault.description.includes("cannot receive")) {
        for (const link of blocked) {
          const [from, to] = link.split("->");
          assert.ok(!blocked.has(`${to}->${from}`), `${link} is blocked both ways: ${fault.description}`);
        }
        assert.equal(blocked.size, 4, fault.description);
        oneDirection++;
      }
      await fault.heal();
      assert.equal(cluster.policies.size, 0);
    }
    assert.ok(oneDirection > 0);
  });

  test("partition: halves leave a minority and a majority; a ring lets every node see a majority", async () => {
    const shapes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const cluster = new FakeCluster(5);
      const fault = await nemesis("partition").inject(context(cluster, 3), new Random(seed));
      const blocked = cluster.blocked();
      const reachable = (id: number) =>
        cluster.ids.filter((other) => other !== id && !blocked.has(`${id}->${other}`));
      const shape = /partition (\S+):/.exec(fault.description)?.[1] ?? "?";
      shapes.add(shape);
      if (shape === "ring") {
        for (const id of cluster.ids) assert.equal(reachable(id).length, 2, fault.description);
      } else {
        const sides = new Set(cluster.ids.map((id) => [id, ...reachable(id)].sort().join(",")));
        assert.equal(sides.size, 2, fault.description);
        const sizes = [...sides].map((side) => side.split(",").length).sort();
        assert.ok((sizes[0] ?? 0) < 3 && (sizes[1] ?? 0) >= 3, fault.description);
        if (shape === "isolate-leader")
          assert.match(fault.description, /^partition isolate-leader: node 3 \|/);
      }
      await fault.heal();
    }
    assert.deepEqual([...shapes].sort(), ["halves", "isolate-leader", "isolate-one", "ring"]);
  });

  test("--nemesis parses names, all and none, and refuses unknown names", () => {
    assert.deepEqual(
      parseNemeses("kill,pause").map((n) => n.name),
      ["kill", "pause"],
    );
    assert.equal(parseNemeses("all").length, NEMESES.length);
    assert.equal(parseNemeses("none").length, 0);
    assert.throws(() => parseNemeses("kill,meteor"), /unknown nemesis "meteor"/);
  });
});
