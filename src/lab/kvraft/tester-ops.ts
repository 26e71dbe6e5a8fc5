import { kv, kvOutput } from "../../check/index.ts";
import type { Clerk } from "./clerk.ts";
import { ELECTION_TIMEOUT_MS, type KvraftConfig } from "./config.ts";

/**
 * The helpers of the course's kvraft `test_test.go`: clerk calls that count operations and record them in
 * the test's history, the value checks, client spawning and the partitioner.
 */

/** How a wrapped clerk call is accounted. */
export interface OpAccounting {
  /** The client id the history names (the course passes -1 for the tester's own clerks). Default -1. */
  readonly cli?: number;
  /**
   * Whether the call counts toward the section's ops figure. Default true; false for the calls the course
   * makes on the clerk directly (the Speed tests), which it does not count. Every call is recorded in the
   * history either way.
   */
  readonly count?: boolean;
}

/** `ck.get(key)`, counted and recorded (the course's `Get` wrapper). */
export async function get(
  cfg: KvraftConfig,
  ck: Clerk,
  key: string,
  accounting: OpAccounting = {},
): Promise<string> {
  const id = cfg.history.invoke(accounting.cli ?? -1, kv.get(key));
  const value = await ck.get(key);
  cfg.history.complete(id, kvOutput.value(value));
  if (accounting.count ?? true) cfg.op();
  return value;
}

/** `ck.put(key, value)`, counted and recorded (the course's `Put` wrapper). */
export async function put(
  cfg: KvraftConfig,
  ck: Clerk,
  key: string,
  value: string,
  accounting: OpAccounting = {},
): Promise<void> {
  const id = cfg.history.invoke(accounting.cli ?? -1, kv.put(key, value));
  await ck.put(key, value);
  cfg.history.complete(id, kvOutput.done);
  if (accounting.count ?? true) cfg.op();
}

/** `ck.append(key, value)`, counted and recorded (the course's `Append` wrapper). */
export async function append(
  cfg: KvraftConfig,
  ck: Clerk,
  key: string,
  value: string,
  accounting: OpAccounting = {},
): Promise<void> {
  const id = cfg.history.invoke(accounting.cli ?? -1, kv.append(key, value));
  await ck.append(key, value);
  cfg.history.complete(id, kvOutput.done);
  if (accounting.count ?? true) cfg.op();
}

/** Fails unless `key` reads as `value` (the course's `check`). */
export async function check(cfg: KvraftConfig, ck: Clerk, key: string, value: string): Promise<void> {
  const got = await get(cfg, ck, key);
  if (got !== value) cfg.fatal(`Get(${key}): expected:\n${value}\nreceived:\n${got}`);
}

/**
 * Lets `promise` run in the background (a goroutine): if it fails, the test fails through `cfg.failure`, and
 * its rejection never goes unhandled when nobody awaits it any more. Returns the same promise, to await later.
 */
export function inBackground<T>(cfg: KvraftConfig, promise: Promise<T>): Promise<T> {
  promise.catch((error: unknown) =>
    cfg.recordFailure(error instanceof Error ? error : new Error(String(error))),
  );
  return promise;
}

/**
 * Runs `fn` as client `me` with a clerk of its own, connected to every server, and deletes the clerk after
 * (the course's `run_client`). Resolves with `fn`'s result.
 */
export async function runClient<T>(
  cfg: KvraftConfig,
  me: number,
  fn: (me: number, ck: Clerk) => Promise<T>,
): Promise<T> {
  const ck = cfg.makeClient(cfg.all());
  const result = await fn(me, ck);
  cfg.deleteClient(ck);
  return result;
}

/** Runs `ncli` clients at once and waits for all of them (the course's `spawn_clients_and_wait`). */
export async function spawnClientsAndWait(
  cfg: KvraftConfig,
  ncli: number,
  fn: (me: number, ck: Clerk) => Promise<void>,
): Promise<void> {
  const clients = Array.from({ length: ncli }, (_, cli) => inBackground(cfg, runClient(cfg, cli, fn)));
  for (const client of clients) {
    try {
      await client;
    } catch {
      cfg.fatal("failure");
    }
  }
}

/** The value an Append of `val` leaves behind when the old value is `prev` (the course's `NextValue`). */
export function nextValue(prev: string, val: string): string {
  return prev + val;
}

/** The value client `clnt` appends as its j-th operation: `x <clnt> <j> y`. */
export function appendedValue(clnt: number, j: number): string {
  return `x ${clnt} ${j} y`;
}

/** Every one of client `clnt`'s `count` appends appears in `v` exactly once, in order (`checkClntAppends`). */
export function checkClntAppends(cfg: KvraftConfig, clnt: number, v: string, count: number): void {
  let lastoff = -1;
  for (let j = 0; j < count; j++) {
    const wanted = appendedValue(clnt, j);
    const off = v.indexOf(wanted);
    if (off < 0) cfg.fatal(`${clnt} missing element ${wanted} in Append result ${v}`);
    const off1 = v.lastIndexOf(wanted);
    if (off1 !== off) cfg.fatal(`duplicate element ${wanted} in Append result`);
    if (off <= lastoff) cfg.fatal(`wrong order for element ${wanted} in Append result`);
    lastoff = off;
  }
}

/** {@link checkClntAppends} for every client i with `counts[i]` appends (`checkConcurrentAppends`). */
export function checkConcurrentAppends(cfg: KvraftConfig, v: string, counts: readonly number[]): void {
  for (const [i, count] of counts.entries()) checkClntAppends(cfg, i, v, count);
}

/**
 * Repartitions the servers into two random groups every election timeout plus 0–199 ms until `done()`
 * (the course's `partitioner`).
 */
export async function partitioner(cfg: KvraftConfig, done: () => boolean): Promise<void> {
  while (!done()) {
    const side = Array.from({ length: cfg.n }, () => cfg.random.nonNegativeInt() % 2);
    const p0 = cfg.all().filter((j) => side[j] === 0);
    const p1 = cfg.all().filter((j) => side[j] === 1);
    cfg.partition(p0, p1);
    await cfg.clock.sleep(ELECTION_TIMEOUT_MS + (cfg.random.nonNegativeInt() % 200));
  }
}
