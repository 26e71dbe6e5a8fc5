/**
 * Randomized cluster runs for the simulation tests: a cluster under message loss, duplication, reordering and
 * delay, shifting partitions, crashes (some in the middle of a Ready, before it is persisted), restarts and
 * log compaction, all drawn from one seeded Random. After every step the Figure 3 properties are checked:
 * election safety, state machine safety, leader completeness (for leaders elected after a commit), commit
 * monotonicity, apply order, and that storage holds exactly what the core counts as durable. Every failure
 * message starts with the seed that replays it.
 */
import assert from "node:assert/strict";
import type { Entry, LogIndex, Message, NodeId, RaftNode, Ready } from "../../src/core/index.ts";
import { deriveSeed, Random } from "../../src/util/random.ts";
import { Cluster, ELECTION_TICKS, type NodeOptions } from "./helpers.ts";

/** Ticks of faulty running per seed. */
export const FAULTY_TICKS = 300;
/** Ticks allowed, after healing every fault, for the cluster to elect a leader and commit a last entry. */
const HEAL_TICKS_MAX = 40 * ELECTION_TICKS;
/** Messages kept in flight at most; older ones are dropped first, like a full queue. */
const NETWORK_MESSAGES_MAX = 400;

/** The kinds and rates of faults a run injects. */
export interface Faults {
  /** Percent of deliveries lost. */
  readonly lossPercent: number;
  /** Percent of deliveries that also leave a copy behind to be delivered again later. */
  readonly duplicatePercent: number;
  /** Percent chance per tick that the partition changes. */
  readonly partitionPercent: number;
  /** Percent chance per tick that one node restarts. */
  readonly restartPercent: number;
  /** Percent chance per Ready that the node crashes before persisting it. */
  readonly crashBeforePersistPercent: number;
  /**
   * Percent chance, after each event at a node, that its next Ready stays in flight (slow storage) while the
   * node goes on stepping messages, ticking and taking proposals, as the peer's asynchronous Ready loop allows.
   */
  readonly asyncReadyPercent: number;
  /** Percent chance per tick that one node compacts its log through its applied index. */
  readonly compactPercent: number;
  /**
   * Percent chance per tick that each leader proposes a command. Not a fault, but it shapes the run: rare
   * proposals leave leaders replicating entries of earlier terms alone, the Figure 8 situation.
   */
  readonly proposePercent: number;
}

/** Every fault, log compaction included. */
export const ALL_FAULTS: Faults = {
  lossPercent: 10,
  duplicatePercent: 5,
  partitionPercent: 4,
  restartPercent: 1,
  crashBeforePersistPercent: 1,
  asyncReadyPercent: 20,
  compactPercent: 5,
  proposePercent: 30,
};

/** The safety properties of the paper's Figure 3, checked incrementally after every step. */
export class SafetyChecker {
  readonly #context: () => string;
  readonly #cluster: Cluster;
  /** Election safety: the one leader seen for each term. */
  readonly #leaderOfTerm = new Map<number, NodeId>();
  /** Every committed entry seen so far, by index, with the term of the node that first committed it. */
  readonly #committed = new Map<number, { entry: Entry; commitTerm: number }>();
  /**
   * Per node: highest commit index seen. It never decreases while the node runs; a restart may lose what was
   * not yet persisted (commitIndex is volatile in Figure 2), but the persisted commit never decreases.
   */
  readonly #commitSeen = new Map<NodeId, number>();
  /** Per node: highest commit index seen in its storage (never decreases, across restarts too). */
  readonly #durableCommitSeen = new Map<NodeId, number>();
  /** Per node: the index its state machine expects to apply next. */
  readonly #nextApply = new Map<NodeId, number>();
  /** Per node: whether it was leader at the last check (to check leader completeness on election). */
  readonly #wasLeader = new Map<NodeId, number>();

  constructor(cluster: Cluster, context: () => string) {
    this.#cluster = cluster;
    this.#context = context;
    for (const id of cluster.ids) this.#nextApply.set(id, 1);
  }

