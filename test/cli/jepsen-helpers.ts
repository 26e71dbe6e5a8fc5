/**
 * Runs `tsraft jepsen` as a user would (the CLI, in its own process) for the harness's tests, and reads the
 * summary it leaves behind.
 */
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunSummary } from "../../src/cli/jepsen/run.ts";
import { spawnTsraft } from "../drivers/server/process-cluster.ts";

export interface JepsenResult {
  readonly status: number | null;
  readonly output: string;
  readonly runDir: string;
  /** summary.json, or null when the run left none (a usage error). */
  readonly summary: RunSummary | null;
  /** summary.txt, for assertion messages. */
  readonly text: string;
  /** Removes the run directory (call it when the test passed; keep it for a failure). */
  readonly cleanup: () => void;
}

/** Runs `tsraft jepsen ...args --out <fresh dir>` to completion. */
export async function runJepsenCli(args: readonly string[]): Promise<JepsenResult> {
  const parent = mkdtempSync(join(tmpdir(), "tsraft-jepsen-"));
  const runDir = join(parent, "run");
  const run = spawnTsraft(["jepsen", ...args, "--out", runDir]);
  const [status] = (await once(run.child, "exit")) as [number | null];
  let summary: RunSummary | null = null;
  let text = "";
  try {
    summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as RunSummary;
    text = readFileSync(join(runDir, "summary.txt"), "utf8");
  } catch {
    // No summary: the command refused its arguments, or failed before checking. The output says why.
  }
  return {
    status,
    output: run.output(),
    runDir,
    summary,
    text,
    cleanup: () => rmSync(parent, { recursive: true, force: true }),
  };
}

/** The named verdict of a summary. */
export function verdict(summary: RunSummary, name: string): RunSummary["verdicts"][number] {
  const found = summary.verdicts.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no verdict ${name} in ${summary.runDir}`);
  return found;
}
