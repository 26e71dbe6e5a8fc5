import type {
  Entry,
  LogIndex,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  Term,
  TransferResult,
} from "../core/index.ts";
import type { Clock, TimerHandle } from "../peer/clock.ts";
import { Peer, type PeerOptions } from "../peer/peer.ts";
import { type KvCommand, type MemberAddresses, validateCommand } from "./command.ts";
import { DEFAULT_KV_CONFIG, type KvConfig } from "./config.ts";
import { encodeEntry } from "./entry-codec.ts";
import type { KvResult } from "./result.ts";
import { SnapshotTrigger } from "./snapshot-policy.ts";
import { KvStateMachine } from "./state-machine.ts";

/**
 * The key-value service of one node: a {@link Peer} whose state machine is a {@link KvStateMachine}, with
 * the client-facing operations on top — commands through the log, linearizable reads by ReadIndex (thesis
 * §6.4), snapshots by log size (§7). Transport- and host-independent: real nodes put HTTP in front of it,
 * the simulator and the lab call it directly.
 */

/** Why a request got no result from the state machine. Every one of these is safe to retry. */
export type ServiceError =
  | { readonly error: "not-leader"; readonly leader: NodeId | null }
  /** No answer in time: the command may or may not have been applied (retry with the same sequence). */
  | { readonly error: "timeout" }
  /** The entry proposed was replaced by another leader's entry: it was not applied at that index. */
  | { readonly error: "lost-leadership"; readonly leader: NodeId | null }
  /** No leader is known (an election is on, or this node has no quorum). */
  | { readonly error: "unavailable" }
  /** Too many requests are waiting on this node. */
  | { readonly error: "overloaded" }
  /** The node is stopping or stopped. */
  | { readonly error: "stopped" }
  /** The command itself is not valid (a key too long, a malformed session stamp); retrying cannot help. */
  | { readonly error: "invalid"; readonly reason: string };

/** The result of a command: the state machine's answer and the index it was applied at, or an error. */
export type CommandOutcome =
  | { readonly ok: true; readonly index: LogIndex; readonly result: KvResult }
  | ServiceError;

/** The result of a read: the value (null if the key does not exist) and the index it reflects. */
export type ReadOutcome =
  | { readonly ok: true; readonly index: LogIndex; readonly value: string | null }
  | ServiceError;

/** What a node says about itself (GET /v1/status). */
export interface ServiceStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly leader: NodeId | null;
  readonly commitIndex: LogIndex;
  readonly appliedIndex: LogIndex;
  readonly snapshotIndex: LogIndex;
  readonly lastLogIndex: LogIndex;
  /** The configuration in force on this node (thesis §4.1): voters (C_new while joint), learners. */
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** While the configuration is joint, the voters of C_old; empty otherwise. */
  readonly outgoingVoters: readonly NodeId[];
  /** The log index of the entry that set the configuration in force (0 for the starting one). */
  readonly membershipIndex: LogIndex;
  readonly keys: number;
  readonly sessions: number;
}

/** Settings of a {@link KvService}. */
export interface KvServiceOptions {
  /** The peer's settings, without the state machine and read hooks, which the service provides. */
  readonly peer: Omit<PeerOptions, "stateMachine" | "onReadStates">;
  /** The same on every replica (see {@link KvStateMachine}). */
  readonly kv?: KvConfig;
  /** Snapshot once this many bytes of entries were applied since the last one; 0 turns snapshots off. */
  readonly snapshotThresholdBytes: number;
  /** How long a command or read may wait for its answer, in clock milliseconds. */
  readonly requestTimeoutMs: number;
  /**
   * The proposer's time for session expiry, in milliseconds (wall time on real nodes). Carried in each
   * entry; the state machine only ever uses the largest value applied, so replicas agree.
   */
  readonly timestampMs: () => number;
  /** Called after each snapshot this node takes (for logs). */
  readonly onSnapshot?: (index: LogIndex, bytes: number) => void;
  /** Called after the state machine was replaced by a snapshot from the leader (for logs). */
  readonly onSnapshotInstalled?: (index: LogIndex, bytes: number) => void;
  /**
   * Called with the whole member address book (see SetMemberCommand) when it may have changed: at start if
   * the snapshot held one, after a `set-member` entry, after a snapshot from the leader. Real nodes dial new
   * members with it.
   */
  readonly onMembers?: (members: ReadonlyMap<number, MemberAddresses>) => void;
}

/** The data the state machine is given for a configuration entry: none, a no-op. */
const NO_COMMAND = new Uint8Array(0);

