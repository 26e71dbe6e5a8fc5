import { performance } from "node:perf_hooks";
import type { Clock, TimerHandle } from "../peer/clock.ts";

/**
 * The {@link Clock} of a real node: monotonic milliseconds since the clock was made (`performance.now()`,
 * which does not jump when the system time is adjusted, unlike `Date.now()`) and Node's timers.
 *
 * The lab has its own real clock (src/lab/clocks.ts) written against host globals only, because the lab
 * must also run in a browser; this one is for Node processes and lets timers not hold the process open.
 */
export class SystemClock implements Clock {
  readonly #originMs = performance.now();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #nextId = 0;

  now(): number {
    return performance.now() - this.#originMs;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(resolve, ms);
    });
  }

  setTimer(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    const delayMs = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      callback();
    }, delayMs);
    this.#timers.set(id, timer);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.#timers.get(handle.id);
    if (timer === undefined) return;
    this.#timers.delete(handle.id);
    clearTimeout(timer);
  }

  /** Cancels every timer still pending (on shutdown), so none fires into a stopped node. */
  clearAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
