import type { NodeId, ReadState } from "../../core/index.ts";
import type { Clock } from "../../peer/index.ts";
import type { Random } from "../../util/random.ts";
import type { SwarmChecker } from "./checker.ts";
import type { RunCounts } from "./coverage.ts";
import { ELECTION_TIMEOUT_MAX_MS } from "./plan.ts";
import type { SwarmCluster } from "./swarm-cluster.ts";

/**
 * Linearizable reads under the faults (thesis §6.4): every so often the probe asks a node for a read index —
 * the node it believes leads, mostly, else any running node, which forwards it — and checks each read index
 * the cluster confirms against what had been committed when the read was asked. A read must see every write
 * completed before it began, so its index may not be below the highest index any node knew committed at that
 * moment: that is ReadIndex's promise, and a lease's (RaftConfig.leaseReads) as long as its clock assumption
 * holds. The plan turns lease reads on only in runs whose clocks neither skew nor pause, where it does.
 */

/** A read asked for and not yet confirmed. */
interface PendingRead {
  readonly node: NodeId;
  /** The highest index known committed anywhere when the read was asked. */
  readonly floor: number;
  /** Virtual milliseconds when it was asked. */
  readonly at: number;
}

/** Reads unanswered this long are forgotten (their node lost leadership, a message was lost). */
const READ_FORGET_MS = 20 * ELECTION_TIMEOUT_MAX_MS;

/** The read probe; see the file comment. */
export class ReadProbe {
  readonly #cluster: SwarmCluster;
  readonly #checker: SwarmChecker;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #intervalMs: number;
  readonly #counts: RunCounts;
  readonly #pending = new Map<number, PendingRead>();
  #nextRequestId = 1;
  #running = false;

  /** @param intervalMs mean milliseconds between reads; 0 for none */
  constructor(
    cluster: SwarmCluster,
    checker: SwarmChecker,
    clock: Clock,
    random: Random,
    intervalMs: number,
    counts: RunCounts,
  ) {
    this.#cluster = cluster;
    this.#checker = checker;
    this.#clock = clock;
    this.#random = random;
    this.#intervalMs = intervalMs;
    this.#counts = counts;
  }

  start(): void {
    if (this.#running || this.#intervalMs === 0) return;
    this.#running = true;
    this.#schedule();
  }

  /** No more reads are asked; those confirmed later are still checked. */
  stop(): void {
    this.#running = false;
  }

  #schedule(): void {
    this.#clock.setTimer(
      () => {
        if (!this.#running) return;
        this.#ask();
        this.#schedule();
      },
      this.#random.intBetween(1, 2 * this.#intervalMs),
    );
  }

  #ask(): void {
    const cluster = this.#cluster;
    const leader = cluster.leader();
    const up = cluster.activeIds.filter((id) => cluster.isUp(id));
    if (up.length === 0) return;
    const node = leader !== null && this.#random.chance(3, 4) ? leader : this.#random.pick(up);
    const now = this.#clock.now();
    for (const [requestId, read] of this.#pending) {
      if (now - read.at > READ_FORGET_MS) this.#pending.delete(requestId);
    }
    const requestId = this.#nextRequestId++;
    this.#pending.set(requestId, { node, floor: this.#checker.committedCount, at: now });
    this.#counts.readsAsked++;
    cluster.request(node, (peer) => {
      if (!peer.readIndex(requestId).accepted) this.#pending.delete(requestId);
    });
  }

  /** Node `id` reports confirmed reads: each index must reach what was committed when its read was asked. */
  confirmed(id: NodeId, states: readonly ReadState[]): void {
    for (const { requestId, index } of states) {
      const read = this.#pending.get(requestId);
      if (read === undefined || read.node !== id) continue;
      this.#pending.delete(requestId);
      this.#counts.readsConfirmed++;
      if (this.#clock.now() === read.at) this.#counts.readsAtOnce++;
      if (index >= read.floor) continue;
      const raft = this.#cluster.raftOf(id);
      this.#checker.fail({
        property: "stale-read",
        message:
          `node ${id} confirmed read ${requestId} at index ${index}, but index ${read.floor} was committed` +
          ` when the read was asked (${this.#clock.now() - read.at} ms before)` +
          (raft === null ? "" : `; the node is ${raft.role} of term ${raft.term}`),
        nodes: [id],
        indexes: [index, read.floor],
        terms: raft === null ? [] : [raft.term],
      });
      return;
    }
  }
}
