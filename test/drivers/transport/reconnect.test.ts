/**
 * Reconnecting: capped exponential backoff (the delay function, and the delays a link really schedules while
 * its peer is down), delivery once the peer is back on the same port, and the backoff reset after success.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { asIndex, asNodeId, asTerm, type Message, type NodeId } from "../../../src/core/index.ts";
import { reconnectDelayMs, TcpTransport } from "../../../src/drivers/transport/index.ts";
import {
  closeAll,
  LOCALHOST,
  peerStats,
  RecordingLogger,
  startCluster,
  type TestNode,
  waitFor,
} from "./helpers.ts";

const RANGE = { min: 10, max: 80 };

function reply(from: NodeId, to: NodeId, term: number): Message {
  return { type: "InstallSnapshotReply", from, to, term: asTerm(term), matchIndex: asIndex(term) };
}

describe("reconnectDelayMs", () => {
  test("doubles from min per attempt and stops at max", () => {
    const base = Array.from({ length: 8 }, (_, attempt) => reconnectDelayMs(attempt, RANGE, () => 1));
    assert.deepEqual(base, [10, 20, 40, 80, 80, 80, 80, 80]);
    assert.equal(
      reconnectDelayMs(10_000, RANGE, () => 1),
      80,
    );
  });

  test("jitter keeps each delay within [base / 2, base]", () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const base = Math.min(RANGE.max, RANGE.min * 2 ** attempt);
      assert.equal(
        reconnectDelayMs(attempt, RANGE, () => 0),
        base / 2,
      );
      for (const draw of [0.1, 0.5, 0.9]) {
        const delay = reconnectDelayMs(attempt, RANGE, () => draw);
        assert.ok(delay >= base / 2 && delay <= base, `attempt ${attempt}: ${delay}`);
      }
    }
  });
});

describe("TcpTransport reconnect", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  test("a peer restarted on the same port gets the messages sent after it is back; delays grow, cap, reset", async () => {
    const delays: number[] = [];
    const nodes = await startCluster([1, 2], (id) =>
      id === 1
        ? {
            reconnectDelayMs: RANGE,
            testHooks: { random: () => 1, onReconnectScheduled: (_peer, delayMs) => delays.push(delayMs) },
          }
        : {},
    );
    const [one, two] = nodes;
    assert.ok(one !== undefined && two !== undefined);
    const live: TestNode[] = [one];
    cleanups.push(() => closeAll(live));
    delays.length = 0; // forget the delays of the initial dial

    const logStart = one.logger.lines.length;
    const linesSinceClose = (level: string, pattern: RegExp) =>
      one.logger.lines.slice(logStart).filter((line) => line.level === level && pattern.test(line.message));
    await two.transport.close();
    await waitFor("six reconnect attempts", () => delays.length >= 6);
    // 10, 20, 40, 80, 80, 80: doubling, then capped.
    assert.deepEqual(delays.slice(0, 6), [10, 20, 40, 80, 80, 80]);
    assert.equal(peerStats(one.transport, 2).connected, false);
    assert.equal(linesSinceClose("info", /connection to peer 2 at .* lost/).length, 1);
    // The loss is logged once at info; the failed retries that follow only at debug.
    assert.equal(linesSinceClose("info", /cannot connect to peer 2/).length, 0);
    assert.ok(linesSinceClose("debug", /cannot connect to peer 2 at .*: ECONNREFUSED/).length >= 5);

    // Messages sent while the peer is down wait in the queue.
    one.transport.send(reply(one.id, two.id, 1));
    assert.equal(peerStats(one.transport, 2).queuedMessages, 1);

    const received: Message[] = [];
    const restarted = new TcpTransport({
      clusterId: "test",
      nodeId: two.id,
      listen: { host: LOCALHOST, port: two.address.port },
      peers: new Map([[one.id, one.address]]),
      onMessage: (message) => received.push(message),
      logger: new RecordingLogger("node 2 again"),
      reconnectDelayMs: RANGE,
    });
    cleanups.push(() => restarted.close());
    await restarted.start();
    one.transport.send(reply(one.id, two.id, 2));
    await waitFor("both messages at the restarted peer", () => received.length === 2);
    assert.deepEqual(
      received.map((message) => message.term),
      [1, 2],
    );
    await waitFor("the link to be up", () => peerStats(one.transport, 2).connected);
    assert.ok(peerStats(one.transport, 2).reconnects >= 6);

    // The successful handshake reset the backoff: the next loss starts again at min.
    delays.length = 0;
    one.transport.dropConnection(asNodeId(2));
    await waitFor("a reconnect after the drop", () => delays.length >= 1);
    assert.equal(delays[0], RANGE.min);
    one.transport.send(reply(one.id, two.id, 3));
    await waitFor("delivery after the drop", () => received.length === 3);
  });
});
