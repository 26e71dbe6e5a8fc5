/**
 * An independent check of the real system: concurrent clients drive a 3-node cluster of `tsraft serve`
 * processes through the HTTP API (puts, appends, compare-and-swaps and linearizable gets on a few keys) while
 * nodes are SIGKILLed and restarted and paused with SIGSTOP; the recorded history must be linearizable
 * (src/check, per key), and a checker that runs out of budget fails the test too.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { after, describe, test } from "node:test";
import {
  checkOperations,
  describeResult,
  HistoryRecorder,
  type KvInput,
  type KvOutput,
  kv,
  kvModel,
  kvOutput,
} from "../../../src/check/index.ts";
import { connect, KvClientError } from "../../../src/drivers/kv.ts";
import { Random } from "../../../src/util/random.ts";
import { ProcessCluster, poll } from "./process-cluster.ts";

const SEED = 11;
const CLIENTS = 6;
const KEYS = ["a", "b", "c", "d"];
/** How long the clients run, in milliseconds; the faults happen inside this window. */
const RUN_MS = 9000;

const clusters: ProcessCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((cluster) => cluster.destroy()));
});

describe("linearizability of the real cluster under faults", () => {
  test("concurrent clients across SIGKILL, restart and SIGSTOP: the history is linearizable", async () => {
    const cluster = await ProcessCluster.create(3);
    clusters.push(cluster);
    await cluster.startAll();
    await cluster.waitForLeader();
    const endpoints = cluster.ids.map((id) => cluster.apiUrl(id));
    const history = new HistoryRecorder<KvInput, KvOutput>();
    const started = performance.now();
    let running = true;
    let completed = 0;

    const client = async (clientId: number) => {
      const random = new Random(SEED * 100 + clientId);
      const kvClient = connect(endpoints, { deadlineMs: 3000, attemptsMax: 12, requestTimeoutMs: 1500 });
      for (let n = 0; running; n++) {
        const key = KEYS[random.int(KEYS.length)] ?? "a";
        const value = `${clientId}.${n}`;
        const roll = random.int(10);
        const input =
          roll < 4
            ? kv.get(key)
            : roll < 6
              ? kv.put(key, value)
              : roll < 8
                ? kv.append(key, `[${value}]`)
                : kv.cas(key, random.int(2) === 0 ? null : `${clientId}.${n - 1}`, value);
        const id = history.invoke(clientId, input, performance.now());
        try {
          const output = await run(kvClient, input);
          history.complete(id, output, performance.now());
          completed++;
        } catch (error) {
          if (!(error instanceof KvClientError) || error.code === "rejected") throw error;
          history.timeout(id, performance.now());
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i + 1));

    // The faults: the leader killed and brought back, then a follower paused for several election timeouts.
    await poll("the clients to get going", async () => completed >= 50);
    const leader = await cluster.waitForLeader();
    await cluster.kill(leader, "SIGKILL");
    await sleep(1500);
    await cluster.start(leader);
    const paused = cluster.ids.find((id) => id !== leader) ?? 1;
    cluster.processes.get(paused)?.kill("SIGSTOP");
    await sleep(1500);
    cluster.processes.get(paused)?.kill("SIGCONT");
    await sleep(Math.max(0, RUN_MS - (performance.now() - started)));
    running = false;
    await Promise.all(clients);

    const operations = history.operations();
    assert.ok(completed >= 200, `only ${completed} of ${operations.length} operations completed`);
    const result = checkOperations(kvModel, operations, { timeoutSteps: 20_000_000 });
    assert.equal(
      result.outcome,
      "ok",
      `${describeResult(result)}\n(seed ${SEED}, ${operations.length} operations)`,
    );
  });
});

async function run(client: ReturnType<typeof connect>, input: KvInput): Promise<KvOutput> {
  switch (input.kind) {
    case "get":
      return kvOutput.value(await client.get(input.key));
    case "put":
      await client.put(input.key, input.value);
      return kvOutput.done;
    case "append":
      await client.append(input.key, input.value);
      return kvOutput.done;
    case "delete":
      await client.delete(input.key);
      return kvOutput.done;
    case "cas":
      return kvOutput.swapped((await client.cas(input.key, input.expected, input.value)).swapped);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
