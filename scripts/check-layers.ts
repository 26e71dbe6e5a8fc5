/**
 * `npm run layers`: enforces DESIGN.md §6 ("Who may import what") and the banned globals of the pure layers
 * over every source file under `src/`. The rules are the table in `scripts/layers/rules.ts`.
 *
 * Usage: `tsx scripts/check-layers.ts [root]`, where `root` is the project directory holding `src/`
 * (default: this repository). Prints each violation as `file:line: message` and exits 1 if there is any;
 * exits 2 if `root/src` cannot be read.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkTree } from "./layers/check.ts";

const [rootArgument, ...extra] = process.argv.slice(2);
if (extra.length > 0) {
  console.error("usage: check-layers [root]");
  process.exit(2);
}
const root = resolve(rootArgument ?? fileURLToPath(new URL("..", import.meta.url)));
if (!existsSync(join(root, "src"))) {
  console.error(`check-layers: ${join(root, "src")} does not exist`);
  process.exit(2);
}

/** Paths relative to the working directory when inside it, so editors and terminals can open them. */
function displayPath(projectPath: string): string {
  const absolute = join(root, projectPath);
  const fromHere = relative(process.cwd(), absolute);
  return fromHere.startsWith("..") || isAbsolute(fromHere) ? absolute : fromHere;
}

const report = checkTree(root);
for (const { path, line, message } of report.violations) {
  console.error(`${displayPath(path)}:${line}: ${message}`);
}
if (report.violations.length > 0) {
  const files = new Set(report.violations.map((violation) => violation.path)).size;
  console.error(`layers: ${report.violations.length} violation(s) in ${files} of ${report.files} files`);
  process.exit(1);
}
const layers = report.layers.length > 0 ? report.layers.join(", ") : "none yet";
console.log(`layers: ${report.files} files checked (layers: ${layers}), no violations`);
