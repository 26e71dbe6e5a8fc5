/**
 * The harness's own client of the HTTP API: raw fetch, written from the README's description of the API and
 * nothing else (not the project's KvClient), so that a bug in that client cannot hide one in the server.
 *
 * Every operation ends in one of three ways, as in Jepsen:
 * - `ok`: the cluster answered it (a value, a write acknowledged, a compare-and-swap that did or did not swap);
 * - `fail`: it certainly did not take effect (every attempt was refused before reaching a node, or the
 *   node refused it as invalid);
 * - `info`: indeterminate. A timeout, a reset connection, a 504, or an answer such as "not leader" that
 *   may follow a proposal the old leader had already made: the write may take effect at any later time, or
 *   never. Never counted as a failure of the system, and checked as "may have happened".
 *
 * Writes carry a client session (`tsraft-client-id`, `tsraft-sequence`, `tsraft-acked-below`), so that the
 * retries inside one operation (another node, the leader a redirect names) apply it at most once.
 */
import { performance } from "node:perf_hooks";
import { sleep } from "./cluster.ts";

/** One operation a client asks for. Values are unique in a run, so a lost write can be named. */
export type ClientOperation =
  | { readonly f: "read"; readonly key: string }
  | { readonly f: "write"; readonly key: string; readonly value: string }
  | { readonly f: "cas"; readonly key: string; readonly expected: string | null; readonly value: string }
  | { readonly f: "append"; readonly key: string; readonly value: string };

/** How an operation ended (see the file comment). */
export type ClientOutcome =
  | {
      readonly type: "ok";
      /** For a read: the value (null when the key does not exist). For a cas: whether it swapped. */
      readonly value?: string | null;
      readonly swapped?: boolean;
      /** The node that answered. */
      readonly node: number;
      readonly attempts: number;
    }
  | { readonly type: "fail" | "info"; readonly error: string; readonly attempts: number };

/** Something the cluster answered that no correct node ever should (a 500, an unknown error code). */
export interface Anomaly {
  readonly node: number;
  readonly operation: string;
  readonly status: number;
  readonly body: string;
}

export interface ClientSettings {
  /** Every node's API base URL, by node id. */
  readonly endpoints: ReadonlyMap<number, string>;
  /** The node this client reads from first (Jepsen binds each client to a node). */
  readonly home: number;
  /** The longest one operation may take, all attempts included, in milliseconds. */
  readonly operationTimeoutMs: number;
  /** The longest one HTTP attempt may take, in milliseconds. */
  readonly attemptTimeoutMs: number;
  /** Called for every answer that indicates a server bug. */
  readonly onAnomaly: (anomaly: Anomaly) => void;
}

/** Pause before trying again after "no leader" or "overloaded": about a heartbeat. */
const RETRY_PAUSE_MS = 50;

/** The answer of one attempt, classified. */
type AttemptResult =
  | { readonly kind: "done"; readonly outcome: ClientOutcome }
  /** Not answered; try `next` (a node id) or another node. `maybeApplied`: the write may have been proposed. */
  | {
      readonly kind: "retry";
      readonly error: string;
      readonly maybeApplied: boolean;
      readonly next?: number;
      readonly pause?: boolean;
    }
  | { readonly kind: "session-expired" };

export class HttpKvClient {
  readonly #settings: ClientSettings;
  readonly #nodes: readonly number[];
  /** The leader as last seen; writes go there first. */
  #leaderHint: number | null = null;
  #session: { clientId: number; sequence: number } | null = null;

  constructor(settings: ClientSettings) {
    this.#settings = settings;
    this.#nodes = [...settings.endpoints.keys()];
  }

