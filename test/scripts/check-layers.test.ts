import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { checkSource, type Violation } from "../../scripts/layers/check.ts";
import { LAYER_RULES, LAYERS, packageName } from "../../scripts/layers/rules.ts";

const projectRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(projectRoot, "scripts", "check-layers.ts");

/** The violations of a one-file project, as `line: message` strings so a failed assertion reads well. */
function check(path: string, text: string): string[] {
  return checkSource(path, text).map((violation: Violation) => `${violation.line}: ${violation.message}`);
}

function assertRejected(path: string, text: string, needle: string): void {
  const found = check(path, text);
  assert.ok(
    found.some((line) => line.includes(needle)),
    `expected a violation mentioning ${needle} in ${path}, got ${JSON.stringify(found)}`,
  );
}

function assertClean(path: string, text: string): void {
  assert.deepEqual(check(path, text), []);
}

/** Runs the CLI on `root` in a child process, as `npm run layers` does. */
function runCli(root: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", cli, root], {
    cwd: projectRoot,
    encoding: "utf8",
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("layer rules: banned globals", () => {
  it("rejects Date.now() in core, with the line", () => {
    assert.deepEqual(
      check("src/core/raft.ts", "const a = 1;\nexport const t = Date.now();\n").map((line) =>
        line.slice(0, 3),
      ),
      ["2: "],
    );
    assertRejected("src/core/raft.ts", "export const t = Date.now();", '"Date" is banned in core');
  });

  it("rejects Math.random() in sim, in every spelling", () => {
    assertRejected("src/sim/network.ts", "export const r = Math.random();", '"Math.random" is banned in sim');
    assertRejected("src/sim/network.ts", 'export const r = Math["random"]();', "Math.random");
    assertRejected(
      "src/sim/network.ts",
      "const { random } = Math;\nexport const r = random();",
      "Math.random",
    );
  });

  it("rejects host timers, process, console and globalThis in every pure layer", () => {
    for (const layer of ["util", "core", "codec", "trace", "peer", "sim", "check"] as const) {
      for (const name of ["setTimeout", "setInterval", "setImmediate", "queueMicrotask", "performance"]) {
        assertRejected(`src/${layer}/x.ts`, `${name}(() => {});`, `"${name}" is banned in ${layer}`);
      }
      assertRejected(`src/${layer}/x.ts`, "console.log(1);", `"console" is banned`);
      assertRejected(`src/${layer}/x.ts`, "export const e = process.env;", `"process" is banned`);
      assertRejected(`src/${layer}/x.ts`, "export const g = globalThis;", `"globalThis" is banned`);
      assertRejected(`src/${layer}/x.ts`, 'export const m = require("x");', `"require" is banned`);
    }
  });

  it("rejects await, async and Promise in core only", () => {
    assertRejected("src/core/raft.ts", "export const x = await f();", '"await" is banned in core');
    assertRejected("src/core/raft.ts", "for await (const x of xs) g(x);", '"await" is banned in core');
    assertRejected("src/core/raft.ts", "export async function f() {}", '"async" is banned in core');
    assertRejected("src/core/raft.ts", "export const f = async () => 1;", '"async" is banned in core');
    assertRejected(
      "src/core/raft.ts",
      "export function f(): Promise<void> {}",
      '"Promise" is banned in core',
    );
    assertClean("src/peer/peer.ts", "export async function f(): Promise<void> { await g(); }");
  });

  it("ignores banned names in comments, strings, templates and regular expressions", () => {
    const text = [
      "// Date.now() would break replay, so we never call it",
      "/* Math.random(), setTimeout, process.env, console.log */",
      "/** Unlike `Date`, ticks replay. @see {@link Promise} */",
      'export const a = "Date.now() and await and async";',
      "export const b = 'process.exit(1)';",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder belongs to the source under test
      "export const c = `console.log(${a.length}) Math.random()`;",
      "export const d = /Date|setTimeout|await/;",
    ].join("\n");
    assertClean("src/core/raft.ts", text);
  });

  it("allows members that merely share a global's name", () => {
    const text = [
      'import type { Clock } from "./clock.ts";',
      "export interface Ports { setTimeout(callback: () => void, ms: number): number; process: number }",
      "export class Ticker {",
      "  setTimeout(callback: () => void, ms: number): number { return ms; }",
      "  console = 1;",
      "  run(clock: Clock): void { clock.setTimeout(() => {}, 10); this.setTimeout(() => {}, 5); }",
      "}",
      "export const o = { Date: 1, process() {} };",
      "export const n = o.Date;",
    ].join("\n");
    assertClean("src/peer/ticker.ts", text);
  });

  it("reports a local binding that shadows a banned global", () => {
    assertRejected(
      "src/sim/run.ts",
      "export function process(event: number): number { return event; }",
      "declares",
    );
  });

  it("rejects host clocks and timers in kv, which the simulator runs (DESIGN.md §3)", () => {
    assertRejected("src/kv/server.ts", "export const t = Date.now();", '"Date" is banned in kv');
    assertRejected("src/kv/server.ts", "setTimeout(() => {}, 1);", '"setTimeout" is banned in kv');
  });

  it("allows the host globals in layers that are not pure", () => {
    assertClean("src/lab/tester.ts", "export async function f(): Promise<number> { return Date.now(); }");
    assertClean("src/drivers/clock.ts", "export const t = performance.now() + Date.now();");
  });
});

describe("layer rules: imports", () => {
  it('rejects "node:fs" (and bare "fs") in core, peer and lab', () => {
    for (const path of ["src/core/raft.ts", "src/peer/peer.ts", "src/lab/persister.ts"]) {
      assertRejected(path, 'import { readFileSync } from "node:fs";', 'Node built-in "node:fs"');
      assertRejected(path, 'import * as fs from "fs";', 'Node built-in "fs"');
      assertRejected(path, 'export const fs = await import("node:fs");', 'Node built-in "node:fs"');
      assertRejected(path, 'import type { Stats } from "node:fs";', 'Node built-in "node:fs"');
      assertRejected(path, 'export { readFileSync } from "node:fs";', 'Node built-in "node:fs"');
    }
  });

  it("allows Node built-ins in drivers, cli and viz", () => {
    for (const layer of ["drivers", "cli", "viz"]) {
      assertClean(`src/${layer}/x.ts`, 'import { createServer } from "node:net";\nimport * as fs from "fs";');
    }
  });

  it("rejects core importing from peer, and peer importing from drivers or sim", () => {
    assertRejected(
      "src/core/raft.ts",
      'import { Peer } from "../peer/peer.ts";',
      "core may not import layer peer",
    );
    assertRejected(
      "src/core/tracker/progress.ts",
      'import type { Peer } from "../../peer/peer.ts";',
      "layer peer",
    );
    assertRejected("src/peer/peer.ts", 'import { TcpTransport } from "../drivers/tcp.ts";', "layer drivers");
    assertRejected("src/peer/peer.ts", 'import { Network } from "../sim/network.ts";', "layer sim");
  });

  it("allows peer importing core, and any layer importing its own folder", () => {
    assertClean(
      "src/peer/peer.ts",
      'import { Raft } from "../core/raft.ts";\nimport type { Ready } from "../core/ready.ts";',
    );
    assertClean(
      "src/core/tracker/progress.ts",
      'import type { Term } from "../types.ts";\nimport { x } from "./inflights.ts";',
    );
  });

  it("allows util importing pure-rand and its subpaths, and nothing else", () => {
    assertClean(
      "src/util/random.ts",
      'import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";',
    );
    assertClean("src/util/random.ts", 'import * as prand from "pure-rand";');
    assertRejected("src/util/random.ts", 'import { Packr } from "msgpackr";', 'package "msgpackr"');
  });

  it("allows msgpackr in codec and trace only", () => {
    assertClean("src/codec/msgpack.ts", 'import { Packr } from "msgpackr";');
    assertClean("src/trace/writer.ts", 'import { pack } from "msgpackr";');
    assertRejected("src/core/raft.ts", 'import { pack } from "msgpackr";', 'package "msgpackr"');
    assertRejected("src/peer/peer.ts", 'import { pack } from "msgpackr";', 'package "msgpackr"');
  });

  it("rejects imports that leave the layer folders, and files outside any known layer", () => {
    assertRejected(
      "src/core/raft.ts",
      'import { x } from "../../scripts/x.ts";',
      "outside the layer folders",
    );
    assertRejected("src/extras/x.ts", "export const x = 1;", "src/extras is not a layer");
    assertRejected("src/index.ts", "export const x = 1;", "not inside a layer folder");
  });

  it("rejects computed dynamic imports except where anything goes", () => {
    assertRejected("src/lab/x.ts", "export const m = await import(name);", "computed module name");
    assertClean("src/cli/x.ts", "export const m = await import(name);");
  });

  it("names packages without their subpaths", () => {
    assert.equal(packageName("pure-rand/distribution/uniformInt"), "pure-rand");
    assert.equal(packageName("@scope/pkg/sub/path"), "@scope/pkg");
    assert.equal(packageName("msgpackr"), "msgpackr");
  });

  it("has a rule for every layer folder", () => {
    assert.deepEqual(Object.keys(LAYER_RULES).sort(), [...LAYERS].sort());
  });
});

describe("check-layers command", () => {
  it("fails on a copy of src/ with Date.now() injected into core, naming the file", () => {
    const root = mkdtempSync(join(tmpdir(), "tsraft-layers-"));
    try {
      const source = join(projectRoot, "src");
      if (existsSync(source)) cpSync(source, join(root, "src"), { recursive: true });
      mkdirSync(join(root, "src", "core"), { recursive: true });
      writeFileSync(join(root, "src", "core", "injected-clock.ts"), "export const t = Date.now();\n");
      const { status, output } = runCli(root);
      assert.equal(status, 1, output);
      assert.match(output, /src\/core\/injected-clock\.ts:1: "Date" is banned in core/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("passes on the project's own src/", () => {
    const { status, output } = runCli(projectRoot);
    assert.equal(status, 0, output);
    assert.match(output, /^layers: \d+ files checked/m);
  });
});
