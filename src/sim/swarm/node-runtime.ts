import type { Clock, TimerHandle } from "../../peer/index.ts";

/** Inputs held for a paused process at most; later droppable ones (messages, requests) are lost, as from a full socket buffer. */
export const PAUSED_INPUTS_MAX = 10_000;

/**
 * One incarnation of a node as an operating-system process would be: everything that makes the node run — its
 * timers firing, a message arriving, a client's request, a write's fsync completing — enters through
 * {@link run}, so the process can be paused, resumed and killed as a whole.
 *
 * - Paused (SIGSTOP): nothing runs. Inputs queue in arrival order, as a stopped process's socket buffer and
 *   its due timers would, and on resume they are handled one per event, oldest first.
 * - Killed: nothing runs ever again, and what was queued is gone.
 * - Clock rate: the node's {@link clock} stretches every delay it is asked for by the node's rate, so a node
 *   with rate 1.2 ticks 20% slower than real time (per-node clock skew).
 */
export class NodeProcess {
  /** The clock to give the node's peer: skewed, and gated by this process. */
  readonly clock: Clock;
  readonly #base: Clock;
  readonly #rate: number;
  readonly #onTimer: (callback: () => void) => void;
  readonly #inbox: Array<() => void> = [];
  #alive = true;
  #paused = false;
  /** Set from resume until the inbox is empty: new inputs queue behind the old ones. */
  #draining = false;
  /** Whether a drain event is scheduled (at most one is). */
  #drainScheduled = false;

  /**
   * @param base the simulation's clock
   * @param ratePerMille the node's clock rate in thousandths: delays last `ms * rate / 1000` of virtual time
   * @param onTimer runs a timer's callback when it fires (the caller wraps it to trace and check the tick)
   */
  constructor(base: Clock, ratePerMille: number, onTimer: (callback: () => void) => void) {
    this.#base = base;
    this.#rate = ratePerMille / 1000;
    this.#onTimer = onTimer;
    const setTimer = (callback: () => void, ms: number): TimerHandle =>
      base.setTimer(() => this.run(() => this.#onTimer(callback)), ms * this.#rate);
    this.clock = {
      now: () => base.now(),
      setTimer: setTimer,
      clearTimer: (handle) => base.clearTimer(handle),
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          setTimer(resolve, ms);
        }),
    };
  }

  get alive(): boolean {
    return this.#alive;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Inputs waiting for the process to resume. */
  get queued(): number {
    return this.#inbox.length;
  }

  /**
   * Runs `input` now if the process runs, queues it if it is paused, drops it if it is dead. A `droppable`
   * input (a message, a request) is also dropped when {@link PAUSED_INPUTS_MAX} are queued already; timers
   * and fsync completions never are. Returns false when dropped.
   */
  run(input: () => void, droppable = false): boolean {
    if (!this.#alive) return false;
    if (this.#paused || this.#draining) {
      if (droppable && this.#inbox.length >= PAUSED_INPUTS_MAX) return false;
      this.#inbox.push(input);
      return true;
    }
    input();
    return true;
  }

  /** Stops the process (SIGSTOP). */
  pause(): void {
    if (this.#alive) this.#paused = true;
  }

  /** Lets it run again (SIGCONT): what queued meanwhile is handled first, one input per event. */
  resume(): void {
    if (!this.#alive || !this.#paused) return;
    this.#paused = false;
    if (this.#inbox.length > 0) {
      this.#draining = true;
      this.#scheduleDrain();
    }
  }

  /** Ends the process for good (a crash): queued inputs are lost and later ones ignored. */
  kill(): void {
    this.#alive = false;
    this.#paused = false;
    this.#draining = false;
    this.#inbox.length = 0;
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    this.#base.setTimer(() => this.#drainOne(), 0);
  }

  #drainOne(): void {
    this.#drainScheduled = false;
    if (!this.#alive || this.#paused) return;
    const input = this.#inbox.shift();
    if (this.#inbox.length === 0) this.#draining = false;
    else this.#scheduleDrain();
    input?.();
  }
}
