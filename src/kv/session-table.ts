import type { LogIndex } from "../core/types.ts";
import { assert } from "../util/assert.ts";
import { ClientSession } from "./client-session.ts";
import type { ClientId } from "./command.ts";

/**
 * The bounded table of client sessions (Raft thesis §6.3). Sessions are kept in the order they were last
 * used, least recent first. Because log time is the running maximum of the timestamps applied, a session
 * used at a later index also has a later-or-equal `lastActiveMs`: the one order serves both expiry by time
 * (drop from the front while too old) and eviction by count (drop the front), each in O(1) per session.
 */
export class SessionTable {
  /** Sessions by id, in Map insertion order = least recently used first. At most `sessionsMax` of them. */
  readonly #sessions = new Map<ClientId, ClientSession>();

  /** Replaces every session with `sessions`, listed least recently used first (as {@link inUseOrder} lists them). */
  replaceAll(sessions: Iterable<ClientSession>): void {
    this.#sessions.clear();
    for (const session of sessions) this.#sessions.set(session.clientId, session);
  }

  /** Number of live sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Sessions least recently used first. */
  inUseOrder(): IterableIterator<ClientSession> {
    return this.#sessions.values();
  }

  /**
   * Drops every session unused for at least `timeoutMs` of log time as of `logTimeMs`. Returns how many.
   * The loop stops at the first session still alive; it is bounded by the table's size.
   */
  expire(logTimeMs: number, timeoutMs: number): number {
    let expired = 0;
    for (const session of this.#sessions.values()) {
      if (logTimeMs - session.lastActiveMs < timeoutMs) break;
      this.#sessions.delete(session.clientId);
      expired++;
    }
    return expired;
  }

  /**
   * Opens session `clientId` at log index `clientId`, first evicting least recently used sessions until there
   * is room under `sessionsMax`. Returns how many were evicted.
   */
  register(clientId: ClientId, logTimeMs: number, sessionsMax: number): number {
    assert(!this.#sessions.has(clientId), () => `register: session ${clientId} exists`);
    let evicted = 0;
    for (const session of this.#sessions.values()) {
      if (this.#sessions.size < sessionsMax) break;
      this.#sessions.delete(session.clientId);
      evicted++;
    }
    this.#sessions.set(clientId, new ClientSession(clientId, clientId, logTimeMs));
    return evicted;
  }

  /**
   * Finds session `clientId` and marks it used at `index` and `logTimeMs`, moving it to the most recent end.
   * Returns undefined when the session does not exist (never registered, expired or evicted).
   */
  use(clientId: ClientId, index: LogIndex, logTimeMs: number): ClientSession | undefined {
    const session = this.#sessions.get(clientId);
    if (session === undefined) return undefined;
    session.lastUsedIndex = index;
    session.lastActiveMs = logTimeMs;
    this.#sessions.delete(clientId);
    this.#sessions.set(clientId, session);
    return session;
  }

  /** The session with this id, without marking it used; for inspection. */
  peek(clientId: ClientId): ClientSession | undefined {
    return this.#sessions.get(clientId);
  }
}
