import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { sim } from "../sim/run-sim-cli.ts";

/**
 * `tsraft sim --kv` end to end, in a child process (as test/sim/swarm-cli.test.ts does for the swarm): one
 * seed's deterministic report and trace, a swarm over worker processes with its totals, a hunt for a
 * known-wrong key-value node whose replay command fails the same way, and usage errors.
 */

describe("tsraft sim --kv", () => {
  test("one seed prints a deterministic report and writes the same trace every time", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsraft-kv-"));
    try {
      const first = sim(["--kv", "--seed", "4", "--time", "2", "--trace", join(dir, "a.ndjson")]);
      const second = sim(["--kv", "--seed", "4", "--time", "2", "--trace", join(dir, "b.ndjson")]);
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /^tsraft sim --kv: seed 4\n/);
      assert.match(first.stdout, /\nclients: \d+ operations .* answered/);
      assert.match(first.stdout, /\nchecked: \d+ operations .*: ok, \d+ search steps\n/);
      assert.match(first.stdout, /\nPASS\n$/);
      assert.equal(first.stdout, second.stdout);
      const trace = readFileSync(join(dir, "a.ndjson"), "utf8");
      assert.equal(trace, readFileSync(join(dir, "b.ndjson"), "utf8"));
      const kinds = new Set(
        trace
          .trimEnd()
          .split("\n")
          .map((line) => JSON.parse(line).kind as string),
      );
      for (const kind of ["kv-run", "kv-invoke", "kv-ok", "kv-heal", "kv-end", "send", "persist"]) {
        assert.ok(kinds.has(kind), `the trace has no ${kind} event`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a swarm over worker processes prints what it checked and its verdict", () => {
    const result = sim(["--kv", "--seeds", "6", "--time", "2", "--jobs", "2"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /key-value service with clients, 2 worker processes/);
    assert.match(result.stdout, /sim: 6 seeds \(1\.\.6\), 6 passed, 0 failed/);
    assert.match(result.stdout, /kv: \d+ client operations .*; 6 histories checked: \d+ operations/);
    assert.match(result.stdout, /kv: checker \d+ search steps/);
    assert.match(result.stdout, /\nPASS\n$/);
  });

  test("stale reads are hunted down to their first catching seed, which replays to the same failure", () => {
    const hunt = sim(["--kv", "--kv-bug", "local-reads", "--seeds", "20", "--jobs", "2"]);
    assert.equal(hunt.status, 0, hunt.stderr);
    assert.match(hunt.stdout, /kv bug local-reads \(mix default\): caught at seed \d+/);
    assert.match(hunt.stdout, /\nCAUGHT\n$/);
    const failure = hunt.stdout.split("\n").find((line) => line.startsWith("FAIL seed"));
    assert.ok(failure !== undefined, hunt.stdout);
    assert.match(failure, /: (linearizability|lost-write): /);
    const replay = /replay: npx tsraft sim (.*?) {3}/.exec(hunt.stdout);
    assert.ok(replay?.[1] !== undefined, hunt.stdout);
    assert.match(replay[1], /^--kv --seed \d+ --time 5 --kv-bug local-reads$/);
    const again = sim(replay[1].split(" "));
    assert.equal(again.status, 1);
    assert.ok(again.stdout.includes(failure), again.stdout);
  });

  test("usage errors exit with status 2", () => {
    assert.equal(sim(["--kv-bug", "local-reads"]).status, 2);
    assert.equal(sim(["--kv-checks-only"]).status, 2);
    assert.equal(sim(["--kv", "--kv-bug", "meteor"]).status, 2);
    assert.equal(sim(["--kv", "--seeds", "3", "--trace", "x.ndjson"]).status, 2);
  });
});
