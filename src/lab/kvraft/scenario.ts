import type { KvraftConfig } from "./config.ts";

/** The parts of the kvraft lab (Lab 3 until 2023; Lab 4 from 2024). */
export type KvraftPart = "3A" | "3B";

/**
 * One of the course's kvraft tests: the tester setup it needs and its steps. The runner builds the config,
 * runs `body`, and fails the test on the first failure from any part of it.
 */
export interface KvraftScenario {
  /** The course's test name without the `Test` prefix, e.g. `Basic3A`. */
  readonly name: string;
  readonly part: KvraftPart;
  /**
   * The titles the course prints, one per `begin` … `end` section, e.g. `Test: one client (3A)`
   * (TestOnePartition3A has three sections; every other test one).
   */
  readonly titles: readonly string[];
  readonly servers: number;
  readonly unreliable: boolean;
  /** Raft state size (bytes) at which servers snapshot; -1: never. */
  readonly maxRaftState: number;
  readonly body: (cfg: KvraftConfig) => Promise<void>;
}
