import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { asNodeId, type MembershipRefusal, type NodeId } from "../../core/index.ts";
import type { KvCommand, SessionStamp } from "../../kv/command.ts";
import { validateKey, validateValue } from "../../kv/command.ts";
import { GatewaySession, type UnstampedCommand } from "../../kv/gateway-session.ts";
import type { CommandOutcome, KvService, ReadOutcome, ServiceError } from "../../kv/kv-service.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "../../kv/limits.ts";
import { addMember, type MemberOutcome, promoteMember, removeMember } from "../../kv/member-admin.ts";
import { utf8ByteLength } from "../../kv/utf8.ts";
import { type ApiErrorCode, apiError, STATUS_OF } from "./api-errors.ts";

/**
 * The JSON API of one node (README, "HTTP API"):
 *
 *   GET    /healthz                    200 while the node runs
 *   GET    /v1/status                  id, role, term, leader, commit and applied index, peers
 *   GET    /v1/kv/{key}                linearizable read (?consistency=local for this node's possibly stale copy,
 *                                      ?consistency=log to order the read through the log)
 *   PUT    /v1/kv/{key}                {"value": "..."}
 *   DELETE /v1/kv/{key}
 *   POST   /v1/kv/{key}/append         {"value": "..."}
 *   POST   /v1/kv/{key}/cas            {"expected": "..." | null, "value": "..."}
 *   POST   /v1/sessions                registers a client session: {"clientId": N}
 *   POST   /v1/leader/transfer         {"target": N}: the leader hands leadership to node N (202 when started)
 *   GET    /v1/members                 the configuration this node has (voters, learners, joint or not), addresses
 *   POST   /v1/members                 {"id": N, "peerAddress": "h:p", "apiAddress": "h:p", "learner": false}: the
 *                                      leader adds node N as a learner, then promotes it once caught up
 *   POST   /v1/members/{id}/promote    the leader promotes learner {id} to voter once it has caught up
 *   DELETE /v1/members/{id}            the leader removes member {id} (a removed leader steps down)
 *
 * Membership changes (thesis §4) answer once the new configuration is committed and settled, with it.
 *
 * Writes carry a client session in headers (`tsraft-client-id`, `tsraft-sequence`, `tsraft-acked-below`) for
 * exactly-once retries; without them the node's own session is used. Followers answer writes with a 307
 * redirect to the leader's API (the body says `not-leader` and names the leader), and serve linearizable
 * reads themselves through the leader's read index. Errors are JSON `{"code", "message", ...}`.
 */

/** Largest request body accepted: a maximal value plus room for the JSON around it and its escaping. */
export const REQUEST_BODY_BYTES_MAX = 2 * VALUE_BYTES_MAX + 4096;
/** Longest URL accepted (keys are at most KEY_BYTES_MAX bytes, percent-encoded up to three times longer). */
export const URL_BYTES_MAX = 8192;

export interface KvHttpServerOptions {
  readonly service: KvService;
  readonly listen: { readonly host: string; readonly port: number };
  /** Every member's API address, for redirects and for /v1/status. */
  readonly apiAddresses: ReadonlyMap<NodeId, string>;
  /** Every member's peer address, for /v1/status. */
  readonly peerAddresses: ReadonlyMap<NodeId, string>;
  /** Called when a request handler fails unexpectedly (a bug); the request gets a 500. */
  readonly onError?: (error: unknown) => void;
  /**
   * UNSAFE, for calibrating fault tests only (`tsraft serve --unsafe-debug --unsafe-local-reads`): default
   * reads answer from this node's state without ReadIndex, so they can be stale.
   */
  readonly unsafeLocalReads?: boolean;
}

/** Thrown inside a handler to answer with an API error. */
class ApiFailure extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class KvHttpServer {
  readonly #options: KvHttpServerOptions;
  readonly #server: Server;
  readonly #gateway: GatewaySession;

