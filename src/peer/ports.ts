import type { Entry, HardState, Message, Snapshot } from "../core/index.ts";

/**
 * The ports a {@link Peer} runs against (DESIGN.md §3). Real implementations live in `drivers/`, simulated
 * ones in `sim/` and `lab/`; the peer itself never touches the host.
 */

/** Carries messages to other nodes. Fire and forget: delivery may fail, be late, or happen twice. */
export interface Transport {
  /** Sends a message. Replies to requests sent this way come back through `Peer.receive`. */
  send(message: Message): void;
}

/** What a Ready asks storage to make durable, to be applied in this order. */
export interface StorageUpdate {
  /** Install this snapshot: drop the entries it covers, and every later entry unless ours at its index has its term. */
  readonly snapshot?: Snapshot;
  /** Discard every entry at or after `entries[0].index`, then append these. */
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
}

/**
 * Durable storage for the log, hard state and snapshot. `save` resolves (or returns) only once the update is
 * durable; if it throws or rejects, the peer stops at once rather than carry on with state it failed to keep.
 */
export interface LogStorage {
  save(update: StorageUpdate): void | Promise<void>;
}

/** The replicated state machine: receives committed entries in index order, each once. */
export interface StateMachine {
  /**
   * Applies a snapshot from the leader (if any) and then the committed entries. May return before applying
   * is finished (for example by queueing), but must keep the order.
   */
  apply(committed: readonly Entry[], snapshotFromLeader: Snapshot | undefined): void | Promise<void>;
}
