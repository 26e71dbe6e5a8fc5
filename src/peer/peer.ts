import {
  type CompactResult,
  type LogIndex,
  type MembershipChange,
  type MembershipChangeResult,
  type Message,
  type NodeId,
  type ProposeResult,
  type RaftConfig,
  RaftNode,
  type ReadIndexResult,
  type ReadState,
  type Ready,
  type Reply,
  type Request,
  type SoftState,
  type TransferResult,
} from "../core/index.ts";
import { assert } from "../util/assert.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import type { LogStorage, StateMachine, Transport } from "./ports.ts";

/** Everything a {@link Peer} needs: the core's config plus its ports and the length of a tick. */
export interface PeerOptions {
  readonly raft: RaftConfig;
  readonly clock: Clock;
  /** Milliseconds of clock time per core tick. */
  readonly tickMs: number;
  readonly transport: Transport;
  readonly storage: LogStorage;
  readonly stateMachine: StateMachine;
  /** Called on every change of role, leader or term (for logs, timelines and tests). */
  readonly onSoftState?: (state: SoftState) => void;
  /**
   * Called with the reads the core confirmed (thesis §6.4): serve each once the state machine has applied
   * its index. Called before the same Ready's entries are persisted or applied.
   */
  readonly onReadStates?: (states: readonly ReadState[]) => void;
  /** Called once if the peer stops because of an error (a failed write, a broken invariant). */
  readonly onFatal?: (error: unknown) => void;
}

/** The reply type that answers each request type: how a reply is matched to the request awaiting it. */
const REPLY_TYPE = {
  RequestVote: "RequestVoteReply",
  AppendEntries: "AppendEntriesReply",
  InstallSnapshot: "InstallSnapshotReply",
} as const satisfies Record<Request["type"], Reply["type"]>;

/**
 * Runs one Raft core against its ports: ticks it from the clock, feeds it messages, and carries out each
 * Ready in order — send requests, persist while applying, send replies, advance — with one Ready in flight at a
 * time, so everything that arrives during a slow write rides on the next one (group commit).
 *
 * Requests can arrive as calls that wait for their reply ({@link handleRequest}, for RPC-style transports)
 * or as one-way messages ({@link receive}); replies produced for waiting calls are returned to them, the rest
 * go out through the transport.
 */
export class Peer {
  readonly node: RaftNode;
  readonly #options: PeerOptions;
  #ticker: TimerHandle | null = null;
  #running = false;
  #stopped = false;
  #fatal: unknown = undefined;
  /** Calls waiting for their reply, keyed by `${peer}:${replyType}`; the core answers requests in order. */
  readonly #waiting = new Map<string, Array<(reply: Reply | undefined) => void>>();

  constructor(options: PeerOptions) {
    this.#options = options;
    this.node = new RaftNode(options.raft);
  }

