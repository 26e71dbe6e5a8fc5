import type { KvInput, KvOutput } from "../check/index.ts";
import type { SwarmTraceEvent } from "../sim/swarm/index.ts";
import type { KvProperty } from "./verdict.ts";

/**
 * The key-value harness's trace events, written between the swarm's own (docs/simulation.md lists those):
 * the run's header, each client operation as it is invoked and as it ends, the heal, and the verdict. `t` is
 * virtual milliseconds, `op` the operation's id in the checked history.
 */
export type KvTraceEvent =
  | {
      readonly t: number;
      readonly kind: "kv-run";
      readonly format: 1;
      readonly seed: number;
      readonly nodes: number;
      readonly plan: readonly string[];
      readonly replay: string;
    }
  | {
      readonly t: number;
      readonly kind: "kv-invoke";
      readonly op: number;
      readonly client: number;
      readonly input: KvInput;
    }
  | { readonly t: number; readonly kind: "kv-ok"; readonly op: number; readonly output: KvOutput }
  | { readonly t: number; readonly kind: "kv-timeout"; readonly op: number; readonly reason: string }
  | { readonly t: number; readonly kind: "kv-heal" }
  | {
      readonly t: number;
      readonly kind: "kv-end";
      readonly outcome: "pass" | "fail";
      readonly property: KvProperty | null;
      readonly operations: number;
    };

/** Receives the swarm's events and the harness's, in order. */
export type KvTraceSink = (event: SwarmTraceEvent | KvTraceEvent) => void;
