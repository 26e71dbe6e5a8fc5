import { unreachable } from "../util/assert.ts";
import { explainIllegal } from "./explain.ts";
import type { Model } from "./model.ts";
import { HistoryError, type Operation, validateOperations } from "./operation.ts";
import type { CheckResult } from "./result.ts";
import { type StopCause, searchPartition } from "./search.ts";

/**
 * Search steps a check may take when the caller sets no budget: some tens of seconds of search. A legal
 * history with modest concurrency per partition costs one to a few steps per operation, so this covers
 * millions of operations; many concurrent or timed-out operations on one key can exhaust it.
 */
export const DEFAULT_TIMEOUT_STEPS = 50_000_000;

/**
 * Words (4 bytes each) of linearized-operation bitsets the visited cache of one partition may hold when the
 * caller sets no bound: 256 MiB. A partition of r returned and p never-returned operations stores
 * ceil(r / 32) + ceil(p / 32) words per visited configuration.
 */
export const DEFAULT_CACHE_WORDS_MAX = 2 ** 26;

/** Limits on one check. The checker never reads a clock: time limits come only through `deadline`. */
export interface CheckOptions {
  /** The most search steps of the whole check (positive integer); default {@link DEFAULT_TIMEOUT_STEPS}. */
  readonly timeoutSteps?: number;
  /** Polled every few thousand steps; once it returns true the check stops with outcome "unknown". */
  readonly deadline?: () => boolean;
  /** Memory bound per partition, in bitset words; default {@link DEFAULT_CACHE_WORDS_MAX}. */
  readonly cacheWordsMax?: number;
}

/**
 * Decides whether `operations` is linearizable with respect to `model`: whether each operation can be
 * given a moment between its call and its return (operations that never returned: any moment after their
 * call, or none) so that the model, applying them in that order, produces every observed output.
 *
 * The history is split with `model.partition` and the parts are checked independently, smallest first; the
 * first illegal part decides. Running out of steps, memory or time gives "unknown", never "ok". Throws a
 * {@link HistoryError} for a malformed history.
 */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  validateOperations(operations);
  const stepsMax = positiveInteger("timeoutSteps", options.timeoutSteps ?? DEFAULT_TIMEOUT_STEPS);
  const cacheWordsMax = positiveInteger("cacheWordsMax", options.cacheWordsMax ?? DEFAULT_CACHE_WORDS_MAX);
  const partitions = (model.partition?.(operations) ?? [[...operations]]).filter((part) => part.length > 0);
  const totals = { operations: operations.length, partitions: partitions.length };
  const linearization: Operation<I, O>[][] = partitions.map(() => []);
  let steps = 0;
  for (const index of smallestFirst(partitions)) {
    const part = partitions[index] ?? [];
    if (options.deadline?.() === true) {
      const reason = `deadline passed before partition ${index}`;
      return { outcome: "unknown", ...totals, steps, cause: "deadline", reason };
    }
    const limits = { stepsMax: stepsMax - steps, deadline: options.deadline, cacheWordsMax };
    const outcome = searchPartition(model, part, limits);
    steps += outcome.steps;
    switch (outcome.kind) {
      case "linearizable":
        linearization[index] = outcome.order.map((position) => part[position] as Operation<I, O>);
        break;
      case "illegal": {
        const explanation = explainIllegal(model, part, index, outcome.longestPrefix);
        return { outcome: "illegal", ...totals, steps, explanation };
      }
      case "stopped": {
        const visited = `${outcome.visitedStates} configurations visited`;
        const where = `in partition ${index} (${part.length} operations, ${visited})`;
        const reason = `${stopReason(outcome.cause, { stepsMax, cacheWordsMax })} ${where}`;
        return { outcome: "unknown", ...totals, steps, cause: outcome.cause, reason };
      }
      default:
        unreachable(outcome);
    }
  }
  return { outcome: "ok", ...totals, steps, linearization };
}

function stopReason(cause: StopCause, limits: { stepsMax: number; cacheWordsMax: number }): string {
  switch (cause) {
    case "steps":
      return `step budget of ${limits.stepsMax} search steps exhausted`;
    case "deadline":
      return "deadline passed";
    case "memory":
      return `visited-state cache reached its bound of ${limits.cacheWordsMax} words`;
    default:
      return unreachable(cause);
  }
}

/** Partition indexes by size, then index: cheap parts first, so a budget goes where verdicts come quickly. */
function smallestFirst(partitions: readonly (readonly unknown[])[]): number[] {
  return partitions
    .map((part, index) => ({ size: part.length, index }))
    .sort((a, b) => a.size - b.size || a.index - b.index)
    .map(({ index }) => index);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`checkOperations: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
