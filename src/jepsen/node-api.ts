import type { NodeId } from "../core/index.ts";
import type { HttpRequest, HttpResponse } from "../kv/client/http-port.ts";
import type { KvCommand, SessionStamp } from "../kv/command.ts";
import { GatewaySession, type UnstampedCommand } from "../kv/gateway-session.ts";
import type { CommandOutcome, KvService, ReadOutcome, ServiceError } from "../kv/kv-service.ts";
import type { KvBug } from "./settings.ts";

/**
 * The key-value HTTP API of one simulated node, answered in memory: the routes the real client uses, with
 * the status codes and error bodies of the real server (src/drivers/http/kv-http-server.ts, whose contract
 * the README documents), in front of the node's real {@link KvService}. The simulator cannot load the real
 * server (it is built on node:http), so this restates its routing; the client, service and state machine
 * underneath are the real ones.
 *
 *   POST /v1/sessions              {"clientId": N}
 *   GET  /v1/kv/{key}              linearizable read by read index (?consistency=local: this node's copy)
 *   PUT  /v1/kv/{key}              {"value": "..."}
 *   DELETE /v1/kv/{key}
 *   POST /v1/kv/{key}/append       {"value": "..."}
 *   POST /v1/kv/{key}/cas          {"expected": "..." | null, "value": "..."}
 */

/**
 * The URL prefix of node `id`'s simulated API. The port ends the host name, so that no node's URL is a
 * prefix of another's (the client matches leader hints to its endpoints by prefix).
 */
export function endpointOf(id: NodeId): string {
  return `http://n${id}:8080`;
}

/** The node an endpoint URL names, or null. */
export function nodeOfUrl(url: string): { readonly id: number; readonly path: string } | null {
  const match = /^http:\/\/n(\d+):8080(\/.*)?$/.exec(url);
  if (match === null) return null;
  return { id: Number(match[1]), path: match[2] ?? "/" };
}

/** An answer: status and JSON body. */
function answer(status: number, body: unknown): HttpResponse {
  return { status, body };
}

/** An error answer, as the real server shapes it: `{code, message, ...}`. */
function failure(status: number, code: string, message: string, extra: object = {}): HttpResponse {
  return answer(status, { code, message, ...extra });
}

/** Thrown while routing to answer with an error. */
class Refusal extends Error {
  constructor(readonly response: HttpResponse) {
    super(`${response.status}`);
  }
}

export class NodeApi {
  readonly #service: KvService;
  readonly #gateway: GatewaySession;
  readonly #kvBug: KvBug;

  constructor(service: KvService, kvBug: KvBug) {
    this.#service = service;
    this.#gateway = new GatewaySession(service);
    this.#kvBug = kvBug;
  }

  /** Answers one request (never rejects: every failure is an HTTP answer, as on a real server). */
  async handle(request: HttpRequest, path: string): Promise<HttpResponse> {
    try {
      return await this.#route(request, path);
    } catch (error) {
      if (error instanceof Refusal) return error.response;
      throw error;
    }
  }

