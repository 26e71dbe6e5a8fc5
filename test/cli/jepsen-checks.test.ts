/**
 * The harness's checkers on hand-written histories and logs: lost, duplicated and stray appends; ok, fail and
 * info operations as the linearizability checker must see them; a stale read caught; node log lines that
 * are and are not expected of a healthy node.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  checkAppends,
  checkLinearizable,
  checkNodeHealth,
  scanNodeLogs,
  splitTokens,
} from "../../src/cli/jepsen/checks.ts";
import {
  checkableOperations,
  countOperations,
  History,
  type HistoryLine,
} from "../../src/cli/jepsen/history.ts";

const dir = mkdtempSync(join(tmpdir(), "tsraft-jepsen-checks-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A history built by hand, with a clock that advances one unit per event. */
function history(): { history: History; lines: () => readonly HistoryLine[] } {
  let time = 0;
  const built = new History(() => time++);
  return { history: built, lines: () => built.lines() };
}

describe("jepsen checks", () => {
  test("appends: acknowledged tokens must be in every final read exactly once", () => {
    const { history: h, lines } = history();
    const acked = h.invoke(1, { f: "append", key: "a0", value: "1.0;" });
    h.complete(acked, 1, { type: "ok", node: 1, attempts: 1 });
    const unknown = h.invoke(2, { f: "append", key: "a0", value: "2.0;" });
    h.complete(unknown, 2, { type: "info", error: "timeout", attempts: 2 });
    const failed = h.invoke(3, { f: "append", key: "a0", value: "3.0;" });
    h.complete(failed, 3, { type: "fail", error: "ECONNREFUSED", attempts: 1 });

    const good = checkAppends(lines(), new Map([["a0", ["1.0;2.0;", "1.0;2.0;"]]]));
    assert.equal(good.valid, true, good.summary);
    assert.equal(good.indeterminatePresent, 1);

    const lost = checkAppends(lines(), new Map([["a0", ["1.0;", "2.0;"]]]));
    assert.equal(lost.valid, false);
    assert.deepEqual(lost.lost, ["a0: 1.0; (missing from 1 of 2 final reads)"]);

    const twice = checkAppends(lines(), new Map([["a0", ["1.0;1.0;"]]]));
    assert.deepEqual(twice.duplicated, ["a0: 1.0; x2"]);

    const stray = checkAppends(lines(), new Map([["a0", ["1.0;9.9;"]]]));
    assert.deepEqual(stray.unexpected, ["a0: 9.9;"]);

    const unread = checkAppends(lines(), new Map());
    assert.equal(unread.valid, false, "a key no final read saw cannot be vouched for");
    assert.deepEqual(splitTokens("1.0;2.0;"), ["1.0;", "2.0;"]);
    assert.deepEqual(splitTokens(null), []);
  });

  test("operations: fail is left out, info may or may not have happened, ok returned its output", () => {
    const { history: h, lines } = history();
    const write = h.invoke(1, { f: "write", key: "r0", value: "x" });
    h.complete(write, 1, { type: "info", error: "timeout", attempts: 3 });
    const refused = h.invoke(2, { f: "write", key: "r0", value: "y" });
    h.complete(refused, 2, { type: "fail", error: "ECONNREFUSED", attempts: 1 });
    const read = h.invoke(3, { f: "read", key: "r0" });
    h.complete(read, 3, { type: "ok", value: "x", node: 2, attempts: 1 });
    const cas = h.invoke(3, { f: "cas", key: "r0", expected: "x", value: "z" });
    h.complete(cas, 3, { type: "ok", swapped: true, node: 1, attempts: 1 });
    const operations = checkableOperations(lines());
    assert.deepEqual(
      operations.map((operation) => [operation.id, operation.returned === null, operation.input.kind]),
      [
        [write, true, "put"],
        [read, false, "get"],
        [cas, false, "cas"],
      ],
    );
    assert.equal(checkLinearizable(lines()).valid, true, "the indeterminate write explains the read");
    const counts = countOperations(lines());
    assert.deepEqual([counts.invoked, counts.ok, counts.fail, counts.info, counts.open], [4, 2, 1, 1, 0]);
  });

  test("a read of a value already overwritten before the read began is caught", () => {
    const { history: h, lines } = history();
    for (const [process, value] of [
      [1, "old"],
      [2, "new"],
    ] as const) {
      const id = h.invoke(process, { f: "write", key: "r0", value });
      h.complete(id, process, { type: "ok", node: 1, attempts: 1 });
    }
    const stale = h.invoke(3, { f: "read", key: "r0" });
    h.complete(stale, 3, { type: "ok", value: "old", node: 3, attempts: 1 });
    const verdict = checkLinearizable(lines());
    assert.equal(verdict.valid, false);
    assert.match(verdict.summary, /^illegal/);
  });

  test("node logs: error and fatal lines, stack traces and stray output are findings; the usual lines are not", () => {
    const stdout = join(dir, "node-1.log");
    const stderr = join(dir, "node-1.stderr.log");
    writeFileSync(
      stdout,
      [
        JSON.stringify({ level: 30, msg: "became leader in term 2" }),
        JSON.stringify({ level: 40, msg: "connection reset" }),
        JSON.stringify({ level: 50, msg: "request handler failed" }),
        JSON.stringify({ level: 60, msg: "node stopping" }),
        "plain text",
      ].join("\n"),
    );
    writeFileSync(
      stderr,
      [
        'tsraft node 1 of cluster "jepsen" serving: peers on 127.0.0.1:1, API http://127.0.0.1:2, data in /d (members 1=a)',
        "tsraft serve: UNSAFE DEBUG SWITCHES ON (--unsafe-local-reads): this node may ...",
        "TypeError: Cannot read properties of undefined",
        "    at file:///x.ts:1:1",
      ].join("\n"),
    );
    const findings = scanNodeLogs([{ id: 1, stdout, stderr }]);
    assert.deepEqual(
      findings.map((finding) => finding.line.slice(0, 30)),
      [
        '{"level":50,"msg":"request han',
        '{"level":60,"msg":"node stoppi',
        "not a log line: plain text",
        "TypeError: Cannot read propert",
        "    at file:///x.ts:1:1",
      ],
    );
    assert.equal(checkNodeHealth(findings, [], []).valid, false);
    assert.equal(checkNodeHealth([], [], []).valid, true);
    const crashed = checkNodeHealth([], [{ node: 2, at: 1500, code: 1, signal: null }], []);
    assert.match(crashed.details?.[0] ?? "", /node 2 exited on its own at 1\.5 s \(status 1\)/);
  });
});
