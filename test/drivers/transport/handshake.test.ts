/**
 * The handshake: connections from another cluster, from an unknown node, or meant for another node are
 * refused with a reason both sides log, nothing they send is delivered, and the legitimate peers carry on.
 */
import assert from "node:assert/strict";
import { type AddressInfo, createServer } from "node:net";
import { afterEach, describe, test } from "node:test";
import { asIndex, asNodeId, asTerm, type Message, type NodeId } from "../../../src/core/index.ts";
import { encodeEnvelope, type PeerAddress, TcpTransport } from "../../../src/drivers/transport/index.ts";
import {
  closeAll,
  helloFrame,
  LOCALHOST,
  peerStats,
  RecordingLogger,
  rawClient,
  startCluster,
  type TestNode,
  waitFor,
} from "./helpers.ts";

/** The term impostors stamp on their messages, so a delivery from one would stand out. */
const IMPOSTOR_TERM = 777_777;

function vote(from: NodeId, to: NodeId, term: number): Message {
  return {
    type: "RequestVote",
    from,
    to,
    term: asTerm(term),
    lastLogIndex: asIndex(0),
    lastLogTerm: asTerm(0),
  };
}

/** A transport that dials `target` believing it is node `targetId` of `clusterId`. */
async function impostor(clusterId: string, nodeId: number, targetId: number, target: PeerAddress) {
  const logger = new RecordingLogger(`impostor ${nodeId}`);
  const transport = new TcpTransport({
    clusterId,
    nodeId: asNodeId(nodeId),
    listen: { host: LOCALHOST, port: 0 },
    peers: new Map([[asNodeId(targetId), target]]),
    onMessage: () => {},
    logger,
    reconnectDelayMs: { min: 5, max: 20 },
  });
  await transport.start();
  for (let k = 0; k < 5; k++) transport.send(vote(asNodeId(nodeId), asNodeId(targetId), IMPOSTOR_TERM));
  return { transport, logger };
}

