/**
 * Adds lockfile entries for optional platform packages that this machine's npm registry does not serve.
 *
 * Why: the registry reachable here mirrors only some platform builds (for example @biomejs/cli-linux-x64 but
 * not @biomejs/cli-win32-x64). `npm install` then leaves those optional dependencies out of
 * package-lock.json, and `npm ci` refuses the lockfile as out of sync. An entry marked optional, with the
 * package's os/cpu, makes `npm ci` skip it on every other platform, exactly as for a complete lockfile.
 *
 * Run after changing dependencies: `npm run lock` (npm install, then this script).
 */
import { readFileSync, writeFileSync } from "node:fs";

interface LockPackage {
  version?: string;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  optionalDependencies?: Record<string, string>;
}

const OS_NAMES = ["android", "darwin", "linux", "win32", "freebsd", "openbsd", "sunos", "aix"];
const CPU_NAMES = ["arm64", "x64", "arm", "ia32", "ppc64", "s390x", "riscv64", "loong64", "mips64el"];

/** Reads os, cpu and libc from a platform package name such as `@biomejs/cli-linux-x64-musl`. */
function platformOf(name: string): { os: string; cpu: string; libc?: string } | undefined {
  const parts = (name.split("/").pop() ?? name).split("-");
  const os = parts.find((part) => OS_NAMES.includes(part));
  const cpu = parts.find((part) => CPU_NAMES.includes(part));
  if (os === undefined || cpu === undefined) return undefined;
  return parts.includes("musl")
    ? { os, cpu, libc: "musl" }
    : os === "linux"
      ? { os, cpu, libc: "glibc" }
      : { os, cpu };
}

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8")) as { packages: Record<string, LockPackage> };
const added: string[] = [];
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location}/node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (lock.packages[nested] !== undefined || lock.packages[hoisted] !== undefined) continue;
    const platform = platformOf(name);
    if (platform === undefined || !/^\d+\.\d+\.\d+$/.test(range)) {
      throw new Error(`cannot complete ${name}@${range}: not an exactly-pinned platform package`);
    }
    lock.packages[hoisted] = {
      version: range,
      optional: true,
      os: [platform.os],
      cpu: [platform.cpu],
      ...(platform.libc === undefined ? {} : { libc: [platform.libc] }),
    };
    added.push(`${name}@${range}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(
  added.length === 0 ? "lockfile complete" : `added ${added.length} platform entries: ${added.join(", ")}`,
);
