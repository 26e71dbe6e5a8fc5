import type { ReadState } from "../../core/index.ts";
import { asIndex } from "../../core/types.ts";
import {
  type ApplyOutcome,
  encodeEntry,
  type KvCommand,
  KvStateMachine,
  validateCommand,
} from "../../kv/index.ts";
import type { Clock, TimerHandle } from "../../peer/clock.ts";
import { unreachable } from "../../util/assert.ts";
import { Channel } from "../channel.ts";
import { makeRealClock } from "../clocks.ts";
import type { ClientEnd } from "../labrpc/index.ts";
import type { Persister } from "../persister.ts";
import { type ApplyMsg, type LabFeatures, make, type Raft } from "../raft.ts";
import {
  Err,
  type GetReply,
  type PutAppendReply,
  parseGetArgs,
  parsePutAppendArgs,
  type RegisterReply,
} from "./rpc.ts";

/**
 * Milliseconds of server time each client request costs, one request at a time per server. The simulated
 * network delivers reliable RPCs in no time at all, so without a cost every operation would complete
 * instantly: on the virtual clock the tester's 5-second client loops would never let time move, and on the
 * real clock they would starve every timer. A fixed cost per request, served in arrival order, gives each
 * operation a duration and bounds a server's throughput (1000 / 8 = 125 requests a second), which keeps the
 * number of operations per test near the course's published figures.
 */
export const KV_REQUEST_COST_MS = 8;

/**
 * How long a request waits for its command to be applied, or its read to be confirmed, before the server
 * answers ErrTimeout and the clerk tries elsewhere. Long enough for a commit over the unreliable network
 * (a lost AppendEntries is resent within a heartbeat, 100 ms); short enough that a clerk stuck with a
 * partitioned leader soon moves on.
 */
export const KV_WAIT_TIMEOUT_MS = 500;

/** A server snapshots once its persisted Raft state reaches this fraction of maxraftstate ("approaches"). */
export const SNAPSHOT_THRESHOLD_FRACTION = 0.9;

/** Most client requests one server holds at once (queued for their turn or waiting for an answer). */
export const KV_REQUESTS_WAITING_MAX = 1000;

/** How a server runs: its clock, the seed of its Raft's randomness, and where a broken invariant goes. */
export interface KVServerOptions {
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Seeds the Raft peer's election jitter. Default 0. */
  readonly seed?: number;
  /** Called once if the server stops on a broken invariant (its own, or its Raft peer's). */
  readonly onFatal?: (error: unknown) => void;
  /** Overrides {@link KV_REQUEST_COST_MS}; 0 still answers each request on a later timer turn. */
  readonly requestCostMs?: number;
  /** Production features of the Raft peer (PreVote, CheckQuorum); default none. */
  readonly features?: LabFeatures;
}

/** What became of a command this server proposed. */
type CommandResult =
  | { readonly kind: "applied"; readonly outcome: ApplyOutcome }
  | { readonly kind: "failed"; readonly err: Err };

/** What became of a read. */
type ReadResult =
  | { readonly kind: "read"; readonly value: string | undefined }
  | { readonly kind: "failed"; readonly err: Err };

/** A request waiting for the entry it proposed at some index. */
interface CommandWaiter {
  /** The term `start` returned: the entry applied at the index is ours only if it has this term. */
  readonly term: number;
  readonly resolve: (result: CommandResult) => void;
  readonly timer: TimerHandle;
}

/** A Get waiting for its read index, then for the state machine to reach it. */
interface ReadWaiter {
  readonly key: string;
  readonly resolve: (result: ReadResult) => void;
  readonly timer: TimerHandle;
  /** The confirmed read index once known (thesis §6.4); the read is served once it is applied. */
  index: number | null;
}

/**
 * The course's kvraft server: a replicated key-value store on a Raft peer. Its state is a
 * {@link KvStateMachine} (tsraft's key-value state machine), fed from applyCh in log order. Puts and Appends
 * go through the log inside the clerk's session, so a retried command runs once (Raft thesis §6.3); Gets do
 * not touch the log: they take a ReadIndex (thesis §6.4) — on a follower, from its leader — and answer once
 * the state machine has applied that index. With `maxraftstate > 0` it snapshots its state machine (sessions
 * included) when the Raft state approaches that size, and restarts from the persister's snapshot.
 *
 * The RPC handlers are the upper-case methods, as labrpc expects; serve it as the `KVServer` service.
 */
