/**
 * The interaction harness itself: command-line parsing, the script format's round trip, the errors a broken
 * script gets, the mismatch report, and that a script's output is a pure function of the script.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Args, parseCommandLine } from "./args.ts";
import { lineDiff } from "./diff.ts";
import { describeMismatches, mismatches, runScript, UPDATE_VARIABLE } from "./run-script.ts";
import { parseScript, renderScript } from "./script.ts";

const ELECTION = `# comment
add-nodes 3
----
stale

campaign 1
----
ok

stabilize
----
whatever
`;

describe("interaction harness", () => {
  test("a command line splits into positional tokens, words, lists and quoted strings", () => {
    const line = parseCommandLine('add-nodes 3 voters=(1, 2,3) pre-vote=true "two words" note="a b"');
    assert.equal(line.name, "add-nodes");
    assert.deepEqual(line.positional, ["3", "two words"]);
    assert.deepEqual(line.keyed.get("voters"), { kind: "list", items: ["1", "2", "3"] });
    assert.deepEqual(line.keyed.get("pre-vote"), { kind: "word", text: "true" });
    assert.deepEqual(line.keyed.get("note"), { kind: "word", text: "a b" });
  });

  test("arguments nobody read are an error, so a misspelt key cannot pass unnoticed", () => {
    const args = new Args(parseCommandLine("add-nodes 3 prevote=true"));
    args.int("N");
    args.keyedBool("pre-vote", false);
    assert.throws(() => args.done(), /unknown argument prevote=/);
    const extra = new Args(parseCommandLine("campaign 1 2"));
    extra.id();
    assert.throws(() => extra.done(), /unexpected argument 2/);
    assert.throws(() => new Args(parseCommandLine("tick x")).id(), /non-negative integer/);
  });

  test("a script renders back to the same text, and only the outputs change on update", () => {
    const segments = parseScript(ELECTION, "election.txt");
    assert.equal(renderScript(segments), ELECTION);
    const cases = segments.filter((segment) => segment.kind === "case");
    assert.deepEqual(
      cases.map((segment) => [segment.line, segment.command]),
      [
        [2, "add-nodes 3"],
        [6, "campaign 1"],
        [10, "stabilize"],
      ],
    );
    const first = cases[0];
    assert.ok(first !== undefined);
    const rendered = renderScript(segments, new Map([[first, ["fresh", "lines"]]]));
    assert.equal(rendered, ELECTION.replace("----\nstale\n", "----\nfresh\nlines\n"));
  });

  test("a command without its separator is reported with its line", () => {
    assert.throws(
      () => parseScript("add-nodes 3\nraft-state\n----\n", "bad.txt"),
      /bad\.txt:1: command "add-nodes 3"/,
    );
  });

  test("an unknown command or a bad argument fails the script with file, line and usage", () => {
    assert.throws(
      () => runScript("add-nodes 3\n----\nok\n\nelect 1\n----\nok\n", "x.txt"),
      (error: Error) => {
        assert.match(error.message, /^x\.txt:5: elect 1\n/);
        assert.match(error.message, /unknown command "elect"/);
        return true;
      },
    );
    assert.throws(
      () => runScript("add-nodes 3\n----\nok\n\npropose 1\n----\nok\n", "x.txt"),
      (error: Error) => {
        assert.match(error.message, /^x\.txt:5: propose 1\n/);
        assert.match(error.message, /missing DATA/);
        assert.match(error.message, /usage: propose ID DATA/);
        return true;
      },
    );
  });

  test("a mismatch names the file and line, shows a diff, and says how to accept the new output", () => {
    const run = runScript(ELECTION, "test/core/testdata/election.txt");
    const found = mismatches(run);
    assert.deepEqual(
      found.map((mismatch) => mismatch.segment.line),
      [2, 6, 10],
    );
    const report = describeMismatches("test/core/testdata/election.txt", found, "test/core/interaction");
    assert.match(report, /^test\/core\/testdata\/election\.txt:2: output of "add-nodes 3" differs/);
    assert.match(report, /\n {2}- stale\n/);
    assert.match(report, /\n {2}\+ added 1 2 3: voters=\(1,2,3\)/);
    assert.match(report, /2 later command\(s\) differ too, at lines 6, 10/);
    assert.ok(report.includes(`${UPDATE_VARIABLE}=1 npx tsx scripts/run-tests.ts test/core/interaction`));
  });

  test("the output of a script is a pure function of the script", () => {
    const text =
      "add-nodes 5 pre-vote=true check-quorum=true seed=7\n----\nok\n\ntick-election 3\n----\nok\n\nstabilize\n----\nok\n";
    const outputs = () => [...runScript(text, "x.txt").outputs.values()];
    assert.deepEqual(outputs(), outputs());
  });

  test("the diff shows changed lines with a little context and elides the rest", () => {
    const expected = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    const actual = ["a", "b", "c", "d", "e", "f", "g", "H", "i"];
    assert.deepEqual(lineDiff(expected, actual), ["  ...", "  e", "  f", "  g", "- h", "+ H", "  i"]);
  });
});
