import {
  asTerm,
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type InitialState,
  type Snapshot,
} from "../core/index.ts";
import type { StorageUpdate } from "../peer/index.ts";
import { assert } from "../util/assert.ts";

/**
 * An in-memory copy of what a node has persisted: hard state, snapshot and the entries after it. It applies a
 * {@link StorageUpdate} by the same rules the core's log follows, so it always equals the core's stable log;
 * the lab's persister and the simulator's disks are built on it.
 */
export class MemoryLogStore {
  hardState: HardState;
  snapshot: Snapshot | null;
  #entries: Entry[];

  constructor(initial?: InitialState) {
    this.hardState = initial?.hardState ?? EMPTY_HARD_STATE;
    this.snapshot = initial?.snapshot ?? null;
    this.#entries = [...(initial?.entries ?? [])];
  }

  get entries(): readonly Entry[] {
    return this.#entries;
  }

  get offset(): number {
    return this.snapshot?.meta.index ?? 0;
  }

  lastIndex(): number {
    return this.offset + this.#entries.length;
  }

  /** Applies an update: snapshot, then entries, then hard state. Returns what changed. */
  apply(update: StorageUpdate): { logChanged: boolean; termOrVoteChanged: boolean } {
    let logChanged = false;
    if (update.snapshot !== undefined) {
      this.#installSnapshot(update.snapshot);
      logChanged = true;
    }
    const first = update.entries[0];
    if (first !== undefined) {
      assert(first.index > this.offset, () => `MemoryLogStore: entry ${first.index} is inside the snapshot`);
      assert(first.index <= this.lastIndex() + 1, () => `MemoryLogStore: gap before entry ${first.index}`);
      this.#entries.length = first.index - this.offset - 1;
      this.#entries.push(...update.entries);
      logChanged = true;
    }
    let termOrVoteChanged = false;
    if (update.hardState !== undefined) {
      termOrVoteChanged =
        update.hardState.term !== this.hardState.term || update.hardState.vote !== this.hardState.vote;
      this.hardState = update.hardState;
    }
    return { logChanged, termOrVoteChanged };
  }

  /** What a node restarting from this storage starts with. */
  initialState(): InitialState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.#entries] };
  }

  #installSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    const ours =
      index === this.offset
        ? (this.snapshot?.meta.term ?? asTerm(0))
        : this.#entries[index - this.offset - 1]?.term;
    const keeps = ours === term && index >= this.offset;
    this.#entries = keeps ? this.#entries.slice(index - this.offset) : [];
    this.snapshot = snapshot;
  }
}
