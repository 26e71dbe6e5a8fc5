import type { HttpPort, HttpResponse, Sleep } from "./http-port.ts";

/**
 * A client of the key-value HTTP API that does what a careful caller would: finds the leader (following the
 * not-leader hints), retries on timeouts, unavailability and leader changes with the SAME session and
 * sequence number — so a write that went through before the failure is not applied again (thesis §6.3) —
 * and gives up after a bounded number of attempts or a deadline, with an error saying why.
 */

/** Why a client call failed for good. */
export type KvClientErrorCode =
  /** Out of attempts or past the deadline; a write may or may not have been applied. */
  | "timeout"
  /** The session expired while the call was retried: the write may or may not have been applied. */
  | "session-expired"
  /** The server refused the request itself (bad key, too large): retrying cannot help. */
  | "rejected";

export class KvClientError extends Error {
  override readonly name = "KvClientError";
  constructor(
    readonly code: KvClientErrorCode,
    message: string,
    /** The last answer or error seen, for diagnosis. */
    readonly lastCause?: unknown,
  ) {
    super(message);
  }
}

export interface KvClientOptions {
  /** Base URLs of the nodes' APIs, e.g. `http://127.0.0.1:8001`. */
  readonly endpoints: readonly string[];
  readonly http: HttpPort;
  readonly sleep: Sleep;
  /** Milliseconds since any origin; used for the deadline. */
  readonly now: () => number;
  /** Attempts per call, at most (default 20). */
  readonly attemptsMax?: number;
  /** Milliseconds a whole call may take, retries included (default 15 s). */
  readonly deadlineMs?: number;
  /** Milliseconds one request may take (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** Backoff between attempts that found no leader: from this, doubling, capped at 1 s (default 50 ms). */
  readonly backoffMs?: number;
}

export type Consistency = "linearizable" | "local" | "log";

/** The outcome of a compare-and-swap. */
export type CasOutcome =
  | { readonly swapped: true }
  | { readonly swapped: false; readonly current: string | null };

interface Attempt {
  readonly method: "GET" | "PUT" | "POST" | "DELETE";
  readonly path: string;
  readonly body?: unknown;
  /** Whether the call is a command that needs the session headers. */
  readonly command: boolean;
  /** How long the server may take to answer, when longer than the client's usual request timeout. */
  readonly timeoutMs?: number;
}

/**
 * How long a membership change may take to answer: the server waits until it is committed and settled, a
 * promotion until the learner has caught up (up to 30 s, see member-admin.ts).
 */
const MEMBERSHIP_TIMEOUT_MS = 40_000;

/** One member as GET /v1/members describes it. */
export interface MemberView {
  readonly id: number;
  readonly role: "voter" | "learner" | "outgoing-voter";
  readonly peerAddress: string | null;
  readonly apiAddress: string | null;
}

/** The configuration as a node describes it (GET /v1/members, and the answer of every change). */
export interface MembersView {
  readonly leader: number | null;
  readonly membershipIndex: number;
  readonly joint: boolean;
  readonly members: readonly MemberView[];
}

const BACKOFF_CAP_MS = 1000;

export class KvClient {
  readonly #options: Required<KvClientOptions>;
  /** The endpoint that answered last, or was named leader: tried first. */
  #preferred = 0;
  #clientId: number | null = null;
  #registering: Promise<number> | null = null;
  #nextSequence = 1;
  readonly #outstanding = new Set<number>();

