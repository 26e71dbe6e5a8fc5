import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  type ClockPass,
  comparisonLines,
  comparisonMarkdown,
  comparisonRows,
  comparisonTableLines,
  comparisonTableMarkdown,
  evaluateTargets,
  type KvraftTestInfo,
  kvraftComparisonLines,
  kvraftComparisonMarkdown,
  kvraftComparisonRows,
  kvraftPartTotals,
  type MachineFacts,
  overReferenceLines,
  overReferenceTests,
  passTotals,
  totalsLines,
} from "../../src/cli/lab-comparison.ts";
import type { LabRunRecord } from "../../src/cli/lab-protocol.ts";
import type { KvraftFigures, KvraftSection } from "../../src/lab/kvraft/config.ts";
import type { ClockMode } from "../../src/lab/scenarios/index.ts";
import type { KvraftReferenceRow } from "../../src/lab/scenarios/reference-figures.ts";
import type { TestFigures } from "../../src/lab/tester/config.ts";

const REFERENCE: Readonly<Record<string, TestFigures>> = {
  Alpha2A: { seconds: 3.5, peers: 3, rpcs: 58, bytes: 16840, commits: 0 },
  Beta2B: { seconds: 17.2, peers: 5, rpcs: 2080, bytes: 1587388, commits: 102 },
};
const NAMES = ["Alpha2A", "Beta2B", "Gamma2B"];

function figures(seconds: number, rpcs: number, bytes: number, commits = 10): TestFigures {
  return { seconds, peers: 3, rpcs, bytes, commits };
}

function passed(name: string, clock: ClockMode, f: TestFigures, clockMs = f.seconds * 1000): LabRunRecord {
  return { name, seed: 1, clock, passed: true, error: null, stack: null, figures: f, wallMs: 5, clockMs };
}

function failed(name: string, clock: ClockMode): LabRunRecord {
  return {
    name,
    seed: 1,
    clock,
    passed: false,
    error: `${name} failed`,
    stack: null,
    figures: null,
    wallMs: 5,
    clockMs: 2000,
  };
}

function pass(
  clock: ClockMode,
  records: readonly LabRunRecord[],
  overrides: Partial<ClockPass> = {},
): ClockPass {
  return {
    clock,
    records,
    workers: 2,
    wallMs: 4_000,
    mainCpuMicros: 500_000,
    workerCpuMicros: 3_500_000,
    ...overrides,
  };
}

/** Alpha under the reference, Beta over it in RPCs only, Gamma without a reference. */
const VIRTUAL = pass("virtual", [
  passed("Alpha2A", "virtual", figures(3.1, 22, 4414, 0)),
  passed("Beta2B", "virtual", figures(9.4, 2100, 467101, 102)),
  passed("Gamma2B", "virtual", figures(4.5, 72, 9586)),
]);
/** Beta fails; Alpha goes over the reference in bytes on this clock only. */
const REAL = pass(
  "real",
  [
    passed("Alpha2A", "real", figures(3.3, 30, 20000, 0)),
    failed("Beta2B", "real"),
    passed("Gamma2B", "real", figures(4.6, 70, 9000)),
  ],
  { wallMs: 200_000, mainCpuMicros: 1_000_000, workerCpuMicros: 40_000_000 },
);

test("rows pair each test's results with the reference, and flag figures above it per clock", () => {
  const rows = comparisonRows(NAMES, [VIRTUAL, REAL], REFERENCE);
  assert.deepEqual(
    rows.map((row) => row.name),
    NAMES,
  );
  assert.deepEqual(rows[0]?.over, [
    { rpcs: false, bytes: false },
    { rpcs: false, bytes: true },
  ]);
  assert.deepEqual(rows[1]?.over, [
    { rpcs: true, bytes: false },
    { rpcs: false, bytes: false },
  ]);
  assert.deepEqual(rows[1]?.cells[1], { kind: "failed" });
  // No reference: never over, whatever our figures.
  assert.equal(rows[2]?.reference, null);
  assert.deepEqual(rows[2]?.over, [
    { rpcs: false, bytes: false },
    { rpcs: false, bytes: false },
  ]);
  // A test a pass never ran (interrupted) is missing, not failed.
  const partial = comparisonRows(NAMES, [pass("virtual", [])], REFERENCE);
  assert.deepEqual(partial[0]?.cells, [{ kind: "missing" }]);
});

