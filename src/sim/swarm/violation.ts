/**
 * The properties the swarm checks, and what a broken one reports. The first thirteen are safety properties,
 * checked after every event (Figure 3 of the Raft paper, the state machine's contract, the configuration
 * checks of config-checker.ts, and the reads of read-probe.ts); `liveness` is
 * checked once the faults have healed; `event-bound` is the harness's own guard against a run that never
 * ends (a message storm is a bug too); `harness-error` reports the simulator itself failing.
 */
export const PROPERTIES = [
  "election-safety",
  "leader-append-only",
  "log-matching",
  "leader-completeness",
  "state-machine-safety",
  "commit-monotonic",
  "apply-monotonic",
  "apply-once",
  "node-invariant",
  "config-joint-steps",
  "config-leader-quorum",
  "config-two-majorities",
  "stale-read",
  "liveness",
  "event-bound",
  "harness-error",
] as const;

/** One checked property. */
export type Property = (typeof PROPERTIES)[number];

/** What each property says, for reports and docs/simulation.md. */
export const PROPERTY_DESCRIPTIONS: Readonly<Record<Property, string>> = {
  "election-safety": "at most one leader is elected in a term (§5.2)",
  "leader-append-only": "a leader never overwrites or deletes entries in its log, it only appends (§5.3)",
  "log-matching":
    "if two logs hold an entry with the same index and term, they are identical up to that index (§5.3)",
  "leader-completeness": "a leader's log holds every entry committed in an earlier term (§5.4)",
  "state-machine-safety":
    "no two nodes commit or apply different entries at the same index (§5.4.3); a node keeps what it committed",
  "commit-monotonic": "a node's commit index never goes back while it runs, nor its persisted one ever",
  "apply-monotonic": "a state machine applies committed entries in index order, without gaps",
  "apply-once": "a state machine never applies an index twice (its applied index never goes back)",
  "node-invariant": "no node stops on a broken internal invariant (an assertion in the core or peer)",
  "config-joint-steps":
    "committed configurations change only by joint consensus steps (C, then C_old,new, then C_new; or one learner)," +
    " so consecutive ones have intersecting quorums (thesis §4.3)",
  "config-leader-quorum":
    "a node wins an election only with a configuration whose quorums meet those of the latest committed one",
  "config-two-majorities":
    "no two leaders at once each hold a majority of their configuration (a quorum whose terms on disk are at" +
    " most the leader's): no two disjoint majorities ever exist",
  "stale-read":
    "a read index confirmed by ReadIndex or a lease is never below an index committed before the read was" +
    " asked (linearizable reads, thesis §6.4)",
  liveness:
    "once faults heal, a leader is elected and a new command commits, and reaches every node, in time",
  "event-bound": "a run ends within its bound of events (no message storm or timer loop)",
  "harness-error":
    "the simulator itself threw (a bug in the swarm, not necessarily in Raft): the message says where",
};

/** A broken property, with the evidence: which nodes, log indexes and terms, and when. */
export interface Violation {
  readonly property: Property;
  /** One sentence saying what happened, naming the nodes, indexes and terms. */
  readonly message: string;
  readonly nodes: readonly number[];
  readonly indexes: readonly number[];
  readonly terms: readonly number[];
  /** Virtual milliseconds since the run began. */
  readonly timeMs: number;
}

/** The evidence of a violation, without its time (the checker adds that). */
export type ViolationEvidence = Omit<Violation, "timeMs">;

/** A violation as one line: property, sentence, then the evidence. */
export function formatViolation(violation: Violation): string {
  const evidence = [
    violation.nodes.length > 0 ? `nodes ${violation.nodes.join(", ")}` : "",
    violation.indexes.length > 0 ? `indexes ${violation.indexes.join(", ")}` : "",
    violation.terms.length > 0 ? `terms ${violation.terms.join(", ")}` : "",
  ].filter((part) => part !== "");
  return (
    `${violation.property}: ${violation.message}` +
    (evidence.length > 0 ? ` [${evidence.join("; ")}]` : "") +
    ` at ${(violation.timeMs / 1000).toFixed(3)} s`
  );
}