describe("TcpTransport handshake", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  async function cluster(): Promise<TestNode[]> {
    const nodes = await startCluster([1, 2]);
    cleanups.push(() => closeAll(nodes));
    return nodes;
  }

  test("wrong cluster id, unknown node id and wrong recipient are refused, logged, and deliver nothing", async () => {
    const [one, two] = await cluster();
    assert.ok(one !== undefined && two !== undefined);
    const cases = [
      { who: await impostor("other-cluster", 2, 1, one.address), reason: /wrong cluster id 'other-cluster'/ },
      { who: await impostor("test", 9, 1, one.address), reason: /unknown node id 9/ },
      { who: await impostor("test", 2, 3, one.address), reason: /addressed to node 3, but this is node 1/ },
    ];
    for (const { who } of cases) cleanups.push(() => who.transport.close());
    await waitFor("every impostor to hear its refusal", () =>
      cases.every(({ who, reason }) => who.logger.matching("warn", reason).length > 0),
    );
    for (const { who, reason } of cases) {
      // The acceptor logs the refusal naming the remote address; the dialler logs the reason it was given.
      assert.ok(
        one.logger.matching(
          "warn",
          new RegExp(`refused connection from 127\\.0\\.0\\.1:\\d+: ${reason.source}`),
        ).length > 0,
      );
      const [line] = who.logger.matching("warn", reason);
      assert.match(line?.message ?? "", /peer \d+ at 127\.0\.0\.1:\d+ refused our connection/);
      const stats = who.transport.stats().peers[0];
      assert.equal(stats?.connected, false);
      assert.ok((stats?.reconnects ?? 0) >= 1);
    }
    assert.ok(one.transport.stats().refusedConnections >= 3);
    // The legitimate peer still works both ways, after all that.
    one.transport.send(vote(one.id, two.id, 5));
    two.transport.send(vote(two.id, one.id, 6));
    await waitFor("legit traffic", () => one.received.length === 1 && two.received.length === 1);
    assert.equal(one.received[0]?.term, 6);
    assert.equal(two.received[0]?.term, 5);
    assert.ok(one.received.every((message) => message.term !== IMPOSTOR_TERM));
    assert.equal(peerStats(one.transport, 2).inboundConnected, true);
  });

  test("an unsupported protocol version gets a refusal frame on the wire before the close", async () => {
    const [one] = await cluster();
    assert.ok(one !== undefined);
    const client = await rawClient(one.address);
    client.socket.write(helloFrame(2, 1, "test", 99));
    await client.closed;
    assert.deepEqual(client.frames, [
      { kind: "refusal", reason: "unsupported protocol version 99 (this node speaks 1)" },
    ]);
    assert.equal(
      one.logger.matching("warn", /refused connection from .*unsupported protocol version 99/).length,
      1,
    );
  });

  test("the dialler checks whom it reached: a welcome from the wrong node is a protocol error", async () => {
    const server = createServer((socket) => {
      socket.on("error", () => {});
      socket.resume(); // read and discard, so the socket sees the dialler hang up
      socket.write(
        encodeEnvelope({ kind: "welcome", welcome: { version: 1, clusterId: "test", from: asNodeId(5) } }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const logger = new RecordingLogger("node 1");
    const transport = new TcpTransport({
      clusterId: "test",
      nodeId: asNodeId(1),
      listen: { host: LOCALHOST, port: 0 },
      peers: new Map([[asNodeId(2), { host: LOCALHOST, port }]]),
      onMessage: () => {},
      logger,
      reconnectDelayMs: { min: 5, max: 20 },
    });
    cleanups.push(() => transport.close());
    await transport.start();
    await waitFor("the complaint", () => logger.matching("warn", /node there is node 5/).length > 0);
    assert.match(
      logger.matching("warn", /node there is node 5/)[0]?.message ?? "",
      /^closing connection to peer 2 at 127\.0\.0\.1:\d+: the node there is node 5 of cluster 'test', not node 2 of 'test'$/,
    );
    assert.equal(peerStats(transport, 2).connected, false);
  });

  test("a message before the handshake closes the connection and is never delivered", async () => {
    const [one] = await cluster();
    assert.ok(one !== undefined);
    const client = await rawClient(one.address);
    client.socket.write(
      encodeEnvelope({ kind: "message", message: vote(asNodeId(2), one.id, IMPOSTOR_TERM) }),
    );
    await client.closed;
    assert.equal(
      one.logger.matching(
        "warn",
        /closing connection from 127\.0\.0\.1:\d+: expected a hello, got a message frame/,
      ).length,
      1,
    );
    assert.equal(one.received.length, 0);
  });

  test("messages naming another sender or another recipient than the handshake are dropped with a warning", async () => {
    const nodes = await startCluster([1, 2, 3]);
    cleanups.push(() => closeAll(nodes));
    const [one, , three] = nodes;
    assert.ok(one !== undefined && three !== undefined);
    // Node 3 is a configured peer, now gone; this raw socket says it is node 3.
    await three.transport.close();
    await waitFor("node 3's connection to go", () => !peerStats(one.transport, 3).inboundConnected);
    const client = await rawClient(one.address);
    client.socket.write(helloFrame(3, 1));
    client.socket.write(
      encodeEnvelope({ kind: "message", message: vote(asNodeId(2), one.id, IMPOSTOR_TERM) }),
    );
    client.socket.write(
      encodeEnvelope({ kind: "message", message: vote(asNodeId(3), asNodeId(2), IMPOSTOR_TERM) }),
    );
    client.socket.write(encodeEnvelope({ kind: "message", message: vote(asNodeId(3), one.id, 12) }));
    await waitFor("the valid message", () => one.received.some((message) => message.term === 12));
    await waitFor("the welcome", () => client.frames.length > 0);
    assert.deepEqual(client.frames, [
      { kind: "welcome", welcome: { version: 1, clusterId: "test", from: 1 } },
    ]);
    assert.ok(one.received.every((message) => message.term !== IMPOSTOR_TERM));
    assert.equal(
      one.logger.matching("warn", /dropped a RequestVote from peer 3 .*: it claims to be from node 2/).length,
      1,
    );
    assert.equal(
      one.logger.matching("warn", /dropped a RequestVote from peer 3 .*: it is addressed to node 2/).length,
      1,
    );
    assert.equal(peerStats(one.transport, 3).rejectedMessages, 2);
    assert.equal(client.isClosed(), false);
    client.socket.destroy();
  });
});
