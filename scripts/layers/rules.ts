import { isBuiltin } from "node:module";
import { posix } from "node:path";

/**
 * The layer rules of DESIGN.md §6 as data, plus the pure decisions made from them. Everything the checker
 * enforces is in {@link LAYER_RULES}; to let a layer use a new package or another layer, edit that table.
 */

/** The folders under `src/`, one per layer, from the bottom of the stack to the top. */
export const LAYERS = [
  "util",
  "core",
  "codec",
  "trace",
  "peer",
  "sim",
  "check",
  "kv",
  "lab",
  "jepsen",
  "drivers",
  "cli",
  "viz",
] as const;

/** The name of a layer, which is also its folder under `src/`. */
export type Layer = (typeof LAYERS)[number];

/**
 * Names that must not appear in a layer's code, each with the reason printed next to a violation. Keys are
 * global identifiers (`Date`), a global's member written `Global.member` (`Math.random`), or the keywords
 * `async` and `await`.
 */
export type BannedNames = Readonly<Record<string, string>>;

/** What one layer may depend on. */
export interface LayerRule {
  /** Other layers this layer may import; its own folder is always allowed. `"any"` also allows files outside `src/`. */
  readonly layers: readonly Layer[] | "any";
  /** npm packages this layer may import, by package name (subpaths such as `pure-rand/types/X` included). */
  readonly packages: readonly string[] | "any";
  /** Whether Node built-ins (`node:fs`, and bare names such as `fs`) may be imported. */
  readonly nodeBuiltins: boolean;
  /** Globals and keywords the layer's code must not mention (comments and strings excepted). */
  readonly banned: BannedNames;
}

/**
 * Banned in every pure layer: each of these reads the host's clock, randomness or environment, or schedules
 * work behind the simulator's back, and any of them makes a seeded run stop replaying. They also keep the
 * pure layers runnable in a browser.
 */
const HOST_GLOBALS: BannedNames = {
  Date: "wall-clock time breaks replay; time comes from ticks or the Clock port",
  "Math.random": "unseeded randomness breaks replay; use Random from util/random.ts with a seed",
  performance: "wall-clock time breaks replay; time comes from ticks or the Clock port",
  setTimeout: "host timers run behind the simulator's back; use the Clock port",
  setInterval: "host timers run behind the simulator's back; use the Clock port",
  setImmediate: "host scheduling runs behind the simulator's back; inject it as a port",
  queueMicrotask: "host scheduling runs behind the simulator's back; inject it as a port",
  process: "host state belongs in drivers or cli",
  console: "pure layers report through return values and trace events, not the console",
  require: "pure layers are ES modules with checked imports",
  globalThis: "reaching the host through globalThis bypasses every other rule here",
};

/** Banned in the core only, on top of {@link HOST_GLOBALS}: the core is synchronous (DESIGN.md §2). */
const SYNCHRONOUS_ONLY: BannedNames = {
  Promise: "the core is synchronous: inputs return a Ready batch, no Promises",
  async: "the core is synchronous: inputs return a Ready batch, no async functions",
  await: "the core is synchronous: inputs return a Ready batch, no await",
};

const NONE: BannedNames = {};

/**
 * DESIGN.md §6, "Who may import what". Where §6 is silent, §1 ("who uses it") decides: the core is used by
 * everything else, so kv may import it; the simulator uses the linearizability checker, so sim may import
 * check. Any other layer import or package needs an edit here.
 */
export const LAYER_RULES: Readonly<Record<Layer, LayerRule>> = {
  util: { layers: [], packages: ["pure-rand"], nodeBuiltins: false, banned: HOST_GLOBALS },
  core: {
    layers: ["util"],
    packages: [],
    nodeBuiltins: false,
    banned: { ...HOST_GLOBALS, ...SYNCHRONOUS_ONLY },
  },
  codec: { layers: ["core", "util"], packages: ["msgpackr"], nodeBuiltins: false, banned: HOST_GLOBALS },
  trace: { layers: ["core", "util"], packages: ["msgpackr"], nodeBuiltins: false, banned: HOST_GLOBALS },
  peer: {
    layers: ["core", "codec", "trace", "util"],
    packages: [],
    nodeBuiltins: false,
    banned: HOST_GLOBALS,
  },
  sim: {
    layers: ["core", "peer", "codec", "trace", "check", "util"],
    packages: [],
    nodeBuiltins: false,
    banned: HOST_GLOBALS,
  },
  check: { layers: ["util"], packages: [], nodeBuiltins: false, banned: HOST_GLOBALS },
  kv: { layers: ["core", "peer", "codec", "util"], packages: [], nodeBuiltins: false, banned: HOST_GLOBALS },
  // The lab must run in a browser (the visualiser), so no Node built-ins here either.
  lab: {
    layers: ["core", "peer", "sim", "kv", "check", "codec", "util"],
    packages: [],
    nodeBuiltins: false,
    banned: NONE,
  },
  // Jepsen-style tests of the key-value service on the simulator: pure, so seeds replay exactly.
  jepsen: {
    layers: ["core", "peer", "sim", "kv", "check", "codec", "trace", "util"],
    packages: [],
    nodeBuiltins: false,
    banned: HOST_GLOBALS,
  },
  drivers: {
    layers: ["util", "core", "codec", "trace", "peer", "check", "kv"],
    packages: "any",
    nodeBuiltins: true,
    banned: NONE,
  },
  cli: { layers: "any", packages: "any", nodeBuiltins: true, banned: NONE },
  viz: { layers: "any", packages: "any", nodeBuiltins: true, banned: NONE },
};

