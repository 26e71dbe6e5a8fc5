import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { selectScenarioNames } from "../../src/cli/lab.ts";
import { allKvraftScenarios, allScenarios } from "../../src/lab/scenarios/index.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI as a user would, in its own Node process. The environment pins the virtual clock so that a
 * TSRAFT_CLOCK=real in the caller's shell cannot turn these into slow, timing-dependent tests.
 */
function runCli(
  args: readonly string[],
  {
    entry = ["--import", "tsx", "src/cli/main.ts"],
    cwd = root,
  }: { entry?: readonly string[]; cwd?: string } = {},
): Promise<CliRun> {
  return new Promise<CliRun>((resolve, reject) => {
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd,
      env: { ...process.env, TSRAFT_CLOCK: "virtual" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("lab --run BasicAgree2B --seed 3 prints the course's lines and passes", async () => {
  const run = await runCli(["lab", "--run", "BasicAgree2B", "--seed", "3"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^Test \(2B\): basic agreement \.\.\.$/m);
  assert.match(run.stdout, /^ {2}\.\.\. Passed -- /m);
  assert.match(run.stdout, /^lab: 1 run, 1 passed, 0 failed \(1 scenario x seed 3, virtual clock/m);
  assert.match(run.stdout, /^PASS$/m);
});

test("lab --run Basic3A --seed 1 runs a Lab 3 test: the course's lines, its comparison row and --json", async () => {
  const directory = await mkdtemp(join(tmpdir(), "tsraft-lab-cli-"));
  try {
    const jsonPath = join(directory, "results.json");
    const run = await runCli(["lab", "--run", "Basic3A", "--seed", "1", "--json", jsonPath]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^Test: one client \(3A\) \.\.\.$/m);
    assert.match(run.stdout, /^ {2}\.\.\. Passed -- +\d+\.\d +5 +\d+ +\d+$/m);
    assert.match(run.stdout, /== Lab 3 \(kvraft\): ours next to the course's reference figures ==/);
    // Our seconds, peers, RPCs (perhaps marked) and ops, then the course's 15.5 s, 5 peers, 4576 RPCs, 903 ops.
    assert.match(run.stdout, /^Basic3A\s+\d+\.\d\s+5\s+\d+\*?\s+\d+\s+15\.5\s+5\s+4576\s+903$/m);
    assert.match(run.stdout, /3A \(1 test\): sum of per-test times: virtual \d+\.\d\ds; .* 290\.18s/);
    assert.doesNotMatch(run.stdout, /== ours next to the course's reference figures ==/);
    assert.match(run.stdout, /^lab: 1 run, 1 passed, 0 failed \(1 scenario x seed 1, virtual clock/m);
    assert.match(run.stdout, /^PASS$/m);
    const report = JSON.parse(await readFile(jsonPath, "utf8")) as {
      results: Array<{ name: string; passed: boolean; figures: null; sections: Array<{ title: string }> }>;
    };
    assert.deepEqual(
      report.results.map((result) => [result.name, result.passed, result.figures]),
      [["Basic3A", true, null]],
    );
    assert.deepEqual(
      report.results[0]?.sections.map((section) => section.title),
      ["Test: one client (3A)"],
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test("--run searches both labs, and a scenario's exact name selects it alone (so replays are exact)", () => {
  const lab3 = allKvraftScenarios.map((scenario) => scenario.name);
  assert.deepEqual(selectScenarioNames(undefined), [
    ...allScenarios.map((scenario) => scenario.name),
    ...lab3,
  ]);
  assert.deepEqual(
    selectScenarioNames("3A"),
    lab3.filter((name) => name.endsWith("3A")),
  );
  assert.equal(selectScenarioNames("3A|3B").length, lab3.length);
  assert.deepEqual(selectScenarioNames("^Persist[12]"), ["Persist12C", "Persist22C"]);
  assert.deepEqual(selectScenarioNames("^PersistP"), [
    "PersistPartition3A",
    "PersistPartitionUnreliable3A",
    "PersistPartitionUnreliableLinearizable3A",
  ]);
  // As a regular expression Unreliable3A is in three names; the replay command names one test.
  assert.equal(selectScenarioNames("Unreliable3A$").length, 3);
  assert.deepEqual(selectScenarioNames("Unreliable3A"), ["Unreliable3A"]);
  assert.deepEqual(selectScenarioNames("Concurrent3A"), ["Concurrent3A"]);
  // Not a valid regular expression: a substring.
  assert.deepEqual(selectScenarioNames("Basic3A("), []);
});

test("a sweep over four seeds in two workers passes, reports a summary and writes --json", async () => {
  const directory = await mkdtemp(join(tmpdir(), "tsraft-lab-cli-"));
  try {
    const jsonPath = join(directory, "results.json");
    const run = await runCli([
      "lab",
      "--run",
      "InitialElection2A",
      "--seeds",
      "4",
      "--jobs",
      "2",
      "--clock",
      "virtual",
      "--json",
      jsonPath,
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /lab: 4 runs, 4 passed, 0 failed \(1 scenario x seeds 1\.\.4, virtual clock, 2 worker/,
    );
    assert.match(run.stdout, /lab: wall \d+\.\d\ds, cpu \d+\.\d\ds/);
    // A sweep shows progress, not the course's per-test lines.
    assert.doesNotMatch(run.stdout, /Test \(2A\)/);
    // stderr is a pipe here, so progress comes as plain lines rather than a redrawn bar.
    assert.match(run.stderr, /lab: 4\/4 runs \(100%\), 0 failed/);

    const report = JSON.parse(await readFile(jsonPath, "utf8")) as {
      runs: number;
      passed: number;
      results: Array<{ name: string; seed: number; clock: string; passed: boolean; error: string | null }>;
    };
    assert.equal(report.runs, 4);
    assert.equal(report.passed, 4);
    assert.deepEqual(
      report.results.map((result) => [result.name, result.seed, result.clock, result.passed, result.error]),
      [1, 2, 3, 4].map((seed) => ["InitialElection2A", seed, "virtual", true, null]),
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test("a pattern that matches no scenario is a usage error that names the scenarios", async () => {
  const run = await runCli(["lab", "--run", "NoSuchTest"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /no scenario matches --run "NoSuchTest"/);
  assert.match(run.stderr, /InitialElection2A/);
  assert.equal(run.stdout, "");
});

test("a bad option value is a usage error", async () => {
  const run = await runCli(["lab", "--seeds", "0"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--seeds <count>.*expected an integer at least 1/);
});

test("bin/tsraft.js runs the CLI from another directory", async () => {
  // From elsewhere, the shim must still find tsx and main.ts relative to itself.
  const run = await runCli(["--version"], { entry: [join(root, "bin", "tsraft.js")], cwd: tmpdir() });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
});
