import type { Clock, TimerHandle } from "../peer/clock.ts";
import { VirtualClock, type YieldToHost } from "../sim/virtual-clock.ts";

/**
 * A {@link VirtualClock} driven by the host's event loop, for the lab network and tester on virtual time.
 *
 * The clock runs one event per macrotask, so that every promise continuation an event causes settles before
 * time moves on. In Node the macrotask comes from `setImmediate`; in a browser (the visualiser runs the lab
 * there) from a `MessageChannel`, and failing that from `setTimeout(0)`, which works everywhere but is
 * clamped to about 4 ms after a few nested calls, so it is only the last resort.
 *
 * Call `stop()` on it when a test ends so leftover timers (tickers, late replies) never run.
 */
export function makeVirtualClock(): VirtualClock {
  return new VirtualClock(pickYieldToHost());
}

/** Chooses the cheapest macrotask source the host offers; see {@link makeVirtualClock}. */
function pickYieldToHost(): YieldToHost {
  // Typed structurally: neither Node's nor the DOM's declarations of these globals can be assumed here.
  const host = globalThis as unknown as {
    setImmediate?: (callback: () => void) => unknown;
    MessageChannel?: HostMessageChannelClass;
  };
  const setImmediateFn = host.setImmediate;
  if (typeof setImmediateFn === "function") {
    return (callback) => {
      setImmediateFn(callback);
    };
  }
  const MessageChannelClass = host.MessageChannel;
  if (typeof MessageChannelClass === "function") {
    return messageChannelYield(MessageChannelClass);
  }
  return (callback) => {
    globalThis.setTimeout(callback, 0);
  };
}

/** The part of the browser's `MessagePort` that {@link messageChannelYield} uses. */
interface HostMessagePort {
  onmessage: ((event: unknown) => void) | null;
  postMessage(message: unknown): void;
}

/** The part of the browser's `MessageChannel` constructor that {@link messageChannelYield} uses. */
type HostMessageChannelClass = new () => { readonly port1: HostMessagePort; readonly port2: HostMessagePort };

/**
 * A macrotask source built on one `MessageChannel`: each posted message runs the oldest queued callback.
 * Messages on one port arrive in order, so callbacks run in the order they were handed over.
 */
function messageChannelYield(MessageChannelClass: HostMessageChannelClass): YieldToHost {
  const channel = new MessageChannelClass();
  const waiting: Array<() => void> = [];
  channel.port1.onmessage = () => {
    const callback = waiting.shift();
    callback?.();
  };
  return (callback) => {
    waiting.push(callback);
    channel.port2.postMessage(undefined);
  };
}

/**
 * A {@link Clock} on real time, for running the lab tests as the course does (and for smoke tests).
 *
 * `now()` is `performance.now()` relative to the moment this clock was made, so it starts near 0 like a
 * virtual clock and is monotonic (unlike `Date.now()`, which jumps when the system clock is adjusted).
 * Timers are the host's `setTimeout`; they keep a Node process alive until they fire or are cleared.
 */
export function makeRealClock(): Clock {
  const originMs = performance.now();
  // Host timer handles differ between Node (objects) and browsers (numbers); callers only see our ids.
  const timers = new Map<number, ReturnType<typeof globalThis.setTimeout>>();
  let nextId = 0;

  const setTimer = (callback: () => void, ms: number): TimerHandle => {
    const id = nextId++;
    const delayMs = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const hostHandle = globalThis.setTimeout(() => {
      timers.delete(id);
      callback();
    }, delayMs);
    timers.set(id, hostHandle);
    return { id };
  };

  return {
    now: () => performance.now() - originMs,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        setTimer(resolve, ms);
      }),
    setTimer,
    clearTimer: (handle) => {
      const hostHandle = timers.get(handle.id);
      if (hostHandle === undefined) return;
      timers.delete(handle.id);
      globalThis.clearTimeout(hostHandle);
    },
  };
}
