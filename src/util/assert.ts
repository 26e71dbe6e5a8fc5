/**
 * Invariant checks. A failed assertion means the program itself is wrong (never bad input): it throws an
 * `AssertionFailure` that the simulator and the lab tester report together with the seed that replays it.
 */
export class AssertionFailure extends Error {
  override name = "AssertionFailure";
}

/** Throws an {@link AssertionFailure} with `message` unless `condition` holds. */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionFailure(typeof message === "string" ? message : message());
  }
}

/** Marks a branch the type checker proves unreachable; used at the end of every exhaustive `switch`. */
export function unreachable(value: never): never {
  throw new AssertionFailure(`unreachable: unexpected value ${JSON.stringify(value)}`);
}
