/**
 * What a run actually did — faults injected, and what they did to the messages and nodes — and the coverage of
 * a swarm: how many runs hit each fault. A fault mix only says what may happen; these counts say what did, so a
 * swarm that never really tore a write or delayed a message past an election timeout shows it.
 */

/** Counts of what happened in one run. */
export interface RunCounts {
  /** Messages nodes sent. */
  messagesSent: number;
  /** Messages lost at random on their link. */
  messagesLost: number;
  /** Extra copies the network made. */
  messagesDuplicated: number;
  /** Messages handled after a message sent later on the same link. */
  messagesReordered: number;
  /** Messages held back for a long delay. */
  messagesHeld: number;
  /** Messages handled more than the longest election timeout after they were sent. */
  lateDeliveries: number;
  /** Messages dropped because their link was blocked. */
  partitionDrops: number;
  /** Messages dropped because their receiver was down. */
  downDrops: number;
  /** Messages dropped from a paused process's full queue. */
  overflowDrops: number;
  /** Partitions started, by shape. */
  isolations: number;
  splits: number;
  bridges: number;
  oneWayPartitions: number;
  /** Crashes (torn ones included). */
  crashes: number;
  /** Crashes of a node that was leader. */
  leaderCrashes: number;
  /** Crashes that lost at least one unsynced write. */
  crashesLosingWrites: number;
  /** Crashes that tore a write. */
  tornWrites: number;
  restarts: number;
  pauses: number;
  /** Pauses of a node that was leader. */
  leaderPauses: number;
  /** Inputs (messages, ticks, syncs, requests) that waited for a paused process. */
  pausedInputs: number;
  /** Nodes whose clock runs at another rate than real time. */
  skewedNodes: number;
  /** Times a node became leader. */
  elections: number;
  /** Commands the client proposed (accepted or not). */
  proposals: number;
  /** The highest index known committed at the end. */
  committed: number;
  /** Brand-new nodes the operator started (with no configuration, to be added). */
  nodesAdded: number;
  /** Membership changes the operator asked of a node it believed to lead. */
  membershipRequests: number;
  /** ... that the leader accepted (appended). */
  membershipAccepted: number;
  /** ... refused because a change was in flight (uncommitted, or joint not yet left). */
  refusedInFlight: number;
  /** Promotions refused because the learner had not caught up. */
  refusedNotCaughtUp: number;
  /** Accepted removals of the leader itself. */
  leaderRemovals: number;
  /** Membership entries committed. */
  configsCommitted: number;
  /** Joint configurations committed. */
  jointEntered: number;
  /** Configurations leaving a joint one committed. */
  jointLeft: number;
  /** Committed changes of learners only. */
  learnerChanges: number;
  /** Committed configurations that removed the leader that appended them. */
  leaderRemovalsCommitted: number;
  /** Removed nodes the operator stopped. */
  removedNodesStopped: number;
  /** Leader transfers a leader accepted. */
  transfersRequested: number;
  /** ... whose target then won an election within two election timeouts. */
  transfersCompleted: number;
  /** Times the flapping node was cut off or crashed. */
  flaps: number;
  /** Linearizable reads the read probe asked for. */
  readsAsked: number;
  /** ... that a node confirmed (each checked against what was committed when it was asked). */
  readsConfirmed: number;
  /** ... confirmed without waiting for a round trip: by a lease, or by a leader that is the only voter. */
  readsAtOnce: number;
}

/** All counts at zero. */
export function emptyCounts(): RunCounts {
  return {
    messagesSent: 0,
    messagesLost: 0,
    messagesDuplicated: 0,
    messagesReordered: 0,
    messagesHeld: 0,
    lateDeliveries: 0,
    partitionDrops: 0,
    downDrops: 0,
    overflowDrops: 0,
    isolations: 0,
    splits: 0,
    bridges: 0,
    oneWayPartitions: 0,
    crashes: 0,
    leaderCrashes: 0,
    crashesLosingWrites: 0,
    tornWrites: 0,
    restarts: 0,
    pauses: 0,
    leaderPauses: 0,
    pausedInputs: 0,
    skewedNodes: 0,
    elections: 0,
    proposals: 0,
    committed: 0,
    nodesAdded: 0,
    membershipRequests: 0,
    membershipAccepted: 0,
    refusedInFlight: 0,
    refusedNotCaughtUp: 0,
    leaderRemovals: 0,
    configsCommitted: 0,
    jointEntered: 0,
    jointLeft: 0,
    learnerChanges: 0,
    leaderRemovalsCommitted: 0,
    removedNodesStopped: 0,
    transfersRequested: 0,
    transfersCompleted: 0,
    flaps: 0,
    readsAsked: 0,
    readsConfirmed: 0,
    readsAtOnce: 0,
  };
}

