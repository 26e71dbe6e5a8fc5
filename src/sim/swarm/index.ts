/**
 * Whole-cluster deterministic simulation, swarm style (docs/simulation.md): one seed chooses a cluster, a
 * fault mix and a schedule; real peers run on virtual time with honest simulated disks; checkers test every
 * safety property after every event, then a liveness phase follows the heal. Pure, like the rest of `sim`.
 */
export { SwarmChecker, type SwarmCheckerOptions } from "./checker.ts";
export { Client, commandText, decodeCommand, encodeCommand } from "./client.ts";
export {
  ConfigChecker,
  type ConfigCounts,
  disjointQuorums,
  includesQuorum,
  invalidStep,
} from "./config-checker.ts";
export {
  addToCoverage,
  COVERAGE_ROWS,
  type Coverage,
  type CoverageRow,
  coverageLines,
  emptyCounts,
  emptyCoverage,
  type RunCounts,
} from "./coverage.ts";
export {
  FAULT_KIND_DESCRIPTIONS,
  FAULT_KINDS,
  type FaultKind,
  formatFaultKinds,
  isFaultKind,
  isOperationKind,
  OPERATION_KINDS,
  type OperationKind,
  PARTITION_KINDS,
  type PartitionKind,
  parseFaultKinds,
} from "./fault-kinds.ts";
export { Flapper } from "./flapper.ts";
export { Operator, type OperatorOptions, VOTERS_MAX, VOTERS_MIN } from "./membership-ops.ts";
export { Nemesis } from "./nemesis.ts";
export { NodeProcess, PAUSED_INPUTS_MAX } from "./node-runtime.ts";
export { NODE_SLOTS_MAX, RUNNING_NODES_MAX, templateOf } from "./node-slots.ts";
export { drawPartition, type Link, type PartitionShape } from "./partition-shapes.ts";
export {
  CLUSTER_SIZES,
  describePlan,
  ELECTION_TIMEOUT_MAX_MS,
  FAULT_PHASE_MS_MAX,
  isMix,
  type LinkPlan,
  MIXES,
  type Mix,
  type OperationsPlan,
  type ProtocolPlan,
  planRun,
  type SwarmPlan,
  type SwarmSettings,
  TICK_MS,
} from "./plan.ts";
export { ReadProbe } from "./read-probe.ts";
export {
  DEFAULT_TIME_MS,
  defaultSettings,
  mixForPlantedBug,
  REPLAY_PREFIX,
  replayCommand,
} from "./replay.ts";
export {
  checkedClock,
  EVENT_WINDOW,
  EVENTS_PER_VIRTUAL_MS_MAX,
  type EventHooks,
  LIVENESS_COMMIT_BOUND_MS,
  LIVENESS_CONVERGE_BOUND_MS,
  type LivenessTimes,
  runSwarmSeed,
  type SwarmResult,
  type SwarmRunOptions,
} from "./run-seed.ts";
export { type CrashLoss, SimDisk, type TornWrite } from "./sim-disk.ts";
export {
  type Envelope,
  HEALED_LINK,
  type HostedNode,
  type NodeHostContext,
  SwarmCluster,
  type SwarmClusterOptions,
} from "./swarm-cluster.ts";
export {
  type SwarmTraceEvent,
  TRACE_FORMAT_VERSION,
  type TracedDropReason,
  type TracedMessage,
  type TraceSink,
  traceMessage,
  traceTime,
} from "./trace-events.ts";
export {
  formatViolation,
  PROPERTIES,
  PROPERTY_DESCRIPTIONS,
  type Property,
  type Violation,
  type ViolationEvidence,
} from "./violation.ts";
export { EMPTY_PREFIX, type PrefixFingerprint, WrittenLog } from "./written-log.ts";