  constructor(options: KvHttpServerOptions) {
    this.#options = options;
    this.#gateway = new GatewaySession(options.service);
    this.#server = createServer({ maxHeaderSize: 16 * 1024 }, (request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        options.onError?.(error);
        if (!response.headersSent) send(response, 500, apiError("internal", "internal error"));
        else response.destroy();
      });
    });
    this.#server.requestTimeout = 60_000;
    this.#server.headersTimeout = 20_000;
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#options.listen.port, this.#options.listen.host, () => {
        this.#server.off("error", reject);
        const address = this.#server.address() as AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /** Stops accepting and closes idle connections; resolves when every connection is gone. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
      setTimeout(() => this.#server.closeAllConnections(), 1000).unref();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const [status, body, headers] = await this.#route(request);
      send(response, status, body, headers);
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      send(response, STATUS_OF[error.code], apiError(error.code, error.message, error.extra));
    }
  }

  async #route(request: IncomingMessage): Promise<[number, unknown, Record<string, string>?]> {
    const rawUrl = request.url ?? "/";
    if (rawUrl.length > URL_BYTES_MAX) throw new ApiFailure("bad-request", "URL too long");
    const url = new URL(rawUrl, "http://localhost");
    const method = request.method ?? "GET";
    const path = url.pathname;
    if (path === "/healthz") {
      requireMethod(method, ["GET"]);
      const status = this.#options.service.peer.stopped ? 503 : 200;
      return [status, { ok: status === 200 }];
    }
    if (path === "/v1/status") {
      requireMethod(method, ["GET"]);
      return [200, this.#status()];
    }
    if (path === "/v1/sessions") {
      requireMethod(method, ["POST"]);
      await drainBody(request);
      const outcome = await this.#options.service.execute({ kind: "register-client" });
      const ok = this.#resultOrThrow(outcome, request);
      if (ok.result.kind !== "registered") throw new ApiFailure("internal", `unexpected ${ok.result.kind}`);
      return [200, { clientId: ok.result.clientId, index: ok.index }];
    }
    if (path === "/v1/leader/transfer") {
      requireMethod(method, ["POST"]);
      return this.#transferLeader(request);
    }
    if (path === "/v1/members" || path.startsWith("/v1/members/"))
      return this.#members(request, method, path);
    const match = /^\/v1\/kv\/([^/]+)(?:\/(append|cas))?$/.exec(path);
    if (match === null) throw new ApiFailure("no-such-route", `no such route: ${method} ${path}`);
    const key = decodeKey(match[1] ?? "");
    const action = match[2];
    if (action === "append" || action === "cas") {
      requireMethod(method, ["POST"]);
      const body = await readJsonBody(request);
      const value = stringField(body, "value");
      if (action === "append") return this.#write(request, { kind: "append", key, value });
      const expected = nullableStringField(body, "expected");
      return this.#write(request, { kind: "cas", key, expected, value });
    }
    switch (method) {
      case "GET":
        return this.#read(key, url.searchParams.get("consistency") ?? "linearizable", request);
      case "PUT": {
        const body = await readJsonBody(request);
        return this.#write(request, { kind: "put", key, value: stringField(body, "value") });
      }
      case "DELETE":
        await drainBody(request);
        return this.#write(request, { kind: "delete", key });
      default:
        throw new ApiFailure("method-not-allowed", `${method} is not allowed on ${path}`);
    }
  }

  async #transferLeader(request: IncomingMessage): Promise<[number, unknown]> {
    const body = await readJsonBody(request);
    const target = body.target;
    if (typeof target !== "number" || !Number.isSafeInteger(target) || target < 1) {
      throw new ApiFailure("bad-request", '"target" must be a node id (a positive integer)');
    }
    const result = this.#options.service.transferLeader(asNodeId(target));
    if (result.accepted) return [202, { target, status: "started" }];
    switch (result.reason) {
      case "not-leader":
        throw this.#serviceFailure({ error: "not-leader", leader: result.leader }, request);
      case "unknown-target":
        throw new ApiFailure("bad-request", `node ${target} is not a voting member`);
      case "target-is-self":
        throw new ApiFailure("bad-request", `node ${target} already leads`);
      case "transfer-in-progress":
        throw new ApiFailure("transfer-in-progress", "another leader transfer is in progress");
    }
  }

  async #members(request: IncomingMessage, method: string, path: string): Promise<[number, unknown]> {
    const { service } = this.#options;
    if (path === "/v1/members") {
      requireMethod(method, ["GET", "POST"]);
      if (method === "GET") return [200, this.#membersView()];
      const body = await readJsonBody(request);
      const id = nodeIdField(body, "id");
      const peerAddress = addressField(body, "peerAddress");
      const apiAddress = body.apiAddress === undefined ? null : addressField(body, "apiAddress");
      const learner = body.learner === undefined ? false : body.learner;
      if (typeof learner !== "boolean")
        throw new ApiFailure("bad-request", '"learner" must be true or false');
      const outcome = await addMember(service, id, { peerAddress, apiAddress }, learner);
      return this.#memberOutcome(outcome, request);
    }
    const match = /^\/v1\/members\/(\d{1,15})(\/promote)?$/.exec(path);
    if (match === null) throw new ApiFailure("no-such-route", `no such route: ${method} ${path}`);
    const id = asNodeId(Number(match[1]));
    if (match[2] !== undefined) {
      requireMethod(method, ["POST"]);
      await drainBody(request);
      return this.#memberOutcome(await promoteMember(service, id), request);
    }
    requireMethod(method, ["DELETE"]);
    await drainBody(request);
    return this.#memberOutcome(await removeMember(service, id), request);
  }

  #memberOutcome(outcome: MemberOutcome, request: IncomingMessage): [number, unknown] {
    if ("ok" in outcome) return [200, { index: outcome.index, ...this.#membersView() }];
    if (outcome.error === "refused") {
      throw new ApiFailure("membership-refused", MEMBERSHIP_REFUSALS[outcome.reason], {
        reason: outcome.reason,
      });
    }
    throw this.#serviceFailure(outcome, request);
  }

  /** The configuration as this node has it, with every member's role and addresses. */
  #membersView(): Record<string, unknown> {
    const status = this.#options.service.status();
    const role = (id: NodeId) =>
      status.voters.includes(id) ? "voter" : status.learners.includes(id) ? "learner" : "outgoing-voter";
    const ids = [...new Set([...status.voters, ...status.outgoingVoters, ...status.learners])].sort(
      (a, b) => a - b,
    );
    return {
      leader: status.leader,
      membershipIndex: status.membershipIndex,
      joint: status.outgoingVoters.length > 0,
      members: ids.map((id) => ({
        id,
        role: role(id),
        peerAddress: this.#options.peerAddresses.get(id) ?? null,
        apiAddress: this.#options.apiAddresses.get(id) ?? null,
      })),
    };
  }

  async #read(key: string, consistency: string, request: IncomingMessage): Promise<[number, unknown]> {
    const { service } = this.#options;
    let outcome: ReadOutcome;
    switch (consistency) {
      case "linearizable":
        outcome =
          this.#options.unsafeLocalReads === true
            ? { ok: true, ...service.readLocal(key) }
            : await service.read(key);
        break;
      case "local":
        outcome = { ok: true, ...service.readLocal(key) };
        break;
      case "log": {
        const written = this.#resultOrThrow(await this.#execute(request, { kind: "get", key }), request);
        if (written.result.kind === "not-found") outcome = { ok: true, index: written.index, value: null };
        else if (written.result.kind === "ok")
          outcome = { ok: true, index: written.index, value: written.result.value };
        else throw resultFailure(written.result.kind, written.result);
        break;
      }
      default:
        throw new ApiFailure(
          "bad-request",
          `consistency must be linearizable, local or log, not "${consistency}"`,
        );
    }
    if (!("ok" in outcome)) throw this.#serviceFailure(outcome, request);
    if (outcome.value === null)
      throw new ApiFailure("key-not-found", `no such key: ${key}`, { index: outcome.index });
    return [200, { key, value: outcome.value, index: outcome.index }];
  }

  async #write(request: IncomingMessage, command: UnstampedCommand): Promise<[number, unknown]> {
    const { result, index } = this.#resultOrThrow(await this.#execute(request, command), request);
    switch (result.kind) {
      case "ok":
        if (command.kind === "cas") return [200, { index, swapped: true }];
        return [200, { index }];
      case "not-found":
        throw new ApiFailure("key-not-found", `no such key: ${"key" in command ? command.key : ""}`, {
          index,
        });
      case "cas-mismatch":
        throw new ApiFailure("cas-mismatch", "the current value is not the expected one", {
          current: result.current,
          index,
        });
      default:
        throw resultFailure(result.kind, result);
    }
  }

  /** Runs a command under the caller's session if the request names one, else under the node's own. */
  #execute(request: IncomingMessage, command: UnstampedCommand): Promise<CommandOutcome> {
    const stamp = sessionStamp(request);
    if (stamp === null) return this.#gateway.execute(command);
    return this.#options.service.execute({ ...command, ...stamp } as KvCommand);
  }

  #resultOrThrow(outcome: CommandOutcome, request: IncomingMessage): Extract<CommandOutcome, { ok: true }> {
    if ("ok" in outcome) return outcome;
    throw this.#serviceFailure(outcome, request);
  }

  #serviceFailure(error: ServiceError, request: IncomingMessage): ApiFailure {
    switch (error.error) {
      case "not-leader":
      case "lost-leadership": {
        const leaderApi = error.leader === null ? undefined : this.#options.apiAddresses.get(error.leader);
        const location = leaderApi === undefined ? undefined : `http://${leaderApi}${request.url ?? "/"}`;
        if (error.leader === null) return new ApiFailure("unavailable", "no leader is known; retry shortly");
        return new ApiFailure("not-leader", `node ${error.leader} is the leader`, {
          leader: error.leader,
          ...(location === undefined ? {} : { leaderUrl: location }),
        });
      }
      case "timeout":
        return new ApiFailure("timeout", "no answer in time; the command may or may not have been applied");
      case "unavailable":
        return new ApiFailure("unavailable", "no leader is known; retry shortly");
      case "overloaded":
        return new ApiFailure("overloaded", "too many requests are waiting on this node");
      case "stopped":
        return new ApiFailure("unavailable", "this node is stopping");
      case "invalid":
        return new ApiFailure("bad-request", error.reason);
    }
  }

  #status(): unknown {
    const status = this.#options.service.status();
    const members = [...new Set([...status.voters, ...status.outgoingVoters, ...status.learners])];
    const peers = members.map((id) => ({
      id,
      peerAddress: this.#options.peerAddresses.get(id) ?? null,
      apiAddress: this.#options.apiAddresses.get(id) ?? null,
    }));
    return { ...status, peers };
  }
}

