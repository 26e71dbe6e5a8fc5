import {
  decodeMembership,
  describeMembership,
  type Entry,
  isJoint,
  type Membership,
  membershipOf,
  type NodeId,
  type RaftNode,
} from "../../core/index.ts";
import type { ViolationEvidence } from "./violation.ts";

/**
 * The swarm's checks of cluster configurations (Raft thesis chapter 4): that no two disjoint majorities ever
 * exist. The quorum arithmetic here is written out by brute force, independently of the core's (quorum.ts,
 * membership.ts), so that a mistake there cannot hide itself.
 *
 * - `config-joint-steps`: the committed configurations, in log order, move only by the steps of joint
 *   consensus — a settled C to the joint (C_new, outgoing = C's voters), a joint configuration to its C_new
 *   alone, or a change of learners only — so any two consecutive ones have intersecting quorums (checked too).
 * - `config-leader-quorum`: a node that wins an election in term T has a configuration whose quorums intersect
 *   those of the latest configuration known to be committed in a term before T. (Leader Completeness makes it
 *   hold every such entry, so its configuration is that one or a later one. A configuration committed in T or
 *   later need not be in its log: a candidate paused with its votes in hand may win term T long after a
 *   leader of a later term has moved the cluster on; it is a stale leader then, which the next check covers.)
 * - `config-two-majorities`: at no moment do two leaders each still hold a majority of their own
 *   configuration, that is a quorum of nodes whose durable term is at most the leader's term (a node whose term
 *   on disk is higher will refuse that leader forever; one at or below it may still accept its entries). A
 *   stale leader deposed by a quorum of its configuration may linger with a configuration disjoint from the
 *   new leader's — an isolated leader while the rest reconfigure away from it — but it can no longer commit,
 *   so it is not a second majority. Two leaders that both hold one could both commit: that is the split brain
 *   joint consensus exists to prevent, and election safety alone does not see it across terms.
 */

/** What the configuration checks counted: the committed steps, for the coverage table. */
export interface ConfigCounts {
  /** Membership entries committed. */
  configsCommitted: number;
  /** Joint configurations committed (a change of voters entered). */
  jointEntered: number;
  /** Configurations that left a joint one committed (a change of voters completed). */
  jointLeft: number;
  /** Committed changes of learners only (a learner added or removed). */
  learnerChanges: number;
  /** Committed configurations that removed the leader that appended them (it then steps down). */
  leaderRemovalsCommitted: number;
}

/** All counts at zero. */
export function emptyConfigCounts(): ConfigCounts {
  return {
    configsCommitted: 0,
    jointEntered: 0,
    jointLeft: 0,
    learnerChanges: 0,
    leaderRemovalsCommitted: 0,
  };
}

/** Whether the nodes for which `yes` holds include a quorum of `membership` (of both halves while joint). */
export function includesQuorum(membership: Membership, yes: (id: NodeId) => boolean): boolean {
  const majorityOf = (ids: readonly NodeId[]) => ids.filter(yes).length * 2 > ids.length;
  return (
    majorityOf(membership.voters) && (membership.outgoing.length === 0 || majorityOf(membership.outgoing))
  );
}

/** Every node whose vote counts in `membership`: its voters and, while joint, the outgoing voters. */
function votersOf(membership: Membership): NodeId[] {
  return [...new Set([...membership.voters, ...membership.outgoing])].sort((x, y) => x - y);
}

/**
 * A quorum of `a` and a quorum of `b` that share no node, or null if every quorum of `a` meets every quorum of
 * `b`. Brute force: for every subset S of the voters of either, is S a quorum of `a` while the rest is a quorum
 * of `b`? (A configuration without voters has no quorum, so it never conflicts.)
 */
