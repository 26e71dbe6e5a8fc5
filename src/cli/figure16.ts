/**
 * `tsraft figure16`: Figure 16 of the extended Raft paper (§9.3), reproduced in the simulator. Runs every
 * election-timeout range of the figure under each latency model, prints a table per model, and optionally
 * writes the chart (SVG) and the tables into a Markdown file.
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  FIGURE16_CAP_MS,
  FIGURE16_SERIES,
  type Figure16Result,
  type Figure16Series,
  formatFigure16Markdown,
  formatFigure16Table,
  LATENCY_MODELS,
  type LatencyModel,
  type LogsSetup,
  rangeLabel,
  renderFigure16Svg,
  runFigure16,
} from "../sim/figure16.ts";
import { EXIT_OK } from "./exit-status.ts";
import { positiveOption, seedOption } from "./parse.ts";

/** The settings of one `tsraft figure16` invocation, after parsing. */
export interface Figure16CommandOptions {
  readonly seed: number;
  readonly trials: number;
  readonly capMs: number;
  /** A latency model's name, or "both". */
  readonly latency: string;
  readonly logs: LogsSetup;
  /** Comma-separated ranges ("150-155,12-24"); undefined for all ten. */
  readonly ranges: string | undefined;
  readonly svg: string | undefined;
  readonly markdown: string | undefined;
}

/** The options as commander hands them over: the optional ones are absent when not given. */
interface RawFigure16Options {
  readonly seed: number;
  readonly trials: number;
  readonly capMs: number;
  readonly latency: string;
  readonly logs: LogsSetup;
  readonly ranges?: string;
  readonly svg?: string;
  readonly markdown?: string;
}

/** Marks the part of the Markdown file this command owns; everything outside them is left alone. */
const BEGIN_MARK =
  "<!-- figure16:begin (written by `tsraft figure16`; edits between the marks are replaced) -->";
const END_MARK = "<!-- figure16:end -->";

/** Adds `tsraft figure16` to the program. */
export function registerFigure16Command(program: Command): void {
  program
    .command("figure16")
    .description("reproduce Figure 16 of the Raft paper: time to elect a new leader after the leader crashes")
    .option("--seed <n>", "seed of the experiment (the same seed gives the same numbers)", seedOption, 1)
    .option("--trials <n>", "trials per election-timeout range", positiveOption, 1000)
    .option(
      "--cap-ms <n>",
      "give up on a trial after this much virtual time without a leader",
      positiveOption,
      FIGURE16_CAP_MS,
    )
    .addOption(
      new Option("--latency <model>", "where the ~15 ms broadcast time goes")
        .choices([...LATENCY_MODELS.map((model) => model.name), "both"])
        .default("both"),
    )
    .addOption(
      new Option(
        "--logs <setup>",
        "followers' logs at the crash: all equal, or two of four behind (as in the paper)",
      )
        .choices(["equal", "two-behind"])
        .default("equal"),
    )
    .option("--ranges <list>", "only these ranges, comma-separated, e.g. 150-155,12-24", parseRanges)
    .option("--svg <file>", "write the chart as SVG")
    .option("--markdown <file>", "write the tables into this Markdown file (between its figure16 marks)")
    .action(async (options: RawFigure16Options) => {
      process.exitCode = await runFigure16Command({
        ...options,
        ranges: options.ranges,
        svg: options.svg,
        markdown: options.markdown,
      });
    });
}

/** Checks a `--ranges` list against the figure's ranges; commander reports the error with the option. */
function parseRanges(value: string): string {
  selectSeries(value);
  return value;
}

/** The figure's ranges named in `list` ("150-155,12-24"), in the figure's order. */
export function selectSeries(list: string | undefined): readonly Figure16Series[] {
  if (list === undefined) return FIGURE16_SERIES;
  const wanted = new Set(list.split(",").map((item) => item.trim().replace("–", "-")));
  const chosen = FIGURE16_SERIES.filter(({ range }) => wanted.delete(`${range.minMs}-${range.maxMs}`));
  if (wanted.size > 0 || chosen.length === 0) {
    const known = FIGURE16_SERIES.map(({ range }) => `${range.minMs}-${range.maxMs}`).join(", ");
    throw new InvalidArgumentError(
      `unknown range ${[...wanted].join(", ") || "(none)"}; Figure 16 has ${known}.`,
    );
  }
  return chosen;
}

/** Runs the command; returns the exit status. */
export async function runFigure16Command(options: Figure16CommandOptions): Promise<number> {
  const models: readonly LatencyModel[] =
    options.latency === "both"
      ? LATENCY_MODELS
      : LATENCY_MODELS.filter((model) => model.name === options.latency);
  const series = selectSeries(options.ranges);
  const started = performance.now();
  const results: Figure16Result[] = [];
  for (const latency of models) {
    let rangeStarted = performance.now();
    const result = runFigure16({
      seed: options.seed,
      trials: options.trials,
      capMs: options.capMs,
      latency,
      logs: options.logs,
      series,
      onSeries: (done, index, of) => {
        const now = performance.now();
        process.stderr.write(
          `figure16: ${latency.name} ${rangeLabel(done.series.range)} (${index + 1}/${of}): ` +
            `${done.stats.trials} trials in ${((now - rangeStarted) / 1000).toFixed(1)} s\n`,
        );
        rangeStarted = now;
      },
    });
    results.push(result);
    process.stdout.write(`${formatFigure16Table(result)}\n\n`);
  }
  const wallSeconds = (performance.now() - started) / 1000;
  process.stdout.write(`wall time ${wallSeconds.toFixed(1)} s\n`);
  if (options.svg !== undefined) {
    await writeFile(options.svg, renderFigure16Svg(results));
    process.stderr.write(`figure16: wrote ${options.svg}\n`);
  }
  if (options.markdown !== undefined) {
    await writeFile(
      options.markdown,
      updateMarkdown(readIfExists(options.markdown), results, commandLine(options)),
    );
    process.stderr.write(`figure16: wrote ${options.markdown}\n`);
  }
  return EXIT_OK;
}

/** The command that regenerates these results (without the output files). */
function commandLine(options: Figure16CommandOptions): string {
  const parts = ["tsraft figure16", `--seed ${options.seed}`, `--trials ${options.trials}`];
  if (options.capMs !== FIGURE16_CAP_MS) parts.push(`--cap-ms ${options.capMs}`);
  parts.push(`--latency ${options.latency}`);
  if (options.logs !== "equal") parts.push(`--logs ${options.logs}`);
  if (options.ranges !== undefined) parts.push(`--ranges ${options.ranges}`);
  return parts.join(" ");
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/**
 * Puts the generated tables between the file's marks, leaving the rest of it (method, discussion) alone. A
 * missing file gets a short one; a file without the marks gets the block appended.
 */
export function updateMarkdown(
  existing: string | undefined,
  results: readonly Figure16Result[],
  command: string,
): string {
  const block = [
    BEGIN_MARK,
    "",
    `Generated by \`${command}\`.`,
    "",
    ...results.flatMap((result) => [formatFigure16Markdown(result), ""]),
    END_MARK,
  ].join("\n");
  if (existing === undefined) return `# Figure 16, reproduced\n\n${block}\n`;
  const begin = existing.indexOf(BEGIN_MARK.slice(0, BEGIN_MARK.indexOf(" (")));
  const end = existing.indexOf(END_MARK);
  if (begin < 0 || end < begin) return `${existing.trimEnd()}\n\n${block}\n`;
  return existing.slice(0, begin) + block + existing.slice(end + END_MARK.length);
}
