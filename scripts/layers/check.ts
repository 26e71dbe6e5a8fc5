import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ALL_BANNED_NAMES,
  computedImportViolation,
  importViolation,
  LAYERS,
  type Layer,
  nameViolation,
  placePath,
  typeReferenceViolation,
} from "./rules.ts";
import { scanSource } from "./scan.ts";

/** One broken rule, located by project-relative path (with `/` separators) and 1-based line. */
export interface Violation {
  readonly path: string;
  readonly line: number;
  readonly message: string;
}

/**
 * Checks one source file against the layer rules. `path` is relative to the project root with `/`
 * separators (`src/core/raft-log.ts`); it decides the layer and resolves relative imports. Pure: the same
 * path and text always give the same violations, in line order.
 */
export function checkSource(path: string, text: string): Violation[] {
  const placement = placePath(path);
  if (placement.kind === "outside-layers") {
    return [{ path, line: 1, message: "not inside a layer folder: source files live in src/<layer>/" }];
  }
  if (placement.kind === "unknown-folder") {
    const message = `src/${placement.folder} is not a layer; add it to LAYER_RULES in scripts/layers/rules.ts`;
    return [{ path, line: 1, message }];
  }
  const layer = placement.layer;
  const scan = scanSource(path, text, ALL_BANNED_NAMES);
  const violations: Violation[] = [];
  const add = (line: number, message: string | undefined): void => {
    if (message !== undefined) violations.push({ path, line, message });
  };
  for (const { specifier, line } of scan.imports) {
    add(
      line,
      specifier === undefined ? computedImportViolation(layer) : importViolation(layer, path, specifier),
    );
  }
  for (const { name, line, declares } of scan.names) add(line, nameViolation(layer, name, declares));
  for (const { types, line } of scan.typeReferences) add(line, typeReferenceViolation(layer, types));
  return violations.sort((a, b) => a.line - b.line);
}

/** True for the files the checker reads: TypeScript sources, declaration files included. */
function isSourceFile(name: string): boolean {
  return /\.(?:ts|tsx|mts|cts)$/.test(name);
}

/**
 * Lists the source files under `<root>/src`, as project-relative paths with `/` separators, sorted so the
 * report is stable. Symbolic links are not followed. Throws if `<root>/src` cannot be read.
 */
export function listSourceFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && isSourceFile(entry.name)) found.push(child);
    }
  };
  walk("src");
  return found.sort();
}

/** What {@link checkTree} found. */
export interface TreeReport {
  /** How many source files were checked. */
  readonly files: number;
  /** The layer folders that hold at least one source file, in stack order. */
  readonly layers: readonly Layer[];
  /** Every violation, by file and then line. */
  readonly violations: readonly Violation[];
}

/** Checks every source file under `<root>/src`. Layer folders that do not exist yet are simply absent. */
export function checkTree(root: string): TreeReport {
  const paths = listSourceFiles(root);
  const present = new Set(paths.map((path) => path.split("/")[1]));
  const violations = paths.flatMap((path) => checkSource(path, readFileSync(join(root, path), "utf8")));
  return { files: paths.length, layers: LAYERS.filter((layer) => present.has(layer)), violations };
}
