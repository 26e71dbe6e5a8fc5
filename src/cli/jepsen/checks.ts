/**
 * The verdicts of a run: linearizability of the whole history (src/check, per key), acknowledged appends
 * present exactly once in the final values, replicas that agree after healing, and node logs free of
 * crashes, unhandled errors and error or fatal lines.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import {
  checkOperations,
  describeResult,
  type KvInput,
  type KvOutput,
  kvModel,
  type Operation,
} from "../../check/index.ts";
import type { UnexpectedExit } from "./cluster.ts";
import { checkableOperations, type HistoryLine } from "./history.ts";
import { APPEND_TOKEN_END } from "./workload.ts";

/** One verdict: passed or not, with a short summary and the details a person needs to look further. */
export interface Verdict {
  readonly name: string;
  readonly valid: boolean;
  readonly summary: string;
  readonly details?: readonly string[];
}

/** Search steps the linearizability check may take; running out is a failed run (an `unknown` verdict). */
export const CHECK_STEPS_MAX = 200_000_000;
/** Wall-clock budget of the linearizability check; running out is a failed run too. */
export const CHECK_DEADLINE_MS = 300_000;

/** Linearizability of every key's history; "unknown" (budget exhausted) fails too. */
export function checkLinearizable(lines: readonly HistoryLine[]): Verdict & { steps: number } {
  const operations = checkableOperations(lines);
  const deadline = performance.now() + CHECK_DEADLINE_MS;
  const result = checkOperations(kvModel, operations, {
    timeoutSteps: CHECK_STEPS_MAX,
    deadline: () => performance.now() > deadline,
  });
  const text = describeResult(result);
  let summary = `${result.outcome}: ${operations.length} operations in ${result.partitions} keys, ${result.steps} search steps`;
  if (result.outcome === "illegal") {
    // The checker stops at the first illegal key; how many there are says how widespread the anomaly is.
    const illegalKeys = countIllegalKeys(operations, deadline);
    summary += `; ${illegalKeys.illegal} of ${illegalKeys.checked} keys checked on their own are not linearizable`;
  }
  return {
    name: "linearizable",
    valid: result.outcome === "ok",
    summary,
    steps: result.steps,
    ...(result.outcome === "ok" ? {} : { details: text.split("\n") }),
  };
}

/** Checks each key's operations on its own (within the same deadline) and counts the illegal ones. */
function countIllegalKeys(
  operations: readonly Operation<KvInput, KvOutput>[],
  deadline: number,
): { illegal: number; checked: number } {
  const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
  for (const operation of operations) {
    const list = byKey.get(operation.input.key);
    if (list === undefined) byKey.set(operation.input.key, [operation]);
    else list.push(operation);
  }
  let illegal = 0;
  let checked = 0;
  for (const keyOperations of byKey.values()) {
    if (performance.now() > deadline) break;
    const result = checkOperations(kvModel, keyOperations, {
      timeoutSteps: CHECK_STEPS_MAX,
      deadline: () => performance.now() > deadline,
    });
    if (result.outcome === "unknown") continue;
    checked++;
    if (result.outcome === "illegal") illegal++;
  }
  return { illegal, checked };
}

/** The values of each append key that the final reads (one per node) saw, in the order they completed. */
export type FinalValues = ReadonlyMap<string, readonly (string | null)[]>;

/**
 * Lost and duplicated writes on append keys: every acknowledged append's token must be in every final read
 * of its key (they all began after the clients stopped) exactly once; a token never invoked must not be
 * there at all. Indeterminate appends may be there once, or not at all.
 */