test("the text table aligns figures, marks ours above the reference, and shows - where there is none", () => {
  const rows = comparisonRows(NAMES, [VIRTUAL, REAL], REFERENCE);
  const lines = comparisonTableLines(rows, [VIRTUAL, REAL]);
  assert.deepEqual(lines, [
    "test     virtual s  real s  peers  RPCs    bytes   commits  ref s  ref RPCs  ref bytes  ref commits",
    "Alpha2A        3.1     3.3      3    22     4414         0    3.5        58      16840            0",
    "Beta2B         9.4    FAIL      3  2100*  467101       102   17.2      2080    1587388          102",
    "Gamma2B        4.5     4.6      3    72     9586        10      -         -          -            -",
  ]);
  // Without any mark, no column is kept for one.
  const clean = comparisonTableLines(comparisonRows(["Alpha2A"], [VIRTUAL], REFERENCE), [VIRTUAL]);
  assert.deepEqual(clean, [
    "test     virtual s  peers  RPCs  bytes  commits  ref s  ref RPCs  ref bytes  ref commits",
    "Alpha2A        3.1      3    22   4414        0    3.5        58      16840            0",
  ]);
  // A failed first pass has no figures to show.
  const realOnly = comparisonTableLines(comparisonRows(["Beta2B"], [REAL], REFERENCE), [REAL]);
  assert.match(realOnly[1] ?? "", /^Beta2B\s+FAIL\s+-\s+-\s+-\s+-\s+17\.2\s+2080/);
});

test("the Markdown table escapes the mark and right-aligns the figures", () => {
  const rows = comparisonRows(NAMES, [VIRTUAL, REAL], REFERENCE);
  assert.deepEqual(comparisonTableMarkdown(rows, [VIRTUAL, REAL]), [
    "| test | virtual s | real s | peers | RPCs | bytes | commits | ref s | ref RPCs | ref bytes | ref commits |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    "| Alpha2A | 3.1 | 3.3 | 3 | 22 | 4414 | 0 | 3.5 | 58 | 16840 | 0 |",
    "| Beta2B | 9.4 | FAIL | 3 | 2100\\* | 467101 | 102 | 17.2 | 2080 | 1587388 | 102 |",
    "| Gamma2B | 4.5 | 4.6 | 3 | 72 | 9586 | 10 | - | - | - | - |",
  ]);
});

test("tests over the reference are listed per clock, with rates per commit and any known reason", () => {
  const rows = comparisonRows(NAMES, [VIRTUAL, REAL], REFERENCE);
  const over = overReferenceTests(rows, [VIRTUAL, REAL]);
  assert.deepEqual(
    over.map((entry) => [entry.name, entry.clock, entry.rpcs !== null, entry.bytes !== null]),
    [
      ["Alpha2A", "real", false, true],
      ["Beta2B", "virtual", true, false],
    ],
  );
  assert.deepEqual(overReferenceLines(over), [
    // Alpha commits nothing: no rate per commit.
    "Alpha2A: bytes 20000 > 16840 on the real clock",
    "Beta2B: RPCs 2100 > 2080 on the virtual clock (20.6 RPCs per commit, reference 20.4)",
  ]);
  // Over on both clocks: one line for the test, each clock's figures, the reason once.
  const churnPasses = [
    pass("virtual", [passed("ReliableChurn2C", "virtual", figures(16, 900, 10, 300))]),
    pass("real", [passed("ReliableChurn2C", "real", figures(16, 850, 2000, 200))]),
  ];
  const churn = comparisonRows(["ReliableChurn2C"], churnPasses, {
    ReliableChurn2C: figures(16, 800, 1000, 100),
  });
  const lines = overReferenceLines(overReferenceTests(churn, churnPasses));
  assert.equal(lines.length, 1);
  assert.match(
    lines[0] ?? "",
    new RegExp(
      "^ReliableChurn2C: RPCs 900 > 800 on the virtual clock \\(3\\.0 RPCs per commit, reference 8\\.0\\);" +
        " RPCs 850 > 800, bytes 2000 > 1000 on the real clock" +
        " \\(4\\.3 RPCs per commit, reference 8\\.0; 10\\.0 bytes per commit, reference 10\\.0\\) — three clients",
    ),
  );
});