/** Most commands and reads waiting on one node at once; more are refused as overloaded. */
export const REQUESTS_WAITING_MAX = 20_000;

interface CommandWaiter {
  readonly term: Term;
  readonly resolve: (outcome: CommandOutcome) => void;
  readonly timer: TimerHandle;
}

interface ReadWaiter {
  readonly key: string;
  readonly resolve: (outcome: ReadOutcome) => void;
  readonly timer: TimerHandle;
  /** Set once the read index is known: the read is served when the state machine has applied it. */
  index: LogIndex | null;
}

export class KvService {
  readonly peer: Peer;
  #machine: KvStateMachine;
  readonly #options: KvServiceOptions;
  readonly #kvConfig: KvConfig;
  readonly #trigger: SnapshotTrigger;
  readonly #commands = new Map<number, CommandWaiter>();
  readonly #reads = new Map<number, ReadWaiter>();
  #nextReadId = 1;
  #snapshotScheduled = false;

  constructor(options: KvServiceOptions) {
    this.#options = options;
    this.#kvConfig = options.kv ?? DEFAULT_KV_CONFIG;
    this.#trigger = new SnapshotTrigger(options.snapshotThresholdBytes);
    const snapshot = options.peer.raft.initialState.snapshot;
    this.#machine =
      snapshot === null
        ? new KvStateMachine(this.#kvConfig)
        : KvStateMachine.restore(snapshot.data, this.#kvConfig);
    this.peer = new Peer({
      ...options.peer,
      stateMachine: { apply: (entries, fromLeader) => this.#apply(entries, fromLeader) },
      onReadStates: (states) => this.#onReadStates(states),
    });
  }

  /** The clock this service's peer runs on. */
  get clock(): Clock {
    return this.#options.peer.clock;
  }

  get #clock(): Clock {
    return this.#options.peer.clock;
  }

  start(): void {
    if (this.#machine.members().size > 0) this.#options.onMembers?.(this.#machine.members());
    this.peer.start();
  }

  /** The replicated member address book as this node has applied it. */
  members(): ReadonlyMap<number, MemberAddresses> {
    return this.#machine.members();
  }

  /** Stops the peer; every waiting request is answered `stopped`. */
  stop(): void {
    this.peer.stop();
    for (const [index, waiter] of this.#commands) this.#finishCommand(index, waiter, { error: "stopped" });
    for (const [id, waiter] of this.#reads) this.#finishRead(id, waiter, { error: "stopped" });
  }

  /**
   * Proposes a command and resolves with its result once this node has applied it. Only the leader accepts
   * commands; elsewhere the answer is `not-leader` with a hint.
   */
  execute(command: KvCommand): Promise<CommandOutcome> {
    if (this.peer.stopped) return Promise.resolve({ error: "stopped" });
    if (this.#waitingCount() >= REQUESTS_WAITING_MAX) return Promise.resolve({ error: "overloaded" });
    const validation = validateCommand(command);
    if (!validation.valid) return Promise.resolve({ error: "invalid", reason: validation.reason });
    const data = encodeEntry({ timestampMs: Math.max(0, Math.floor(this.#options.timestampMs())), command });
    const proposed = this.peer.propose(data);
    if (!proposed.accepted) return Promise.resolve({ error: "not-leader", leader: proposed.leader });
    const index = proposed.index;
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => {
        const waiter = this.#commands.get(index);
        if (waiter !== undefined) this.#finishCommand(index, waiter, { error: "timeout" });
      }, this.#options.requestTimeoutMs);
      this.#commands.set(index, { term: proposed.term, resolve, timer });
    });
  }

  /**
   * A linearizable read (thesis §6.4): asks the core for a read index — followers ask their leader — and
   * answers from the local state machine once it has applied that index. Nothing goes through the log.
   */
  read(key: string): Promise<ReadOutcome> {
    if (this.peer.stopped) return Promise.resolve({ error: "stopped" });
    if (this.#waitingCount() >= REQUESTS_WAITING_MAX) return Promise.resolve({ error: "overloaded" });
    const id = this.#nextReadId++;
    const accepted = this.peer.readIndex(id);
    if (!accepted.accepted) {
      return Promise.resolve(
        accepted.reason === "no-leader" ? { error: "unavailable" } : { error: "overloaded" },
      );
    }
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => {
        const waiter = this.#reads.get(id);
        if (waiter !== undefined) this.#finishRead(id, waiter, { error: "timeout" });
      }, this.#options.requestTimeoutMs);
      this.#reads.set(id, { key, resolve, timer, index: null });
    });
  }

  /**
   * Asks this node, if it leads, to hand leadership to `target` (thesis §3.10): it stops taking writes,
   * brings the target up to date and tells it to campaign at once; the transfer is abandoned after an
   * election timeout. Resolves at once with whether the transfer started; watch the status for the outcome.
   */
  transferLeader(target: NodeId): TransferResult {
    if (this.peer.stopped) return { accepted: false, reason: "not-leader", leader: null };
    return this.peer.transferLeader(target);
  }

  /** The value of `key` in this node's state machine as applied so far: fast, possibly stale. */
  readLocal(key: string): { readonly index: LogIndex; readonly value: string | null } {
    return { index: this.#machine.appliedIndex, value: this.#machine.get(key) ?? null };
  }

  status(): ServiceStatus {
    const node = this.peer.node;
    const stats = this.#machine.stats();
    return {
      id: node.id,
      role: node.role,
      term: node.term,
      leader: node.leader,
      commitIndex: node.log.committed,
      appliedIndex: this.#machine.appliedIndex,
      snapshotIndex: node.log.offset,
      lastLogIndex: node.log.lastIndex(),
      voters: node.membership.voters,
      learners: node.membership.learners,
      outgoingVoters: node.membership.outgoing,
      membershipIndex: node.membershipIndex(),
      keys: stats.keys,
      sessions: stats.sessions,
    };
  }

  #waitingCount(): number {
    return this.#commands.size + this.#reads.size;
  }

  #apply(entries: readonly Entry[], fromLeader: Snapshot | undefined): void {
    if (fromLeader !== undefined) {
      // Throws on a corrupt snapshot, which stops the peer: a replica must not carry on without its state.
      this.#machine = KvStateMachine.restore(fromLeader.data, this.#kvConfig);
      this.#trigger.snapshotTaken();
      this.#options.onSnapshotInstalled?.(fromLeader.meta.index, fromLeader.data.length);
      // Entries our proposals were waiting on may now be covered by the snapshot: their outcome is unknown.
      for (const [index, waiter] of this.#commands) {
        if (index <= fromLeader.meta.index) this.#finishCommand(index, waiter, { error: "timeout" });
      }
    }
    let membersChanged = fromLeader !== undefined;
    for (const entry of entries) {
      // A configuration entry (thesis §4) is Raft's own: to the key-value state machine it is a no-op.
      const data = entry.kind === "membership" ? NO_COMMAND : entry.data;
      const outcome = this.#machine.apply(entry.index, data);
      if (outcome.result.kind === "member-set") membersChanged = true;
      this.#trigger.recordApplied(entry.data.length);
      const waiter = this.#commands.get(entry.index);
      if (waiter === undefined) continue;
      if (entry.term === waiter.term) {
        this.#finishCommand(entry.index, waiter, { ok: true, index: entry.index, result: outcome.result });
      } else {
        this.#finishCommand(entry.index, waiter, { error: "lost-leadership", leader: this.peer.node.leader });
      }
    }
    if (membersChanged) this.#options.onMembers?.(this.#machine.members());
    this.#serveReads();
    if (this.#trigger.due) this.#scheduleSnapshot();
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
      this.#finishRead(id, waiter, {
        ok: true,
        index: applied,
        value: this.#machine.get(waiter.key) ?? null,
      });
    }
  }

  /**
   * Takes a snapshot after the current Ready is advanced: the core compacts only entries it knows were
   * applied, and the peer advances right after `apply` returns, so a zero-delay timer runs after that.
   */
  #scheduleSnapshot(): void {
    if (this.#snapshotScheduled) return;
    this.#snapshotScheduled = true;
    this.#clock.setTimer(() => {
      this.#snapshotScheduled = false;
      if (this.peer.stopped) return;
      const index = this.#machine.appliedIndex;
      const data = this.#machine.snapshot();
      const result = this.peer.compact(index, data);
      if (result?.compacted === true) {
        this.#trigger.snapshotTaken();
        this.#options.onSnapshot?.(index, data.length);
      }
    }, 0);
  }

  #finishCommand(index: number, waiter: CommandWaiter, outcome: CommandOutcome): void {
    this.#commands.delete(index);
    this.#clock.clearTimer(waiter.timer);
    waiter.resolve(outcome);
  }

  #finishRead(id: number, waiter: ReadWaiter, outcome: ReadOutcome): void {
    this.#reads.delete(id);
    this.#clock.clearTimer(waiter.timer);
    waiter.resolve(outcome);
  }
}
