/**
 * One client operation of a history, as the linearizability checker sees it: when it was called, when (if
 * ever) it returned, and what it did. Times are abstract numbers from any monotonic clock (or just the order
 * of events); the checker only compares them.
 */
export interface Operation<Input, Output> {
  /** The caller's name for this operation, unique within a history; quoted in explanations. */
  readonly id: number;
  /** The client that issued it; quoted in explanations, never used for ordering. */
  readonly clientId: number;
  /** What the client asked for. */
  readonly input: Input;
  /** When the client invoked it: a finite number on the history's clock. */
  readonly call: number;
  /**
   * When the client saw its result (`>= call`), or `null` if it never did: the operation timed out or the
   * history ended first, so it may have taken effect at any time after `call`, or never.
   */
  readonly returned: number | null;
  /**
   * The result the client saw; `undefined` exactly when `returned` is `null` (unknown outcome). Models whose
   * operations return nothing use a defined placeholder (the key-value model uses `{ kind: "done" }`).
   */
  readonly output: Output | undefined;
}

/** A history the checker refuses to read (duplicate ids, times out of order, ...): the caller's mistake. */
export class HistoryError extends Error {
  override name = "HistoryError";
}

/**
 * A completed operation happens before another in real time when it returned strictly before the other was
 * called. Operations whose intervals touch (`a.returned === b.call`) count as concurrent, so an event-order
 * clock and a coarse wall clock are both read conservatively.
 */
export function happensBefore<I, O>(first: Operation<I, O>, second: Operation<I, O>): boolean {
  return first.returned !== null && first.returned < second.call;
}

/**
 * Throws a {@link HistoryError} naming the first malformed operation: a non-integer or repeated id, a
 * non-finite time, a return before the call, an output without a return, or a return without an output.
 */
export function validateOperations<I, O>(operations: readonly Operation<I, O>[]): void {
  const seenIds = new Set<number>();
  for (let position = 0; position < operations.length; position++) {
    const operation = operations[position] as Operation<I, O>;
    const where = `operation at position ${position} (id ${operation.id})`;
    if (!Number.isSafeInteger(operation.id)) throw new HistoryError(`${where}: id must be a safe integer`);
    if (seenIds.has(operation.id)) throw new HistoryError(`${where}: id ${operation.id} appears twice`);
    seenIds.add(operation.id);
    if (!Number.isFinite(operation.call)) throw new HistoryError(`${where}: call time must be finite`);
    if (operation.returned === null) {
      if (operation.output !== undefined) {
        throw new HistoryError(`${where}: an operation that never returned cannot have an output`);
      }
      continue;
    }
    if (operation.output === undefined) {
      throw new HistoryError(
        `${where}: a returned operation needs an output (use a placeholder for "nothing")`,
      );
    }
    if (!Number.isFinite(operation.returned)) throw new HistoryError(`${where}: return time must be finite`);
    if (operation.returned < operation.call) {
      throw new HistoryError(
        `${where}: returned at ${operation.returned} before its call at ${operation.call}`,
      );
    }
  }
}