export function disjointQuorums(
  a: Membership,
  b: Membership,
): { readonly ofA: NodeId[]; readonly ofB: NodeId[] } | null {
  const universe = [...new Set([...votersOf(a), ...votersOf(b)])].sort((x, y) => x - y);
  const subsets = 2 ** universe.length;
  for (let mask = 0; mask < subsets; mask++) {
    const inS = (id: NodeId) => {
      const bit = universe.indexOf(id);
      return bit >= 0 && (mask & (1 << bit)) !== 0;
    };
    if (includesQuorum(a, inS) && includesQuorum(b, (id) => universe.includes(id) && !inS(id))) {
      return { ofA: universe.filter(inS), ofB: universe.filter((id) => !inS(id)) };
    }
  }
  return null;
}

/** Whether two lists hold the same nodes, in any order. */
function sameSet(x: readonly NodeId[], y: readonly NodeId[]): boolean {
  return x.length === y.length && x.every((id) => y.includes(id));
}

/**
 * Why `next` cannot follow `previous` among committed configurations, or undefined if it is one step of
 * joint consensus (see the file comment).
 */
export function invalidStep(previous: Membership, next: Membership): string | undefined {
  if (isJoint(previous)) {
    if (isJoint(next)) return "a joint configuration was followed by another joint one instead of its C_new";
    if (!sameSet(next.voters, previous.voters)) {
      return "a joint configuration was left for voters other than its C_new";
    }
    if (!sameSet(next.learners, previous.learners))
      return "leaving a joint configuration changed the learners";
    return undefined;
  }
  if (isJoint(next)) {
    if (!sameSet(next.outgoing, previous.voters)) {
      return "a joint configuration's outgoing voters are not the voters of the configuration before it";
    }
    return undefined;
  }
  if (!sameSet(next.voters, previous.voters))
    return "the voters changed without passing through a joint configuration";
  const added = next.learners.filter((id) => !previous.learners.includes(id)).length;
  const removed = previous.learners.filter((id) => !next.learners.includes(id)).length;
  if (added + removed !== 1)
    return "a configuration without a change of voters changed other than one learner";
  return undefined;
}

/** Everything a {@link ConfigChecker} needs. */
export interface ConfigCheckerOptions {
  /** The starting configuration's voters (RaftConfig.voters of the starting nodes). */
  readonly initialVoters: readonly NodeId[];
  /** Reports a violation; the checker stops at the first. */
  readonly fail: (evidence: ViolationEvidence) => void;
  /** The leader of a term, as far as anyone has seen. */
  readonly leaderOfTerm: (term: number) => NodeId | undefined;
}

/** A committed configuration, the index of its entry, and the term by which it was committed. */
interface CommittedConfiguration {
  readonly membership: Membership;
  readonly index: number;
  readonly commitTerm: number;
}

/** A leader as the two-majorities check looks at it. */
export interface LeaderView {
  readonly id: NodeId;
  readonly raft: RaftNode;
}

/** The configuration checks; the {@link SwarmChecker} feeds them and reports what they find. */
export class ConfigChecker {
  readonly #fail: (evidence: ViolationEvidence) => void;
  readonly #leaderOfTerm: (term: number) => NodeId | undefined;
  /** The latest committed configuration and the index of its entry (0 for the starting one). */
  #latest: CommittedConfiguration;
  /** Every committed configuration in index order, the starting one first. */
  readonly #history: CommittedConfiguration[] = [];
  readonly counts: ConfigCounts = emptyConfigCounts();

  constructor(options: ConfigCheckerOptions) {
    this.#fail = options.fail;
    this.#leaderOfTerm = options.leaderOfTerm;
    this.#latest = { membership: membershipOf(options.initialVoters), index: 0, commitTerm: 0 };
    this.#history.push(this.#latest);
  }

  /** The latest configuration known committed (the starting one until a membership entry commits). */
  get latestCommitted(): Membership {
    return this.#latest.membership;
  }

