/**
 * The key-value client's retry logic against a scripted in-memory HTTP port: it follows not-leader hints,
 * retries errors with the same session and sequence, and gives up after its bound with a clear error.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HttpRequest, HttpResponse } from "../../src/kv/client/http-port.ts";
import { KvClient, KvClientError } from "../../src/kv/client/kv-client.ts";

const ENDPOINTS = ["http://n1", "http://n2", "http://n3"];

/** A fake cluster: answers by a script, records every request. */
function fakeClient(
  answer: (request: HttpRequest, attempt: number) => HttpResponse | Error,
  attemptsMax = 10,
) {
  const requests: HttpRequest[] = [];
  let virtualNow = 0;
  const client = new KvClient({
    endpoints: ENDPOINTS,
    http: async (request) => {
      requests.push(request);
      const result = answer(request, requests.length);
      if (result instanceof Error) throw result;
      return result;
    },
    sleep: async (ms) => {
      virtualNow += ms;
    },
    now: () => virtualNow,
    attemptsMax,
  });
  return { client, requests };
}

const registered: HttpResponse = { status: 200, body: { clientId: 42, index: 1 } };
const notLeader = (leader: number): HttpResponse => ({
  status: 307,
  body: { code: "not-leader", leader, leaderUrl: `http://n${leader}/v1/kv/k` },
});

describe("KvClient", () => {
  test("follows the leader hint, then reuses it", async () => {
    const { client, requests } = fakeClient((request) => {
      if (!request.url.startsWith("http://n2")) return notLeader(2);
      return request.url.endsWith("/v1/sessions") ? registered : { status: 200, body: { index: 5 } };
    });
    await client.put("k", "v");
    await client.put("k", "w");
    assert.deepEqual(
      requests.map((r) => r.url),
      ["http://n1/v1/sessions", "http://n2/v1/sessions", "http://n2/v1/kv/k", "http://n2/v1/kv/k"],
    );
    assert.equal(requests[2]?.headers["tsraft-client-id"], "42");
    assert.deepEqual(
      requests.slice(2).map((r) => r.headers["tsraft-sequence"]),
      ["1", "2"],
    );
  });

  test("hints that bounce between nodes are followed after growing pauses, until one leads", async () => {
    const slept: number[] = [];
    let now = 0;
    const requests: string[] = [];
    const client = new KvClient({
      endpoints: ENDPOINTS,
      http: async (request) => {
        requests.push(request.url);
        if (request.url.endsWith("/v1/sessions")) return registered;
        // Node 1 hands over to node 2, which does not lead until the 7th write attempt.
        const writes = requests.filter((url) => url.endsWith("/v1/kv/k")).length;
        if (writes >= 7 && request.url.startsWith("http://n2")) return { status: 200, body: { index: 3 } };
        return request.url.startsWith("http://n1") ? notLeader(2) : notLeader(1);
      },
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
      now: () => now,
    });
    await client.put("k", "v");
    assert.equal(slept[0], 50, "the second hint in a row waits");
    assert.deepEqual(
      slept,
      [...slept].sort((a, b) => a - b),
      "and the pauses grow",
    );
    assert.ok(slept.length >= 4);
  });

  test("retries timeouts and unavailability with the same sequence", async () => {
    const { client, requests } = fakeClient((request, attempt) => {
      if (request.url.endsWith("/v1/sessions")) return registered;
      if (attempt === 2) return new Error("socket hang up");
      if (attempt === 3) return { status: 504, body: { code: "timeout" } };
      if (attempt === 4) return { status: 503, body: { code: "unavailable" } };
      return { status: 200, body: { index: 9 } };
    });
    await client.append("k", "v");
    const writes = requests.filter((r) => r.url.endsWith("/append"));
    assert.equal(writes.length, 4);
    assert.ok(writes.every((r) => r.headers["tsraft-sequence"] === "1" && r.body === '{"value":"v"}'));
  });

  test("gives up after its attempts with a timeout error; refusals are not retried", async () => {
    const { client } = fakeClient(() => new Error("connection refused"), 5);
    await assert.rejects(client.get("k"), (error: unknown) => {
      assert.ok(error instanceof KvClientError);
      assert.equal(error.code, "timeout");
      assert.match(error.message, /5 attempts/);
      return true;
    });
    const refused = fakeClient(() => ({
      status: 413,
      body: { code: "payload-too-large", message: "too big" },
    }));
    await assert.rejects(
      refused.client.get("k"),
      (error: unknown) => error instanceof KvClientError && error.code === "rejected",
    );
    assert.equal(refused.requests.length, 1);
  });

  test("reads return null for a missing key; cas reports the current value", async () => {
    const { client } = fakeClient((request) => {
      if (request.url.endsWith("/v1/sessions")) return registered;
      if (request.url.includes("/cas"))
        return { status: 409, body: { code: "cas-mismatch", current: "now" } };
      return { status: 404, body: { code: "key-not-found" } };
    });
    assert.equal(await client.get("missing"), null);
    assert.deepEqual(await client.cas("k", "then", "next"), { swapped: false, current: "now" });
    assert.equal(await client.delete("missing"), false);
  });

  test("a 409 that is not a compare-and-swap mismatch is not taken for one", async () => {
    const { client } = fakeClient((request) =>
      request.url.endsWith("/v1/sessions")
        ? registered
        : { status: 409, body: { code: "stale-sequence", ackedBelow: 9 } },
    );
    await assert.rejects(
      client.cas("k", "then", "next"),
      (error: unknown) => error instanceof KvClientError && error.code === "rejected",
    );
  });

  test("a leader it was not given (a member added since) is followed by its URL", async () => {
    const { client, requests } = fakeClient((request) => {
      if (!request.url.startsWith("http://n4")) {
        return { status: 307, body: { code: "not-leader", leader: 4, leaderUrl: "http://n4/v1/kv/k" } };
      }
      return request.url.endsWith("/v1/sessions") ? registered : { status: 200, body: { index: 5 } };
    });
    await client.put("k", "v");
    assert.deepEqual(
      requests.map((r) => r.url),
      ["http://n1/v1/sessions", "http://n4/v1/sessions", "http://n4/v1/kv/k"],
    );
  });

  test("when no endpoint answers, each round of attempts is followed by a growing pause", async () => {
    const sleeps: number[] = [];
    const client = new KvClient({
      endpoints: ENDPOINTS,
      http: async () => {
        throw new Error("connection refused");
      },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      now: () => sleeps.reduce((total, ms) => total + ms, 0),
      attemptsMax: 9,
    });
    await assert.rejects(client.get("k"));
    assert.deepEqual(sleeps, [50, 100, 200], "a pause after every three refused connections");
  });
});
