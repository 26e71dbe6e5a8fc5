/**
 * Scripted interaction tests with golden output: every test/core/testdata/*.txt is a story told as commands
 * against an in-memory cluster of RaftNodes, each command followed by what it must print (format and
 * commands: test/core/testdata/README.md). One test per file.
 *
 * With TSRAFT_UPDATE_GOLDEN=1 the expected outputs are rewritten from what the commands print now, for a
 * reviewer to read in the diff.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { describeMismatches, mismatches, runScript, UPDATE_VARIABLE } from "./run-script.ts";
import { renderScript } from "./script.ts";

const projectRoot = fileURLToPath(new URL("../../../", import.meta.url));
const testdata = fileURLToPath(new URL("../testdata/", import.meta.url));
const updating = process.env[UPDATE_VARIABLE] === "1";
const scripts = readdirSync(testdata)
  .filter((name) => name.endsWith(".txt"))
  .sort();

test("there are interaction scripts to run", () => {
  assert.ok(scripts.length > 0, `no *.txt scripts in ${testdata}`);
});

for (const name of scripts) {
  test(name, () => {
    const path = join(testdata, name);
    const file = relative(projectRoot, path);
    const text = readFileSync(path, "utf8");
    const run = runScript(text, file);
    if (updating) {
      const rendered = renderScript(run.segments, run.outputs);
      if (rendered !== text) writeFileSync(path, rendered);
      return;
    }
    const found = mismatches(run);
    if (found.length > 0) assert.fail(describeMismatches(file, found, "test/core/interaction"));
  });
}
