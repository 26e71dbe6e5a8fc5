import { deriveSeed, Random } from "../util/random.ts";

/**
 * What the clients of one key-value seed do, drawn from the seed: how many clients, which keys, how fast,
 * with which timeouts. Keys come in two families, so that both properties can be checked:
 * - register keys (`r0.0`, `r1.0`, ...): get, put, compare-and-set and delete of unique values, checked for
 *   linearizability;
 * - append keys (`a0.0`, ...): get and append of unique tokens, checked for linearizability and, after the
 *   heal, that every acknowledged append is in the final read, exactly once (no write lost, none applied twice).
 *
 * Each key takes a bounded number of operations; then its slot moves on to a fresh key (`r0.1`, ...), as
 * Jepsen's independent keys do, so that no one key's history grows past what the checker searches quickly.
 */

/** The relative weights of the operations on one key family (0 leaves one out). */
export interface OperationWeights {
  readonly get: number;
  readonly put: number;
  readonly append: number;
  readonly cas: number;
  readonly delete: number;
}

/** How the simulated KvClients are configured (the real client's options). */
export interface ClientTimeouts {
  /** Milliseconds one HTTP request may take before the client gives up on it and tries another node. */
  readonly requestTimeoutMs: number;
  /** Milliseconds a whole call may take, retries included; past it the outcome is unknown. */
  readonly deadlineMs: number;
  /** Attempts per call, at most. */
  readonly attemptsMax: number;
  /** First backoff between attempts that found no leader (doubling, capped by the client). */
  readonly backoffMs: number;
}

/** Everything the clients of a seed do. */
export interface KvWorkload {
  /** Concurrent clients, each one operation at a time (like Jepsen's processes). */
  readonly clients: number;
  /** The register slots (`r0`, ...): each is a series of keys `r0.0`, `r0.1`, ... */
  readonly registerSlots: readonly string[];
  /** The append slots (`a0`, ...). */
  readonly appendSlots: readonly string[];
  /** Operations invoked on a key before its slot moves on to a fresh one. */
  readonly operationsPerKey: number;
  readonly registerWeights: OperationWeights;
  readonly appendWeights: OperationWeights;
  /** Each client waits a uniform [0, thinkMsMax] milliseconds between two operations. */
  readonly thinkMsMax: number;
  readonly timeouts: ClientTimeouts;
  /** How long a node's service lets a command or read wait for its answer (KvService.requestTimeoutMs). */
  readonly serviceTimeoutMs: number;
  /** One-way delay between a client and a node is drawn from [1, clientLinkDelayMaxMs] milliseconds. */
  readonly clientLinkDelayMaxMs: number;
}

const REGISTER_WEIGHTS: OperationWeights = { get: 8, put: 5, append: 0, cas: 6, delete: 1 };
const APPEND_WEIGHTS: OperationWeights = { get: 2, put: 0, append: 3, cas: 0, delete: 0 };

/** Draws the workload of seed `seed` (its own stream: the swarm's plan does not shift it). */
export function planWorkload(seed: number): KvWorkload {
  const random = new Random(deriveSeed(seed, "kv-workload"));
  const registerSlots = Array.from({ length: random.intBetween(1, 3) }, (_, i) => `r${i}`);
  const appendSlots = Array.from({ length: random.intBetween(1, 2) }, (_, i) => `a${i}`);
  return {
    clients: random.intBetween(3, 6),
    registerSlots,
    appendSlots,
    operationsPerKey: random.pick([30, 60, 100]),
    registerWeights: REGISTER_WEIGHTS,
    appendWeights: APPEND_WEIGHTS,
    thinkMsMax: random.pick([5, 20, 100]),
    timeouts: {
      requestTimeoutMs: random.pick([50, 200, 1000]),
      deadlineMs: random.pick([300, 1000, 3000]),
      // The client's default, which a node that refuses connections uses up in milliseconds, or enough that
      // the deadline decides.
      attemptsMax: random.pick([20, 500]),
      backoffMs: random.pick([5, 20, 50]),
    },
    serviceTimeoutMs: random.pick([100, 500, 2000]),
    clientLinkDelayMaxMs: random.pick([1, 3, 10]),
  };
}

/** One line per decision, for reports. */
export function describeWorkload(workload: KvWorkload): string {
  const { timeouts } = workload;
  return (
    `kv: ${workload.clients} clients on key slots ${[...workload.registerSlots, ...workload.appendSlots].join(", ")}` +
    ` (${workload.operationsPerKey} operations a key),` +
    ` think 0–${workload.thinkMsMax} ms; client request timeout ${timeouts.requestTimeoutMs} ms,` +
    ` deadline ${timeouts.deadlineMs} ms; service timeout ${workload.serviceTimeoutMs} ms;` +
    ` client links 1–${workload.clientLinkDelayMaxMs} ms`
  );
}

/** The keys the clients use: each slot's current key, and every key used so far (for the final reads). */
export class Keyspace {
  readonly #operationsPerKey: number;
  readonly #generation = new Map<string, number>();
  readonly #invoked = new Map<string, number>();
  readonly #used: string[] = [];

  constructor(workload: KvWorkload) {
    this.#operationsPerKey = workload.operationsPerKey;
  }

  /** The key the next operation on `slot` uses; counts the operation against it. */
  take(slot: string): string {
    const generation = this.#generation.get(slot) ?? 0;
    const key = `${slot}.${generation}`;
    const invoked = (this.#invoked.get(key) ?? 0) + 1;
    if (invoked === 1) this.#used.push(key);
    this.#invoked.set(key, invoked);
    if (invoked >= this.#operationsPerKey) this.#generation.set(slot, generation + 1);
    return key;
  }

  /** Every key used so far, in order of first use. */
  used(): readonly string[] {
    return this.#used;
  }
}
