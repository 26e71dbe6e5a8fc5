/**
 * kvraft: the MIT 6.824 Lab 3 key-value service (Lab 4 from 2024) on tsraft's lab Raft — the `Clerk`, the
 * `KVServer` over tsraft's key-value state machine (sessions for exactly-once, ReadIndex for Gets, snapshots
 * by size), the course's kvraft tester with GenericTest, and a runner that checks every test's history for
 * linearizability.
 */
export { CLERK_RETRY_PAUSE_MS, Clerk, ClerkError, type ClerkOptions, makeClerk } from "./clerk.ts";
export {
  ELECTION_TIMEOUT_MS,
  type KvraftConfig,
  type KvraftConfigOptions,
  type KvraftFigures,
  type KvraftSection,
  makeKvraftConfig,
} from "./config.ts";
export {
  GENERIC_ROUND_MS,
  GENERIC_ROUNDS,
  type GenericTestSettings,
  genericTest,
  genericTestSpeed,
  genericTitle,
  SPEED_MS_PER_OP_MAX,
  SPEED_OPS,
} from "./generic-test.ts";
export {
  checkKvHistory,
  courseKvModel,
  courseKvModelFor,
  type HistoryCheck,
  LINEARIZABILITY_CHECK_STEPS_MAX,
  OpLog,
} from "./op-log.ts";
export {
  Err,
  type GetArgs,
  type GetReply,
  type PutAppendArgs,
  type PutAppendOp,
  type PutAppendReply,
  type RegisterArgs,
  type RegisterReply,
} from "./rpc.ts";
export { type KvraftScenarioResult, kvraftTestReplayCommand, runKvraftScenario } from "./run.ts";
export type { KvraftPart, KvraftScenario } from "./scenario.ts";
export {
  KV_REQUEST_COST_MS,
  KV_REQUESTS_WAITING_MAX,
  KV_WAIT_TIMEOUT_MS,
  KVServer,
  type KVServerOptions,
  SNAPSHOT_THRESHOLD_FRACTION,
  startKVServer,
} from "./server.ts";
