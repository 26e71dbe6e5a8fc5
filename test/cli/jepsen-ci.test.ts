/**
 * CI's short harness runs: one 8-second run of each nemesis against a 3-node cluster of real `tsraft serve`
 * processes. Each must find no violation at all (linearizability, lost writes, replica agreement, node logs),
 * must have injected its fault, and must have completed enough operations to mean something. A failure
 * names the seed, the replay command and the run directory (kept for inspection).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NEMESIS_NAMES } from "../../src/cli/jepsen/nemesis.ts";
import { runJepsenCli } from "./jepsen-helpers.ts";

/** Seconds of clients and faults per run. */
const RUN_SECONDS = 8;
/** Fewest acknowledged operations a run must have for its verdict to mean anything. */
const OK_OPERATIONS_MIN = 100;
/** One fixed seed per nemesis, so CI runs the same schedules (the timing of real processes still varies). */
const SEED_BASE = 800;

describe("tsraft jepsen in CI: one short run per nemesis, zero violations", () => {
  for (const [k, nemesis] of NEMESIS_NAMES.entries()) {
    test(`${nemesis}: 3 nodes, ${RUN_SECONDS} s`, async () => {
      const seed = SEED_BASE + k;
      const run = await runJepsenCli([
        "--time",
        String(RUN_SECONDS),
        "--nodes",
        "3",
        "--nemesis",
        nemesis,
        "--seed",
        String(seed),
      ]);
      const replay = `seed ${seed}; replay: npx tsraft jepsen --time ${RUN_SECONDS} --nodes 3 --nemesis ${nemesis} --seed ${seed}; run directory ${run.runDir}`;
      assert.ok(run.summary !== null, `no summary (${replay}):\n${run.output}`);
      assert.equal(run.status, 0, `${run.text}\n${replay}`);
      assert.equal(run.summary.valid, true, `${run.text}\n${replay}`);
      assert.deepEqual(run.summary.violations, []);
      assert.ok(
        (run.summary.faults.byNemesis[nemesis] ?? 0) >= 1,
        `no ${nemesis} fault was injected\n${run.text}`,
      );
      assert.ok(
        run.summary.operations.ok >= OK_OPERATIONS_MIN,
        `only ${run.summary.operations.ok} operations completed\n${run.text}\n${replay}`,
      );
      assert.match(run.output, new RegExp(`seed ${seed}`));
      run.cleanup();
    });
  }
});
