/**
 * Calibration of the harness: a checker that never fails proves nothing. With the unsafe debug switches the
 * harness must find the violations they cause — lost acknowledged writes when storage acknowledges before
 * syncing and SIGKILL drops unsynced data, stale reads when reads skip ReadIndex — and the switches must be
 * refused without --unsafe-debug. (The healthy runs that find nothing are jepsen-ci.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runTsraft } from "../drivers/server/process-cluster.ts";
import { runJepsenCli, verdict } from "./jepsen-helpers.ts";

/**
 * A seed whose first kill takes down all three nodes (nemesis choices are a function of the seed: see
 * test/cli/jepsen-nemesis.test.ts), so every node loses its last second of acknowledged writes at once.
 */
const KILL_ALL_FIRST_SEED = 16;
const STALE_READ_SEED = 3;

describe("tsraft jepsen calibration", () => {
  test("acknowledging before fdatasync with volatile unsynced writes: the kill nemesis finds lost writes", async () => {
    const run = await runJepsenCli([
      ...["--time", "8", "--nodes", "3", "--nemesis", "kill", "--seed", String(KILL_ALL_FIRST_SEED)],
      ...["--unsafe-debug", "--unsafe-ack-before-sync", "--unsafe-volatile-writes"],
      // No snapshots: a snapshot file is synced when written, and would make the writes it covers durable.
      ...["--snapshot-bytes", "0"],
    ]);
    assert.ok(run.summary !== null, run.output);
    assert.equal(run.status, 1, `the run must fail\n${run.text}`);
    const lost = verdict(run.summary, "no-lost-writes");
    assert.equal(lost.valid, false, `no lost write reported\n${run.text}`);
    assert.match(lost.summary, /^[1-9]\d* acknowledged appends lost/);
    assert.match(run.summary.timeline.map((entry) => entry.description).join("\n"), /SIGKILL nodes 1,2,3/);
    assert.match(run.output, /INVALID/);
    assert.match(
      run.output,
      /replay the schedule with: .*--seed 16 .*--unsafe-debug --unsafe-ack-before-sync/,
    );
    run.cleanup();
  });

  test("reads from local state without ReadIndex: the partition nemesis finds stale reads", async () => {
    const run = await runJepsenCli([
      ...["--time", "8", "--nodes", "3", "--nemesis", "partition", "--seed", String(STALE_READ_SEED)],
      ...["--unsafe-debug", "--unsafe-local-reads"],
    ]);
    assert.ok(run.summary !== null, run.output);
    assert.equal(run.status, 1, `the run must fail\n${run.text}`);
    const linearizable = verdict(run.summary, "linearizable");
    assert.equal(linearizable.valid, false, `no stale read reported\n${run.text}`);
    assert.match(linearizable.summary, /^illegal/);
    // The witness: a read that returned a value some completed write had already replaced.
    assert.ok(
      (linearizable.details ?? []).some((line) => /get\(/.test(line)),
      run.text,
    );
    run.cleanup();
  });

  test("the unsafe switches are refused without --unsafe-debug, by the harness and by tsraft serve", async () => {
    const harness = await runJepsenCli(["--time", "1", "--unsafe-local-reads"]);
    assert.equal(harness.status, 2, harness.output);
    assert.match(harness.output, /refused without --unsafe-debug/);
    assert.equal(harness.summary, null, "nothing ran");
    harness.cleanup();
    const serve = await runTsraft([
      ...["serve", "--id", "1", "--peers", "1=127.0.0.1:1", "--data", "/nonexistent-tsraft"],
      "--unsafe-ack-before-sync",
    ]);
    assert.equal(serve.status, 2, serve.stderr);
    assert.match(serve.stderr, /--unsafe-ack-before-sync breaks durability or linearizability on purpose/);
    assert.match(serve.stderr, /refused without --unsafe-debug/);
  });
});
