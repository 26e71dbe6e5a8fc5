import type { Config } from "../tester/config.ts";

/** The parts of Lab 2. */
export type LabPart = "2A" | "2B" | "2C" | "2D";

/**
 * One of the course's Lab 2 tests: the tester setup it needs and its steps. The runner builds the config,
 * runs `body`, and fails the test on the first fatal error from any part of it.
 */
export interface LabScenario {
  /** The course's test name without the `Test` prefix, e.g. `InitialElection2A`. */
  readonly name: string;
  readonly part: LabPart;
  /** The title the course prints, e.g. `Test (2A): initial election`. */
  readonly title: string;
  readonly servers: number;
  readonly unreliable: boolean;
  /** Whether the servers use the snapshot applier (2D). */
  readonly snapshot: boolean;
  readonly body: (cfg: Config) => Promise<void>;
}