test("totals give each clock's wall, CPU and the sum of per-test times", () => {
  const totals = passTotals(REAL);
  assert.equal(totals.cpuMs, 41_000);
  assert.equal(totals.sumMs, 3300 + 2000 + 4600);
  assert.equal(totals.failed, 1);
  assert.deepEqual(totalsLines([VIRTUAL, pass("real", REAL.records, { workers: 1, workerCpuMicros: 0 })]), [
    "virtual clock: wall 4.00s (in 2 parallel worker processes), CPU 4.00s (this process 0.50s + workers 3.50s)," +
      " sum of per-test times 17.00s (virtual time)",
    "real clock: wall 4.00s (one after another in one process), CPU 0.50s," +
      " sum of per-test times 9.90s (what running them one after another would take)",
  ]);
});

test("targets: real wall <= 6 min and CPU <= 1 min, virtual wall < 30 s, RPCs and bytes per clock", () => {
  const rows = comparisonRows(NAMES, [VIRTUAL, REAL], REFERENCE);
  const checks = evaluateTargets(rows, [VIRTUAL, REAL], true);
  const verdicts = Object.fromEntries(checks.map((check) => [check.target, check.met]));
  assert.deepEqual(verdicts, {
    "virtual clock: wall time < 30 s": true,
    "virtual clock: RPCs of each test <= the reference's": false,
    "virtual clock: bytes of each test <= the reference's": true,
    "real clock: wall time <= 6 min": true,
    "real clock: CPU time <= 1 min": true,
    "real clock, one test after another as the course runs them: sum of per-test times <= 6 min": true,
    "real clock: RPCs of each test <= the reference's": true,
    "real clock: bytes of each test <= the reference's": false,
  });
  const rpcs = checks.find((check) => check.target === "virtual clock: RPCs of each test <= the reference's");
  assert.equal(rpcs?.measured, "1 of 2 tests over: Beta2B");

  // Just over each time target; and a selection is not held to the suite's time targets.
  const slow = [
    pass("virtual", VIRTUAL.records, { wallMs: 30_000 }),
    pass("real", [passed("Alpha2A", "real", figures(3, 1, 1), 360_001)], {
      wallMs: 360_001,
      mainCpuMicros: 0,
      workerCpuMicros: 60_000_001,
    }),
  ];
  const slowChecks = evaluateTargets(comparisonRows(NAMES, slow, REFERENCE), slow, true);
  for (const check of slowChecks.filter((c) => /wall|CPU|sum/.test(c.target))) assert.equal(check.met, false);
  const partial = evaluateTargets(comparisonRows(NAMES, slow, REFERENCE), slow, false);
  assert.ok(partial.every((check) => !/wall|CPU|sum/.test(check.target)));
});

