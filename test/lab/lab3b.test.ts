import assert from "node:assert/strict";
import { test } from "node:test";
import { runKvraftScenario } from "../../src/lab/kvraft/run.ts";
import { lab3B } from "../../src/lab/scenarios/lab3b.ts";
import { registerKvraftTests } from "./lab-seeds.ts";

// Lab 3B (kvraft with snapshots), every scenario of the course, each history checked for linearizability,
// on the seeds chosen by lab-seeds.ts.
registerKvraftTests(lab3B);

// A kvraft run on virtual time is a pure function of its seed. This scenario draws on every random stream
// (network loss and delay, election jitter, client choices, partitions, restarts from snapshots).
const replayed = lab3B.find((s) => s.name === "SnapshotUnreliableRecoverConcurrentPartition3B");

async function fingerprint(seed: number): Promise<string> {
  assert.ok(replayed);
  const lines: string[] = [];
  const result = await runKvraftScenario(replayed, {
    seed,
    clock: "virtual",
    print: (line) => lines.push(line),
  });
  assert.ok(result.passed, result.error?.message);
  return JSON.stringify({ lines, sections: result.sections, checks: result.checks, clockMs: result.clockMs });
}

test("kvraft: the same seed replays the same run exactly", async () => {
  assert.equal(await fingerprint(5), await fingerprint(5));
});

test("kvraft: a different seed gives a different run", async () => {
  assert.notEqual(await fingerprint(5), await fingerprint(6));
});
