import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { sim } from "./run-sim-cli.ts";

/**
 * `tsraft sim` end to end, in a child process: the command is registered on a bare commander program (the
 * lead wires it into `tsraft` itself), so these tests cover the option parsing, the single-seed report, the
 * trace file, the worker pool and the planted-bug hunt.
 */

describe("tsraft sim", () => {
  test("one seed prints a deterministic report and writes the same trace every time", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsraft-sim-"));
    try {
      const first = sim(["--seed", "3", "--time", "2", "--trace", join(dir, "a.ndjson")]);
      const second = sim(["--seed", "3", "--time", "2", "--trace", join(dir, "b.ndjson")]);
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /^tsraft sim: seed 3\n/);
      assert.match(first.stdout, /\nPASS\n$/);
      assert.equal(first.stdout, second.stdout);
      const trace = readFileSync(join(dir, "a.ndjson"), "utf8");
      assert.equal(trace, readFileSync(join(dir, "b.ndjson"), "utf8"));
      const lines = trace.trimEnd().split("\n");
      assert.equal(JSON.parse(lines[0] ?? "{}").kind, "run");
      assert.equal(JSON.parse(lines[lines.length - 1] ?? "{}").kind, "end");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a swarm over worker processes prints its coverage table and verdict", () => {
    const result = sim(["--seeds", "6", "--time", "2", "--jobs", "2"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /sim: 6 seeds \(1\.\.6\), 6 passed, 0 failed/);
    assert.match(result.stdout, /coverage over 6 runs:/);
    assert.match(result.stdout, /crash losing unsynced writes/);
    assert.match(result.stdout, /\nPASS\n$/);
  });

  test("a planted bug is hunted down to its first catching seed, which replays to the same failure", () => {
    const hunt = sim(["--planted-bug", "vote-without-restriction", "--seeds", "20", "--jobs", "2"]);
    assert.equal(hunt.status, 0, hunt.stderr);
    const caught = /caught at seed (\d+)/.exec(hunt.stdout);
    assert.ok(caught !== null, hunt.stdout);
    assert.match(hunt.stdout, /\nCAUGHT\n$/);
    const replay = /replay: npx tsraft sim (.*?) {3}/.exec(hunt.stdout);
    assert.ok(replay?.[1] !== undefined);
    const again = sim(replay[1].split(" "));
    assert.equal(again.status, 1);
    const failure = hunt.stdout.split("\n").find((line) => line.startsWith("FAIL seed"));
    assert.ok(failure !== undefined && again.stdout.includes(failure), again.stdout);
  });

  test("usage errors exit with status 2", () => {
    assert.equal(sim(["--faults", "meteor"]).status, 2);
    assert.equal(sim(["--nodes", "4"]).status, 2);
    assert.equal(sim(["--seeds", "3", "--trace", "x.ndjson"]).status, 2);
  });
});
