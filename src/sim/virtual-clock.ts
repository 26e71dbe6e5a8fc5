import type { Clock, TimerHandle } from "../peer/clock.ts";
import { EventQueue } from "./event-queue.ts";

/**
 * Hands a callback to the host's event loop as a macrotask (for example `setImmediate`). The virtual clock
 * runs one event per macrotask, so every promise continuation caused by an event settles before virtual time
 * moves on. The simulator itself never touches host timers: the host is injected.
 */
export type YieldToHost = (callback: () => void) => void;

/**
 * Virtual time for the simulator and the lab tester. Time stands still while code runs and jumps to the next
 * scheduled event when everything else is idle, so a 30-second scenario takes a fraction of a second and
 * runs the same way every time: events run in (time, sequence) order and nothing reads the host's clock.
 *
 * It drives itself: scheduling an event asks the host for a macrotask, and each macrotask runs exactly one
 * event. Code written against {@link Clock} (`await clock.sleep(ms)`) therefore runs unchanged on virtual time.
 */
export class VirtualClock implements Clock {
  readonly #queue = new EventQueue();
  readonly #cancelled = new Set<number>();
  readonly #yieldToHost: YieldToHost;
  #now = 0;
  #sequence = 0;
  #pumpScheduled = false;
  #stopped = false;
  #eventsRun = 0;

  constructor(yieldToHost: YieldToHost) {
    this.#yieldToHost = yieldToHost;
  }

  now(): number {
    return this.#now;
  }

  /** How many events have run so far (a cheap measure of simulation work). */
  get eventsRun(): number {
    return this.#eventsRun;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(resolve, ms);
    });
  }

  setTimer(callback: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const id = this.#sequence++;
    this.#queue.push({ time: this.#now + delay, sequence: id, action: callback });
    this.#schedulePump();
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    if (handle.id < this.#sequence) this.#cancelled.add(handle.id);
  }

  /**
   * Stops the clock for good: pending events are dropped and nothing scheduled later runs. Promises waiting on
   * this clock never settle, which lets a finished test's leftover activity (tickers, delayed replies) end.
   */
  stop(): void {
    this.#stopped = true;
    this.#queue.clear();
    this.#cancelled.clear();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#stopped) return;
    this.#pumpScheduled = true;
    this.#yieldToHost(() => this.#pump());
  }

  #pump(): void {
    this.#pumpScheduled = false;
    if (this.#stopped) return;
    for (;;) {
      const event = this.#queue.pop();
      if (event === undefined) return;
      if (this.#cancelled.delete(event.sequence)) continue;
      this.#now = event.time;
      this.#eventsRun++;
      // Re-arm before running: the action may throw, and time must keep moving for the rest of the run.
      if (this.#queue.size > 0) this.#schedulePump();
      event.action();
      if (this.#queue.size > 0) this.#schedulePump();
      return;
    }
  }
}