/** What each refusal of a membership change means, for the error message. */
const MEMBERSHIP_REFUSALS: Readonly<Record<MembershipRefusal, string>> = {
  "not-leader": "this node is not the leader",
  transferring: "leadership is being handed over",
  "change-in-progress": "another membership change is still in progress; retry once it has settled",
  "already-member": "that node is already a member",
  "not-a-learner": "that node is not a learner",
  "not-a-member": "that node is not a member",
  "not-caught-up": "the learner has not caught up with the leader's log in time",
  "last-voter": "removing the last voter would leave no cluster",
};

/** A node id field of a JSON body: a positive integer. */
function nodeIdField(body: Record<string, unknown>, name: string): NodeId {
  const value = body[name];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new ApiFailure("bad-request", `"${name}" must be a node id (a positive integer)`);
  }
  return asNodeId(value);
}

/** An address field of a JSON body: `host:port`. */
function addressField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== "string" || !/^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(value) || value.length > 300) {
    throw new ApiFailure("bad-request", `"${name}" must be host:port`);
  }
  return value;
}

/** The API error for a state-machine result that is not a success. */
function resultFailure(kind: string, result: object): ApiFailure {
  switch (kind) {
    case "session-expired":
      return new ApiFailure("session-expired", "the client session expired; register a new one");
    case "stale-sequence":
      return new ApiFailure("stale-sequence", "the sequence is below the acknowledged floor", { ...result });
    case "too-many-outstanding":
      return new ApiFailure("overloaded", "too many unacknowledged commands in this session", { ...result });
    case "value-too-large":
      return new ApiFailure("payload-too-large", "the value would exceed the size limit", { ...result });
    case "bad-command":
      return new ApiFailure("bad-request", "the command is not valid", { ...result });
    default:
      return new ApiFailure("internal", `unexpected result ${kind}`);
  }
}

