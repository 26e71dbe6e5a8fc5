/**
 * The linearizability checker (DESIGN.md §1, layer `check`): histories of client operations, sequential
 * models, and Wing & Gong's search with Lowe's memo, split per partition. Pure: imports only `util`.
 */
export {
  type CheckOptions,
  checkOperations,
  DEFAULT_CACHE_WORDS_MAX,
  DEFAULT_TIMEOUT_STEPS,
} from "./check.ts";
export { DESCRIBED_PREFIX_OPERATIONS_MAX, describeResult } from "./explain.ts";
export { type HistoryEvent, HistoryRecorder, operationsFromEvents } from "./history.ts";
export {
  applyKvInput,
  type KvInput,
  type KvKeyState,
  type KvOutput,
  kv,
  kvModel,
  kvOutput,
} from "./kv-model.ts";
export type { Model, StepResult } from "./model.ts";
export { HistoryError, happensBefore, type Operation, validateOperations } from "./operation.ts";
export type {
  BlockedOperation,
  CheckResult,
  CheckTotals,
  DescribedOperation,
  IllegalExplanation,
} from "./result.ts";
export { DEADLINE_CHECK_INTERVAL_STEPS, type StopCause } from "./search.ts";
