/**
 * A tiny synchronous harness for driving several {@link RaftNode}s in one test: it builds the nodes, carries
 * out their Readies (persist into a {@link MemoryLogStore}, record what they apply, queue their messages) and
 * delivers queued messages in FIFO order, with optional drop filters. No timers, no promises: every run is a
 * pure function of its seeds.
 */
import assert from "node:assert/strict";
import {
  type AppendEntries,
  asIndex,
  asNodeId,
  asTerm,
  type Entry,
  type InitialState,
  type Message,
  type NodeId,
  RaftNode,
  type ReadState,
  type Ready,
  type RequestVote,
  type RequestVoteReply,
  type Snapshot,
} from "../../src/core/index.ts";
import { MemoryLogStore } from "../../src/sim/memory-log-store.ts";
import { deriveSeed, Random } from "../../src/util/random.ts";

/** Election timeout used by the harness unless a test asks otherwise. */
export const ELECTION_TICKS = 10;
/** Heartbeat interval used by the harness unless a test asks otherwise. */
export const HEARTBEAT_TICKS = 1;
/** Upper bound on message deliveries in one {@link Cluster.deliver} call; a live-lock fails the test. */
export const DELIVERIES_PER_CALL_MAX = 100_000;
/** Upper bound on Readies drained from one node in one go; a node that never quiesces fails the test. */
export const READIES_PER_DRAIN_MAX = 1_000;

/** `[1, 2, ..., n]` as node ids. */
export function ids(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => asNodeId(i + 1));
}

/** Entries with the given terms, numbered from `firstIndex` (default 1); each carries its index as data. */
export function entries(terms: readonly number[], firstIndex = 1): Entry[] {
  return terms.map((term, i) => ({
    index: asIndex(firstIndex + i),
    term: asTerm(term),
    data: new Uint8Array([(firstIndex + i) & 0xff]),
  }));
}

/** A persisted starting state: `term`, optional `vote`, `commit` and a log holding entries of `terms`. */
export function initialState(
  options: {
    term?: number;
    vote?: number | null;
    commit?: number;
    terms?: readonly number[];
    snapshot?: Snapshot | null;
  } = {},
): InitialState {
  const snapshot = options.snapshot ?? null;
  return {
    hardState: {
      term: asTerm(options.term ?? 0),
      vote: options.vote === undefined || options.vote === null ? null : asNodeId(options.vote),
      commit: asIndex(options.commit ?? 0),
    },
    snapshot,
    entries: entries(options.terms ?? [], (snapshot?.meta.index ?? 0) + 1),
  };
}

export interface NodeOptions {
  readonly seed?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly noopOnElection?: boolean;
  readonly inflightMessagesMax?: number;
  readonly entriesPerMessageMax?: number;
  /** PreVote (thesis §9.6); the core's default (off) unless set. */
  readonly preVote?: boolean;
  /** CheckQuorum and leader stickiness (thesis §6.2, §4.2.3); the core's default (off) unless set. */
  readonly checkQuorum?: boolean;
  /** Lease reads (thesis §6.4.1); needs checkQuorum. */
  readonly leaseReads?: boolean;
  readonly initialState?: InitialState;
}

/** One node with the harness defaults. */
export function newNode(id: number, voters: readonly NodeId[], options: NodeOptions = {}): RaftNode {
  return new RaftNode({
    id: asNodeId(id),
    voters,
    electionTicks: options.electionTicks ?? ELECTION_TICKS,
    heartbeatTicks: options.heartbeatTicks ?? HEARTBEAT_TICKS,
    random: new Random(deriveSeed(options.seed ?? 1, `node-${id}`)),
    initialState: options.initialState ?? initialState(),
    ...(options.noopOnElection === undefined ? {} : { noopOnElection: options.noopOnElection }),
    ...(options.inflightMessagesMax === undefined
      ? {}
      : { inflightMessagesMax: options.inflightMessagesMax }),
    ...(options.entriesPerMessageMax === undefined
      ? {}
      : { entriesPerMessageMax: options.entriesPerMessageMax }),
    ...(options.preVote === undefined ? {} : { preVote: options.preVote }),
    ...(options.checkQuorum === undefined ? {} : { checkQuorum: options.checkQuorum }),
    ...(options.leaseReads === undefined ? {} : { leaseReads: options.leaseReads }),
  });
}

