import { assert } from "../util/assert.ts";
import type { Random } from "../util/random.ts";
import type { InitialState, NodeId } from "./types.ts";

/** Everything a {@link RaftNode} needs to start. Time is counted in ticks; the caller decides a tick's length. */
export interface RaftConfig {
  /** This node's id. */
  readonly id: NodeId;
  /**
   * The configuration the cluster starts with (§5.1): every voting member, this node included. It is in force
   * until the log or the snapshot holds a configuration of its own (thesis §4, see membership.ts), which then
   * always wins. A node that is to join an existing cluster starts with no voters at all: it neither campaigns
   * nor counts anywhere until a leader's log makes it a member.
   */
  readonly voters: readonly NodeId[];
  /** Non-voting members of the starting configuration (none by default). */
  readonly learners?: readonly NodeId[];
  /**
   * Minimum election timeout in ticks (§5.2). Each timeout is drawn uniformly from
   * [electionTicks, electionTicks + electionJitterTicks] so that split votes are rare (§9.3).
   */
  readonly electionTicks: number;
  /** Width of the election timeout's random range in ticks; default electionTicks - 1, i.e. [T, 2T). */
  readonly electionJitterTicks?: number;
  /** Heartbeat interval in ticks; must be well below `electionTicks`. */
  readonly heartbeatTicks: number;
  /** The seeded source of election jitter; the core never uses any other randomness. */
  readonly random: Random;
  /** The persisted state this node starts from. */
  readonly initialState: InitialState;
  /** Maximum entries in one AppendEntries. */
  readonly entriesPerMessageMax?: number;
  /** Maximum payload bytes in one AppendEntries (one entry is always allowed, however large). */
  readonly messageBytesMax?: number;
  /** Maximum AppendEntries in flight to one follower while replicating optimistically. */
  readonly inflightMessagesMax?: number;
  /**
   * Whether a new leader appends an empty entry of its term (§8), which lets it commit entries of earlier
   * terms at once (§5.4.2). Real clusters want it; the 6.824 lab's tester expects commands only, so the
   * lab interface turns it off.
   */
  readonly noopOnElection?: boolean;
  /**
   * PreVote (Raft thesis §9.6). On an election timeout the node first asks the voters whether they would vote
   * for it in term + 1, without changing its term or vote (nothing is persisted); they answer without changing
   * theirs, and refuse while they hear from a live leader. Only with a majority of yes does it start a real
   * election. So a node that cannot win — cut off from the majority, or with a stale log — never raises terms,
   * and coming back it does not depose a healthy leader. Default false, so that the lab and the simulator's
   * recorded seeds behave as before; real clusters should turn it on, together with {@link checkQuorum}.
   */
  readonly preVote?: boolean;
  /**
   * CheckQuorum (thesis §6.2) with leader stickiness (§4.2.3). A leader that has not heard from a majority
   * (itself included) within an election timeout (`electionTicks`) steps down, so a leader cut off from the
   * cluster stops serving clients on its own. And a node that heard from a leader within the minimum election
   * timeout refuses a RequestVote of a higher term without adopting that term, so a server that cannot reach
   * the leader (or was removed) cannot depose it. Default false, like {@link preVote}; real clusters should
   * turn both on.
   */
  readonly checkQuorum?: boolean;
  /**
   * Lease-based reads (thesis §6.4.1), opt-in and only together with {@link checkQuorum}: the leader answers a
   * read at once, without a heartbeat round, while a majority acknowledged a message it sent less than
   * `electionTicks - leaseMarginTicks` ticks ago. This is sound only if no node's ticks run faster than the
   * leader's by more than the margin over an election timeout (bounded clock drift): a voter that heard from
   * the leader refuses votes for a full `electionTicks` of its own ticks (leader stickiness), so no other
   * leader can be elected while the lease holds. Reads fall back to ReadIndex whenever the lease has lapsed.
   * A node that starts (or restarts) refuses votes for its first election timeout, as if it had just heard from
   * a leader, since it cannot know it had not: so a fresh cluster elects its first leader about one election
   * timeout later than without leases (and without `preVote`, a candidate refused then has raised its term).
   */
  readonly leaseReads?: boolean;
  /**
   * Ticks by which a read lease ends before the earliest moment another leader could be elected (see
   * {@link leaseReads}); it absorbs tick granularity and clock drift. Default max(2, electionTicks / 5).
   */
  readonly leaseMarginTicks?: number;
  /**
   * TEST ONLY: makes the node deliberately wrong in one known way, so that tests can prove the simulator's
   * checkers catch it (calibration). Never set outside tests; "none" (the default) is correct Raft.
   */
  readonly plantedBug?: PlantedBug;
}

