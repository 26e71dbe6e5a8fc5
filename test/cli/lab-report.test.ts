import assert from "node:assert/strict";
import { test } from "node:test";
import type { LabRunRecord } from "../../src/cli/lab-protocol.ts";
import { OrderedPrinter, sortRecords, summaryLines } from "../../src/cli/lab-report.ts";
import { allScenarios, findScenarios } from "../../src/lab/scenarios/index.ts";

test("findScenarios takes a regular expression, a substring, or nothing", () => {
  const names = (pattern: string | undefined) => findScenarios(pattern).map((scenario) => scenario.name);
  assert.deepEqual(
    names(undefined),
    allScenarios.map((scenario) => scenario.name),
  );
  assert.deepEqual(names(""), names(undefined));
  assert.deepEqual(names("2A"), ["InitialElection2A", "ReElection2A", "ManyElections2A"]);
  // The rest on a fixed list, so that adding the 2C and 2D scenarios cannot change the expected answers.
  const some = allScenarios.filter((scenario) =>
    ["ReElection2A", "Rejoin2B", "Backup2B"].includes(scenario.name),
  );
  const pick = (pattern: string) => findScenarios(pattern, some).map((scenario) => scenario.name);
  assert.deepEqual(pick("^Re"), ["ReElection2A", "Rejoin2B"]);
  assert.deepEqual(pick("Backup2B$"), ["Backup2B"]);
  assert.deepEqual(pick("join|ack"), ["Rejoin2B", "Backup2B"]);
  // Not a valid regular expression: taken literally, so it matches nothing rather than throwing.
  assert.deepEqual(pick("Backup("), []);
  assert.deepEqual(pick("NoSuchTest"), []);
});

test("OrderedPrinter streams the first unfinished job and holds later ones back", () => {
  const out: string[] = [];
  const printer = new OrderedPrinter({ write: (line) => out.push(line) });
  printer.line(1, "b1");
  printer.line(0, "a1");
  printer.line(2, "c1");
  assert.deepEqual(out, ["a1"]);
  printer.finish(2);
  printer.line(1, "b2");
  assert.deepEqual(out, ["a1"]);
  printer.finish(0, ["a-failed"]);
  // Job 0 done: job 1's held lines come out, and job 1 now streams live.
  assert.deepEqual(out, ["a1", "a-failed", "b1", "b2"]);
  printer.line(1, "b3");
  printer.finish(1);
  assert.deepEqual(out, ["a1", "a-failed", "b1", "b2", "b3", "c1"]);
});

function record(name: string, seed: number, passed: boolean): LabRunRecord {
  return {
    name,
    seed,
    clock: "virtual",
    passed,
    error: passed
      ? null
      : `${name} failed (seed ${seed}, virtual clock): boom\n  replay: npm run lab -- --run ${name} --seed ${seed}`,
    stack: null,
    figures: null,
    wallMs: 10,
    clockMs: 1000,
  };
}

test("a sweep's summary lists each failure with its replay command, in scenario then seed order", () => {
  const records = sortRecords(
    [record("B", 2, false), record("A", 3, true), record("B", 1, true), record("A", 2, false)],
    ["A", "B"],
  );
  assert.deepEqual(
    records.map((r) => `${r.name}${r.seed}`),
    ["A2", "A3", "B1", "B2"],
  );
  const lines = summaryLines({
    records,
    planned: 6,
    scenarios: 2,
    firstSeed: 1,
    seedCount: 3,
    clock: "virtual",
    workers: 2,
    stop: "fail-fast",
    wallMs: 1500,
    mainCpuMicros: 500_000,
    workerCpuMicros: 1_000_000,
    repeatFailures: true,
  });
  const text = lines.join("\n");
  assert.match(
    text,
    /--- FAIL: A \(seed 2, 0\.01s\)\nA failed \(seed 2, virtual clock\): boom\n {2}replay: npm run lab -- --run A --seed 2/,
  );
  assert.ok(text.indexOf("--- FAIL: A") < text.indexOf("--- FAIL: B"));
  assert.match(
    text,
    /lab: 4 runs, 2 passed, 2 failed \(2 scenarios x seeds 1\.\.3, virtual clock, 2 worker processes\)/,
  );
  assert.match(text, /stopped at the first failure \(--fail-fast\); 2 runs not finished/);
  assert.match(
    text,
    /lab: wall 1\.50s, cpu 1\.50s \(this process 0\.50s \+ workers 1\.00s\), virtual time 4\.00s/,
  );
  assert.equal(lines.at(-1), "FAIL");
});
