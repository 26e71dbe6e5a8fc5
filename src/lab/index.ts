/**
 * `tsraft/lab`: the MIT 6.824 / 6.5840 Lab 2 interface on top of tsraft — the labrpc network, the Persister,
 * the unbuffered apply channel, Raft's make/start/getState/snapshot/kill, the course's tester and every
 * Lab 2 scenario — and Lab 3's key-value service (kvraft: Clerk, KVServer, its tester and every 3A/3B
 * scenario), with a virtual and a real clock behind one interface.
 */
export type { Clock, TimerHandle } from "../peer/clock.ts";
export type { VirtualClock } from "../sim/virtual-clock.ts";
export { Channel, type Received } from "./channel.ts";
export { makeRealClock, makeVirtualClock } from "./clocks.ts";
export * from "./kvraft/index.ts";
export * from "./labrpc/index.ts";
export { makePersister, Persister } from "./persister.ts";
export { type ApplyMsg, LAB_TIMING, make, Raft, type RaftOptions } from "./raft.ts";
export * from "./scenarios/index.ts";
export {
  Config,
  type ConfigOptions,
  MAX_LOG_SIZE,
  makeConfig,
  RAFT_ELECTION_TIMEOUT_MS,
  SNAPSHOT_INTERVAL,
  type TestFigures,
} from "./tester/config.ts";
export { LabTestFailure } from "./tester/failure.ts";
