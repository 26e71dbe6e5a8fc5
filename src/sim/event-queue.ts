import { assert } from "../util/assert.ts";

/** One scheduled event: runs `action` at virtual time `time`; `sequence` breaks ties in scheduling order. */
export interface ScheduledEvent {
  readonly time: number;
  readonly sequence: number;
  readonly action: () => void;
}

/**
 * A binary min-heap of events ordered by (time, sequence). The sequence number makes the order total, so two
 * events due at the same instant always run in the order they were scheduled: the key to replaying a run.
 */
export class EventQueue {
  readonly #heap: ScheduledEvent[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(event: ScheduledEvent): void {
    const heap = this.#heap;
    heap.push(event);
    let child = heap.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!before(heap[child] as ScheduledEvent, heap[parent] as ScheduledEvent)) break;
      swap(heap, child, parent);
      child = parent;
    }
  }

  /** The earliest event, without removing it. */
  peek(): ScheduledEvent | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest event. */
  pop(): ScheduledEvent | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < heap.length && before(heap[left] as ScheduledEvent, heap[smallest] as ScheduledEvent)) {
        smallest = left;
      }
      if (right < heap.length && before(heap[right] as ScheduledEvent, heap[smallest] as ScheduledEvent)) {
        smallest = right;
      }
      if (smallest === parent) break;
      swap(heap, parent, smallest);
      parent = smallest;
    }
    return top;
  }

  clear(): void {
    this.#heap.length = 0;
  }
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
}

function swap(heap: ScheduledEvent[], i: number, j: number): void {
  const a = heap[i];
  const b = heap[j];
  assert(a !== undefined && b !== undefined, "EventQueue.swap: index out of range");
  heap[i] = b;
  heap[j] = a;
}
