import { decode, encode } from "../codec/msgpack.ts";
import { decodeRaftState, RaftStateWriter } from "../codec/raft-state.ts";
import {
  asIndex,
  asNodeId,
  asTerm,
  type Entry,
  type InitialState,
  type Message,
  type NodeId,
  type Request,
  type Snapshot,
} from "../core/index.ts";
import { type Clock, Peer, type StorageUpdate } from "../peer/index.ts";
import { MemoryLogStore } from "../sim/memory-log-store.ts";
import { deriveSeed, Random } from "../util/random.ts";
import type { Channel } from "./channel.ts";
import { makeRealClock } from "./clocks.ts";
import type { ClientEnd } from "./labrpc/index.ts";
import type { Persister } from "./persister.ts";

/**
 * What Raft delivers on `applyCh` (the course's `ApplyMsg`): either a committed command
 * (`commandValid`) or a snapshot from the leader for the service to install (`snapshotValid`).
 */
export interface ApplyMsg {
  commandValid: boolean;
  command: unknown;
  commandIndex: number;
  snapshotValid: boolean;
  snapshot: Uint8Array;
  snapshotTerm: number;
  snapshotIndex: number;
}

/** Options for {@link make}: the clock (real time by default) and the seed of this instance's randomness. */
export interface RaftOptions {
  /** The clock to tick on; the lab tests pass a virtual clock. Default: the system clock. */
  clock?: Clock;
  /** Seed for election-timeout jitter. Default 0. */
  seed?: number;
  /** Milliseconds per core tick. Default {@link LAB_TIMING}.tickMs. */
  tickMs?: number;
  /** Called if the peer stops on a broken invariant; the tester fails the test with the seed. */
  onFatal?: (error: unknown) => void;
}

/**
 * Timing for the lab. The course allows at most 10 heartbeats a second and wants a new leader within 5 s of
 * a failure, so: a tick of 20 ms, heartbeats every 5 ticks (100 ms), election timeouts drawn from
 * [300, 600) ms — above the paper's 150–300 ms because heartbeats are slower, yet short enough that a few
 * split votes still fit in the tester's 5 s.
 */
export const LAB_TIMING = { tickMs: 30, heartbeatTicks: 5, electionTicks: 15 } as const;

/** The RPC names Raft's messages travel under: `Raft.RequestVote`, `Raft.AppendEntries`, `Raft.InstallSnapshot`. */
const RPC_NAME: Record<Request["type"], string> = {
  RequestVote: "Raft.RequestVote",
  AppendEntries: "Raft.AppendEntries",
  InstallSnapshot: "Raft.InstallSnapshot",
};

/**
 * One Raft peer with the course's interface (`start`, `getState`, `snapshot`, `kill`), built on the tsraft
 * core and peer: the labrpc ends are its transport, the `Persister` its storage and `applyCh` its state
 * machine. Its RPC handlers are the methods with upper-case names, as labrpc expects.
 */
export class Raft {
  readonly #me: number;
  readonly #peers: readonly ClientEnd[];
  readonly #persister: Persister;
  readonly #applyCh: Channel<ApplyMsg>;
  readonly #store: MemoryLogStore;
  readonly #writer = new RaftStateWriter();
  readonly #peer: Peer;
  readonly #applyQueue: ApplyMsg[] = [];
  #applying = false;
  #dead = false;

