import type { KvraftScenario } from "../kvraft/scenario.ts";
import { lab2A } from "./lab2a.ts";
import { lab2B } from "./lab2b.ts";
import { lab2C } from "./lab2c.ts";
import { lab2D } from "./lab2d.ts";
import { lab3A } from "./lab3a.ts";
import { lab3B } from "./lab3b.ts";
import type { LabScenario } from "./scenario.ts";

export { lab2A } from "./lab2a.ts";
export { lab2B } from "./lab2b.ts";
export { lab2C } from "./lab2c.ts";
export { lab2D } from "./lab2d.ts";
export { lab3A } from "./lab3a.ts";
export { lab3B } from "./lab3b.ts";
export {
  type ClockMode,
  clockModeFromEnv,
  type RunOptions,
  replayCommand,
  runScenario,
  type ScenarioResult,
} from "./run.ts";
export type { LabPart, LabScenario } from "./scenario.ts";

/**
 * Every Lab 2 scenario, in the course's order (2A, then 2B, ...). Runners list, select and report scenarios
 * in this order; a new part is added by appending its list here and nowhere else.
 */
export const allScenarios: readonly LabScenario[] = [...lab2A, ...lab2B, ...lab2C, ...lab2D];

/**
 * Every Lab 3 (kvraft) scenario, in the course's order (3A, then 3B). Apart from {@link allScenarios}: they run
 * on the kvraft tester (`runKvraftScenario`) and report four figures per section (seconds, peers, RPCs, ops)
 * instead of Lab 2's five.
 */
export const allKvraftScenarios: readonly KvraftScenario[] = [...lab3A, ...lab3B];

/**
 * Selects scenarios by name, as `go test -run` does: `pattern` is a regular expression searched for anywhere
 * in the name (`2A`, `Backup2B`, `^Figure8`). A pattern that is not a valid regular expression is taken as a
 * plain substring, so a stray bracket still selects what it obviously means instead of failing. An absent or
 * empty pattern selects everything. Keeps the order of `scenarios`.
 */
export function findScenarios(
  pattern: string | undefined,
  scenarios: readonly LabScenario[] = allScenarios,
): LabScenario[] {
  if (pattern === undefined || pattern === "") return [...scenarios];
  const matches = nameMatcher(pattern);
  return scenarios.filter((scenario) => matches(scenario.name));
}

/** The scenario with exactly this name, or `undefined` (how a worker process finds the one it was sent). */
export function scenarioByName(
  name: string,
  scenarios: readonly LabScenario[] = allScenarios,
): LabScenario | undefined {
  return scenarios.find((scenario) => scenario.name === name);
}

function nameMatcher(pattern: string): (name: string) => boolean {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch {
    return (name) => name.includes(pattern);
  }
  return (name) => regex.test(name);
}
