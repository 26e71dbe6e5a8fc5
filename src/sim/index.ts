/**
 * The deterministic simulator (DESIGN.md §3): virtual time, a seeded network with faults, simulated disks,
 * whole clusters of real peers, safety checkers and a readable timeline. Pure: it never touches the host;
 * the host's macrotask source is injected into the {@link VirtualClock}.
 */
export {
  CLUSTER_NODES_MAX,
  type ClusterEvent,
  type ClusterProposeResult,
  type ClusterTiming,
  type CommitStatus,
  type ConvergenceResult,
  type Fault,
  type NodeStatus,
  SIM_TIMING,
  SimCluster,
  type SimClusterOptions,
} from "./cluster.ts";
export { EventQueue, type ScheduledEvent } from "./event-queue.ts";
export { MemoryLogStore } from "./memory-log-store.ts";
export {
  type DropReason,
  type LinkFaults,
  type MessageHandler,
  type NetworkCounters,
  type NetworkEvent,
  RELIABLE_LINK,
  SimNetwork,
  type SimNetworkOptions,
} from "./network.ts";
export { SafetyChecker, SafetyViolation, sameBytes } from "./safety-checker.ts";
export * from "./swarm/index.ts";
export { formatGroup, formatTime, Timeline, type TimelineOptions } from "./timeline.ts";
export { VirtualClock, type YieldToHost } from "./virtual-clock.ts";