  fail(message: string): never {
    assert.fail(`${this.#context()}: ${message}`);
  }

  /** A Ready was carried out: check what storage now holds and what was applied. */
  onReady(id: NodeId, rd: Ready): void {
    const node = this.#cluster.node(id);
    this.#checkStorage(id, node);
    let next = this.#nextApply.get(id) ?? 1;
    if (rd.snapshotToApply !== undefined) {
      const { index, term } = rd.snapshotToApply.meta;
      if (index < next - 1) this.fail(`node ${id} loaded snapshot ${index} behind applied ${next - 1}`);
      const known = this.#committed.get(index);
      if (known !== undefined && known.entry.term !== term) {
        this.fail(
          `node ${id} loaded snapshot (${index}, term ${term}) but (${index}, term ${known.entry.term}) is committed`,
        );
      }
      next = index + 1;
    }
    for (const entry of rd.committedEntries) {
      if (entry.index !== next)
        this.fail(`node ${id} applied ${entry.index}, expected ${next} (order / exactly once)`);
      if (entry.index > node.log.committed) this.fail(`node ${id} applied ${entry.index} beyond commit`);
      this.#checkCommittedEntry(id, entry, node.term);
      next++;
    }
    this.#nextApply.set(id, next);
  }

  /** A node restarted: its state machine reloads the persisted snapshot. */
  onRestart(id: NodeId): void {
    this.#nextApply.set(id, this.#cluster.store(id).offset + 1);
    this.#wasLeader.set(id, -1);
    this.#commitSeen.set(id, this.#cluster.node(id).log.committed);
  }

  /** Runs every cheap check; call after every step. */
  check(): void {
    for (const [id, node] of this.#cluster.nodes) {
      if (node.role === "leader") {
        const other = this.#leaderOfTerm.get(node.term);
        if (other !== undefined && other !== id)
          this.fail(`two leaders in term ${node.term}: ${other} and ${id}`);
        this.#leaderOfTerm.set(node.term, id);
        if (this.#wasLeader.get(id) !== node.term) this.#checkLeaderCompleteness(node);
        this.#wasLeader.set(id, node.term);
      } else {
        this.#wasLeader.set(id, -1);
      }
      const committed = node.log.committed;
      const seen = this.#commitSeen.get(id) ?? 0;
      if (committed < seen) this.fail(`node ${id} commit index went back from ${seen} to ${committed}`);
      for (let index = Math.max(seen, node.log.offset) + 1; index <= committed; index++) {
        const entry = node.log.entry(index as LogIndex);
        if (entry === undefined) this.fail(`node ${id} committed ${index} but does not hold it`);
        this.#checkCommittedEntry(id, entry, node.term);
      }
      this.#commitSeen.set(id, committed);
      const durable = this.#cluster.store(id).hardState.commit;
      const durableSeen = this.#durableCommitSeen.get(id) ?? 0;
      if (durable < durableSeen)
        this.fail(`node ${id} persisted commit went back from ${durableSeen} to ${durable}`);
      this.#durableCommitSeen.set(id, durable);
    }
  }

  /** The slower checks: leader completeness for every current leader. Call once per tick. */
  checkLeaders(): void {
    for (const node of this.#cluster.nodes.values()) {
      if (node.role === "leader") this.#checkLeaderCompleteness(node);
    }
  }

  /**
   * Durability: what the core counts as stable (it acknowledges it to leaders and counts it toward commits) is
   * exactly what storage holds.
   */
  #checkStorage(id: NodeId, node: RaftNode): void {
    const store = this.#cluster.store(id);
    const { log } = node;
    if (log.unstableSnapshot === null && store.offset !== log.offset) {
      this.fail(`node ${id} stored snapshot at ${store.offset}, but its log starts after ${log.offset}`);
    }
    for (let index = Math.max(store.offset, log.offset) + 1; index <= log.stableIndex; index++) {
      const stored = store.entries[index - store.offset - 1];
      if (stored === undefined || stored.term !== log.term(index as LogIndex)) {
        this.fail(
          `node ${id} counts (${index}, term ${log.term(index as LogIndex)}) as stable, but storage holds ${stored === undefined ? "nothing" : `term ${stored.term}`}`,
        );
      }
    }
  }

