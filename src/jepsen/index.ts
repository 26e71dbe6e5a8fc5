/**
 * Jepsen-style testing of the key-value service on the deterministic simulator (issue 8, part 1): every seed
 * runs the real service (KvService, KvStateMachine, the real KvClient with its retries) on a swarm cluster
 * under the swarm's faults, records the clients' history and checks it with `check`: linearizability per
 * key, and every acknowledged append present exactly once in the final reads after the heal. Pure, like
 * `sim`: no host clock, timers, randomness or console.
 */

export { type AppendOrderState, appendOrderModel } from "./append-order-model.ts";
export { APPEND_TOKEN_END, appendTokens } from "./append-tokens.ts";
export {
  ClientNetwork,
  type ClientNetworkCounts,
  type RequestRecord,
  SimNetworkError,
} from "./client-network.ts";
export {
  type ClientContext,
  type ClientEvents,
  type OperationEvent,
  SimulatedClient,
  WorkloadClient,
} from "./clients.ts";
export { type KvIncarnation, KvNodes, type KvNodesOptions } from "./kv-nodes.ts";
export { endpointOf, NodeApi, nodeOfUrl } from "./node-api.ts";
export {
  AFTER_HEAL_MS_MAX,
  FINAL_READ_DEADLINE_MS,
  type KvCheckStats,
  type KvHistoryStats,
  type KvSimResult,
  type KvSimRunOptions,
  runKvSeed,
} from "./run-kv-seed.ts";
export {
  defaultKvSettings,
  isKvBug,
  KV_BUGS,
  KV_CLUSTER_SIZES,
  KV_DEFAULT_TIME_MS,
  KV_REPLAY_PREFIX,
  type KvBug,
  type KvSimSettings,
  type KvVerdictScope,
  kvReplayCommand,
} from "./settings.ts";
export type { KvTraceEvent, KvTraceSink } from "./trace-events.ts";
export {
  CHECK_CACHE_WORDS_MAX,
  CHECK_STEPS_MAX,
  checkHistory,
  formatKvViolation,
  type HistoryReduction,
  type HistoryVerdict,
  KV_ONLY_PROPERTIES,
  KV_PROPERTY_DESCRIPTIONS,
  type KvOnlyProperty,
  type KvProperty,
  type KvViolation,
  knownFailed,
  reduceHistory,
  refusedWithoutEffect,
} from "./verdict.ts";
export {
  type ClientTimeouts,
  describeWorkload,
  Keyspace,
  type KvWorkload,
  type OperationWeights,
  planWorkload,
} from "./workload.ts";