/**
 * Takes one Ready from `node`, carries it out against `store` (persist, then advance) and returns it, so a test
 * can look at what the node asked for. Messages are not delivered anywhere.
 */
export function takeReady(node: RaftNode, store?: MemoryLogStore): Ready {
  const rd = node.ready();
  if (store !== undefined) persist(store, rd);
  node.advance(rd);
  return rd;
}

/** Writes what a Ready asks to make durable into `store`: snapshot, then entries, then hard state. */
export function persist(store: MemoryLogStore, rd: Ready): void {
  store.apply({
    ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
    entries: rd.entries,
    ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
  });
}

/** Every message of a Ready, the early ones first. */
export function allMessages(rd: Ready): Message[] {
  return [...rd.messages, ...rd.messagesAfterPersist];
}

/** Takes Readies until the node has nothing more to hand out; returns them all. */
export function drainReadies(node: RaftNode, store?: MemoryLogStore): Ready[] {
  const readies: Ready[] = [];
  while (node.hasReady()) {
    assert.ok(readies.length < READIES_PER_DRAIN_MAX, `node ${node.id} never stops producing Readies`);
    readies.push(takeReady(node, store));
  }
  return readies;
}

/** Messages of a given type, narrowed. */
export function ofType<T extends Message["type"]>(
  messages: readonly Message[],
  type: T,
): Extract<Message, { type: T }>[] {
  return messages.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

/** Decides whether a message is lost; true drops it. */
export type DropFilter = (message: Message) => boolean;

/**
 * A cluster of nodes wired through a FIFO in-memory network. `deliver` runs the Ready loop and the network
 * until nothing is left to do. Tests may reach into `nodes`, `stores` and `network` directly.
 */
export class Cluster {
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly stores = new Map<NodeId, MemoryLogStore>();
  /** Entries each node's state machine applied since its last (re)start, in order. */
  readonly applied = new Map<NodeId, Entry[]>();
  /** Reads each node confirmed (Ready.readStates), in order. */
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Snapshots each node was told to load from its leader. */
  readonly snapshotsApplied = new Map<NodeId, Snapshot[]>();
  /** Messages sent and not yet delivered, oldest first. */
  network: Message[] = [];
  /** Nodes cut off from everyone else: every message to or from them is lost. */
  readonly isolated = new Set<NodeId>();
  /** A standing drop filter, applied to every delivery on top of `isolated`. */
  drop: DropFilter = () => false;
  /**
   * Decides whether a node crashes with this Ready in hand: its early `messages` are sent, nothing is
   * persisted, and the node restarts from its store. For fault-injection tests.
   */
  crashBeforePersist: (id: NodeId, rd: Ready) => boolean = () => false;
  /** Called after each Ready has been carried out (persisted, queued, advanced); for invariant checkers. */
  onReady: (id: NodeId, rd: Ready) => void = () => {};
  /** Called after a node restarted from its store. */
  onRestart: (id: NodeId) => void = () => {};
  /** Readies taken but not yet persisted and advanced (see {@link beginReady}). */
  readonly inFlight = new Map<NodeId, Ready>();
  readonly #options: NodeOptions;
  /** The starting configuration each node was created with (a joining node's is empty). */
  readonly #startingVoters = new Map<NodeId, readonly NodeId[]>();
  #restarts = 0;

  constructor(size: number, options: NodeOptions & { initialStates?: readonly InitialState[] } = {}) {
    this.ids = ids(size);
    this.#options = options;
    this.ids.forEach((id, i) => {
      const initial = options.initialStates?.[i] ?? initialState();
      this.stores.set(id, new MemoryLogStore(initial));
      this.nodes.set(id, newNode(id, this.ids, { ...options, initialState: initial }));
      this.#startingVoters.set(id, [...this.ids]);
      this.applied.set(id, []);
      this.snapshotsApplied.set(id, []);
      this.readStates.set(id, []);
    });
  }

  /**
   * Starts a new, empty node `id` that is to join the cluster (thesis §4): it has no starting configuration, so
   * it waits, passive, until a leader adds it (as a learner) and replicates the log to it.
   */
  addNode(id: number): RaftNode {
    const nodeId = asNodeId(id);
    assert.ok(!this.nodes.has(nodeId), `node ${id} exists already`);
    this.ids.push(nodeId);
    this.#startingVoters.set(nodeId, []);
    this.stores.set(nodeId, new MemoryLogStore(initialState()));
    const node = newNode(id, [], { ...this.#options, initialState: initialState() });
    this.nodes.set(nodeId, node);
    this.applied.set(nodeId, []);
    this.snapshotsApplied.set(nodeId, []);
    this.readStates.set(nodeId, []);
    return node;
  }

  node(id: number): RaftNode {
    const node = this.nodes.get(asNodeId(id));
    assert.ok(node !== undefined, `no node ${id}`);
    return node;
  }

  store(id: number): MemoryLogStore {
    const store = this.stores.get(asNodeId(id));
    assert.ok(store !== undefined, `no store ${id}`);
    return store;
  }

  appliedBy(id: number): Entry[] {
    return this.applied.get(asNodeId(id)) ?? [];
  }

  /** Carries out every pending Ready of every node, queueing the messages they produce. */
  flush(): void {
    for (const id of this.ids) this.flushNode(id);
  }

  /**
   * Carries out every pending Ready of one node: first the one left in flight by {@link beginReady}, if any,
   * then new ones until the node has nothing more to hand out.
   */
  flushNode(id: NodeId): void {
    this.finishReady(id);
    for (let count = 0; this.node(id).hasReady(); count++) {
      assert.ok(count < READIES_PER_DRAIN_MAX, `node ${id} never stops producing Readies`);
      if (!this.beginReady(id)) return; // crashed
      this.finishReady(id);
    }
  }

  /**
   * Takes a Ready and sends its early `messages`, leaving the rest (persist, replies, apply, advance) in flight
   * until {@link finishReady}, as a driver with asynchronous storage would. Meanwhile the node may step
   * messages, tick and take proposals. Returns false if the node crashed with the Ready in hand instead.
   */
  beginReady(id: NodeId): boolean {
    const node = this.node(id);
    if (this.inFlight.has(id) || !node.hasReady()) return true;
    const rd = node.ready();
    this.network.push(...rd.messages);
    this.readStates.get(id)?.push(...rd.readStates);
    if (this.crashBeforePersist(id, rd)) {
      this.restart(id);
      return false;
    }
    this.inFlight.set(id, rd);
    return true;
  }

  /** Persists the node's Ready in flight, sends its replies, applies and advances. */
  finishReady(id: NodeId): void {
    const rd = this.inFlight.get(id);
    if (rd === undefined) return;
    this.inFlight.delete(id);
    persist(this.store(id), rd);
    if (rd.snapshotToApply !== undefined) this.snapshotsApplied.get(id)?.push(rd.snapshotToApply);
    this.applied.get(id)?.push(...rd.committedEntries);
    this.network.push(...rd.messagesAfterPersist);
    this.node(id).advance(rd);
    this.onReady(id, rd);
  }

  /** Whether `message` would be lost on the way, given the partitions and the drop filters. */
  isLost(message: Message, extraDrop?: DropFilter): boolean {
    return (
      !this.nodes.has(message.to) || // nobody runs at that address (yet)
      this.isolated.has(message.from) ||
      this.isolated.has(message.to) ||
      this.drop(message) ||
      (extraDrop?.(message) ?? false)
    );
  }

  /** Hands one message to its target (unless lost) and carries out the Readies that follow. */
  deliverOne(message: Message, extraDrop?: DropFilter): boolean {
    if (this.isLost(message, extraDrop)) return false;
    this.node(message.to).step(message);
    this.flushNode(message.to);
    return true;
  }

  /**
   * Runs the Ready loop and the network until no message is left: FIFO delivery, dropping what the filters
   * say. Returns every message that was delivered, in order.
   */
  deliver(extraDrop?: DropFilter): Message[] {
    const delivered: Message[] = [];
    this.flush();
    for (let count = 0; this.network.length > 0; count++) {
      assert.ok(count < DELIVERIES_PER_CALL_MAX, "Cluster.deliver: the network never went quiet");
      const message = this.network.shift() as Message;
      if (this.deliverOne(message, extraDrop)) delivered.push(message);
    }
    return delivered;
  }

  /** Ticks every node (or the given ones) once, then delivers. */
  tick(which: readonly number[] = this.ids, extraDrop?: DropFilter): void {
    for (const id of which) this.node(id).tick();
    this.deliver(extraDrop);
  }

  /** Makes `id` campaign, runs the election to the end and checks that it won. */
  elect(id: number): RaftNode {
    const node = this.node(id);
    node.campaign();
    this.deliver();
    assert.equal(node.role, "leader", `node ${id} should have won the election of term ${node.term}`);
    return node;
  }

  /** Proposes `data` at the leader `id` and delivers until quiet. Returns the index it was appended at. */
  propose(id: number, data: Uint8Array | number, extraDrop?: DropFilter): number {
    const bytes = typeof data === "number" ? new Uint8Array([data & 0xff]) : data;
    const result = this.node(id).propose(bytes);
    assert.ok(result.accepted, `node ${id} refused a proposal`);
    this.deliver(extraDrop);
    return result.index;
  }

  /**
   * Asks the leader `id` to hand leadership to `target` (thesis §3.10), checks that it accepted, and delivers
   * until quiet. Returns every message delivered meanwhile.
   */
  transfer(id: number, target: number, extraDrop?: DropFilter): Message[] {
    const result = this.node(id).transferLeader(asNodeId(target));
    assert.ok(result.accepted, `node ${id} refused to transfer to ${target}: ${JSON.stringify(result)}`);
    return this.deliver(extraDrop);
  }

  /**
   * Crashes `id` and starts it again from what its store holds, losing any Ready in flight; its state machine
   * restarts from the stored snapshot.
   */
  restart(id: number): RaftNode {
    const nodeId = asNodeId(id);
    this.inFlight.delete(nodeId); // whatever was not persisted yet is lost
    this.#restarts++;
    const seed = deriveSeed(this.#options.seed ?? 1, `restart-${this.#restarts}`);
    const node = newNode(id, this.#startingVoters.get(nodeId) ?? this.ids, {
      ...this.#options,
      seed,
      initialState: this.store(id).initialState(),
    });
    this.nodes.set(nodeId, node);
    this.applied.set(nodeId, []);
    this.snapshotsApplied.set(nodeId, []);
    this.onRestart(nodeId);
    return node;
  }

  /** The nodes that currently believe they lead. */
  leaders(): RaftNode[] {
    return [...this.nodes.values()].filter((node) => node.role === "leader");
  }
}

// ---- message builders ------------------------------------------------------------------------------------

/** A RequestVote from `from` to `to` for `term`, with the candidate's last log position. */
export function requestVote(
  from: number,
  to: number,
  term: number,
  lastLogIndex: number,
  lastLogTerm: number,
): RequestVote {
  return {
    type: "RequestVote",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    lastLogIndex: asIndex(lastLogIndex),
    lastLogTerm: asTerm(lastLogTerm),
  };
}

/** A pre-vote request (thesis §9.6): `term` is the term the candidate proposes. */
export function preVote(
  from: number,
  to: number,
  term: number,
  lastLogIndex: number,
  lastLogTerm: number,
): RequestVote {
  return { ...requestVote(from, to, term, lastLogIndex, lastLogTerm), preVote: true };
}

export function voteReply(from: number, to: number, term: number, voteGranted: boolean): RequestVoteReply {
  return {
    type: "RequestVoteReply",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    voteGranted,
  };
}

export function preVoteReply(from: number, to: number, term: number, voteGranted: boolean): RequestVoteReply {
  return { ...voteReply(from, to, term, voteGranted), preVote: true };
}

/** An empty AppendEntries at (`prevLogIndex`, `prevLogTerm`) with commit 0. */
export function heartbeat(
  from: number,
  to: number,
  term: number,
  prevLogIndex: number,
  prevLogTerm: number,
): AppendEntries {
  return {
    type: "AppendEntries",
    from: asNodeId(from),
    to: asNodeId(to),
    term: asTerm(term),
    prevLogIndex: asIndex(prevLogIndex),
    prevLogTerm: asTerm(prevLogTerm),
    entries: [],
    leaderCommit: asIndex(0),
    readRound: 0,
  };
}