  constructor(
    peers: readonly ClientEnd[],
    me: number,
    persister: Persister,
    applyCh: Channel<ApplyMsg>,
    options: RaftOptions = {},
  ) {
    this.#me = me;
    this.#peers = peers;
    this.#persister = persister;
    this.#applyCh = applyCh;
    const initial = readPersisted(persister);
    this.#store = new MemoryLogStore(initial);
    this.#writer.reset(asIndex(this.#store.offset), this.#store.entries);
    const clock = options.clock ?? makeRealClock();
    this.#peer = new Peer({
      raft: {
        id: asNodeId(me),
        voters: peers.map((_, i) => asNodeId(i)),
        electionTicks: LAB_TIMING.electionTicks,
        heartbeatTicks: LAB_TIMING.heartbeatTicks,
        random: new Random(deriveSeed(options.seed ?? 0, `raft-${me}`)),
        initialState: initial,
        // The course's tester expects every log index to hold a command: no no-op entries.
        noopOnElection: false,
      },
      clock,
      tickMs: options.tickMs ?? LAB_TIMING.tickMs,
      transport: { send: (message) => this.#send(message) },
      storage: { save: (update) => this.#persist(update) },
      stateMachine: { apply: (entries, snapshot) => this.#enqueueApply(entries, snapshot) },
      ...(options.onFatal === undefined ? {} : { onFatal: options.onFatal }),
    });
    this.#peer.start();
  }

  /**
   * Starts agreement on `command` if this peer is the leader and returns at once: the index the command will
   * have if it commits, the current term, and whether this peer believes it is the leader.
   */
  start(command: unknown): { index: number; term: number; isLeader: boolean } {
    if (this.#dead) return { index: -1, term: this.#peer.node.term, isLeader: false };
    const result = this.#peer.propose(encode(command));
    if (!result.accepted) return { index: -1, term: this.#peer.node.term, isLeader: false };
    return { index: result.index, term: result.term, isLeader: true };
  }

  /** The current term and whether this peer believes it is the leader. */
  getState(): { term: number; isLeader: boolean } {
    return { term: this.#peer.node.term, isLeader: !this.#dead && this.#peer.node.role === "leader" };
  }

  /**
   * The service has captured everything through `index` in `snapshot`: trim the log and persist the snapshot
   * together with the Raft state. Ignored for an index already compacted or not yet delivered.
   */
  snapshot(index: number, snapshot: Uint8Array): void {
    if (this.#dead) return;
    this.#peer.compact(asIndex(index), snapshot.slice());
  }

  /** Stops this peer for good: no more ticks, RPCs, writes or deliveries on applyCh. */
  kill(): void {
    this.#dead = true;
    this.#peer.stop();
    this.#applyQueue.length = 0;
  }

  killed(): boolean {
    return this.#dead;
  }

  /** The error that stopped this peer (a broken invariant), if any: the tester reports it with the seed. */
  get fatalError(): unknown {
    return this.#peer.fatalError;
  }

  // ---- RPC handlers (labrpc calls the upper-case methods) -----------------------------------------------

  RequestVote(args: unknown): Promise<unknown> {
    return this.#handle(args);
  }

  AppendEntries(args: unknown): Promise<unknown> {
    return this.#handle(args);
  }

  InstallSnapshot(args: unknown): Promise<unknown> {
    return this.#handle(args);
  }

  // ---- ports ---------------------------------------------------------------------------------------------

  /**
   * Steps a request into the peer and resolves with its reply once persisted. A killed instance answers
   * `null` (labrpc reserves `undefined` for failed calls); the tester has removed it from the network by
   * then, so the caller never sees that answer.
   */
  async #handle(args: unknown): Promise<unknown> {
    const request = args as Request;
    if (this.#dead || request.to !== this.#me) return null;
    return (await this.#peer.handleRequest(request)) ?? null;
  }

  #send(message: Message): void {
    if (
      message.type !== "RequestVote" &&
      message.type !== "AppendEntries" &&
      message.type !== "InstallSnapshot"
    ) {
      return; // replies travel back as RPC results; a reply without a waiting call has nowhere to go
    }
    const end = this.#peers[message.to];
    if (end === undefined) return;
    void end.call(RPC_NAME[message.type], message).then((reply) => {
      if (reply !== undefined && reply !== null && !this.#dead) this.#peer.receive(reply as Message);
    });
  }

  #persist(update: StorageUpdate): void {
    if (this.#dead) return;
    const store = this.#store;
    const changed = store.apply(update);
    if (update.snapshot !== undefined) this.#writer.reset(asIndex(store.offset), store.entries);
    else this.#writer.replaceFrom(update.entries);
    // The commit index alone is not worth a write: it is relearned from the leader after a restart.
    if (!changed.logChanged && !changed.termOrVoteChanged) return;
    const raftState = this.#writer.encode(
      store.hardState,
      store.snapshot?.meta ?? { index: asIndex(0), term: asTerm(0) },
    );
    // The snapshot goes with every save: the persister's save replaces both, and must never lose it.
    this.#persister.save(raftState, store.snapshot?.data ?? null);
  }

  #enqueueApply(entries: readonly Entry[], snapshot: Snapshot | undefined): void {
    if (this.#dead) return;
    if (snapshot !== undefined) {
      this.#applyQueue.push({
        commandValid: false,
        command: undefined,
        commandIndex: 0,
        snapshotValid: true,
        snapshot: snapshot.data,
        snapshotTerm: snapshot.meta.term,
        snapshotIndex: snapshot.meta.index,
      });
    }
    for (const entry of entries) {
      this.#applyQueue.push({
        commandValid: true,
        command: decode(entry.data),
        commandIndex: entry.index,
        snapshotValid: false,
        snapshot: new Uint8Array(0),
        snapshotTerm: 0,
        snapshotIndex: 0,
      });
    }
    if (!this.#applying) void this.#deliver();
  }

  /**
   * Delivers queued messages on applyCh one at a time, in order. The channel is unbuffered, so each send
   * waits for the service; the core carries on meanwhile, like the course's separate applier goroutine.
   */
  async #deliver(): Promise<void> {
    this.#applying = true;
    try {
      for (
        let message = this.#applyQueue.shift();
        message !== undefined;
        message = this.#applyQueue.shift()
      ) {
        if (this.#dead) return;
        await this.#applyCh.send(message);
      }
    } catch {
      // The service closed applyCh: nobody will take another message, so stop delivering (as if killed).
      this.#applyQueue.length = 0;
    } finally {
      this.#applying = false;
    }
  }
}

/** Reads a persister's Raft state and snapshot into the state a node starts from. */
function readPersisted(persister: Persister): InitialState {
  const bytes = persister.readRaftState();
  if (bytes.length === 0) {
    return { hardState: { term: asTerm(0), vote: null, commit: asIndex(0) }, snapshot: null, entries: [] };
  }
  const state = decodeRaftState(bytes);
  let snapshot: Snapshot | null = null;
  if (state.snapshotMeta.index > 0) {
    const data = persister.readSnapshot();
    if (data.length === 0) {
      throw new Error(
        `persisted Raft state starts after index ${state.snapshotMeta.index} but the snapshot is empty`,
      );
    }
    snapshot = { meta: state.snapshotMeta, data };
  }
  return { hardState: state.hardState, snapshot, entries: state.entries };
}

/**
 * Creates a Raft peer (the course's `Make`). `peers[me]` is this peer's own end; every peer's array lists
 * the same servers in the same order. `persister` holds the state saved before a crash (empty at first).
 * Returns at once; the peer runs on `options.clock`.
 */
export function make(
  peers: readonly ClientEnd[],
  me: number,
  persister: Persister,
  applyCh: Channel<ApplyMsg>,
  options: RaftOptions = {},
): Raft {
  return new Raft(peers, me, persister, applyCh, options);
}

export type { NodeId };