  /** State machine safety: nobody commits or applies a different entry at an index already committed. */
  #checkCommittedEntry(id: NodeId, entry: Entry, term: number): void {
    const known = this.#committed.get(entry.index);
    if (known === undefined) {
      this.#committed.set(entry.index, { entry, commitTerm: term });
      return;
    }
    if (known.entry.term !== entry.term || !sameBytes(known.entry.data, entry.data)) {
      this.fail(
        `node ${id} has (${entry.index}, term ${entry.term}) committed, but (${entry.index}, term ${known.entry.term}) was committed before`,
      );
    }
  }

  /** Leader completeness: a leader holds every entry committed in an earlier term (§5.4). */
  #checkLeaderCompleteness(leader: RaftNode): void {
    for (const [index, { entry, commitTerm }] of this.#committed) {
      if (commitTerm >= leader.term || index <= leader.log.offset) continue;
      const ours = leader.log.entry(index as LogIndex);
      if (ours === undefined || ours.term !== entry.term || !sameBytes(ours.data, entry.data)) {
        this.fail(
          `leader ${leader.id} of term ${leader.term} lacks (${index}, term ${entry.term}), committed in term ${commitTerm}`,
        );
      }
    }
  }

  /** The highest index known committed anywhere. */
  highestCommitted(): number {
    let highest = 0;
    for (const index of this.#committed.keys()) highest = Math.max(highest, index);
    return highest;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Splits the nodes into random groups; messages between groups are lost. Sometimes heals everything. */
function randomPartition(random: Random, ids: readonly NodeId[]): Map<NodeId, number> {
  const group = new Map<NodeId, number>();
  const shape = random.int(4);
  for (const id of ids) {
    // 0: healed; 1: one node isolated; 2: two random halves; 3: three random groups.
    group.set(id, shape === 0 ? 0 : shape === 1 ? 0 : random.int(shape));
  }
  if (shape === 1) group.set(random.pick(ids), 1);
  return group;
}

/** What a run did, to tell runs apart: identical for identical seeds. */
export interface RunSummary {
  /** The highest index known committed. */
  readonly committed: number;
  /** Steps checked (deliveries, ticks, proposals, restarts, compactions, Readies completed). */
  readonly steps: number;
  /** Each node's final [term, commit index, last log index]. */
  readonly nodes: readonly (readonly [number, number, number])[];
}

/** Runs one seeded random cluster and throws, naming the seed, on the first broken property. */
export function runRandomCluster(
  seed: number,
  size: number,
  faults: Faults,
  nodeOptions: NodeOptions = {},
): RunSummary {
  const random = new Random(deriveSeed(seed, "faults"));
  const cluster = new Cluster(size, { ...nodeOptions, seed });
  let tick = 0;
  let step = 0;
  const context = () => `seed ${seed} (size ${size}, tick ${tick}, step ${step})`;
  const checker = new SafetyChecker(cluster, context);
  let group = new Map<NodeId, number>(cluster.ids.map((id) => [id, 0]));
  let faulty = true;
  cluster.drop = (m) => group.get(m.from) !== group.get(m.to);
  cluster.crashBeforePersist = () => faulty && random.chance(faults.crashBeforePersistPercent, 100);
  cluster.onReady = (id, rd) => checker.onReady(id, rd);
  cluster.onRestart = (id) => checker.onRestart(id);
  let proposals = 0;

  const afterStep = () => {
    step++;
    checker.check();
  };
  /** Carries out the node's Readies now, or (sometimes, while faulty) leaves the next one in flight. */
  const settle = (id: NodeId) => {
    if (faulty && random.chance(faults.asyncReadyPercent, 100)) cluster.beginReady(id);
    else cluster.flushNode(id);
  };
  /** Completes some of the Readies left in flight. */
  const finishSome = () => {
    for (const id of [...cluster.inFlight.keys()]) {
      if (!faulty || random.chance(1, 2)) {
        cluster.finishReady(id);
        afterStep();
      }
    }
  };
  const deliverSome = (count: number) => {
    for (let i = 0; i < count && cluster.network.length > 0; i++) {
      // Reordering: any message in flight may go next.
      const at = random.int(cluster.network.length);
      const message = cluster.network[at] as Message;
      const duplicate = faulty && random.chance(faults.duplicatePercent, 100);
      if (!duplicate) cluster.network.splice(at, 1);
      if (faulty && random.chance(faults.lossPercent, 100)) continue;
      if (cluster.isLost(message)) continue;
      cluster.node(message.to).step(message);
      settle(message.to);
      afterStep();
    }
    if (cluster.network.length > NETWORK_MESSAGES_MAX) {
      cluster.network.splice(0, cluster.network.length - NETWORK_MESSAGES_MAX);
    }
  };
  const proposeAtLeaders = (chancePercent: number) => {
    for (const leader of cluster.leaders()) {
      if (!random.chance(chancePercent, 100)) continue;
      const data = new Uint8Array([seed & 0xff, proposals & 0xff, (proposals >> 8) & 0xff]);
      proposals++;
      assert.ok(leader.propose(data).accepted, `${context()}: a leader refused a proposal`);
      settle(leader.id);
      afterStep();
    }
  };
  const tickAll = () => {
    tick++;
    for (const id of cluster.ids) {
      cluster.node(id).tick();
      settle(id);
      afterStep();
    }
    checker.checkLeaders();
  };

  try {
    while (tick < FAULTY_TICKS) {
      if (random.chance(faults.partitionPercent, 100)) group = randomPartition(random, cluster.ids);
      if (random.chance(faults.restartPercent, 100)) {
        cluster.restart(random.pick(cluster.ids));
        afterStep();
      }
      if (random.chance(faults.compactPercent, 100)) {
        const node = cluster.node(random.pick(cluster.ids));
        if (node.log.applied > node.log.offset) {
          assert.ok(node.compact(node.log.applied, new Uint8Array([node.log.applied & 0xff])).compacted);
          settle(node.id);
          afterStep();
        }
      }
      tickAll();
      proposeAtLeaders(faults.proposePercent);
      deliverSome(random.int(6 * size));
      finishSome();
    }

    // Heal every fault; the cluster must elect a leader and commit a new entry everywhere.
    faulty = false;
    group = new Map(cluster.ids.map((id) => [id, 0]));
    // One marker entry per leader term; done when every node applied the current leader's marker.
    const markers = new Map<number, number>();
    for (let healed = 0; healed < HEAL_TICKS_MAX; healed++) {
      tickAll();
      deliverSome(cluster.network.length);
      const leader = cluster.leaders().find((node) => node.term === Math.max(...nodesTerms(cluster)));
      if (leader === undefined) continue;
      const marker = markers.get(leader.term);
      if (marker === undefined) {
        const result = leader.propose(new Uint8Array([0xff]));
        assert.ok(result.accepted);
        markers.set(leader.term, result.index);
        settle(leader.id);
        afterStep();
      } else if ([...cluster.nodes.values()].every((node) => node.log.applied >= marker)) {
        return {
          committed: checker.highestCommitted(),
          steps: step,
          nodes: [...cluster.nodes.values()].map((node) => [
            node.term,
            node.log.committed,
            node.log.lastIndex(),
          ]),
        };
      }
    }
    return checker.fail(
      `no progress within ${HEAL_TICKS_MAX} ticks after healing (markers ${JSON.stringify([...markers])})`,
    );
  } catch (error) {
    if (error instanceof Error && !error.message.startsWith(`seed ${seed}`)) {
      error.message = `${context()}: ${error.message}`;
    }
    throw error;
  }
}

function nodesTerms(cluster: Cluster): number[] {
  return [...cluster.nodes.values()].map((node) => node.term);
}
