import type { Operation } from "./operation.ts";
import type { StopCause } from "./search.ts";

/** An operation together with the model's description of it. */
export interface DescribedOperation<Input, Output> {
  readonly operation: Operation<Input, Output>;
  /** The model's text for it (`describeOperation`), or a JSON rendering. */
  readonly text: string;
}

/** An operation that had to come next after the longest prefix, with the model's verdict on it there. */
export interface BlockedOperation<Input, Output> extends DescribedOperation<Input, Output> {
  /** Whether the model allows it in the state after the prefix (if so, every continuation failed later). */
  readonly allowedByModel: boolean;
}

/**
 * Why a history is not linearizable, for the first failing partition: the longest linearizable prefix the
 * search found, and the operations of which one would have had to come next, none of which can.
 */
export interface IllegalExplanation<Input, Output> {
  /** The failing partition's position in the model's partition list (0 when the model does not partition). */
  readonly partitionIndex: number;
  /** How many operations the failing partition holds. */
  readonly partitionOperations: number;
  /** The longest linearizable prefix found, in linearization order. */
  readonly prefix: readonly DescribedOperation<Input, Output>[];
  /** The model's text for the state after the prefix (`describeState`, or `hash`). */
  readonly stateAfterPrefix: string;
  /**
   * The candidates for the next place: every operation outside the prefix called no later than the earliest
   * return among the completed operations outside it, in call order. One of them had to come next.
   */
  readonly blocked: readonly BlockedOperation<Input, Output>[];
}

/** What every outcome reports about the work done. */
export interface CheckTotals {
  /** Operations in the history. */
  readonly operations: number;
  /** Non-empty partitions the model split it into. */
  readonly partitions: number;
  /** Search steps taken over all partitions checked. */
  readonly steps: number;
}

/**
 * The checker's verdict. "ok" and "illegal" are definite; "unknown" means a budget ran out first, and is
 * never a disguised "ok".
 */
export type CheckResult<Input, Output> =
  | (CheckTotals & {
      readonly outcome: "ok";
      /**
       * A witness: for each partition (in the model's order), its operations in an order that explains the
       * history. Operations that never returned appear only where the witness needs them to have happened.
       */
      readonly linearization: readonly (readonly Operation<Input, Output>[])[];
    })
  | (CheckTotals & { readonly outcome: "illegal"; readonly explanation: IllegalExplanation<Input, Output> })
  | (CheckTotals & {
      readonly outcome: "unknown";
      /** The limit that stopped the check. */
      readonly cause: StopCause;
      /** What ran out, and where, for people. */
      readonly reason: string;
    });