  /**
   * `entry` was just seen committed for the first time (committed entries arrive in index order), by node
   * `by` in its term `commitTerm` (so committed in that term or an earlier one). Checks that a membership entry
   * is one joint-consensus step from the configuration before it. Returns false after reporting a violation.
   */
  committed(entry: Entry, by: NodeId, commitTerm: number): boolean {
    if (entry.kind !== "membership") return true;
    let next: Membership;
    try {
      next = decodeMembership(entry.data);
    } catch (error) {
      return this.#violation(
        `node ${by} committed a membership entry that does not decode: ${String(error)}`,
        [by],
        [entry.index],
        [entry.term],
      );
    }
    const previous = this.#latest;
    const problem = invalidStep(previous.membership, next);
    const split = problem === undefined ? disjointQuorums(previous.membership, next) : null;
    if (problem !== undefined || split !== null) {
      const why =
        problem ?? `their quorums can be disjoint: [${split?.ofA.join(",")}] and [${split?.ofB.join(",")}]`;
      return this.#violation(
        `committed configuration (${entry.index}, term ${entry.term}) ${describeMembership(next)} follows` +
          ` ${describeMembership(previous.membership)} (index ${previous.index}), but ${why}`,
        [by],
        [previous.index, entry.index],
        [entry.term],
      );
    }
    this.#count(previous.membership, next, entry);
    this.#latest = { membership: next, index: entry.index, commitTerm };
    this.#history.push(this.#latest);
    return true;
  }

  #count(previous: Membership, next: Membership, entry: Entry): void {
    const counts = this.counts;
    counts.configsCommitted++;
    if (isJoint(next)) counts.jointEntered++;
    else if (isJoint(previous)) {
      counts.jointLeft++;
      const leader = this.#leaderOfTerm(entry.term);
      if (leader !== undefined && previous.outgoing.includes(leader) && !next.voters.includes(leader)) {
        counts.leaderRemovalsCommitted++;
      }
    } else counts.learnerChanges++;
  }

  /**
   * Node `id` has just won an election with `raft`: its configuration's quorums must meet those of the latest
   * configuration committed in an earlier term. Returns false after reporting a violation.
   */
  newLeader(id: NodeId, raft: RaftNode): boolean {
    const own = raft.membership;
    let latest = this.#history[0] as CommittedConfiguration;
    for (const committed of this.#history) {
      if (committed.commitTerm < raft.term) latest = committed;
    }
    const split = disjointQuorums(own, latest.membership);
    if (split === null) return true;
    return this.#violation(
      `node ${id} won term ${raft.term} with configuration ${describeMembership(own)}, whose quorum` +
        ` [${split.ofA.join(",")}] shares no node with the quorum [${split.ofB.join(",")}] of the configuration` +
        ` ${describeMembership(latest.membership)} (index ${latest.index}), committed by term ${latest.commitTerm}`,
      [id],
      [latest.index],
      [raft.term],
      "config-leader-quorum",
    );
  }

  /**
   * Looks at every node leading right now: at most one may still hold a majority of its configuration
   * (`durableTerm(n)` is node n's term on disk). Returns false after reporting a violation.
   */
  checkLeaders(leaders: readonly LeaderView[], durableTerm: (id: NodeId) => number): boolean {
    if (leaders.length < 2) return true;
    const holding = leaders.filter(({ raft }) =>
      includesQuorum(raft.membership, (id) => durableTerm(id) <= raft.term),
    );
    if (holding.length < 2) return true;
    const [first, second] = holding as [LeaderView, LeaderView];
    const split = disjointQuorums(first.raft.membership, second.raft.membership);
    const describe = ({ id, raft }: LeaderView) =>
      `node ${id} (term ${raft.term}, ${describeMembership(raft.membership)})`;
    return this.#violation(
      `${describe(first)} and ${describe(second)} both lead while a quorum of each one's configuration has` +
        ` a term on disk no higher than its own` +
        (split === null
          ? ""
          : `; their quorums [${split.ofA.join(",")}] and [${split.ofB.join(",")}] are disjoint`),
      [first.id, second.id],
      [],
      [first.raft.term, second.raft.term],
      "config-two-majorities",
    );
  }

  #violation(
    message: string,
    nodes: readonly number[],
    indexes: readonly number[],
    terms: readonly number[],
    property: "config-joint-steps" | "config-leader-quorum" | "config-two-majorities" = "config-joint-steps",
  ): false {
    this.#fail({ property, message, nodes, indexes, terms });
    return false;
  }
}
