/**
 * The HTTP API of one node (a single-voter cluster in this process): every route, every error code, the
 * size limits, sessions with exactly-once retries, and a barrage of malformed requests that must leave the
 * node serving.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { asIndex, asNodeId, asTerm } from "../../../src/core/index.ts";
import { KvHttpServer } from "../../../src/drivers/http/kv-http-server.ts";
import { SystemClock } from "../../../src/drivers/system-clock.ts";
import { KvService } from "../../../src/kv/kv-service.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "../../../src/kv/limits.ts";
import { MemoryLogStore } from "../../../src/sim/memory-log-store.ts";
import { Random } from "../../../src/util/random.ts";

const clock = new SystemClock();
const store = new MemoryLogStore();
const service = new KvService({
  peer: {
    raft: {
      id: asNodeId(1),
      voters: [asNodeId(1)],
      electionTicks: 10,
      heartbeatTicks: 2,
      random: new Random(1),
      initialState: {
        hardState: { term: asTerm(0), vote: null, commit: asIndex(0) },
        snapshot: null,
        entries: [],
      },
    },
    clock,
    tickMs: 5,
    transport: { send: () => {} },
    storage: { save: (update) => void store.apply(update) },
  },
  snapshotThresholdBytes: 0,
  requestTimeoutMs: 2000,
  timestampMs: () => Date.now(),
});
const server = new KvHttpServer({
  service,
  listen: { host: "127.0.0.1", port: 0 },
  apiAddresses: new Map([[asNodeId(1), "127.0.0.1:1"]]),
  peerAddresses: new Map([[asNodeId(1), "127.0.0.1:2"]]),
});
let base = "";

before(async () => {
  const address = await server.listen();
  base = `http://127.0.0.1:${address.port}`;
  service.start();
  // A single voter elects itself after one election timeout.
  for (let i = 0; i < 200 && service.status().role !== "leader"; i++) await clock.sleep(10);
  assert.equal(service.status().role, "leader");
});

after(async () => {
  service.stop();
  await server.close();
  clock.clearAll();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    redirect: "manual",
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("the HTTP API", () => {
  test("put, get, append, cas and delete", async () => {
    assert.equal((await call("PUT", "/v1/kv/a", { value: "1" })).status, 200);
    assert.deepEqual((await call("GET", "/v1/kv/a")).body.value, "1");
    assert.equal((await call("POST", "/v1/kv/a/append", { value: "2" })).status, 200);
    assert.equal((await call("GET", "/v1/kv/a?consistency=local")).body.value, "12");
    assert.equal((await call("GET", "/v1/kv/a?consistency=log")).body.value, "12");
    const swapped = await call("POST", "/v1/kv/a/cas", { expected: "12", value: "3" });
    assert.deepEqual([swapped.status, swapped.body.swapped], [200, true]);
    const mismatch = await call("POST", "/v1/kv/a/cas", { expected: "12", value: "4" });
    assert.deepEqual(
      [mismatch.status, mismatch.body.code, mismatch.body.current],
      [409, "cas-mismatch", "3"],
    );
    const absent = await call("POST", "/v1/kv/new/cas", { expected: null, value: "x" });
    assert.equal(absent.status, 200);
    assert.equal((await call("DELETE", "/v1/kv/a")).status, 200);
    const gone = await call("GET", "/v1/kv/a");
    assert.deepEqual([gone.status, gone.body.code], [404, "key-not-found"]);
    assert.deepEqual((await call("DELETE", "/v1/kv/a")).body.code, "key-not-found");
    // Keys are percent-decoded: anything UTF-8 is a key.
    assert.equal((await call("PUT", `/v1/kv/${encodeURIComponent("a/b c✓")}`, { value: "v" })).status, 200);
    assert.equal((await call("GET", `/v1/kv/${encodeURIComponent("a/b c✓")}`)).body.value, "v");
  });

  test("status and health", async () => {
    const status = await call("GET", "/v1/status");
    assert.equal(status.status, 200);
    for (const field of ["id", "role", "term", "leader", "commitIndex", "appliedIndex", "peers"]) {
      assert.ok(field in status.body, `status has ${field}`);
    }
    assert.deepEqual((await call("GET", "/healthz")).body, { ok: true });
  });

  test("a session's retried command applies once", async () => {
    const registered = await call("POST", "/v1/sessions");
    const clientId = String(registered.body.clientId);
    const headers = { "tsraft-client-id": clientId, "tsraft-sequence": "1", "tsraft-acked-below": "1" };
    const first = await call("POST", "/v1/kv/counter/append", { value: "x" }, headers);
    const retry = await call("POST", "/v1/kv/counter/append", { value: "x" }, headers);
    assert.equal(first.status, 200);
    assert.equal(retry.status, 200, "the retry gets the saved result (at the retry's own log index)");
    assert.equal((await call("GET", "/v1/kv/counter")).body.value, "x", "and did not append twice");
    const unknown = await call(
      "PUT",
      "/v1/kv/k",
      { value: "v" },
      { "tsraft-client-id": "999999", "tsraft-sequence": "1" },
    );
    assert.deepEqual([unknown.status, unknown.body.code], [410, "session-expired"]);
    const malformed = await call(
      "PUT",
      "/v1/kv/k",
      { value: "v" },
      { "tsraft-client-id": "abc", "tsraft-sequence": "1" },
    );
    assert.deepEqual([malformed.status, malformed.body.code], [400, "bad-request"]);
    // Well-formed numbers that break the session rules are refused too, not turned into server errors.
    for (const stamp of [
      { "tsraft-client-id": clientId, "tsraft-sequence": "0" },
      { "tsraft-client-id": "0", "tsraft-sequence": "1" },
      { "tsraft-client-id": clientId, "tsraft-sequence": "2", "tsraft-acked-below": "3" },
    ]) {
      const refused = await call("PUT", "/v1/kv/k", { value: "v" }, stamp);
      assert.deepEqual([refused.status, refused.body.code], [400, "bad-request"], JSON.stringify(stamp));
    }
  });

  test("bad requests get stable JSON error codes", async () => {
    const cases: [string, string, unknown, number, string][] = [
      ["PUT", "/v1/kv/k", "not json", 400, "bad-request"],
      ["PUT", "/v1/kv/k", [1, 2], 400, "bad-request"],
      ["PUT", "/v1/kv/k", { value: 5 }, 400, "bad-request"],
      ["PUT", "/v1/kv/k", {}, 400, "bad-request"],
      ["POST", "/v1/kv/k/cas", { value: "v" }, 400, "bad-request"],
      ["GET", "/v1/kv/k?consistency=maybe", undefined, 400, "bad-request"],
      ["GET", "/v1/kv/%E0%A4%A", undefined, 400, "bad-request"],
      ["PATCH", "/v1/kv/k", undefined, 405, "method-not-allowed"],
      ["GET", "/v1/sessions", undefined, 405, "method-not-allowed"],
      ["GET", "/v2/anything", undefined, 404, "no-such-route"],
      ["GET", "/v1/kv/", undefined, 404, "no-such-route"],
      ["PUT", `/v1/kv/${"k".repeat(KEY_BYTES_MAX + 1)}`, { value: "v" }, 413, "payload-too-large"],
      ["PUT", "/v1/kv/k", { value: "v".repeat(VALUE_BYTES_MAX + 1) }, 413, "payload-too-large"],
    ];
    for (const [method, path, body, status, code] of cases) {
      const answer = await call(method, path, body);
      assert.deepEqual([answer.status, answer.body.code], [status, code], `${method} ${path}`);
      assert.equal(typeof answer.body.message, "string");
    }
  });

  test("an oversized body is refused without being read whole", async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        `${base}/v1/kv/big`,
        { method: "PUT", headers: { "content-length": String(64 * 1024 * 1024) } },
        (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.on("error", reject);
      request.write("x".repeat(1024));
      // The rest of the promised 64 MiB never comes: the server must answer anyway.
    });
    assert.equal(answer.status, 413);
    assert.match(answer.body, /payload-too-large/);
  });

  test("random requests never crash the node", async () => {
    const methods = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD"];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods),
        fc.oneof(fc.string(), fc.webPath(), fc.constant("/v1/kv/x"), fc.constant("/v1/kv/x/cas")),
        fc.oneof(fc.string(), fc.json(), fc.constant(""), fc.constant('{"value":"v"}')),
        // Session headers, valid-looking or not.
        fc.dictionary(
          fc.constantFrom("tsraft-client-id", "tsraft-sequence", "tsraft-acked-below"),
          fc.oneof(fc.nat().map(String), fc.integer().map(String), fc.stringMatching(/^[\x21-\x7e]{0,20}$/)),
        ),
        async (method, path, body, headers) => {
          const safePath = `/${encodeURI(path.replace(/^\/+/, ""))}`;
          const response = await fetch(`${base}${safePath}`, {
            method,
            headers,
            ...(method === "GET" || method === "HEAD" ? {} : { body }),
            redirect: "manual",
          }).catch(() => null);
          if (response !== null) await response.arrayBuffer();
          assert.ok(
            response === null || response.status < 500,
            `${method} ${safePath} gave ${response?.status}`,
          );
        },
      ),
      { seed: 7, numRuns: 300 },
    );
    assert.deepEqual((await call("GET", "/healthz")).body, { ok: true });
    assert.equal(service.peer.stopped, false);
  });
});
