/**
 * `npm run test:unit`: runs every `*.test.ts` under `test/` with Node's test runner. Node 20's runner expands
 * no globs and finds no `.ts` files by itself (DESIGN.md §9), so this script finds them and passes the list.
 *
 * Usage: `tsx scripts/run-tests.ts [filter...]`. Each filter is a substring of a file's path (relative to
 * the project, like `test/lab/election.test.ts`); a file runs if it contains any of them. With no filter every
 * test file runs. `TSRAFT_TEST_CONCURRENCY` sets how many files run at once (default 2, this machine's cores).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Files run at once when `TSRAFT_TEST_CONCURRENCY` is unset: the CI machine has two cores. */
const DEFAULT_CONCURRENCY = 2;

const root = fileURLToPath(new URL("..", import.meta.url));

/** Lists `*.test.ts` files under `<root>/<directory>`, as project-relative `/` paths, sorted. */
function findTestFiles(directory: string): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && entry.name.endsWith(".test.ts")) found.push(child);
    }
  };
  walk(directory);
  return found.sort();
}

/** Reads the concurrency from the environment, refusing anything but a positive integer. */
function concurrency(): number {
  const setting = process.env.TSRAFT_TEST_CONCURRENCY;
  if (setting === undefined || setting === "") return DEFAULT_CONCURRENCY;
  const value = Number(setting);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`run-tests: TSRAFT_TEST_CONCURRENCY must be a positive integer, got "${setting}"`);
    process.exit(1);
  }
  return value;
}

const filters = process.argv.slice(2);
const files = findTestFiles("test").filter(
  (file) => filters.length === 0 || filters.some((filter) => file.includes(filter)),
);
if (files.length === 0) {
  const what = filters.length === 0 ? "" : ` matching ${filters.map((filter) => `"${filter}"`).join(" or ")}`;
  console.error(`run-tests: no *.test.ts files under test/${what}`);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency()}`, ...files],
  { cwd: root, stdio: "inherit" },
);
if (result.error !== undefined) {
  console.error(`run-tests: could not start node: ${result.error.message}`);
  process.exit(1);
}
if (result.signal !== null) {
  console.error(`run-tests: test runner killed by ${result.signal}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
