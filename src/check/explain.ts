import { unreachable } from "../util/assert.ts";
import type { Model } from "./model.ts";
import type { Operation } from "./operation.ts";
import type { BlockedOperation, CheckResult, DescribedOperation, IllegalExplanation } from "./result.ts";

/** Prefix operations {@link describeResult} prints: the last, nearest the failure; the rest are counted. */
export const DESCRIBED_PREFIX_OPERATIONS_MAX = 20;

/**
 * Builds the explanation of a failed partition from the longest linearizable prefix its search found
 * (positions into `operations`, in linearization order): replays the prefix through the model, then finds
 * the operations one of which had to come next and asks the model about each.
 */
export function explainIllegal<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  partitionIndex: number,
  longestPrefix: readonly number[],
): IllegalExplanation<I, O> {
  const inPrefix = new Set(longestPrefix);
  const prefix = longestPrefix.map((position) => operations[position] as Operation<I, O>);
  let state = model.init();
  for (const operation of prefix) state = applyAnyway(model, state, operation);
  const outside = operations.filter((_, position) => !inPrefix.has(position));
  const deadline = outside.reduce(
    (earliest, operation) => Math.min(earliest, operation.returned ?? Number.POSITIVE_INFINITY),
    Number.POSITIVE_INFINITY,
  );
  const blocked: BlockedOperation<I, O>[] = outside
    .filter((operation) => operation.call <= deadline)
    .sort((a, b) => a.call - b.call)
    .map((operation) => ({ ...describe(model, operation), allowedByModel: allows(model, state, operation) }));
  return {
    partitionIndex,
    partitionOperations: operations.length,
    prefix: prefix.map((operation) => describe(model, operation)),
    stateAfterPrefix: model.describeState?.(state) ?? model.hash(state),
    blocked,
  };
}

/** The state after `operation` as the search applied it (it accepted every prefix operation). */
function applyAnyway<S, I, O>(model: Model<S, I, O>, state: S, operation: Operation<I, O>): S {
  if (operation.output === undefined) return model.stepUnknown(state, operation.input);
  return model.step(state, operation.input, operation.output).next;
}

function allows<S, I, O>(model: Model<S, I, O>, state: S, operation: Operation<I, O>): boolean {
  return operation.output === undefined || model.step(state, operation.input, operation.output).ok;
}

function describe<S, I, O>(model: Model<S, I, O>, operation: Operation<I, O>): DescribedOperation<I, O> {
  const output = operation.output === undefined ? "?" : JSON.stringify(operation.output);
  const text =
    model.describeOperation?.(operation.input, operation.output) ??
    `${JSON.stringify(operation.input)} -> ${output}`;
  return { operation, text };
}

/**
 * A check result as text for people: one line for "ok" and "unknown"; for "illegal", the failing
 * partition's longest linearizable prefix (its last {@link DESCRIBED_PREFIX_OPERATIONS_MAX} operations), the
 * state it leaves, and the operations that could not be ordered after it, each with client, call and return
 * times.
 */
export function describeResult<I, O>(result: CheckResult<I, O>): string {
  const { operations, partitions, steps } = result;
  const totals = `${operations} operations in ${partitions} partitions, ${steps} search steps`;
  switch (result.outcome) {
    case "ok":
      return `linearizable (${totals})`;
    case "unknown":
      return `unknown: ${result.reason} (${totals})`;
    case "illegal":
      return [`not linearizable (${totals})`, ...describeExplanation(result.explanation)].join("\n");
    default:
      return unreachable(result);
  }
}

function describeExplanation<I, O>(explanation: IllegalExplanation<I, O>): string[] {
  const { prefix, blocked } = explanation;
  const lines = [
    `partition ${explanation.partitionIndex} (${explanation.partitionOperations} operations): ` +
      `longest linearizable prefix has ${prefix.length} operations`,
  ];
  const shown = prefix.slice(-DESCRIBED_PREFIX_OPERATIONS_MAX);
  if (shown.length < prefix.length) lines.push(`  ... ${prefix.length - shown.length} earlier operations`);
  lines.push(...shown.map((described) => `  ${describeOperationLine(described)}`));
  lines.push(`state after the prefix: ${explanation.stateAfterPrefix}`);
  lines.push("none of these can come next:");
  for (const candidate of blocked) {
    const verdict = candidate.allowedByModel ? "allowed here, but no continuation works" : "not allowed here";
    lines.push(`  ${describeOperationLine(candidate)}: ${verdict}`);
  }
  return lines;
}

function describeOperationLine<I, O>({ operation, text }: DescribedOperation<I, O>): string {
  const returned = operation.returned === null ? "never returned" : `returned ${operation.returned}`;
  return `op ${operation.id} client ${operation.clientId}: ${text} [called ${operation.call}, ${returned}]`;
}
