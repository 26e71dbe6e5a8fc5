/**
 * The script file format (see test/core/testdata/README.md):
 *
 *     # comment lines and blank lines, kept as they are
 *     command arg key=value
 *     ----
 *     expected output, one or more lines
 *     (ended by a blank line or the end of the file)
 *
 * Output never contains a blank line (an empty output is printed as `ok`), so a blank line always ends it.
 * A parsed script renders back to the same text, which lets the update mode rewrite only the outputs.
 */
import { ScriptError } from "./args.ts";

export const SEPARATOR = "----";

/** Comment and blank lines, kept verbatim. */
export interface TextSegment {
  readonly kind: "text";
  readonly lines: readonly string[];
}

/** One command and the output the script expects from it. */
export interface CaseSegment {
  readonly kind: "case";
  /** 1-based line number of the command in its file. */
  readonly line: number;
  readonly command: string;
  readonly expected: readonly string[];
}

export type Segment = TextSegment | CaseSegment;

/** Splits a script into its segments; `file` names it in errors. */
export function parseScript(text: string, file: string): Segment[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const segments: Segment[] = [];
  let pendingText: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === "" || line.trimStart().startsWith("#")) {
      pendingText.push(line);
      i++;
      continue;
    }
    if (line === SEPARATOR)
      throw new ScriptError(`${file}:${i + 1}: "${SEPARATOR}" without a command before it`);
    if (lines[i + 1] !== SEPARATOR) {
      throw new ScriptError(`${file}:${i + 1}: command "${line}" must be followed by a "${SEPARATOR}" line`);
    }
    if (pendingText.length > 0) segments.push({ kind: "text", lines: pendingText });
    pendingText = [];
    const commandLine = i + 1;
    i += 2;
    const expected: string[] = [];
    while (i < lines.length && (lines[i] as string).trim() !== "") {
      expected.push(lines[i] as string);
      i++;
    }
    segments.push({ kind: "case", line: commandLine, command: line, expected });
  }
  if (pendingText.length > 0) segments.push({ kind: "text", lines: pendingText });
  return segments;
}

/** Renders segments back to text; `outputs` replaces the expected output of the cases it has an entry for. */
export function renderScript(
  segments: readonly Segment[],
  outputs: ReadonlyMap<CaseSegment, readonly string[]> = new Map(),
): string {
  const lines: string[] = [];
  for (const segment of segments) {
    if (segment.kind === "text") {
      lines.push(...segment.lines);
    } else {
      lines.push(segment.command, SEPARATOR, ...(outputs.get(segment) ?? segment.expected));
    }
  }
  return `${lines.join("\n")}\n`;
}
