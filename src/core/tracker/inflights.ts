import { assert } from "../../util/assert.ts";
import type { LogIndex } from "../types.ts";

/**
 * The AppendEntries in flight to one follower, remembered by the last index each carried. Bounded: when
 * `capacity` messages are unanswered the leader stops sending (flow control), and each acknowledgement frees
 * every message up to the index it confirms.
 */
export class Inflights {
  readonly capacity: number;
  readonly #lastIndexes: LogIndex[] = [];
  #head = 0;

  constructor(capacity: number) {
    assert(capacity > 0, "Inflights: capacity must be positive");
    this.capacity = capacity;
  }

  get count(): number {
    return this.#lastIndexes.length - this.#head;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  add(lastIndex: LogIndex): void {
    assert(!this.full, "Inflights.add: window is full");
    this.#lastIndexes.push(lastIndex);
  }

  /** Forgets every message whose last index is at or below `index` (they are acknowledged). */
  freeTo(index: LogIndex): void {
    while (this.#head < this.#lastIndexes.length && (this.#lastIndexes[this.#head] as LogIndex) <= index) {
      this.#head++;
    }
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 64 && this.#head * 2 > this.#lastIndexes.length) {
      this.#lastIndexes.splice(0, this.#head);
      this.#head = 0;
    }
  }

  reset(): void {
    this.#lastIndexes.length = 0;
    this.#head = 0;
  }
}