function requireMethod(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method)) {
    throw new ApiFailure("method-not-allowed", `${method} not allowed; use ${allowed.join(" or ")}`);
  }
}

function decodeKey(encoded: string): string {
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    throw new ApiFailure("bad-request", "the key is not valid percent-encoding");
  }
  const valid = validateKey(key);
  if (!valid.valid) {
    const tooLong = (utf8ByteLength(key, KEY_BYTES_MAX) ?? 0) > KEY_BYTES_MAX;
    throw new ApiFailure(tooLong ? "payload-too-large" : "bad-request", `bad key: ${valid.reason}`);
  }
  return key;
}

/** The session stamp from the request's headers, null if it has none; throws on a malformed one. */
function sessionStamp(request: IncomingMessage): SessionStamp | null {
  const clientId = request.headers["tsraft-client-id"];
  if (clientId === undefined) return null;
  const parse = (name: string, value: string | string[] | undefined): number => {
    const number = typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number))
      throw new ApiFailure("bad-request", `header ${name} must be an integer`);
    return number;
  };
  const sequence = parse("tsraft-sequence", request.headers["tsraft-sequence"]);
  const ackedBelowHeader = request.headers["tsraft-acked-below"];
  const ackedBelow =
    ackedBelowHeader === undefined ? sequence : parse("tsraft-acked-below", ackedBelowHeader);
  return { clientId: parse("tsraft-client-id", clientId) as SessionStamp["clientId"], sequence, ackedBelow };
}