test("the text comparison has the table, the legend, the over-reference list, totals and targets", () => {
  const lines = comparisonLines(NAMES, [VIRTUAL, REAL], REFERENCE, true);
  const text = lines.join("\n");
  assert.match(text, /== ours next to the course's reference figures ==/);
  assert.match(text, /peers, RPCs, bytes and commits are the virtual clock's/);
  assert.match(text, /over the reference:\n {2}Alpha2A: bytes 20000 > 16840 on the real clock\n/);
  assert.match(text, /totals:\n {2}virtual clock: wall 4\.00s/);
  assert.match(
    text,
    /^ {2}MISSED {2}virtual clock: RPCs of each test <= the reference's: 1 of 2 tests over: Beta2B$/m,
  );
  assert.match(text, /^ {2}met {5}real clock: wall time <= 6 min: 200\.00s in 2 parallel worker processes$/m);
  const selection = comparisonLines(["Alpha2A"], [VIRTUAL], REFERENCE, false).join("\n");
  assert.match(selection, /the time targets are for the whole suite/);
  assert.doesNotMatch(selection, /over the reference:/);
});

const MACHINE: MachineFacts = {
  cpuModel: "Test CPU",
  cores: 2,
  totalMemoryBytes: 8 * 2 ** 30,
  node: "v20.19.0",
  platform: "linux 6.1",
  date: "2025-01-02T03:04:05.000Z",
};

test("the Markdown report says what it shows, where it was measured, and the totals and targets", () => {
  const markdown = comparisonMarkdown({
    names: NAMES,
    passes: [VIRTUAL, REAL],
    reference: REFERENCE,
    wholeSuite: true,
    seed: 1,
    machine: MACHINE,
    command: "tsraft lab --report-file docs/lab-report.md",
  });
  assert.match(markdown, /^# Lab 2: tsraft next to the course's reference figures\n/);
  assert.match(markdown, /Made by `tsraft lab --report-file docs\/lab-report\.md`/);
  assert.match(markdown, /run once with seed 1/);
  assert.match(markdown, /seconds on the virtual clock and on the real clock/);
  assert.match(markdown, /Virtual-clock seconds are virtual time/);
  assert.match(markdown, /2022 Lab 2 handout/);
  assert.match(
    markdown,
    /Measured on: Test CPU, 2 cores, 8\.0 GiB memory, Node v20\.19\.0 on linux 6\.1, 2025-01-02/,
  );
  assert.match(markdown, /\| Beta2B \| 9\.4 \| FAIL \| 3 \| 2100\\\* \|/);
  assert.match(markdown, /## Over the reference\n\n.*\n\n- Alpha2A: bytes 20000 > 16840 on the real clock\n/);
  assert.match(
    markdown,
    /\| real \| 200\.00s \| 41\.00s \(1\.00s \+ 40\.00s\) \| 9\.90s \(what running them/,
  );
  assert.match(markdown, /runs them in parallel worker processes/);
  assert.match(
    markdown,
    /- \*\*missed\*\*: real clock: bytes of each test <= the reference's: 1 of 2 tests over: Alpha2A/,
  );
  assert.match(markdown, /- met: real clock: CPU time <= 1 min: 41\.00s/);
  assert.ok(markdown.endsWith("\n"));
  const clean = comparisonMarkdown({
    names: ["Gamma2B"],
    passes: [VIRTUAL],
    reference: REFERENCE,
    wholeSuite: false,
    seed: 7,
    machine: MACHINE,
    command: "tsraft lab --run Gamma2B --seed 7 --report-file x.md",
  });
  assert.match(clean, /No test sent more RPCs or bytes than the reference\./);
  assert.match(clean, /The time targets are for the whole suite/);
  assert.doesNotMatch(clean, /real clock/);
});

/** Runs the CLI in its own process, as `lab-cli.test.ts` does. */
function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: root,
      // The report ignores TSRAFT_CLOCK; set it anyway so that a selection run in a test can never be slow.
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

test("lab --no-real makes the virtual-clock report and writes it as Markdown", async () => {
  const directory = await mkdtemp(join(tmpdir(), "tsraft-lab-report-"));
  try {
    const reportPath = join(directory, "report.md");
    const run = await runCli(["lab", "--no-real", "--report-file", reportPath]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /the report: every test once with seed 1 on the virtual clock/);
    assert.match(run.stdout, /^Test \(2A\): initial election \.\.\.$/m);
    assert.match(run.stdout, /^Test \(2D\): snapshot initialization after crash \.\.\.$/m);
    assert.match(run.stdout, /^InitialElection2A\s+\d+\.\d\s+3\s/m);
    assert.match(run.stdout, /^ {2}virtual clock: wall /m);
    assert.match(run.stdout, /virtual clock: wall time < 30 s/);
    assert.doesNotMatch(run.stdout, /== real clock/);
    assert.match(run.stdout, /\nPASS\n$/);
    // Lab 3 too, after Lab 2: its own pass, its course lines, and its table with the course's totals.
    assert.match(run.stdout, /== virtual clock, Lab 3: 23 tests /);
    assert.match(run.stdout, /^Test: restarts, snapshots, many clients \(3B\) \.\.\.$/m);
    assert.ok(run.stdout.indexOf("== ours next to") < run.stdout.indexOf("== Lab 3 (kvraft): ours next to"));
    assert.match(run.stdout, /^OnePartition3A: no progress in minority\s+\d+\.\d\s+5\s/m);
    assert.match(run.stdout, /^ {2}3B \(9 tests\): sum of per-test times: virtual \d+\.\d\ds; .* 161\.54s/m);
    const markdown = await readFile(reportPath, "utf8");
    assert.match(markdown, /\| InitialElection2A \| \d+\.\d \| 3 \|/);
    assert.match(markdown, /Measured on: /);
    assert.match(markdown, /\n# Lab 3 \(kvraft\): tsraft next to the course's reference figures\n/);
    assert.match(
      markdown,
      /\| SnapshotRPC3B \| \d+\.\d \| 3 \| \d+(\\\*)? \| \d+ \| 4\.0 \| 3 \| 289 \| 63 \|/,
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test("a selected single-seed run prints the comparison for its clock; a sweep refuses --report-file", async () => {
  const run = await runCli(["lab", "--run", "^BasicAgree2B$"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.doesNotMatch(run.stdout, /the report:/);
  assert.match(run.stdout, /^BasicAgree2B\s+\d+\.\d\s+3\s+\d+\s+\d+\s+3\s+0\.9\s+16\s+4572\s+3$/m);
  assert.match(run.stdout, /the time targets are for the whole suite/);
  assert.match(run.stdout, /^PASS$/m);
  const sweep = await runCli(["lab", "--run", "^BasicAgree2B$", "--seeds", "2", "--report-file", "x.md"]);
  assert.equal(sweep.code, 2);
  assert.match(sweep.stderr, /--report-file .* cannot take --seeds/);
});

/** Two Lab 3 tests: Solo3A (one section), Trio3A (three), and Extra3B without a reference. */
const KV_TESTS: readonly KvraftTestInfo[] = [
  { name: "Solo3A", part: "3A", titles: ["Test: one client (3A)"] },
  { name: "Trio3A", part: "3A", titles: ["Test: first (3A)", "Test: second (3A)", "Test: third (3A)"] },
  { name: "Extra3B", part: "3B", titles: ["Test: extra (3B)"] },
];
const KV_REFERENCE: Readonly<Record<string, readonly KvraftReferenceRow[]>> = {
  Solo3A: [{ title: "Test: one client (3A)", figures: { seconds: 15.5, peers: 5, rpcs: 4576, ops: 903 } }],
  Trio3A: [
    { title: "Test: first (3A)", figures: { seconds: 1.7, peers: 5, rpcs: 103, ops: 2 } },
    { title: "Test: second (3A)", figures: { seconds: 1.0, peers: 5, rpcs: 102, ops: 3 } },
    { title: "Test: third (3A)", figures: { seconds: 1.2, peers: 5, rpcs: 70, ops: 3 } },
  ],
};

function section(title: string, seconds: number, rpcs: number, ops: number): KvraftSection {
  const figures: KvraftFigures = { seconds, peers: 5, rpcs, ops };
  return { title, figures };
}

function kvRecord(
  name: string,
  clock: ClockMode,
  sections: readonly KvraftSection[],
  ok: boolean,
  clockMs: number,
): LabRunRecord {
  return {
    name,
    seed: 1,
    clock,
    passed: ok,
    error: ok ? null : `${name} failed`,
    stack: null,
    figures: null,
    sections,
    wallMs: 5,
    clockMs,
  };
}

/** Solo over the reference in RPCs; Trio fails in its second section; Extra passes (no reference). */
const KV_VIRTUAL = pass("virtual", [
  kvRecord("Solo3A", "virtual", [section("Test: one client (3A)", 15.0, 5000, 1000)], true, 15_000),
  kvRecord("Trio3A", "virtual", [section("Test: first (3A)", 0.6, 64, 2)], false, 2_000),
  kvRecord("Extra3B", "virtual", [section("Test: extra (3B)", 3.0, 300, 60)], true, 3_000),
]);
/** Solo only: the real pass was stopped early. */
const KV_REAL = pass("real", [
  kvRecord("Solo3A", "real", [section("Test: one client (3A)", 15.2, 4000, 900)], true, 15_200),
]);
const KV_TOTALS = { "3A": 290.184, "3B": 161.538 };

test("Lab 3 rows: one per section, matched to the reference by position, FAIL after a failure, - when not run", () => {
  const rows = kvraftComparisonRows(KV_TESTS, [KV_VIRTUAL, KV_REAL], KV_REFERENCE);
  assert.deepEqual(
    rows.map((row) => [
      row.label,
      row.cells.map((cell) => cell.kind),
      row.overRpcs,
      row.reference?.rpcs ?? null,
    ]),
    [
      ["Solo3A", ["passed", "passed"], [true, false], 4576],
      ["Trio3A: first", ["passed", "missing"], [false, false], 103],
      ["Trio3A: second", ["failed", "missing"], [false, false], 102],
      ["Trio3A: third", ["failed", "missing"], [false, false], 70],
      ["Extra3B", ["passed", "missing"], [false, false], null],
    ],
  );
  assert.deepEqual(kvraftPartTotals(KV_TESTS, [KV_VIRTUAL, KV_REAL], KV_TOTALS), [
    { part: "3A", ran: 2, tests: 2, sumMs: [17_000, 15_200], referenceSeconds: 290.184 },
    { part: "3B", ran: 1, tests: 1, sumMs: [3_000, 0], referenceSeconds: 161.538 },
  ]);
});

test("the Lab 3 text comparison: the course's four columns next to ours, over-reference RPCs, part totals", () => {
  const lines = kvraftComparisonLines(KV_TESTS, [KV_VIRTUAL, KV_REAL], KV_REFERENCE, KV_TOTALS);
  const table = lines.slice(
    lines.indexOf("== Lab 3 (kvraft): ours next to the course's reference figures ==") + 2,
  );
  assert.deepEqual(table.slice(0, 6), [
    "test            virtual s  real s  peers  RPCs    ops  ref s  ref peers  ref RPCs  ref ops",
    "Solo3A               15.0    15.2      5  5000*  1000   15.5          5      4576      903",
    "Trio3A: first         0.6       -      5    64      2    1.7          5       103        2",
    "Trio3A: second       FAIL       -      -     -      -    1.0          5       102        3",
    "Trio3A: third        FAIL       -      -     -      -    1.2          5        70        3",
    "Extra3B               3.0       -      5   300     60      -          -         -        -",
  ]);
  const text = lines.join("\n");
  assert.match(text, /Solo3A: RPCs 5000 > 4576 on the virtual clock \(5\.0 RPCs per op, reference 5\.1\)/);
  assert.doesNotMatch(text, /on the real clock \(/);
  assert.match(text, /virtual clock: wall 4\.00s \(in 2 parallel worker processes\)/);
  assert.match(
    text,
    /3A \(2 tests\): sum of per-test times: virtual 17\.00s, real 15\.20s; the course's `go test` run of all of 3A: 290\.18s \(with -race\)/,
  );
  assert.match(text, /3B \(1 test\): sum of per-test times: virtual 3\.00s, real 0\.00s; .* 161\.54s/);
});

test("the Lab 3 Markdown part has its heading, the table with the mark escaped, and the totals", () => {
  const markdown = kvraftComparisonMarkdown({
    tests: KV_TESTS,
    passes: [KV_VIRTUAL],
    reference: KV_REFERENCE,
    referenceTotals: KV_TOTALS,
    seed: 1,
  });
  assert.match(markdown, /^# Lab 3 \(kvraft\): tsraft next to the course's reference figures\n/);
  assert.match(markdown, /run once with seed 1/);
  assert.match(
    markdown,
    /\n\| test \| virtual s \| peers \| RPCs \| ops \| ref s \| ref peers \| ref RPCs \| ref ops \|\n\| --- \| ---: \|/,
  );
  assert.match(markdown, /\n\| Solo3A \| 15\.0 \| 5 \| 5000\\\* \| 1000 \| 15\.5 \| 5 \| 4576 \| 903 \|\n/);
  assert.match(markdown, /\n\| Trio3A: second \| FAIL \| - \| - \| - \| 1\.0 \| 5 \| 102 \| 3 \|\n/);
  assert.match(markdown, /## Over the reference\n\n- Solo3A: RPCs 5000 > 4576 on the virtual clock/);
  assert.match(markdown, /## Totals\n\n\| clock \| wall \|/);
  assert.match(markdown, /- 3A \(2 tests\): sum of per-test times: virtual 17\.00s; .* 290\.18s/);
  assert.ok(markdown.endsWith("\n"));
});
