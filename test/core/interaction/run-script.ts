/**
 * Runs one script against a fresh {@link InteractionEnv}: every command in order, collecting what it prints.
 * Comparing with the expected outputs and rewriting them are left to the caller (interaction.test.ts).
 */
import { Args, parseCommandLine, ScriptError } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { lineDiff } from "./diff.ts";
import { InteractionEnv } from "./env.ts";
import { Output } from "./output.ts";
import { type CaseSegment, parseScript, type Segment } from "./script.ts";

/** What a command prints when it prints nothing, so that every output block has a line. */
export const EMPTY_OUTPUT = "ok";

/** The environment variable that makes the test rewrite the expected outputs instead of comparing them. */
export const UPDATE_VARIABLE = "TSRAFT_UPDATE_GOLDEN";

export interface ScriptRun {
  readonly segments: readonly Segment[];
  /** What each command printed. */
  readonly outputs: ReadonlyMap<CaseSegment, readonly string[]>;
}

export interface Mismatch {
  readonly segment: CaseSegment;
  readonly actual: readonly string[];
}

/** Parses and runs `text`; `file` names it in errors. Throws on a script error or a failed assertion. */
export function runScript(text: string, file: string): ScriptRun {
  const segments = parseScript(text, file);
  const env = new InteractionEnv();
  const outputs = new Map<CaseSegment, readonly string[]>();
  for (const segment of segments) {
    if (segment.kind === "case") outputs.set(segment, runCommand(env, segment, file));
  }
  return { segments, outputs };
}

function runCommand(env: InteractionEnv, segment: CaseSegment, file: string): string[] {
  const where = `${file}:${segment.line}: ${segment.command}`;
  try {
    const line = parseCommandLine(segment.command);
    const command = Object.hasOwn(COMMANDS, line.name) ? COMMANDS[line.name] : undefined;
    if (command === undefined) {
      throw new ScriptError(`unknown command "${line.name}"; known: ${Object.keys(COMMANDS).join(", ")}`);
    }
    const out = new Output(env.logLevel);
    try {
      command.run(env, new Args(line), out);
    } catch (error) {
      if (error instanceof ScriptError) throw new ScriptError(`${error.message}\n  usage: ${command.usage}`);
      throw error;
    }
    const lines = out.lines.length === 0 ? [EMPTY_OUTPUT] : out.lines;
    const blank = lines.findIndex((text) => text.trim() === "");
    if (blank !== -1) throw new Error(`the harness printed a blank line (line ${blank + 1} of the output)`);
    return lines;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${where}\n  ${message}`, { cause: error });
  }
}

/** The commands whose output differs from the script's, in script order. */
export function mismatches(run: ScriptRun): Mismatch[] {
  const found: Mismatch[] = [];
  for (const [segment, actual] of run.outputs) {
    const expected = segment.expected;
    if (expected.length !== actual.length || expected.some((line, i) => line !== actual[i])) {
      found.push({ segment, actual });
    }
  }
  return found;
}

/**
 * The failure report: where the first mismatch is, its diff, how many more there are (later ones usually
 * follow from the first), and how to accept the new outputs.
 */
export function describeMismatches(file: string, found: readonly Mismatch[], testPath: string): string {
  const [first] = found;
  if (first === undefined) return "";
  const lines = [
    `${file}:${first.segment.line}: output of "${first.segment.command}" differs from the golden file`,
    "  (- expected, + actual)",
    ...lineDiff(first.segment.expected, first.actual).map((line) => `  ${line}`),
  ];
  if (found.length > 1) {
    const others = found.slice(1).map((mismatch) => `${mismatch.segment.line}`);
    lines.push(`${found.length - 1} later command(s) differ too, at lines ${others.join(", ")}`);
  }
  lines.push(
    "If the new output is right, rewrite the golden files and review the diff:",
    `  ${UPDATE_VARIABLE}=1 npx tsx scripts/run-tests.ts ${testPath}`,
  );
  return lines.join("\n");
}
