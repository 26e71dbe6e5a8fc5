import type { Clock, TimerHandle } from "../../peer/clock.ts";
import { assert } from "../../util/assert.ts";
import { deriveSeed, Random } from "../../util/random.ts";
import { makeRealClock } from "../clocks.ts";
import { ClientEnd } from "./client-end.ts";
import type { EndName, ServerName } from "./names.ts";
import type { Server } from "./server.ts";

// The network's numbers, exactly as labrpc has them (lab2-spec §3.3). A "bound" is exclusive, as for Random.int.

/** Unreliable mode delays each request by a uniform 0–26 ms before deciding its fate. */
const unreliableDelayMsBound = 27;
/** Loss rates are in thousandths, drawn as `int(1000) < rate`. */
const perMille = 1000;
/** Unreliable mode loses a request (the handler never runs) with probability 100/1000. */
const requestLossPerMille = 100;
/** Unreliable mode loses a reply (the handler did run) with probability 100/1000. */
const replyLossPerMille = 100;
/** While a handler runs, the network checks this often whether its server died or its end was disabled. */
const deadCheckIntervalMs = 100;
/** Long reordering delays a reply with probability 600/900... */
const reorderNumerator = 600;
const reorderDenominator = 900;
/** ...by 200 + int(1 + int(2000)) ms: 200–2199 ms, skewed toward the short end. */
const reorderBaseMs = 200;
const reorderSpreadMsBound = 2000;
/** A call that cannot be delivered fails after 0–6999 ms with long delays on (the Raft tester)... */
const longFailureDelayMsBound = 7000;
/** ...or after 0–99 ms without (kvraft clients must move on to the next server quickly). */
const shortFailureDelayMsBound = 100;
assert(requestLossPerMille <= perMille && replyLossPerMille <= perMille, "labrpc: loss rates exceed 1");
assert(reorderNumerator <= reorderDenominator, "labrpc: reordering probability exceeds 1");

/** The seed used when none is given: a fixed one, so an unseeded network still replays the same way. */
const defaultSeed = 1;

/** Options for {@link makeNetwork}. */
export interface NetworkOptions {
  /** The clock for every delay and timeout; default {@link makeRealClock}. Use a virtual clock in tests. */
  readonly clock?: Clock;
  /** Seeds all of the network's random choices (via `deriveSeed(seed, "labrpc")`); default 1. */
  readonly seed?: number;
}

/** What the network knows about one end: whether it passes traffic and which server name it leads to. */
interface EndState {
  readonly end: ClientEnd;
  enabled: boolean;
  serverName: ServerName | undefined;
}