/**
 * The known-wrong variants the simulator must catch (see {@link RaftConfig.plantedBug}):
 * - `commit-earlier-term`: commit any index a majority holds, even of an earlier term (breaks §5.4.2, Figure 8).
 * - `vote-without-restriction`: grant votes without the up-to-date check (breaks §5.4.1).
 * - `forget-vote`: never persist votedFor, so a restarted node can vote twice in a term.
 * - `truncate-on-stale-append`: drop everything after an AppendEntries' entries, even entries that match
 *   (a stale or reordered request then removes committed entries).
 * - `ack-before-persist`: send vote grants and append acknowledgements before the state is durable.
 * - `concurrent-membership-changes`: a leader accepts a membership change while another is in flight (not
 *   committed, or its joint configuration not yet left) or before it committed an entry of its own term, so
 *   configurations can skip the joint step's overlap (thesis §4.1, §4.3).
 */
export type PlantedBug =
  | "none"
  | "commit-earlier-term"
  | "vote-without-restriction"
  | "forget-vote"
  | "truncate-on-stale-append"
  | "ack-before-persist"
  | "concurrent-membership-changes";

export const PLANTED_BUGS: readonly Exclude<PlantedBug, "none">[] = [
  "commit-earlier-term",
  "vote-without-restriction",
  "forget-vote",
  "truncate-on-stale-append",
  "ack-before-persist",
  "concurrent-membership-changes",
];

/** The config with every default filled in. */
export interface ResolvedRaftConfig extends Required<RaftConfig> {}

const DEFAULTS = {
  entriesPerMessageMax: 256,
  messageBytesMax: 1024 * 1024,
  inflightMessagesMax: 256,
  noopOnElection: true,
  preVote: false,
  checkQuorum: false,
  leaseReads: false,
  learners: [],
  plantedBug: "none",
} as const;

/** Fills in defaults and checks the relations between settings; throws RangeError on nonsense. */
export function resolveConfig(config: RaftConfig): ResolvedRaftConfig {
  const resolved: ResolvedRaftConfig = {
    ...DEFAULTS,
    electionJitterTicks: config.electionTicks - 1,
    leaseMarginTicks: Math.max(2, Math.floor(config.electionTicks / 5)),
    ...config,
  };
  const positive = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`RaftConfig.${name} must be a positive integer, got ${value}`);
    }
  };
  positive("electionTicks", resolved.electionTicks);
  positive("heartbeatTicks", resolved.heartbeatTicks);
  if (!Number.isSafeInteger(resolved.electionJitterTicks) || resolved.electionJitterTicks < 0) {
    throw new RangeError(
      `RaftConfig.electionJitterTicks must be a non-negative integer, got ${resolved.electionJitterTicks}`,
    );
  }
  positive("entriesPerMessageMax", resolved.entriesPerMessageMax);
  positive("messageBytesMax", resolved.messageBytesMax);
  positive("inflightMessagesMax", resolved.inflightMessagesMax);
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new RangeError(
      `RaftConfig.heartbeatTicks (${resolved.heartbeatTicks}) must be below electionTicks (${resolved.electionTicks}), ` +
        "or followers time out between heartbeats",
    );
  }
  const member = resolved.voters.includes(resolved.id) || resolved.learners.includes(resolved.id);
  if (resolved.voters.length > 0 && !member) {
    throw new RangeError(
      `RaftConfig.id ${resolved.id} is not among the voters [${resolved.voters.join(", ")}] or learners ` +
        `[${resolved.learners.join(", ")}]; a node joining an existing cluster starts with no voters`,
    );
  }
  if (resolved.voters.length === 0 && resolved.learners.length > 0) {
    throw new RangeError("RaftConfig.learners without voters: a cluster needs at least one voter");
  }
  assert(new Set(resolved.voters).size === resolved.voters.length, "RaftConfig.voters has duplicates");
  assert(
    !resolved.learners.some((id) => resolved.voters.includes(id)),
    "RaftConfig.learners overlaps the voters",
  );
  if (resolved.leaseReads && !resolved.checkQuorum) {
    throw new RangeError(
      "RaftConfig.leaseReads needs checkQuorum: without leader stickiness nothing stops another leader " +
        "from being elected while the lease holds",
    );
  }
  if (
    !Number.isSafeInteger(resolved.leaseMarginTicks) ||
    resolved.leaseMarginTicks < 1 ||
    resolved.leaseMarginTicks >= resolved.electionTicks
  ) {
    throw new RangeError(
      `RaftConfig.leaseMarginTicks must be an integer in [1, electionTicks), got ${resolved.leaseMarginTicks}`,
    );
  }
  return resolved;
}
