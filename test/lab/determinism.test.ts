import assert from "node:assert/strict";
import { test } from "node:test";
import { lab2C } from "../../src/lab/scenarios/lab2c.ts";
import { runScenario } from "../../src/lab/scenarios/run.ts";

// A lab run on virtual time is a pure function of its seed: every RPC, byte, commit and millisecond of
// virtual time repeats exactly. Figure 8 (unreliable) draws on every random stream (network loss and delay,
// long reordering, election jitter, the tester's choices), so it is the strictest case to replay.
const scenario = lab2C.find((s) => s.name === "Figure8Unreliable2C");

async function fingerprint(seed: number): Promise<string> {
  assert.ok(scenario);
  const lines: string[] = [];
  const result = await runScenario(scenario, { seed, clock: "virtual", print: (line) => lines.push(line) });
  assert.ok(result.passed, result.error?.message);
  return JSON.stringify({ lines, figures: result.figures, clockMs: result.clockMs });
}

test("the same seed replays the same run exactly", async () => {
  assert.equal(await fingerprint(5), await fingerprint(5));
});

test("a different seed gives a different run", async () => {
  assert.notEqual(await fingerprint(5), await fingerprint(6));
});