  /** Starts ticking. */
  start(): void {
    if (this.#stopped || this.#ticker !== null) return;
    this.#scheduleTick();
    this.#kick();
  }

  /** Stops for good: no more ticks, messages, writes or applies. Waiting calls get no reply. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#ticker !== null) this.#options.clock.clearTimer(this.#ticker);
    this.#ticker = null;
    for (const waiters of this.#waiting.values()) for (const resolve of waiters) resolve(undefined);
    this.#waiting.clear();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** The error that stopped this peer, if one did. */
  get fatalError(): unknown {
    return this.#fatal;
  }

  /** Proposes a command; see {@link RaftNode.propose}. */
  propose(data: Uint8Array): ProposeResult {
    if (this.#stopped) return { accepted: false, reason: "not-leader", leader: null };
    const result = this.#guard(() => this.node.propose(data));
    this.#kick();
    return result ?? { accepted: false, reason: "not-leader", leader: null };
  }

  /** Asks for a read index; the answer comes through `onReadStates`. See {@link RaftNode.readIndex}. */
  readIndex(requestId: number): ReadIndexResult {
    if (this.#stopped) return { accepted: false, reason: "no-leader" };
    const result = this.#guard(() => this.node.readIndex(requestId));
    this.#kick();
    return result ?? { accepted: false, reason: "no-leader" };
  }

  /**
   * Asks this node, if it leads, to hand leadership to `target` (thesis §3.10); see
   * {@link RaftNode.transferLeader}. Proposals are refused ("transferring") until the transfer completes or is
   * aborted after an election timeout.
   */
  transferLeader(target: NodeId): TransferResult {
    if (this.#stopped) return { accepted: false, reason: "not-leader", leader: null };
    const result = this.#guard(() => this.node.transferLeader(target));
    this.#kick();
    return result ?? { accepted: false, reason: "not-leader", leader: null };
  }

  /** Asks this node, if it leads, to make one membership change; see {@link RaftNode.changeMembership}. */
  changeMembership(change: MembershipChange): MembershipChangeResult {
    if (this.#stopped) return { accepted: false, reason: "not-leader", leader: null };
    const result = this.#guard(() => this.node.changeMembership(change));
    this.#kick();
    return result ?? { accepted: false, reason: "not-leader", leader: null };
  }

  /** Compacts the log through `index` into `data`; see {@link RaftNode.compact}. */
  compact(index: LogIndex, data: Uint8Array): CompactResult | undefined {
    if (this.#stopped) return undefined;
    const result = this.#guard(() => this.node.compact(index, data));
    this.#kick();
    return result;
  }

  /** Delivers a one-way message (a reply, or a request whose reply should go out through the transport). */
  receive(message: Message): void {
    if (this.#stopped || !this.#accepts(message)) return;
    this.#guard(() => this.node.step(message));
    this.#kick();
  }

  /** Delivers a request and resolves with its reply once the state it reports is durable (undefined if stopped). */
  handleRequest(request: Request): Promise<Reply | undefined> {
    // The core answers every request it accepts; one it would ignore must not leave the caller waiting.
    if (this.#stopped || !this.#accepts(request)) return Promise.resolve(undefined);
    const reply = new Promise<Reply | undefined>((resolve) => {
      const key = `${request.from}:${REPLY_TYPE[request.type]}`;
      const waiters = this.#waiting.get(key);
      if (waiters === undefined) this.#waiting.set(key, [resolve]);
      else waiters.push(resolve);
    });
    this.#guard(() => this.node.step(request));
    this.#kick();
    return reply;
  }

  /**
   * Whether a message is for this node: anything else is dropped, not stepped. The sender need not be a member
   * (thesis §4.1: a new member hears from the leader before its log says it is one).
   */
  #accepts(message: Message): boolean {
    return message.to === this.node.id;
  }

  #scheduleTick(): void {
    this.#ticker = this.#options.clock.setTimer(() => {
      if (this.#stopped) return;
      this.#guard(() => this.node.tick());
      this.#kick();
      if (!this.#stopped) this.#scheduleTick();
    }, this.#options.tickMs);
  }

  /**
   * Starts the Ready loop unless it is already running. It starts one microtask later, so that a burst of
   * inputs in one turn of the event loop (say, a client calling propose ten times) goes out as one Ready.
   */
  #kick(): void {
    if (this.#running || this.#stopped || !this.node.hasReady()) return;
    this.#running = true;
    void Promise.resolve().then(() => this.#runReadyLoop());
  }

  async #runReadyLoop(): Promise<void> {
    try {
      while (!this.#stopped && this.node.hasReady()) {
        const rd = this.node.ready();
        // hasReady() promised work; an empty Ready would loop forever without yielding, so it is a bug.
        assert(!isEmptyReady(rd), "the core reported a Ready with nothing in it");
        await this.#handleReady(rd);
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#running = false;
    }
  }

  async #handleReady(rd: Ready): Promise<void> {
    const { transport, storage, stateMachine, onSoftState, onReadStates } = this.#options;
    if (rd.softState !== undefined) onSoftState?.(rd.softState);
    for (const message of rd.messages) transport.send(message);
    if (rd.readStates.length > 0) onReadStates?.(rd.readStates);
    const saving =
      rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined
        ? storage.save({
            ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
            entries: rd.entries,
            ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
          })
        : undefined;
    try {
      // Committed entries are durable on a majority already, so they are applied while this node's own write
      // is in flight (etcd's server does the same): a leader answers its clients one write sooner. Replies,
      // which promise this node's own durability, still wait for the write.
      if (rd.snapshotToApply !== undefined || rd.committedEntries.length > 0) {
        await stateMachine.apply(rd.committedEntries, rd.snapshotToApply);
      }
    } finally {
      await saving;
    }
    if (this.#stopped) return;
    for (const message of rd.messagesAfterPersist) this.#deliverReply(message);
    if (this.#stopped) return;
    this.node.advance(rd);
  }

  #deliverReply(message: Message): void {
    const waiters = this.#waiting.get(`${message.to}:${message.type}`);
    const resolve = waiters?.shift();
    if (waiters !== undefined && waiters.length === 0) this.#waiting.delete(`${message.to}:${message.type}`);
    if (resolve !== undefined) {
      assert(
        message.type !== "AppendEntries" && message.type !== "RequestVote",
        "a request cannot be a reply",
      );
      resolve(message as Reply);
    } else {
      this.#options.transport.send(message);
    }
  }

  /** Runs a core input; an exception means a broken invariant, which stops the peer. */
  #guard<T>(action: () => T): T | undefined {
    try {
      return action();
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
  }

  #fail(error: unknown): void {
    if (this.#fatal !== undefined || this.#stopped) return;
    this.#fatal = error;
    this.stop();
    this.#options.onFatal?.(error);
  }
}

/** Whether a Ready asks for nothing at all. */
function isEmptyReady(rd: Ready): boolean {
  return (
    rd.softState === undefined &&
    rd.hardState === undefined &&
    rd.snapshot === undefined &&
    rd.snapshotToApply === undefined &&
    rd.entries.length === 0 &&
    rd.messages.length === 0 &&
    rd.messagesAfterPersist.length === 0 &&
    rd.committedEntries.length === 0 &&
    rd.readStates.length === 0
  );
}