  constructor(options: KvClientOptions) {
    if (options.endpoints.length === 0) throw new RangeError("KvClient: at least one endpoint is needed");
    this.#options = {
      attemptsMax: 20,
      deadlineMs: 15_000,
      requestTimeoutMs: 5000,
      backoffMs: 50,
      ...options,
      endpoints: options.endpoints.map((url) => url.replace(/\/+$/, "")),
    };
    this.#endpoints = [...this.#options.endpoints];
  }

  /**
   * The endpoints this client uses: the ones it was given, and any leader a not-leader answer pointed to that
   * was not among them (a member added since, thesis §4).
   */
  readonly #endpoints: string[];

  /** The value of `key`, or null if there is none. Linearizable unless asked otherwise. */
  async get(key: string, consistency: Consistency = "linearizable"): Promise<string | null> {
    const response = await this.#call(
      { method: "GET", path: `/v1/kv/${encodeURIComponent(key)}?consistency=${consistency}`, command: false },
      [200, 404],
    );
    if (response.status === 404) return null;
    return stringField(response.body, "value");
  }

  async put(key: string, value: string): Promise<void> {
    await this.#command({ method: "PUT", path: kvPath(key), body: { value }, command: true }, [200]);
  }

  async append(key: string, value: string): Promise<void> {
    await this.#command(
      { method: "POST", path: `${kvPath(key)}/append`, body: { value }, command: true },
      [200],
    );
  }

  /** Deletes `key`; resolves whether it existed. */
  async delete(key: string): Promise<boolean> {
    const response = await this.#command({ method: "DELETE", path: kvPath(key), command: true }, [200, 404]);
    return response.status === 200;
  }

  /** Sets `key` to `value` if it currently holds `expected` (null: if it does not exist). */
  async cas(key: string, expected: string | null, value: string): Promise<CasOutcome> {
    const response = await this.#command(
      { method: "POST", path: `${kvPath(key)}/cas`, body: { expected, value }, command: true },
      [200, 409],
    );
    if (response.status === 200) return { swapped: true };
    const code = (response.body as { code?: unknown } | undefined)?.code;
    if (code !== "cas-mismatch") {
      // Another 409 (a stale sequence, say) is not an answer to the compare-and-swap.
      throw new KvClientError(
        "rejected",
        `the server refused the request: ${describe(response)}`,
        response.body,
      );
    }
    const current = (response.body as { current?: unknown }).current;
    return { swapped: false, current: typeof current === "string" ? current : null };
  }

  /**
   * Asks the leader to hand leadership to node `target` (thesis §3.10). Resolves once the transfer started;
   * whether it completed shows in {@link statuses}. Throws `rejected` for an unknown target or one that leads.
   */
  async transferLeader(target: number): Promise<void> {
    await this.#call(
      { method: "POST", path: "/v1/leader/transfer", body: { target }, command: false },
      [202],
    );
  }

  /** The configuration as the leader has it (thesis §4): voters, learners, addresses. */
  async members(): Promise<MembersView> {
    const response = await this.#call({ method: "GET", path: "/v1/members", command: false }, [200]);
    return response.body as MembersView;
  }

  /**
   * Adds node `id` (thesis §4): records its addresses, adds it as a learner and, unless `learner`, promotes it
   * to voter once it has caught up. Resolves with the configuration once the change has settled; throws
   * `rejected` when the leader refuses (already a member, another change in progress, ...).
   */
  async addMember(
    id: number,
    addresses: { readonly peerAddress: string; readonly apiAddress?: string },
    learner = false,
  ): Promise<MembersView> {
    const body = { id, ...addresses, learner };
    return this.#membershipCall({ method: "POST", path: "/v1/members", body, command: false });
  }

  /** Promotes learner `id` to voter once it has caught up. */
  async promoteMember(id: number): Promise<MembersView> {
    return this.#membershipCall({ method: "POST", path: `/v1/members/${id}/promote`, command: false });
  }

  /** Removes member `id`; a removed leader steps down once the change commits. */
  async removeMember(id: number): Promise<MembersView> {
    return this.#membershipCall({ method: "DELETE", path: `/v1/members/${id}`, command: false });
  }

  async #membershipCall(attempt: Attempt): Promise<MembersView> {
    const response = await this.#call({ ...attempt, timeoutMs: MEMBERSHIP_TIMEOUT_MS }, [200]);
    return response.body as MembersView;
  }

  /** Status of every node (null for nodes that did not answer). */
  async statuses(): Promise<unknown[]> {
    return Promise.all(
      this.#options.endpoints.map(async (endpoint) => {
        try {
          const response = await this.#options.http({
            method: "GET",
            url: `${endpoint}/v1/status`,
            headers: {},
            timeoutMs: this.#options.requestTimeoutMs,
          });
          return response.status === 200 ? response.body : null;
        } catch {
          return null;
        }
      }),
    );
  }

  /** Runs a command under this client's session with one sequence number across all its retries. */
  async #command(attempt: Attempt, accepted: readonly number[]): Promise<HttpResponse> {
    const clientId = await this.#session();
    const sequence = this.#nextSequence++;
    this.#outstanding.add(sequence);
    try {
      const ackedBelow = Math.min(...this.#outstanding);
      return await this.#call(attempt, accepted, {
        "tsraft-client-id": String(clientId),
        "tsraft-sequence": String(sequence),
        "tsraft-acked-below": String(ackedBelow),
      });
    } finally {
      this.#outstanding.delete(sequence);
    }
  }

  async #session(): Promise<number> {
    if (this.#clientId !== null) return this.#clientId;
    if (this.#registering === null) {
      this.#registering = this.#call({ method: "POST", path: "/v1/sessions", command: false }, [200]).then(
        (response) => {
          const clientId = (response.body as { clientId?: unknown }).clientId;
          if (typeof clientId !== "number")
            throw new KvClientError("rejected", "registration gave no client id");
          return clientId;
        },
      );
    }
    try {
      this.#clientId = await this.#registering;
      return this.#clientId;
    } finally {
      this.#registering = null;
    }
  }

  /**
   * Sends one request until an accepted status comes back, moving to the leader on not-leader answers and
   * to the next endpoint on errors. Every retry sends exactly the same request.
   */
  async #call(
    attempt: Attempt,
    accepted: readonly number[],
    sessionHeaders: Record<string, string> = {},
  ): Promise<HttpResponse> {
    const { attemptsMax, deadlineMs, requestTimeoutMs, http, now, sleep } = this.#options;
    const endpoints = this.#endpoints;
    const deadline = now() + Math.max(deadlineMs, attempt.timeoutMs ?? 0);
    let backoffMs = this.#options.backoffMs;
    let redirectsInARow = 0;
    let unreachableInARow = 0;
    let lastCause: unknown;
    for (let attemptNumber = 0; attemptNumber < attemptsMax && now() < deadline; attemptNumber++) {
      const endpoint = endpoints[this.#preferred % endpoints.length] ?? endpoints[0];
      let response: HttpResponse;
      try {
        response = await http({
          method: attempt.method,
          url: `${endpoint}${attempt.path}`,
          headers: {
            ...sessionHeaders,
            ...(attempt.body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(attempt.body === undefined ? {} : { body: JSON.stringify(attempt.body) }),
          // Whole milliseconds: timers (AbortSignal.timeout) refuse fractions, and `now` may have them.
          timeoutMs: Math.max(
            1,
            Math.floor(Math.min(attempt.timeoutMs ?? requestTimeoutMs, deadline - now())),
          ),
        });
      } catch (error) {
        lastCause = error;
        redirectsInARow = 0;
        this.#preferred++;
        // Once every endpoint failed to answer in a row, pause before the next round, growing: a refused
        // connection fails in microseconds, and would use up every attempt before a node restarts.
        unreachableInARow++;
        if (unreachableInARow % endpoints.length === 0) {
          await sleep(backoffMs);
          backoffMs = Math.min(BACKOFF_CAP_MS, backoffMs * 2);
        }
        continue;
      }
      unreachableInARow = 0;
      if (accepted.includes(response.status)) return response;
      lastCause = response.body;
      const code = (response.body as { code?: unknown } | undefined)?.code;
      switch (code) {
        case "not-leader": {
          const leader = (response.body as { leader?: unknown }).leader;
          const hinted = typeof leader === "number" ? this.#endpointOf(leader, response.body) : -1;
          this.#preferred = hinted >= 0 ? hinted : this.#preferred + 1;
          redirectsInARow++;
          // The first hint is followed at once. Hints that keep bouncing (a leader handing over to a node that
          // has not won yet, or a hint that is stale) are followed after a growing pause, so a change of
          // leadership does not use up the attempts in a few milliseconds.
          if (hinted < 0 || redirectsInARow > 1) {
            await sleep(backoffMs);
            backoffMs = Math.min(BACKOFF_CAP_MS, backoffMs * 2);
          }
          continue;
        }
        case "unavailable":
        case "timeout":
        case "overloaded":
          redirectsInARow = 0;
          this.#preferred++;
          await sleep(backoffMs);
          backoffMs = Math.min(BACKOFF_CAP_MS, backoffMs * 2);
          continue;
        case "session-expired":
          this.#clientId = null;
          throw new KvClientError(
            "session-expired",
            "the session expired; the command may or may not have run",
            response.body,
          );
        default:
          throw new KvClientError(
            "rejected",
            `the server refused the request: ${describe(response)}`,
            response.body,
          );
      }
    }
    throw new KvClientError(
      "timeout",
      `no answer after ${attemptsMax} attempts or ${deadlineMs} ms; the command may or may not have run (last: ${describeCause(lastCause)})`,
      lastCause,
    );
  }

  /** The endpoint index of node `leader`, from the hint's URL if it names one of ours. */
  #endpointOf(leader: number, body: unknown): number {
    const url = (body as { leaderUrl?: unknown }).leaderUrl;
    if (typeof url === "string") {
      const index = this.#endpoints.findIndex((endpoint) => url.startsWith(`${endpoint}/`));
      if (index >= 0) return index;
      const origin = originOf(url);
      if (origin !== null) return this.#endpoints.push(origin) - 1;
    }
    // Without a usable URL, assume endpoints are listed in node-id order (as `tsraft up` prints them).
    return leader >= 1 && leader <= this.#endpoints.length ? leader - 1 : -1;
  }
}

/** The `http://host:port` part of a URL, or null when it is not an http URL. */
function originOf(url: string): string | null {
  return /^https?:\/\/[^/?#\s]+/.exec(url)?.[0] ?? null;
}

function kvPath(key: string): string {
  return `/v1/kv/${encodeURIComponent(key)}`;
}

function stringField(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== "string")
    throw new KvClientError("rejected", `the answer has no string "${name}"`, body);
  return value;
}

function describe(response: HttpResponse): string {
  const body = response.body as { code?: unknown; message?: unknown } | undefined;
  return `${response.status} ${String(body?.code ?? "")} ${String(body?.message ?? "")}`.trim();
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  if (cause === undefined) return "nothing";
  return JSON.stringify(cause);
}
