import type { Message } from "./messages.ts";
import type { ReadState } from "./read-only.ts";
import type { Entry, HardState, Snapshot, SoftState } from "./types.ts";

/**
 * One batch of work the core hands to its driver, to be done in this order:
 *
 * 1. send `messages` (they do not depend on anything unpersisted);
 * 2. persist `snapshot`, then `entries`, then `hardState`;
 * 3. only then send `messagesAfterPersist` — vote grants and append acknowledgements promise that what they
 *    acknowledge is durable (Figure 2: "respond to RPCs" after updating stable storage);
 * 4. apply `snapshotToApply`, then `committedEntries`, in index order — this may overlap step 2, since
 *    committed entries are durable on a majority whatever this node's own write does;
 * 5. call `advance(ready)` once all of the above is done.
 *
 * The ordering contract is part of the type: nothing in `messagesAfterPersist` may leave early.
 */
export interface Ready {
  /** Present when role, leader or term changed since the previous Ready. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed; persist it. */
  readonly hardState?: HardState;
  /**
   * A snapshot to persist. Storage drops the entries it covers, and every entry after it too unless its own
   * entry at the snapshot's index has the snapshot's term.
   */
  readonly snapshot?: Snapshot;
  /**
   * Entries to persist, contiguous. Storage first discards any entry it holds at `entries[0].index` or later
   * (they were overwritten by a new leader), then appends these.
   */
  readonly entries: readonly Entry[];
  /** Messages that may leave at once. */
  readonly messages: readonly Message[];
  /** Replies that may leave only after this Ready's state is durable. */
  readonly messagesAfterPersist: readonly Message[];
  /** A snapshot received from the leader: the state machine must load it before `committedEntries`. */
  readonly snapshotToApply?: Snapshot;
  /** Newly committed entries to apply, in index order, each handed out exactly once. */
  readonly committedEntries: readonly Entry[];
  /**
   * Reads confirmed since the last Ready (thesis §6.4): serve each once the state machine has applied its
   * index. Unlike the rest, these need no persisting and may be acted on at once.
   */
  readonly readStates: readonly ReadState[];
}