/** Reads the whole body up to {@link REQUEST_BODY_BYTES_MAX}; a larger one is refused without buffering it. */
async function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? "0");
  if (declared > REQUEST_BODY_BYTES_MAX) {
    request.resume();
    throw new ApiFailure("payload-too-large", `request body over ${REQUEST_BODY_BYTES_MAX} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > REQUEST_BODY_BYTES_MAX) {
      request.resume();
      throw new ApiFailure("payload-too-large", `request body over ${REQUEST_BODY_BYTES_MAX} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function drainBody(request: IncomingMessage): Promise<void> {
  await readBody(request);
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const bytes = await readBody(request);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new ApiFailure("bad-request", "the body must be a JSON object");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ApiFailure("bad-request", "the body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== "string") throw new ApiFailure("bad-request", `"${name}" must be a string`);
  const valid = validateValue(value, name);
  if (!valid.valid) throw new ApiFailure("payload-too-large", valid.reason);
  return value;
}

function nullableStringField(body: Record<string, unknown>, name: string): string | null {
  if (!(name in body)) throw new ApiFailure("bad-request", `"${name}" is required (a string, or null)`);
  return body[name] === null ? null : stringField(body, name);
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  const extra: Record<string, string> = { ...headers };
  if (status === 307 || (typeof body === "object" && body !== null && "leaderUrl" in body)) {
    const leaderUrl = (body as { leaderUrl?: unknown }).leaderUrl;
    if (typeof leaderUrl === "string") extra.location = leaderUrl;
  }
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...extra,
  });
  response.end(text);
}