  /** Runs one operation to its end (see {@link ClientOutcome}); never throws for a cluster's answer. */
  async run(operation: ClientOperation): Promise<ClientOutcome> {
    const deadline = performance.now() + this.#settings.operationTimeoutMs;
    if (operation.f !== "read") {
      const session = this.#session ?? (await this.#register(deadline));
      if (session === null) return { type: "fail", error: "could not register a session", attempts: 0 };
      session.sequence++;
    }
    let target = operation.f === "read" ? this.#settings.home : (this.#leaderHint ?? this.#settings.home);
    let maybeApplied = false;
    let lastError = "no attempt";
    let attempts = 0;
    // Bounded by the deadline: every attempt takes time (an answer, a timeout, or a pause before the next).
    while (performance.now() < deadline) {
      attempts++;
      const result = await this.#attempt(operation, target, deadline, attempts);
      if (result.kind === "done") return result.outcome;
      if (result.kind === "session-expired") {
        // The command did not run under the expired session. If an earlier attempt may have run it, a retry
        // under a new session could run it twice: give up (indeterminate) and start afresh next operation.
        lastError = "session expired";
        this.#session = null;
        if (maybeApplied) break;
        const session = await this.#register(deadline);
        if (session === null) break;
        session.sequence++;
        continue;
      }
      lastError = result.error;
      maybeApplied ||= result.maybeApplied;
      target = result.next ?? this.#nextNode(target);
      if (result.pause === true) await sleep(RETRY_PAUSE_MS);
    }
    // A read that got no answer has no effect either way; a write that may have been proposed is unknown.
    const type = operation.f !== "read" && maybeApplied ? "info" : "fail";
    return { type, error: lastError, attempts };
  }

