import type { Clock } from "../../peer/clock.ts";
import { makeRealClock } from "../clocks.ts";
import type { ClientEnd } from "../labrpc/index.ts";
import {
  Err,
  type GetArgs,
  type PutAppendArgs,
  type PutAppendOp,
  parseGetReply,
  parsePutAppendReply,
  parseRegisterReply,
} from "./rpc.ts";

/**
 * How long a clerk pauses after every server in turn has failed it (no answer, wrong leader, timeout) before
 * trying them all again. Calls on the reliable network fail instantly, so without a pause a clerk with no
 * leader to find would spin without ever letting time pass.
 */
export const CLERK_RETRY_PAUSE_MS = 50;

/** Options of {@link makeClerk}. */
export interface ClerkOptions {
  /** The clock its pauses wait on; default the system clock. */
  readonly clock?: Clock;
}

/** What one attempt at one server came to. */
type Attempt<T> =
  | { readonly kind: "done"; readonly value: T }
  /** No answer, wrong leader, timeout: try the next server. */
  | { readonly kind: "retry" }
  /** The session is gone: register a new one, then try again. */
  | { readonly kind: "session-expired" };

/** Thrown by a clerk's operation when a server says the request itself is malformed (a bug, not a fault). */
export class ClerkError extends Error {
  override name = "ClerkError";
}

/** A promise that never settles: what a stopped clerk's operations wait on, like a goroutine left hanging. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/**
 * The course's kvraft `Clerk`: `get`, `put` and `append` that retry until some server (the leader) carries
 * them out, trying the servers in turn on a failed call, ErrWrongLeader or ErrTimeout, and remembering which
 * one answered last. On first use it opens a session through the log (`KVServer.Register`) and numbers its
 * commands in it, so a command re-sent to a new leader still runs exactly once (Raft thesis §6.3).
 *
 * Like the course's clerk, it makes one call at a time and retries forever; {@link stop} ends that: the
 * operations of a stopped clerk never complete.
 */
export class Clerk {
  readonly #servers: readonly ClientEnd[];
  readonly #clock: Clock;
  /** The server that answered last: probably the leader. */
  #leader = 0;
  #clientId: number | null = null;
  #nextSequence = 1;
  /** Sequences sent and not yet answered; the smallest is the acknowledged floor. */
  readonly #outstanding = new Set<number>();
  #stopped = false;

  constructor(servers: readonly ClientEnd[], options: ClerkOptions = {}) {
    if (servers.length === 0) throw new RangeError("Clerk: needs at least one server");
    this.#servers = servers;
    this.#clock = options.clock ?? makeRealClock();
  }

  /** Whether {@link stop} was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Gives up for good: operations in progress and later ones never complete, and no more calls go out. */
  stop(): void {
    this.#stopped = true;
  }

  /** The value of `key`, or "" if it has none. */
  async get(key: string): Promise<string> {
    const args: GetArgs = { key };
    return this.#untilDone("KVServer.Get", args, (reply) => {
      const parsed = parseGetReply(reply);
      if (parsed === null) return { kind: "retry" };
      switch (parsed.err) {
        case Err.OK:
        case Err.ErrNoKey:
          return { kind: "done", value: parsed.value };
        case Err.ErrBadArgs:
          throw new ClerkError(`KVServer.Get refused key ${JSON.stringify(key)} as malformed`);
        default:
          return { kind: "retry" };
      }
    });
  }

  /** Sets `key` to `value`. */
  put(key: string, value: string): Promise<void> {
    return this.#putAppend(key, value, "Put");
  }

  /** Appends `value` to the value of `key` (a missing key counts as ""). */
  append(key: string, value: string): Promise<void> {
    return this.#putAppend(key, value, "Append");
  }

  async #putAppend(key: string, value: string, op: PutAppendOp): Promise<void> {
    for (;;) {
      const clientId = await this.#session();
      const sequence = this.#nextSequence++;
      this.#outstanding.add(sequence);
      const ackedBelow = Math.min(...this.#outstanding);
      const args: PutAppendArgs = { key, value, op, clientId, sequence, ackedBelow };
      let expired = false;
      try {
        await this.#untilDone("KVServer.PutAppend", args, (reply) => {
          const parsed = parsePutAppendReply(reply);
          if (parsed === null) return { kind: "retry" };
          switch (parsed.err) {
            case Err.OK:
              return { kind: "done", value: undefined };
            case Err.ErrSessionExpired:
              return { kind: "session-expired" };
            case Err.ErrBadArgs:
              throw new ClerkError(`KVServer.PutAppend refused ${op}(${JSON.stringify(key)}, ...)`);
            default:
              return { kind: "retry" };
          }
        });
      } catch (error) {
        if (!(error instanceof SessionExpired)) throw error;
        expired = true;
      } finally {
        this.#outstanding.delete(sequence);
      }
      if (!expired) return;
      // The command did not run under the old session and never will: run it under a new one.
      this.#clientId = null;
    }
  }

  /** The session id, registering one through the log first if there is none. */
  async #session(): Promise<number> {
    if (this.#clientId !== null) return this.#clientId;
    const clientId = await this.#untilDone<number>("KVServer.Register", {}, (reply) => {
      const parsed = parseRegisterReply(reply);
      if (parsed === null || parsed.err !== Err.OK || parsed.clientId < 1) return { kind: "retry" };
      return { kind: "done", value: parsed.clientId };
    });
    this.#clientId = clientId;
    this.#nextSequence = 1;
    return clientId;
  }

  /**
   * Calls `svcMeth` on one server after another, starting with the last one that answered, until `interpret`
   * says done. Deliberately unbounded, as the course's clerk is: the tester decides when to give up, by
   * stopping the clerk. Pauses {@link CLERK_RETRY_PAUSE_MS} after each full round of failures.
   */
  async #untilDone<T>(svcMeth: string, args: object, interpret: (reply: unknown) => Attempt<T>): Promise<T> {
    let failures = 0;
    for (;;) {
      if (this.#stopped) return never();
      const end = this.#servers[this.#leader] as ClientEnd;
      const reply = await end.call(svcMeth, args);
      if (this.#stopped) return never();
      const attempt = interpret(reply);
      switch (attempt.kind) {
        case "done":
          return attempt.value;
        case "session-expired":
          throw new SessionExpired();
        case "retry":
          break;
      }
      this.#leader = (this.#leader + 1) % this.#servers.length;
      failures++;
      if (failures % this.#servers.length === 0) await this.#clock.sleep(CLERK_RETRY_PAUSE_MS);
    }
  }
}

/** Internal signal from {@link Clerk.#untilDone} to {@link Clerk.#putAppend}: re-register and resend. */
class SessionExpired extends Error {
  override name = "SessionExpired";
}

/** Makes a clerk talking to `servers` (the course's `MakeClerk`); the tester hands them over in random order. */
export function makeClerk(servers: readonly ClientEnd[], options: ClerkOptions = {}): Clerk {
  return new Clerk(servers, options);
}