/** One row of the coverage table: a fault, and the count that says a run hit it. */
export interface CoverageRow {
  readonly name: string;
  readonly count: keyof RunCounts;
}

/** The coverage table's rows, in order. */
export const COVERAGE_ROWS: readonly CoverageRow[] = [
  { name: "message loss", count: "messagesLost" },
  { name: "message duplication", count: "messagesDuplicated" },
  { name: "message reordering", count: "messagesReordered" },
  { name: "long delay (held message)", count: "messagesHeld" },
  { name: "delivered > election timeout late", count: "lateDeliveries" },
  { name: "partition: isolated node", count: "isolations" },
  { name: "partition: majority/minority", count: "splits" },
  { name: "partition: bridge node", count: "bridges" },
  { name: "partition: one-way links", count: "oneWayPartitions" },
  { name: "crash", count: "crashes" },
  { name: "crash of the leader", count: "leaderCrashes" },
  { name: "crash losing unsynced writes", count: "crashesLosingWrites" },
  { name: "torn write", count: "tornWrites" },
  { name: "process pause", count: "pauses" },
  { name: "pause of the leader", count: "leaderPauses" },
  { name: "clock skew", count: "skewedNodes" },
  { name: "new node started (joining)", count: "nodesAdded" },
  { name: "membership change accepted", count: "membershipAccepted" },
  { name: "change refused: one in flight", count: "refusedInFlight" },
  { name: "promotion refused: not caught up", count: "refusedNotCaughtUp" },
  { name: "configuration committed", count: "configsCommitted" },
  { name: "joint configuration entered", count: "jointEntered" },
  { name: "joint configuration left", count: "jointLeft" },
  { name: "learner added or removed", count: "learnerChanges" },
  { name: "removal of the leader accepted", count: "leaderRemovals" },
  { name: "removal of the leader committed", count: "leaderRemovalsCommitted" },
  { name: "removed node stopped", count: "removedNodesStopped" },
  { name: "leader transfer started", count: "transfersRequested" },
  { name: "leader transfer completed", count: "transfersCompleted" },
  { name: "flapping node cut off or crashed", count: "flaps" },
  { name: "linearizable read confirmed", count: "readsConfirmed" },
  { name: "read confirmed at once (lease)", count: "readsAtOnce" },
];

/** A swarm's coverage: for each count, how many runs had it above zero, and its total. */
export interface Coverage {
  runs: number;
  readonly hits: Record<keyof RunCounts, number>;
  readonly totals: Record<keyof RunCounts, number>;
}

/** Coverage of no runs. */
export function emptyCoverage(): Coverage {
  return { runs: 0, hits: emptyCounts(), totals: emptyCounts() };
}

/** Adds one run's counts to a coverage. */
export function addToCoverage(coverage: Coverage, counts: Readonly<RunCounts>): void {
  coverage.runs++;
  for (const key of Object.keys(counts) as (keyof RunCounts)[]) {
    const value = counts[key];
    coverage.totals[key] += value;
    if (value > 0) coverage.hits[key]++;
  }
}

/** The coverage table as text lines: each fault, the runs that hit it (and their share), its total. */
export function coverageLines(coverage: Coverage): string[] {
  const nameWidth = Math.max(...COVERAGE_ROWS.map((row) => row.name.length));
  const lines = [`${"fault".padEnd(nameWidth)}  ${"runs hit".padStart(15)}  ${"occurrences".padStart(12)}`];
  for (const row of COVERAGE_ROWS) {
    const hits = coverage.hits[row.count];
    const share = coverage.runs === 0 ? 0 : (100 * hits) / coverage.runs;
    lines.push(
      `${row.name.padEnd(nameWidth)}  ${`${hits} (${share.toFixed(1)}%)`.padStart(15)}  ${String(coverage.totals[row.count]).padStart(12)}`,
    );
  }
  return lines;
}