  async #attempt(
    operation: ClientOperation,
    node: number,
    deadline: number,
    attempt: number,
  ): Promise<AttemptResult> {
    const base = this.#settings.endpoints.get(node);
    if (base === undefined) return { kind: "retry", error: `no node ${node}`, maybeApplied: false };
    const { method, path, body } = request(operation);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (operation.f !== "read" && this.#session !== null) {
      headers["tsraft-client-id"] = String(this.#session.clientId);
      headers["tsraft-sequence"] = String(this.#session.sequence);
      // Every earlier operation of this client is over (done, or given up): the node may forget their replies.
      headers["tsraft-acked-below"] = String(this.#session.sequence);
    }
    const timeoutMs = Math.max(1, Math.min(this.#settings.attemptTimeoutMs, deadline - performance.now()));
    let status: number;
    let text: string;
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const reason = networkError(error);
      // Refused: nothing was sent. Anything else (a timeout, a reset) may have delivered the request.
      return { kind: "retry", error: `node ${node}: ${reason}`, maybeApplied: reason !== "ECONNREFUSED" };
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.#anomaly(node, operation, status, text);
      return { kind: "retry", error: `node ${node}: answer is not JSON`, maybeApplied: true };
    }
    const code = typeof parsed.code === "string" ? parsed.code : undefined;
    if (status === 200) {
      if (operation.f !== "read") this.#leaderHint = node;
      const outcome = okOutcome(operation, parsed, node, attempt);
      if (outcome === null) {
        this.#anomaly(node, operation, status, text);
        return { kind: "retry", error: `node ${node}: malformed answer`, maybeApplied: true };
      }
      return { kind: "done", outcome };
    }
    switch (code) {
      case "key-not-found":
        if (operation.f === "read") {
          return { kind: "done", outcome: { type: "ok", value: null, node, attempts: attempt } };
        }
        break;
      case "cas-mismatch":
        if (operation.f === "cas") {
          this.#leaderHint = node;
          return { kind: "done", outcome: { type: "ok", swapped: false, node, attempts: attempt } };
        }
        break;
      case "not-leader": {
        // Either this node never led, or it proposed the write and then lost leadership: unknown.
        const leader = typeof parsed.leader === "number" ? parsed.leader : null;
        if (leader !== null && this.#settings.endpoints.has(leader)) this.#leaderHint = leader;
        const next = leader !== null && leader !== node ? leader : undefined;
        return {
          kind: "retry",
          error: `node ${node}: not-leader`,
          maybeApplied: true,
          ...(next === undefined ? { pause: true } : { next }),
        };
      }
      case "unavailable":
        // Also what a leader that lost leadership with no successor known answers: unknown.
        return { kind: "retry", error: `node ${node}: unavailable`, maybeApplied: true, pause: true };
      case "overloaded":
        return { kind: "retry", error: `node ${node}: overloaded`, maybeApplied: false, pause: true };
      case "timeout":
        return { kind: "retry", error: `node ${node}: timeout`, maybeApplied: true };
      case "session-expired":
        return { kind: "session-expired" };
      default:
        break;
    }
    this.#anomaly(node, operation, status, text);
    return {
      kind: "retry",
      error: `node ${node}: ${status} ${code ?? "?"}`,
      maybeApplied: true,
      pause: true,
    };
  }

  /** Registers a session (POST /v1/sessions, through the leader); null when the deadline passed first. */
  async #register(deadline: number): Promise<{ clientId: number; sequence: number } | null> {
    let target = this.#leaderHint ?? this.#settings.home;
    while (performance.now() < deadline) {
      const base = this.#settings.endpoints.get(target);
      try {
        const response = await fetch(`${base}/v1/sessions`, {
          method: "POST",
          redirect: "manual",
          signal: AbortSignal.timeout(
            Math.max(1, Math.min(this.#settings.attemptTimeoutMs, deadline - performance.now())),
          ),
        });
        const parsed = JSON.parse(await response.text()) as Record<string, unknown>;
        if (response.status === 200 && typeof parsed.clientId === "number") {
          this.#session = { clientId: parsed.clientId, sequence: 0 };
          this.#leaderHint = target;
          return this.#session;
        }
        if (parsed.code === "not-leader" && typeof parsed.leader === "number" && parsed.leader !== target) {
          target = parsed.leader;
          continue;
        }
      } catch {
        // Down, paused or cut off: try the next node.
      }
      target = this.#nextNode(target);
      await sleep(RETRY_PAUSE_MS);
    }
    return null;
  }

  #nextNode(node: number): number {
    const at = this.#nodes.indexOf(node);
    return this.#nodes[(at + 1) % this.#nodes.length] ?? node;
  }

  #anomaly(node: number, operation: ClientOperation, status: number, body: string): void {
    this.#settings.onAnomaly({
      node,
      operation: JSON.stringify(operation),
      status,
      body: body.slice(0, 500),
    });
  }
}

function request(operation: ClientOperation): {
  method: string;
  path: string;
  body?: Record<string, unknown>;
} {
  const key = `/v1/kv/${encodeURIComponent(operation.key)}`;
  switch (operation.f) {
    case "read":
      return { method: "GET", path: key };
    case "write":
      return { method: "PUT", path: key, body: { value: operation.value } };
    case "append":
      return { method: "POST", path: `${key}/append`, body: { value: operation.value } };
    case "cas":
      return {
        method: "POST",
        path: `${key}/cas`,
        body: { expected: operation.expected, value: operation.value },
      };
  }
}

/** The outcome of a 200 answer, or null if its body does not have the fields the API promises. */
function okOutcome(
  operation: ClientOperation,
  body: Record<string, unknown>,
  node: number,
  attempts: number,
): ClientOutcome | null {
  switch (operation.f) {
    case "read":
      return typeof body.value === "string" ? { type: "ok", value: body.value, node, attempts } : null;
    case "cas":
      return body.swapped === true ? { type: "ok", swapped: true, node, attempts } : null;
    case "write":
    case "append":
      return typeof body.index === "number" ? { type: "ok", node, attempts } : null;
  }
}

/** A short name for why fetch failed: the system error code when there is one. */
function networkError(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
    return "timeout";
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (cause !== undefined && typeof cause.code === "string") return cause.code;
  return error instanceof Error ? error.message : String(error);
}