export class KVServer {
  /** This server's index among the servers. */
  readonly me: number;
  /** Its Raft peer, which the tester serves on the same labrpc server as the `Raft` service. */
  readonly rf: Raft;
  readonly #clock: Clock;
  readonly #persister: Persister;
  readonly #maxRaftState: number;
  readonly #requestCostMs: number;
  readonly #onFatal: (error: unknown) => void;
  readonly #applyCh = new Channel<ApplyMsg>();
  #machine: KvStateMachine;
  /** Requests waiting for the entry they proposed, by log index. */
  readonly #commands = new Map<number, CommandWaiter>();
  /** Gets waiting for their read, by read request id. */
  readonly #reads = new Map<number, ReadWaiter>();
  #nextReadId = 1;
  /** Requests waiting for their turn (see {@link KV_REQUEST_COST_MS}). */
  #queued = 0;
  /** Clock time at which the last request admitted has had its turn. */
  #busyUntilMs = 0;
  #snapshotScheduled = false;
  #dead = false;

  constructor(
    servers: readonly ClientEnd[],
    me: number,
    persister: Persister,
    maxRaftState: number,
    options: KVServerOptions = {},
  ) {
    this.me = me;
    this.#clock = options.clock ?? makeRealClock();
    this.#persister = persister;
    this.#maxRaftState = maxRaftState;
    this.#requestCostMs = options.requestCostMs ?? KV_REQUEST_COST_MS;
    this.#onFatal = options.onFatal ?? (() => {});
    // Restart from the snapshot, which holds the sessions too; Raft delivers only the entries after it.
    const snapshot = persister.readSnapshot();
    this.#machine = snapshot.length > 0 ? KvStateMachine.restore(snapshot) : new KvStateMachine();
    this.rf = make(servers, me, persister, this.#applyCh, {
      clock: this.#clock,
      seed: options.seed ?? 0,
      noopOnElection: true,
      ...(options.features === undefined ? {} : { features: options.features }),
      onReadStates: (states) => this.#onReadStates(states),
      onFatal: (error) => this.#fail(error),
    });
    void this.#applier();
  }

  /** Stops the server and its Raft for good; requests still waiting are answered ErrWrongLeader. */
  kill(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.rf.kill();
    this.#applyCh.close();
    for (const [index, waiter] of this.#commands) {
      this.#finishCommand(index, waiter, { kind: "failed", err: Err.ErrWrongLeader });
    }
    for (const [id, waiter] of this.#reads)
      this.#finishRead(id, waiter, { kind: "failed", err: Err.ErrWrongLeader });
  }

  killed(): boolean {
    return this.#dead;
  }

  // ---- RPC handlers ------------------------------------------------------------------------------------

  /** `KVServer.Get`: a linearizable read by ReadIndex; "" and ErrNoKey for a missing key. */
  async Get(args: unknown): Promise<GetReply> {
    const parsed = parseGetArgs(args);
    if (parsed === null) return { err: Err.ErrBadArgs, value: "" };
    if (!(await this.#takeTurn())) return { err: Err.ErrWrongLeader, value: "" };
    const result = await this.#read(parsed.key);
    if (result.kind === "failed") return { err: result.err, value: "" };
    return result.value === undefined
      ? { err: Err.ErrNoKey, value: "" }
      : { err: Err.OK, value: result.value };
  }

  /** `KVServer.PutAppend`: a Put or Append in the clerk's session, through the log. */
  async PutAppend(args: unknown): Promise<PutAppendReply> {
    const parsed = parsePutAppendArgs(args);
    if (parsed === null) return { err: Err.ErrBadArgs };
    const command: KvCommand = {
      kind: parsed.op === "Put" ? "put" : "append",
      clientId: asIndex(parsed.clientId),
      sequence: parsed.sequence,
      ackedBelow: parsed.ackedBelow,
      key: parsed.key,
      value: parsed.value,
    };
    if (!validateCommand(command).valid) return { err: Err.ErrBadArgs };
    if (!(await this.#takeTurn())) return { err: Err.ErrWrongLeader };
    const result = await this.#propose(command);
    if (result.kind === "failed") return { err: result.err };
    const outcome = result.outcome.result;
    switch (outcome.kind) {
      case "ok":
        return { err: Err.OK };
      case "session-expired":
        return { err: Err.ErrSessionExpired };
      case "too-many-outstanding":
        return { err: Err.ErrTimeout };
      case "value-too-large":
      case "stale-sequence":
      case "not-found":
      case "cas-mismatch":
      case "registered":
      case "member-set":
      case "no-op":
      case "bad-command":
        // A value grown past VALUE_BYTES_MAX, or an answer no live clerk can be waiting for (a clerk that
        // sent a later sequence has seen this one's reply): retrying cannot help.
        return { err: Err.ErrBadArgs };
      default:
        return unreachable(outcome);
    }
  }

  /** `KVServer.Register`: opens a session for a new clerk, through the log. */
  async Register(_args: unknown): Promise<RegisterReply> {
    if (!(await this.#takeTurn())) return { err: Err.ErrWrongLeader, clientId: 0 };
    const result = await this.#propose({ kind: "register-client" });
    if (result.kind === "failed") return { err: result.err, clientId: 0 };
    const outcome = result.outcome.result;
    if (outcome.kind !== "registered") return { err: Err.ErrBadArgs, clientId: 0 };
    return { err: Err.OK, clientId: outcome.clientId };
  }

  // ---- requests ----------------------------------------------------------------------------------------

  /**
   * Waits for this request's turn on the server (see {@link KV_REQUEST_COST_MS}). False if the server died
   * meanwhile or holds too many requests already.
   */
  async #takeTurn(): Promise<boolean> {
    if (this.#dead || this.#waitingCount() >= KV_REQUESTS_WAITING_MAX) return false;
    const now = this.#clock.now();
    const start = Math.max(now, this.#busyUntilMs);
    this.#busyUntilMs = start + this.#requestCostMs;
    this.#queued++;
    try {
      await this.#clock.sleep(this.#busyUntilMs - now);
    } finally {
      this.#queued--;
    }
    return !this.#dead;
  }

  #waitingCount(): number {
    return this.#queued + this.#commands.size + this.#reads.size;
  }

  /** Proposes a command and waits for the entry at its index to be applied (or for the timeout). */
  #propose(command: KvCommand): Promise<CommandResult> {
    if (this.#dead) return Promise.resolve({ kind: "failed", err: Err.ErrWrongLeader });
    // The proposer's clock goes into the entry for session expiry; the state machine only ever uses the
    // largest value applied, so every replica decides expiry alike.
    const data = encodeEntry({ timestampMs: Math.floor(this.#clock.now()), command });
    const { index, term, isLeader } = this.rf.start(data);
    if (!isLeader) return Promise.resolve({ kind: "failed", err: Err.ErrWrongLeader });
    // Someone proposed at this index in an earlier term of ours and lost it: that entry is gone.
    const earlier = this.#commands.get(index);
    if (earlier !== undefined)
      this.#finishCommand(index, earlier, { kind: "failed", err: Err.ErrWrongLeader });
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => {
        const waiter = this.#commands.get(index);
        if (waiter?.resolve === resolve)
          this.#finishCommand(index, waiter, { kind: "failed", err: Err.ErrTimeout });
      }, KV_WAIT_TIMEOUT_MS);
      this.#commands.set(index, { term, resolve, timer });
    });
  }

  /** Asks Raft for a read index and waits until the state machine has applied it (or for the timeout). */
  #read(key: string): Promise<ReadResult> {
    if (this.#dead) return Promise.resolve({ kind: "failed", err: Err.ErrWrongLeader });
    const id = this.#nextReadId++;
    if (!this.rf.readIndex(id)) return Promise.resolve({ kind: "failed", err: Err.ErrWrongLeader });
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => {
        const waiter = this.#reads.get(id);
        if (waiter !== undefined) this.#finishRead(id, waiter, { kind: "failed", err: Err.ErrTimeout });
      }, KV_WAIT_TIMEOUT_MS);
      this.#reads.set(id, { key, resolve, timer, index: null });
    });
  }

  #onReadStates(states: readonly ReadState[]): void {
    for (const state of states) {
      const waiter = this.#reads.get(state.requestId);
      if (waiter !== undefined) waiter.index = state.index;
    }
    this.#serveReads();
  }

  /** Answers every read whose index the state machine has reached. */
  #serveReads(): void {
    const applied = this.#machine.appliedIndex;
    for (const [id, waiter] of this.#reads) {
      if (waiter.index === null || waiter.index > applied) continue;
      this.#finishRead(id, waiter, { kind: "read", value: this.#machine.get(waiter.key) });
    }
  }

  #finishCommand(index: number, waiter: CommandWaiter, result: CommandResult): void {
    this.#commands.delete(index);
    this.#clock.clearTimer(waiter.timer);
    waiter.resolve(result);
  }

  #finishRead(id: number, waiter: ReadWaiter, result: ReadResult): void {
    this.#reads.delete(id);
    this.#clock.clearTimer(waiter.timer);
    waiter.resolve(result);
  }

  // ---- applying ----------------------------------------------------------------------------------------

  /** Applies what Raft delivers, in order, until the server is killed (which closes applyCh). */
  async #applier(): Promise<void> {
    for (;;) {
      const received = await this.#applyCh.recvOk();
      if (!received.ok || this.#dead) return;
      const message = received.value;
      if (message.snapshotValid) this.#installSnapshot(message.snapshot, message.snapshotIndex);
      else if (message.commandValid) this.#applyCommand(message);
      if (this.#dead) return;
      this.#serveReads();
      this.#maybeScheduleSnapshot();
    }
  }

  #applyCommand(message: ApplyMsg): void {
    const applied = this.#machine.appliedIndex;
    const index = message.commandIndex;
    if (index <= applied) return; // covered by the snapshot this server started from or installed
    if (index !== applied + 1) {
      this.#fail(new Error(`kvraft server ${this.me}: applyCh skipped from index ${applied} to ${index}`));
      return;
    }
    const data = entryBytes(message.command);
    if (data === null) {
      this.#fail(new Error(`kvraft server ${this.me}: index ${index} holds a command that is not an entry`));
      return;
    }
    const outcome = this.#machine.apply(asIndex(index), data);
    if (outcome.result.kind === "bad-command") {
      this.#fail(
        new Error(`kvraft server ${this.me}: bad entry at index ${index}: ${outcome.result.reason}`),
      );
      return;
    }
    const waiter = this.#commands.get(index);
    if (waiter === undefined) return;
    this.#finishCommand(
      index,
      waiter,
      message.commandTerm === waiter.term
        ? { kind: "applied", outcome }
        : { kind: "failed", err: Err.ErrWrongLeader },
    );
  }

  /** Replaces the state machine with a leader's snapshot (Raft §7) when it is ahead of what was applied. */
  #installSnapshot(snapshot: Uint8Array, index: number): void {
    if (index <= this.#machine.appliedIndex) return;
    try {
      this.#machine = KvStateMachine.restore(snapshot);
    } catch (error) {
      this.#fail(error);
      return;
    }
    // Requests waiting on entries inside the snapshot cannot learn their outcome: let the clerks retry.
    for (const [waitingIndex, waiter] of this.#commands) {
      if (waitingIndex <= index)
        this.#finishCommand(waitingIndex, waiter, { kind: "failed", err: Err.ErrTimeout });
    }
  }

  /**
   * Snapshots once the persisted Raft state approaches maxraftstate. The snapshot is taken on a later timer
   * turn: Raft only compacts entries it has recorded as applied, which it does right after handing them over.
   */
  #maybeScheduleSnapshot(): void {
    if (this.#maxRaftState <= 0 || this.#snapshotScheduled) return;
    if (this.#persister.raftStateSize() < this.#maxRaftState * SNAPSHOT_THRESHOLD_FRACTION) return;
    this.#snapshotScheduled = true;
    this.#clock.setTimer(() => {
      this.#snapshotScheduled = false;
      if (this.#dead) return;
      this.rf.snapshot(this.#machine.appliedIndex, this.#machine.snapshot());
    }, 0);
  }

  #fail(error: unknown): void {
    if (this.#dead) return;
    this.kill();
    this.#onFatal(error);
  }
}

/** The entry bytes an applied command carries: a no-op (null) is the empty entry; anything else is a bug. */
function entryBytes(command: unknown): Uint8Array | null {
  if (command === null) return new Uint8Array(0);
  return command instanceof Uint8Array ? command : null;
}

/**
 * Starts a kvraft server (the course's `StartKVServer`): `servers[me]` is this server's own end, `persister`
 * holds what it saved before a crash, and it snapshots when the Raft state approaches `maxRaftState` bytes
 * (-1: never). Returns at once.
 */
export function startKVServer(
  servers: readonly ClientEnd[],
  me: number,
  persister: Persister,
  maxRaftState: number,
  options: KVServerOptions = {},
): KVServer {
  return new KVServer(servers, me, persister, maxRaftState, options);
}
