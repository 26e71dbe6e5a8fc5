import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  defaultKvSettings,
  type KvSimResult,
  type KvSimSettings,
  type KvTraceEvent,
  planWorkload,
  runKvSeed,
} from "../../src/jepsen/index.ts";
import type { SwarmTraceEvent } from "../../src/sim/swarm/index.ts";

/**
 * One key-value seed as a whole: it runs the real service and clients, replays exactly, records what it
 * checked, and keeps going past a Raft violation when only the key-value checks decide.
 */

const yieldToHost = (callback: () => void): void => {
  setImmediate(callback);
};

async function traced(
  settings: KvSimSettings = defaultKvSettings(11),
): Promise<{ result: KvSimResult; trace: string[] }> {
  const trace: string[] = [];
  const result = await runKvSeed({
    settings,
    yieldToHost,
    trace: (event: SwarmTraceEvent | KvTraceEvent) => trace.push(JSON.stringify(event)),
  });
  return { result, trace };
}

describe("a key-value seed", () => {
  test("replays exactly: the same result and the same trace, event for event", async () => {
    const first = await traced();
    const second = await traced();
    assert.deepEqual(second.result, first.result);
    assert.equal(second.trace.length, first.trace.length);
    assert.deepEqual(second.trace, first.trace);
  });

  test("runs the workload the seed drew and checks its history", async () => {
    // Crashes, pauses and lost messages, but the membership stays put, so that the clients get a lot done.
    const settings = defaultKvSettings(1);
    const faults = ["loss", "crash", "pause"] as const;
    const { result, trace } = await traced({ ...settings, swarm: { ...settings.swarm, faults } });
    const workload = planWorkload(1);
    assert.ok(result.passed, result.violation?.message);
    assert.equal(result.check.outcome, "ok");
    // Every slot moved on to fresh keys as its keys took their share of operations.
    assert.ok(result.check.partitions > workload.registerSlots.length + workload.appendSlots.length);
    assert.ok(result.history.completed > 100, `${result.history.completed} operations answered`);
    assert.ok(result.history.byKind.append > 0 && result.history.byKind.cas > 0);
    // Every operation the history holds was traced as invoked, and each final read came after the heal.
    const invokes = trace.filter((line) => line.includes('"kind":"kv-invoke"'));
    assert.equal(invokes.length, result.history.operations);
    const healAt = trace.findIndex((line) => line.includes('"kind":"kv-heal"'));
    const finalReads = invokes.filter((line) => line.includes(`"client":${workload.clients},`));
    assert.equal(finalReads.length, result.check.partitions);
    for (const read of finalReads) assert.ok(trace.indexOf(read) > healAt);
    assert.equal(result.replay, "npx tsraft sim --kv --seed 1 --time 5 --faults loss,crash,pause");
  });

  test("with only the key-value checks deciding, a planted core bug runs on past the Raft checks", async () => {
    // The first seed (of a few dozen) whose run the Raft checks saw broken and the clients' history shows it.
    for (let seed = 1; seed <= 80; seed++) {
      const settings = defaultKvSettings(seed);
      const result = await runKvSeed({
        settings: {
          ...settings,
          swarm: { ...settings.swarm, plantedBug: "truncate-on-stale-append" },
          scope: "kv",
        },
        yieldToHost,
      });
      const property = result.violation?.property;
      if (result.raftViolation === null || (property !== "lost-write" && property !== "linearizability")) {
        continue;
      }
      // The Raft violation came first, yet the run went on to the final reads and the history check.
      assert.ok(result.raftViolation.timeMs <= (result.violation?.timeMs ?? 0));
      assert.notEqual(result.check.outcome, "not-run");
      return;
    }
    assert.fail("no seed in 1..80 showed the planted bug in the clients' history");
  });
});