/** A request between submission and its outcome. Settled exactly once: by delivery, failure or cleanup. */
interface InFlightCall {
  readonly endName: EndName;
  readonly svcMeth: string;
  readonly argsBytes: Uint8Array;
  settled: boolean;
  readonly resolve: (replyBytes: Uint8Array | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/** How the wait for a handler ended: it replied, or its server was found dead first. */
type HandlerOutcome =
  | { readonly kind: "replied"; readonly replyBytes: Uint8Array }
  | { readonly kind: "dead" };

/**
 * The simulated network of the course's labrpc: client ends, servers, the end→server connections, and the
 * faults (loss, delay, reordering, disconnection) the Raft and kvraft testers inflict.
 *
 * Delivery follows labrpc request by request (lab2-spec §3.3). All randomness comes from one seeded stream
 * and all time from the injected clock, so on a virtual clock a run replays exactly from its seed.
 */
export class Network {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #ends = new Map<EndName, EndState>();
  readonly #servers = new Map<ServerName, Server>();
  /** Timers the network has set and not yet seen fire, so cleanup can cancel them. */
  readonly #timers = new Set<TimerHandle>();
  readonly #inFlight = new Set<InFlightCall>();
  #reliable = true;
  #longDelays = false;
  #longReordering = false;
  #totalCount = 0;
  #totalBytes = 0;
  #cleanedUp = false;

  /** Prefer {@link makeNetwork}. */
  constructor(clock: Clock, seed: number) {
    this.#clock = clock;
    this.#random = new Random(deriveSeed(seed, "labrpc"));
  }

  /**
   * Creates a client end called `endName`. It starts disabled and unconnected, so a restarted peer stays
   * isolated until the tester connects it. A duplicate name is a programming error and throws.
   */
  makeEnd(endName: EndName): ClientEnd {
    if (this.#ends.has(endName)) {
      throw new Error(`labrpc: makeEnd: end ${String(endName)} already exists`);
    }
    const end = new ClientEnd(endName, (name, svcMeth, argsBytes) => this.#submit(name, svcMeth, argsBytes));
    this.#ends.set(endName, { end, enabled: false, serverName: undefined });
    return end;
  }

  /**
   * Registers `server` under `serverName`, replacing any server of that name. Requests in flight to the old
   * server then fail: that is how a restarted peer's predecessor loses its replies.
   */
  addServer(serverName: ServerName, server: Server): void {
    this.#servers.set(serverName, server);
  }

  /** Removes the server of that name (the tester's crash): in-flight and later requests to it fail. */
  deleteServer(serverName: ServerName): void {
    this.#servers.delete(serverName);
  }

  /** Points end `endName` at whatever server is (now or later) registered as `serverName`. */
  connect(endName: EndName, serverName: ServerName): void {
    this.#endState(endName, "connect").serverName = serverName;
  }

  /** Enables or disables an end; the tester's connect and disconnect are nothing but this. */
  enable(endName: EndName, enabled: boolean): void {
    this.#endState(endName, "enable").enabled = enabled;
  }

  /** Reliable (the default): no loss, no artificial delay. Unreliable: jitter plus 10% request and reply loss. */
  reliable(yes: boolean): void {
    this.#reliable = yes;
  }

  /** When on, two thirds of replies arrive 200–2199 ms late, so replies overtake one another. */
  longReordering(yes: boolean): void {
    this.#longReordering = yes;
  }

  /** When on, undeliverable calls take up to 7 s to fail instead of up to 100 ms. */
  longDelays(yes: boolean): void {
    this.#longDelays = yes;
  }

  /** How many requests were dispatched to the server now registered as `serverName`; throws if there is none. */
  getCount(serverName: ServerName): number {
    const server = this.#servers.get(serverName);
    if (server === undefined) {
      throw new Error(`labrpc: getCount: no server named ${String(serverName)}`);
    }
    return server.getCount();
  }

  /** How many calls were submitted, whatever became of them (lost, undeliverable, failed). */
  getTotalCount(): number {
    return this.#totalCount;
  }

  /** Bytes of every submitted request plus bytes of every reply delivered, counted at delivery time. */
  getTotalBytes(): number {
    return this.#totalBytes;
  }

  /**
   * Shuts the network down: later calls fail at once without being counted. Calls still in flight also fail
   * at once and the network's pending timers are cancelled (labrpc would let them run their course), so a
   * finished test on the real clock leaves nothing behind. Handlers already running are not interrupted.
   */
  cleanup(): void {
    this.#cleanedUp = true;
    for (const timer of this.#timers) this.#clock.clearTimer(timer);
    this.#timers.clear();
    for (const call of [...this.#inFlight]) this.#settle(call, undefined);
  }

  #endState(endName: EndName, operation: string): EndState {
    const state = this.#ends.get(endName);
    if (state === undefined) {
      throw new Error(`labrpc: ${operation}: no end named ${String(endName)}`);
    }
    return state;
  }

  /** Takes one request from a client end: counts it, then processes it on a later microtask. */
  #submit(endName: EndName, svcMeth: string, argsBytes: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#cleanedUp) return Promise.resolve(undefined);
    this.#totalCount++;
    this.#totalBytes += argsBytes.length;
    return new Promise((resolve, reject) => {
      const call: InFlightCall = { endName, svcMeth, argsBytes, settled: false, resolve, reject };
      this.#inFlight.add(call);
      // Never run the handler inside the caller's own synchronous code (labrpc runs it on another
      // goroutine); a microtask keeps reliable mode free of artificial delay and keeps the order fixed.
      queueMicrotask(() => {
        void this.#process(call).catch((error: unknown) => this.#fail(call, error));
      });
    });
  }

  /** labrpc's `processReq`: decides the fate of one request. The step numbers are lab2-spec §3.3's. */
  async #process(call: InFlightCall): Promise<void> {
    // Everything about the route is read once, on arrival, as labrpc does.
    const endState = this.#ends.get(call.endName);
    const enabled = endState?.enabled ?? false;
    const serverName = endState?.serverName;
    const server = serverName === undefined ? undefined : this.#servers.get(serverName);
    const reliable = this.#reliable;
    const longReordering = this.#longReordering;

    if (!enabled || serverName === undefined || server === undefined) {
      // Case B: simulate no reply and an eventual timeout.
      const delayMs = this.#longDelays
        ? this.#random.int(longFailureDelayMsBound)
        : this.#random.int(shortFailureDelayMsBound);
      this.#setTimer(() => this.#settle(call, undefined), delayMs);
      return;
    }

    // A1: short jitter.
    if (!reliable) {
      const delayMs = this.#random.int(unreliableDelayMsBound);
      if (delayMs > 0) await this.#sleep(delayMs);
      if (call.settled) return;
    }
    // A2: lose the request.
    if (!reliable && this.#random.int(perMille) < requestLossPerMille) {
      this.#settle(call, undefined);
      return;
    }
    // A3: run the handler, watching for the server's death.
    const outcome = await this.#awaitHandler(call, serverName, server);
    if (call.settled) return;
    // A4: a reply from a dead server must not get through (it may acknowledge work saved in a superseded
    // persister), so check once more now that the handler is done.
    if (outcome.kind === "dead" || this.#isServerDead(call.endName, serverName, server)) {
      this.#settle(call, undefined);
      return;
    }
    // A5: lose the reply.
    if (!reliable && this.#random.int(perMille) < replyLossPerMille) {
      this.#settle(call, undefined);
      return;
    }
    // A6: deliver late. Once scheduled it arrives whatever happens to the links meanwhile.
    if (longReordering && this.#random.int(reorderDenominator) < reorderNumerator) {
      const delayMs = reorderBaseMs + this.#random.int(1 + this.#random.int(reorderSpreadMsBound));
      this.#setTimer(() => this.#settle(call, outcome.replyBytes), delayMs);
      return;
    }
    // A7: deliver now.
    this.#settle(call, outcome.replyBytes);
  }

  /**
   * Runs the handler and waits for it, checking every 100 ms whether the server is dead for this request;
   * if it is, stops waiting (the handler runs on and its result is dropped). The check timer is cancelled
   * as soon as the handler finishes, so a quick handler leaves no timer behind.
   */
  #awaitHandler(call: InFlightCall, serverName: ServerName, server: Server): Promise<HandlerOutcome> {
    return new Promise<HandlerOutcome>((resolve, reject) => {
      let waiting = true;
      let checkTimer: TimerHandle | undefined;
      const armCheck = (): void => {
        checkTimer = this.#setTimer(() => {
          checkTimer = undefined;
          if (!waiting) return;
          if (this.#isServerDead(call.endName, serverName, server)) {
            waiting = false;
            resolve({ kind: "dead" });
          } else {
            armCheck();
          }
        }, deadCheckIntervalMs);
      };
      const stopChecking = (): void => {
        if (checkTimer !== undefined) this.#clearTimer(checkTimer);
        checkTimer = undefined;
      };

      armCheck();
      void server.dispatch(call.svcMeth, call.argsBytes).then(
        (replyBytes) => {
          stopChecking();
          if (!waiting) return;
          waiting = false;
          resolve({ kind: "replied", replyBytes });
        },
        (error: unknown) => {
          stopChecking();
          if (waiting && !call.settled) {
            waiting = false;
            reject(error);
            return;
          }
          // Nobody is waiting for this call any more, but a failing handler is still a bug (Go would panic):
          // raise it where the host reports uncaught errors rather than lose it.
          queueMicrotask(() => {
            throw error;
          });
        },
      );
    });
  }

