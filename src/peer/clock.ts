/** A handle for a timer set with {@link Clock.setTimer}; pass it to {@link Clock.clearTimer}. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * The one source of time for everything above the core: the peer's ticker, the lab network's delays and the
 * tester's sleeps. The simulator's virtual clock and the system clock both implement it, so the same code
 * runs on virtual time (fast, seeded, replayable) or on real time.
 *
 * Times and durations are in milliseconds.
 */
export interface Clock {
  /** Milliseconds since this clock's origin (virtual clocks start at 0). */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
  /** Calls `callback` once after `ms` milliseconds, unless cleared first. */
  setTimer(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; clearing a timer that already fired or was cleared does nothing. */
  clearTimer(handle: TimerHandle): void;
}