  async #route(request: HttpRequest, pathAndQuery: string): Promise<HttpResponse> {
    const [path = "/", query = ""] = pathAndQuery.split("?", 2);
    const { method } = request;
    if (path === "/v1/sessions") {
      requireMethod(method, "POST");
      const outcome = await this.#service.execute({ kind: "register-client" });
      const ok = this.#resultOrThrow(outcome, path);
      if (ok.result.kind !== "registered") throw internal(`unexpected ${ok.result.kind}`);
      return answer(200, { clientId: ok.result.clientId, index: ok.index });
    }
    const match = /^\/v1\/kv\/([^/]+)(?:\/(append|cas))?$/.exec(path);
    if (match === null) throw new Refusal(failure(404, "no-such-route", `no such route: ${method} ${path}`));
    const key = decodeURIComponent(match[1] ?? "");
    const action = match[2];
    if (action === "append" || action === "cas") {
      requireMethod(method, "POST");
      const body = jsonBody(request);
      const value = stringField(body, "value");
      if (action === "append") return this.#write(request, path, { kind: "append", key, value });
      const expected = body.expected === null ? null : stringField(body, "expected");
      return this.#write(request, path, { kind: "cas", key, expected, value });
    }
    switch (method) {
      case "GET":
        return this.#read(key, consistencyOf(query), path);
      case "PUT":
        return this.#write(request, path, {
          kind: "put",
          key,
          value: stringField(jsonBody(request), "value"),
        });
      case "DELETE":
        return this.#write(request, path, { kind: "delete", key });
      default:
        throw new Refusal(failure(405, "method-not-allowed", `${method} is not allowed on ${path}`));
    }
  }

  async #read(key: string, consistency: string, path: string): Promise<HttpResponse> {
    let outcome: ReadOutcome;
    if (consistency === "local" || this.#kvBug === "local-reads") {
      outcome = { ok: true, ...this.#service.readLocal(key) };
    } else if (consistency === "linearizable") {
      outcome = await this.#service.read(key);
    } else {
      throw new Refusal(failure(400, "bad-request", `consistency ${consistency} is not simulated`));
    }
    if (!("ok" in outcome)) throw this.#serviceFailure(outcome, path);
    if (outcome.value === null) {
      throw new Refusal(failure(404, "key-not-found", `no such key: ${key}`, { index: outcome.index }));
    }
    return answer(200, { key, value: outcome.value, index: outcome.index });
  }

  async #write(request: HttpRequest, path: string, command: UnstampedCommand): Promise<HttpResponse> {
    const stamp = sessionStamp(request);
    const outcome =
      stamp === null
        ? await this.#gateway.execute(command)
        : await this.#service.execute({ ...command, ...stamp } as KvCommand);
    const { result, index } = this.#resultOrThrow(outcome, path);
    switch (result.kind) {
      case "ok":
        return answer(200, command.kind === "cas" ? { index, swapped: true } : { index });
      case "not-found":
        return failure(404, "key-not-found", `no such key: ${command.key}`, { index });
      case "cas-mismatch":
        return failure(409, "cas-mismatch", "the current value is not the expected one", {
          current: result.current,
          index,
        });
      case "session-expired":
        return failure(410, "session-expired", "the client session expired; register a new one");
      case "stale-sequence":
        return failure(409, "stale-sequence", "the sequence is below the acknowledged floor", { ...result });
      case "too-many-outstanding":
        return failure(503, "overloaded", "too many unacknowledged commands in this session", { ...result });
      case "value-too-large":
        return failure(413, "payload-too-large", "the value would exceed the size limit", { ...result });
      case "bad-command":
        return failure(400, "bad-request", "the command is not valid", { ...result });
      default:
        throw internal(`unexpected result ${result.kind}`);
    }
  }

  #resultOrThrow(outcome: CommandOutcome, path: string): Extract<CommandOutcome, { ok: true }> {
    if ("ok" in outcome) return outcome;
    throw this.#serviceFailure(outcome, path);
  }

  #serviceFailure(error: ServiceError, path: string): Refusal {
    switch (error.error) {
      case "not-leader":
      case "lost-leadership":
        if (error.leader === null) return unavailable("no leader is known; retry shortly");
        return new Refusal(
          failure(307, "not-leader", `node ${error.leader} is the leader`, {
            leader: error.leader,
            leaderUrl: `${endpointOf(error.leader)}${path}`,
          }),
        );
      case "timeout":
        return new Refusal(
          failure(504, "timeout", "no answer in time; the command may or may not have been applied"),
        );
      case "unavailable":
        return unavailable("no leader is known; retry shortly");
      case "overloaded":
        return new Refusal(failure(503, "overloaded", "too many requests are waiting on this node"));
      case "stopped":
        return unavailable("this node is stopping");
      case "invalid":
        return new Refusal(failure(400, "bad-request", error.reason));
    }
  }
}

function unavailable(message: string): Refusal {
  return new Refusal(failure(503, "unavailable", message));
}

function internal(message: string): Refusal {
  return new Refusal(failure(500, "internal", message));
}

function requireMethod(method: string, allowed: string): void {
  if (method !== allowed) {
    throw new Refusal(failure(405, "method-not-allowed", `${method} not allowed; use ${allowed}`));
  }
}

function consistencyOf(query: string): string {
  for (const pair of query.split("&")) {
    const [name, value] = pair.split("=", 2);
    if (name === "consistency") return decodeURIComponent(value ?? "");
  }
  return "linearizable";
}

function jsonBody(request: HttpRequest): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body ?? "");
  } catch {
    throw new Refusal(failure(400, "bad-request", "the body must be a JSON object"));
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Refusal(failure(400, "bad-request", "the body must be a JSON object"));
  }
  return parsed as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== "string") throw new Refusal(failure(400, "bad-request", `"${name}" must be a string`));
  return value;
}

/** The session stamp from the request's headers, null if it has none. */
function sessionStamp(request: HttpRequest): SessionStamp | null {
  const { headers } = request;
  const clientId = headers["tsraft-client-id"];
  if (clientId === undefined) return null;
  const parse = (name: string, value: string | undefined): number => {
    const number = value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number)) {
      throw new Refusal(failure(400, "bad-request", `header ${name} must be an integer`));
    }
    return number;
  };
  const sequence = parse("tsraft-sequence", headers["tsraft-sequence"]);
  const ackedBelowHeader = headers["tsraft-acked-below"];
  const ackedBelow =
    ackedBelowHeader === undefined ? sequence : parse("tsraft-acked-below", ackedBelowHeader);
  return { clientId: parse("tsraft-client-id", clientId) as SessionStamp["clientId"], sequence, ackedBelow };
}