  /** Dead for this request: its end is now disabled, or its server name now maps to another object or none. */
  #isServerDead(endName: EndName, serverName: ServerName, server: Server): boolean {
    const enabled = this.#ends.get(endName)?.enabled ?? false;
    return !enabled || this.#servers.get(serverName) !== server;
  }

  /** Ends a call with a reply (counting its bytes now, at delivery) or with failure (`undefined`). */
  #settle(call: InFlightCall, replyBytes: Uint8Array | undefined): void {
    if (call.settled) return;
    call.settled = true;
    this.#inFlight.delete(call);
    if (replyBytes !== undefined) this.#totalBytes += replyBytes.length;
    call.resolve(replyBytes);
  }

  /** Ends a call with a programming error (unknown service or method, failing handler). */
  #fail(call: InFlightCall, error: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.#inFlight.delete(call);
    call.reject(error);
  }

  #setTimer(callback: () => void, ms: number): TimerHandle {
    const handle = this.#clock.setTimer(() => {
      this.#timers.delete(handle);
      callback();
    }, ms);
    this.#timers.add(handle);
    return handle;
  }

  #clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle);
    this.#clock.clearTimer(handle);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#setTimer(resolve, ms);
    });
  }
}

/**
 * Makes a labrpc network: reliable, no long delays, no long reordering, no ends, no servers. Without a clock it
 * runs on real time ({@link makeRealClock}); without a seed it uses seed 1, never an unrepeatable one.
 */
export function makeNetwork(options: NetworkOptions = {}): Network {
  return new Network(options.clock ?? makeRealClock(), options.seed ?? defaultSeed);
}
