/**
 * The course's `Persister` (2023 semantics): an in-memory stand-in for a disk holding two byte strings, the
 * Raft state and the service's snapshot. Saves replace both at once with copies; reads return copies. The
 * tester hands a restarted server a copy of its crashed predecessor's persister, so nothing a killed
 * instance does afterwards can leak into its successor.
 */
export class Persister {
  #raftState: Uint8Array;
  #snapshot: Uint8Array;

  constructor(raftState: Uint8Array = new Uint8Array(0), snapshot: Uint8Array = new Uint8Array(0)) {
    this.#raftState = raftState;
    this.#snapshot = snapshot;
  }

  /** A new persister sharing this one's current arrays (safe: saves replace arrays, never mutate them). */
  copy(): Persister {
    return new Persister(this.#raftState, this.#snapshot);
  }

  /** Replaces both the Raft state and the snapshot; `snapshot` null or undefined stores an empty one. */
  save(raftState: Uint8Array, snapshot: Uint8Array | null | undefined): void {
    this.#raftState = raftState.slice();
    this.#snapshot = snapshot == null ? new Uint8Array(0) : snapshot.slice();
  }

  readRaftState(): Uint8Array {
    return this.#raftState.slice();
  }

  readSnapshot(): Uint8Array {
    return this.#snapshot.slice();
  }

  /** Bytes of persisted Raft state. */
  raftStateSize(): number {
    return this.#raftState.length;
  }

  /** Bytes of persisted snapshot. */
  snapshotSize(): number {
    return this.#snapshot.length;
  }
}

/** A new, empty persister. */
export function makePersister(): Persister {
  return new Persister();
}
