/** The range of reconnect delays, in milliseconds: the first retry waits about `min`, none waits more than `max`. */
export interface DelayRange {
  readonly min: number;
  readonly max: number;
}

/** Doublings after which the delay is surely at its cap (2^52 times any positive min exceeds any sane max). */
const DOUBLINGS_MAX = 52;

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry after a success), in milliseconds:
 * capped exponential backoff with "equal jitter". The base doubles from `min` per attempt up to `max`, and the
 * delay is drawn uniformly from [base / 2, base], so retries from many nodes spread out while still growing.
 * `random` returns a number in [0, 1); a test passing `() => 1` gets the base itself.
 */
export function reconnectDelayMs(attempt: number, range: DelayRange, random: () => number): number {
  const base = Math.min(range.max, range.min * 2 ** Math.min(Math.max(attempt, 0), DOUBLINGS_MAX));
  return Math.round(base / 2 + (Math.min(Math.max(random(), 0), 1) * base) / 2);
}

/** Throws a RangeError unless `range` is a usable delay range. */
export function checkDelayRange(range: DelayRange): DelayRange {
  if (
    !(Number.isFinite(range.min) && range.min > 0 && Number.isFinite(range.max) && range.max >= range.min)
  ) {
    throw new RangeError(`reconnectDelayMs needs 0 < min <= max, got min ${range.min}, max ${range.max}`);
  }
  return range;
}