/** Every banned name of every layer, so the scanner can look for all of them in one pass. */
export const ALL_BANNED_NAMES: ReadonlySet<string> = new Set(
  LAYERS.flatMap((layer) => Object.keys(LAYER_RULES[layer].banned)),
);

/** The layers allowed to import Node built-ins, for messages. */
const NODE_LAYERS = LAYERS.filter((layer) => LAYER_RULES[layer].nodeBuiltins);

function isLayer(name: string): name is Layer {
  return (LAYERS as readonly string[]).includes(name);
}

/** Where a file sits: in a layer folder, or somewhere the table does not cover. */
export type Placement =
  | { readonly kind: "layer"; readonly layer: Layer }
  | { readonly kind: "unknown-folder"; readonly folder: string }
  | { readonly kind: "outside-layers" };

/**
 * Places a path given relative to the project root with `/` separators (`src/core/raft-log.ts`): the layer
 * whose folder holds it, an unknown folder under `src/`, or outside every layer folder.
 */
export function placePath(path: string): Placement {
  const parts = posix.normalize(path).split("/");
  if (parts.length < 3 || parts[0] !== "src") return { kind: "outside-layers" };
  const folder = parts[1] ?? "";
  return isLayer(folder) ? { kind: "layer", layer: folder } : { kind: "unknown-folder", folder };
}

/** The npm package an import specifier names: `@scope/name` or `name`, without any subpath. */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  const first = parts[0] ?? "";
  return first.startsWith("@") ? `${first}/${parts[1] ?? ""}` : first;
}

function isRelative(specifier: string): boolean {
  return specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../");
}

function describeLayers(layers: readonly Layer[]): string {
  return layers.length === 0 ? "no other layer" : layers.join(", ");
}

function describePackages(packages: readonly string[]): string {
  return packages.length === 0 ? "no packages" : packages.join(", ");
}

/**
 * Decides whether a file in `layer`, at `fromPath` (project-relative, `/` separators), may import
 * `specifier`. Returns the violation message, or `undefined` when the import is allowed.
 */
export function importViolation(layer: Layer, fromPath: string, specifier: string): string | undefined {
  const rule = LAYER_RULES[layer];
  if (isRelative(specifier) || specifier.startsWith("/")) {
    if (rule.layers === "any") return undefined;
    const target = posix.normalize(posix.join(posix.dirname(fromPath), specifier));
    const placement = placePath(target);
    if (placement.kind !== "layer") {
      return `${layer} may not import "${specifier}": it resolves outside the layer folders (${target})`;
    }
    if (placement.layer === layer || rule.layers.includes(placement.layer)) return undefined;
    return `${layer} may not import layer ${placement.layer} ("${specifier}"); ${layer} may import ${describeLayers(rule.layers)}`;
  }
  if (specifier.startsWith("node:") || isBuiltin(specifier)) {
    if (rule.nodeBuiltins) return undefined;
    return `${layer} may not import Node built-in "${specifier}"; only ${NODE_LAYERS.join(", ")} may`;
  }
  if (rule.packages === "any") return undefined;
  const name = packageName(specifier);
  if (rule.packages.includes(name)) return undefined;
  return `${layer} may not import package "${name}"; ${layer} may use ${describePackages(rule.packages)}`;
}

/**
 * Decides whether a file in `layer` may import a module whose name is computed at run time (`import(name)`).
 * Only a layer that may import anything may: for any other, the check could not tell what it loads.
 */
export function computedImportViolation(layer: Layer): string | undefined {
  const rule = LAYER_RULES[layer];
  if (rule.layers === "any" && rule.packages === "any" && rule.nodeBuiltins) return undefined;
  return `${layer} may not import a computed module name: the layer check cannot see what it loads`;
}

/**
 * Decides whether a file in `layer` may mention `name` (a key of {@link BannedNames}). Returns the violation
 * message, or `undefined` when the name is allowed there.
 */
export function nameViolation(layer: Layer, name: string, declares: boolean): string | undefined {
  const reason = LAYER_RULES[layer].banned[name];
  if (reason === undefined) return undefined;
  // A local declaration with a banned name is reported too: it reads as the global to every later reader,
  // and reserving the name keeps the check free of scope analysis.
  const what = declares ? `declares "${name}", a name reserved` : `"${name}" is banned`;
  return `${what} in ${layer}: ${reason}`;
}

/** Whether a layer may have its Node type definitions pulled in by `/// <reference types="node" />`. */
export function typeReferenceViolation(layer: Layer, types: string): string | undefined {
  if (LAYER_RULES[layer].nodeBuiltins || types !== "node") return undefined;
  return `${layer} may not reference the Node type definitions; only ${NODE_LAYERS.join(", ")} may`;
}
