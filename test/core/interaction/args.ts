/**
 * The arguments of one script command. A command line is a name followed by tokens separated by spaces; a
 * token is a bare word (`3`, `hello`), a double-quoted string (`"two words"`), or a `key=value` pair whose
 * value is a word, a quoted string or a parenthesised list (`voters=(1,2,3)`, spaces allowed inside).
 *
 * Commands read their arguments through {@link Args}, which remembers what was read, so that {@link Args.done}
 * can reject anything left over: a misspelt key fails the script instead of being silently ignored.
 */
import { asNodeId, type NodeId } from "../../../src/core/index.ts";

/** A mistake in a script (unknown command, bad argument): reported with the file and line, never golden. */
export class ScriptError extends Error {
  override name = "ScriptError";
}

export interface CommandLine {
  readonly name: string;
  readonly positional: readonly string[];
  readonly keyed: ReadonlyMap<string, KeyedValue>;
}

/** A keyed value: a single word, or a parenthesised list of words. */
export type KeyedValue =
  | { readonly kind: "word"; readonly text: string }
  | { readonly kind: "list"; readonly items: readonly string[] };

/** Splits a command line into its name, positional tokens and keyed values. */
export function parseCommandLine(line: string): CommandLine {
  const tokens = tokenize(line);
  const [name, ...rest] = tokens;
  if (name === undefined) throw new ScriptError("empty command");
  const positional: string[] = [];
  const keyed = new Map<string, KeyedValue>();
  for (const token of rest) {
    const equals = token.quoted ? -1 : token.text.indexOf("=");
    if (equals <= 0) {
      positional.push(token.text);
      continue;
    }
    const key = token.text.slice(0, equals);
    const raw = token.text.slice(equals + 1);
    if (keyed.has(key)) throw new ScriptError(`argument ${key}= given twice`);
    keyed.set(key, parseValue(raw, token.valueQuoted));
  }
  return { name: name.text, positional, keyed };
}

interface Token {
  readonly text: string;
  /** The whole token was a quoted string: never a key=value pair. */
  readonly quoted: boolean;
  /** The value after `=` was a quoted string: never a list. */
  readonly valueQuoted: boolean;
}

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " " || line[i] === "\t") {
      i++;
      continue;
    }
    let text = "";
    let quoted = false;
    let valueQuoted = false;
    while (i < line.length && line[i] !== " " && line[i] !== "\t") {
      const char = line[i] as string;
      if (char === '"') {
        const end = line.indexOf('"', i + 1);
        if (end === -1) throw new ScriptError(`unterminated quote in: ${line}`);
        if (text === "") quoted = true;
        else valueQuoted = true;
        text += line.slice(i + 1, end);
        i = end + 1;
      } else if (char === "(") {
        const end = line.indexOf(")", i + 1);
        if (end === -1) throw new ScriptError(`unterminated list in: ${line}`);
        text += line.slice(i, end + 1);
        i = end + 1;
      } else {
        text += char;
        i++;
      }
    }
    tokens.push({ text, quoted, valueQuoted });
  }
  return tokens;
}

function parseValue(raw: string, quoted: boolean): KeyedValue {
  if (!quoted && raw.startsWith("(") && raw.endsWith(")")) {
    const inner = raw.slice(1, -1).trim();
    const items = inner === "" ? [] : inner.split(",").map((item) => item.trim());
    return { kind: "list", items };
  }
  return { kind: "word", text: raw };
}

/** Typed, checked access to one command's arguments. */
export class Args {
  readonly #line: CommandLine;
  readonly #usedKeys = new Set<string>();
  #nextPositional = 0;

  constructor(line: CommandLine) {
    this.#line = line;
  }

  /** Positional tokens not read yet. */
  get remaining(): number {
    return this.#line.positional.length - this.#nextPositional;
  }

  /** The next positional token; `what` names it in the error when it is missing. */
  word(what: string): string {
    const token = this.#line.positional[this.#nextPositional];
    if (token === undefined) throw new ScriptError(`missing ${what}`);
    this.#nextPositional++;
    return token;
  }

  /** The next positional token as a non-negative integer. */
  int(what: string): number {
    return toInt(this.word(what), what);
  }

  optionalInt(what: string, fallback: number): number {
    return this.remaining > 0 ? this.int(what) : fallback;
  }

  id(what = "node id"): NodeId {
    return asNodeId(this.int(what));
  }

  /** Every positional token left, as node ids. */
  restIds(): NodeId[] {
    const ids: NodeId[] = [];
    while (this.remaining > 0) ids.push(this.id());
    return ids;
  }

  /** Consumes the next positional token if it is `name` (a bare flag like `join`); returns whether it was. */
  flag(name: string): boolean {
    if (this.#line.positional[this.#nextPositional] !== name) return false;
    this.#nextPositional++;
    return true;
  }

  has(key: string): boolean {
    return this.#line.keyed.has(key);
  }

  keyedWord(key: string): string | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    if (value.kind !== "word") throw new ScriptError(`${key}= takes a single value, not a list`);
    return value.text;
  }

  keyedInt(key: string, fallback: number): number {
    const text = this.keyedWord(key);
    return text === undefined ? fallback : toInt(text, `${key}=`);
  }

  keyedBool(key: string, fallback: boolean): boolean {
    const text = this.keyedWord(key);
    if (text === undefined) return fallback;
    if (text === "true") return true;
    if (text === "false") return false;
    throw new ScriptError(`${key}= must be true or false, got ${text}`);
  }

  /** A list of node ids: `key=(1,2,3)`, or a single id `key=2`. */
  keyedIds(key: string): NodeId[] | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    const items = value.kind === "list" ? value.items : [value.text];
    return items.map((item) => asNodeId(toInt(item, `${key}=`)));
  }

  /** Rejects any argument no reader asked for. Every command calls it before acting. */
  done(): void {
    if (this.remaining > 0) {
      throw new ScriptError(`unexpected argument ${this.#line.positional[this.#nextPositional]}`);
    }
    for (const key of this.#line.keyed.keys()) {
      if (!this.#usedKeys.has(key)) throw new ScriptError(`unknown argument ${key}=`);
    }
  }

  #take(key: string): KeyedValue | undefined {
    this.#usedKeys.add(key);
    return this.#line.keyed.get(key);
  }
}

function toInt(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new ScriptError(`${what} must be a non-negative integer, got "${text}"`);
  return Number(text);
}
