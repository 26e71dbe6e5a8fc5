/**
 * What one script command prints, filtered by the log level. Three kinds of line:
 * - results: a command's own answer (a query's table, a proposal's outcome); always printed;
 * - events: a node changed role, term, leader or transfer target; printed unless the level is "none";
 * - details: the contents of Readies and every delivered message; printed only at level "all".
 * Details nest (a Ready's contents under its header, a message's consequences under the message); at lower
 * levels nothing is indented, since the headers are not printed.
 */

export const LOG_LEVELS = ["none", "events", "all"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const INDENT = "  ";

export class Output {
  readonly level: LogLevel;
  readonly lines: string[] = [];
  #depth = 0;

  constructor(level: LogLevel) {
    this.level = level;
  }

  result(text: string): void {
    this.#push(text);
  }

  event(text: string): void {
    if (this.level !== "none") this.#push(text);
  }

  detail(text: string): void {
    if (this.level === "all") this.#push(text);
  }

  /** Runs `body` with the lines it prints indented one step, when details are printed. */
  nested<T>(body: () => T): T {
    const indents = this.level === "all";
    if (indents) this.#depth++;
    try {
      return body();
    } finally {
      if (indents) this.#depth--;
    }
  }

  #push(text: string): void {
    this.lines.push(INDENT.repeat(this.#depth) + text);
  }
}
