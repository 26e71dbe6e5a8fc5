import type { Operation } from "./operation.ts";

/** What a model says about applying one completed operation to a state. */
export interface StepResult<State> {
  /** Whether a sequential object in the given state may answer the operation's input with its output. */
  readonly ok: boolean;
  /** The state after the operation; meaningful only when `ok`. */
  readonly next: State;
}

/**
 * The sequential specification of an object, which the checker tries to explain a concurrent history with.
 * States must be treated as immutable values: the checker keeps old ones on its backtracking stack.
 */
export interface Model<State, Input, Output> {
  /** The state before any operation. */
  init(): State;
  /** Applies a completed operation: may `input` return `output` in `state`, and what state follows? */
  step(state: State, input: Input, output: Output): StepResult<State>;
  /**
   * Applies an operation whose outcome is unknown (it never returned): the state after it took effect. The
   * checker separately tries leaving it out, so this only describes the "it happened" branch.
   */
  stepUnknown(state: State, input: Input): State;
  /** A string equal for two states exactly when they are equal: the key of the checker's memo of states. */
  hash(state: State): string;
  /** Text for an operation in explanations; `output` is `undefined` when it never returned. */
  describeOperation?(input: Input, output: Output | undefined): string;
  /** Human-readable text for a state, for explanations; defaults to {@link Model.hash}. */
  describeState?(state: State): string;
  /**
   * Splits a history into independent sub-histories (P-compositionality: the history is linearizable exactly
   * when every part is), for instance one per key. May drop operations that cannot affect the verdict, such
   * as reads that never returned. Without it the history is checked as one part.
   */
  partition?(operations: readonly Operation<Input, Output>[]): Operation<Input, Output>[][];
}