export function checkAppends(
  lines: readonly HistoryLine[],
  finals: FinalValues,
): Verdict & {
  acknowledged: number;
  lost: string[];
  duplicated: string[];
  unexpected: string[];
  indeterminatePresent: number;
} {
  const invokes = new Map<number, Extract<HistoryLine, { type: "invoke" }>>();
  const acknowledged = new Map<string, Set<string>>();
  const attempted = new Map<string, Set<string>>();
  let acknowledgedCount = 0;
  for (const line of lines) {
    if (line.type === "invoke") {
      if (line.f !== "append") continue;
      invokes.set(line.id, line);
      setOf(attempted, line.key).add(line.value ?? "");
      continue;
    }
    const invoke = invokes.get(line.id);
    if (invoke === undefined || line.type !== "ok") continue;
    setOf(acknowledged, invoke.key).add(invoke.value ?? "");
    acknowledgedCount++;
  }
  const lost: string[] = [];
  const duplicated: string[] = [];
  const unexpected: string[] = [];
  let indeterminatePresent = 0;
  for (const [key, tried] of attempted) {
    const reads = finals.get(key) ?? [];
    if (reads.length === 0) {
      lost.push(`${key}: no final read succeeded, so none of its appends can be confirmed`);
      continue;
    }
    const acked = acknowledged.get(key) ?? new Set<string>();
    const missing = new Map<string, number>();
    const twice = new Set<string>();
    const stray = new Set<string>();
    let seen = new Map<string, number>();
    for (const value of reads) {
      seen = new Map<string, number>();
      for (const token of splitTokens(value)) seen.set(token, (seen.get(token) ?? 0) + 1);
      for (const [token, count] of seen) {
        if (!tried.has(token)) stray.add(token);
        else if (count > 1) twice.add(`${token} x${count}`);
      }
      for (const token of acked) if (!seen.has(token)) missing.set(token, (missing.get(token) ?? 0) + 1);
    }
    for (const [token, count] of missing)
      lost.push(`${key}: ${token} (missing from ${count} of ${reads.length} final reads)`);
    for (const token of twice) duplicated.push(`${key}: ${token}`);
    for (const token of stray) unexpected.push(`${key}: ${token}`);
    // From the last final read: how many appends whose outcome the client never learned did happen.
    for (const token of tried) if (!acked.has(token) && seen.has(token)) indeterminatePresent++;
  }
  const valid = lost.length === 0 && duplicated.length === 0 && unexpected.length === 0;
  const summary = valid
    ? `every one of ${acknowledgedCount} acknowledged appends is in every final read of its key, exactly once (${indeterminatePresent} indeterminate appends took effect)`
    : `${lost.length} acknowledged appends lost, ${duplicated.length} applied twice, ${unexpected.length} never written`;
  return {
    name: "no-lost-writes",
    valid,
    summary,
    acknowledged: acknowledgedCount,
    lost,
    duplicated,
    unexpected,
    indeterminatePresent,
    ...(valid
      ? {}
      : {
          details: [
            ...lost.map((l) => `lost ${l}`),
            ...duplicated.map((d) => `twice ${d}`),
            ...unexpected.map((u) => `never written ${u}`),
          ].slice(0, 200),
        }),
  };
}

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

/** The tokens of an append key's value, each with its terminator. */
export function splitTokens(value: string | null): string[] {
  if (value === null || value === "") return [];
  return value
    .split(APPEND_TOKEN_END)
    .filter((token) => token !== "")
    .map((token) => `${token}${APPEND_TOKEN_END}`);
}

/** A line of a node's output that is not expected of a healthy node. */
export interface LogFinding {
  readonly node: number;
  readonly file: string;
  readonly line: string;
}

/**
 * Lines on stderr a healthy node prints: the start line, the stop line after SIGTERM, and the warning a
 * node with unsafe switches prints about itself.
 */
const EXPECTED_STDERR = [
  /^tsraft node \d+ of cluster "[^"]*" serving: /,
  /^tsraft serve: UNSAFE DEBUG SWITCHES ON /,
];

/** pino's level numbers: error is 50, fatal 60. */
const PINO_ERROR_LEVEL = 50;

/**
 * Scans each node's stdout (pino JSON lines) and stderr for anything a healthy node does not print: error
 * or fatal lines, lines that are not JSON, uncaught exceptions and unhandled rejections (stack traces on
 * stderr), and any other stderr output.
 */
export function scanNodeLogs(nodes: readonly { id: number; stdout: string; stderr: string }[]): LogFinding[] {
  const findings: LogFinding[] = [];
  for (const { id, stdout, stderr } of nodes) {
    for (const line of readLines(stdout)) {
      let parsed: { level?: unknown } | null = null;
      try {
        parsed = JSON.parse(line) as { level?: unknown };
      } catch {
        findings.push({ node: id, file: stdout, line: `not a log line: ${line}` });
        continue;
      }
      if (typeof parsed?.level === "number" && parsed.level >= PINO_ERROR_LEVEL) {
        findings.push({ node: id, file: stdout, line });
      }
    }
    for (const line of readLines(stderr)) {
      if (EXPECTED_STDERR.some((pattern) => pattern.test(line))) continue;
      findings.push({ node: id, file: stderr, line });
    }
  }
  return findings;
}

function readLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter((line) => line.trim() !== "");
}

/** The verdict on node logs and process exits. */
export function checkNodeHealth(
  findings: readonly LogFinding[],
  unexpectedExits: readonly UnexpectedExit[],
  unclean: readonly string[],
): Verdict {
  const details = [
    ...unexpectedExits.map(
      (exit) =>
        `node ${exit.node} exited on its own at ${(exit.at / 1000).toFixed(1)} s (${exit.signal ?? `status ${exit.code}`})`,
    ),
    ...unclean,
    ...findings.slice(0, 100).map((finding) => `node ${finding.node}: ${finding.line.slice(0, 400)}`),
  ];
  const valid = details.length === 0;
  return {
    name: "node-health",
    valid,
    summary: valid
      ? "no crash, no unhandled error, no error or fatal log line; every node stopped cleanly on SIGTERM"
      : `${unexpectedExits.length} crashes, ${unclean.length} unclean stops, ${findings.length} unexpected log lines`,
    ...(valid ? {} : { details }),
  };
}
