/**
 * Backpressure and bounds: a peer that accepts the connection but never reads, and a peer that is not there.
 * The outbound queue stays within its bounds, drops are counted, the socket's own buffer stays small, and
 * writing resumes on 'drain' once the peer reads again.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { asIndex, asNodeId, asTerm, type Message } from "../../../src/core/index.ts";
import { FrameDecoder, TcpTransport } from "../../../src/drivers/transport/index.ts";
import { deadPort, LOCALHOST, peerStats, RecordingLogger, silentPeer, waitFor } from "./helpers.ts";

const QUEUE_MESSAGES_MAX = 40;
const QUEUE_BYTES_MAX = 256 * 1024;
/** Entry bytes per message: 2,000 of them are far more than loopback's socket buffers can absorb. */
const ENTRY_BYTES = 16 * 1024;
const MESSAGES = 2000;

function bigAppend(term: number): Message {
  return {
    type: "AppendEntries",
    from: asNodeId(1),
    to: asNodeId(2),
    term: asTerm(term),
    prevLogIndex: asIndex(0),
    prevLogTerm: asTerm(0),
    entries: [{ index: asIndex(1), term: asTerm(term), data: new Uint8Array(ENTRY_BYTES).fill(term % 256) }],
    leaderCommit: asIndex(0),
    readRound: 0,
  };
}

function transportTo(port: number, logger: RecordingLogger): TcpTransport {
  return new TcpTransport({
    clusterId: "test",
    nodeId: asNodeId(1),
    listen: { host: LOCALHOST, port: 0 },
    peers: new Map([[asNodeId(2), { host: LOCALHOST, port }]]),
    onMessage: () => {},
    logger,
    outboundQueueMessagesMax: QUEUE_MESSAGES_MAX,
    outboundQueueBytesMax: QUEUE_BYTES_MAX,
    reconnectDelayMs: { min: 5, max: 50 },
  });
}

describe("TcpTransport backpressure", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  test("a peer that never reads: bounded queue, counted drops, then everything queued drains", async () => {
    const peer = await silentPeer();
    cleanups.push(() => peer.close());
    const logger = new RecordingLogger("node 1");
    const transport = transportTo(peer.address.port, logger);
    cleanups.push(() => transport.close());
    await transport.start();
    await waitFor("the handshake", () => peerStats(transport, 2).connected);

    let peakQueuedBytes = 0;
    let peakSocketBytes = 0;
    for (let k = 0; k < MESSAGES; k++) {
      transport.send(bigAppend(k));
      const stats = peerStats(transport, 2);
      assert.ok(stats.queuedMessages <= QUEUE_MESSAGES_MAX);
      peakQueuedBytes = Math.max(peakQueuedBytes, stats.queuedBytes);
      peakSocketBytes = Math.max(peakSocketBytes, stats.socketBufferedBytes);
    }
    const stats = peerStats(transport, 2);
    assert.ok(peakQueuedBytes <= QUEUE_BYTES_MAX, `queued ${peakQueuedBytes} bytes`);
    // The socket's own buffer holds at most what was written before write() said "wait": a frame or two.
    assert.ok(peakSocketBytes <= 4 * ENTRY_BYTES, `socket buffered ${peakSocketBytes} bytes`);
    assert.ok(stats.droppedMessages > 0);
    assert.equal(stats.sentMessages + stats.queuedMessages + stats.droppedMessages, MESSAGES);
    assert.equal(logger.matching("warn", /outbound queue to peer 2 is full/).length, 1);

    // The peer starts reading: everything written or queued arrives, the queue empties.
    const socket = peer.sockets[0];
    assert.ok(socket !== undefined);
    const decoder = new FrameDecoder({ frameBytesMax: 1 << 20 });
    let frames = 0;
    socket.on("data", (chunk: Buffer) => {
      frames += decoder.feed(chunk).frames.length;
    });
    socket.resume();
    const expected = 1 + MESSAGES - stats.droppedMessages; // the hello, then the messages
    await waitFor("every kept message to arrive", () => frames === expected);
    const drained = peerStats(transport, 2);
    assert.equal(drained.queuedMessages, 0);
    assert.equal(drained.queuedBytes, 0);
    assert.equal(drained.sentMessages, MESSAGES - stats.droppedMessages);
  });

  test("a peer that is down: messages queue up to the bound, the rest are dropped and counted", async () => {
    const logger = new RecordingLogger("node 1");
    const transport = transportTo(await deadPort(), logger);
    cleanups.push(() => transport.close());
    await transport.start();
    const small: Message = {
      type: "RequestVoteReply",
      from: asNodeId(1),
      to: asNodeId(2),
      term: asTerm(1),
      voteGranted: true,
    };
    for (let k = 0; k < 100; k++) transport.send(small);
    const stats = peerStats(transport, 2);
    assert.equal(stats.connected, false);
    assert.equal(stats.queuedMessages, QUEUE_MESSAGES_MAX);
    assert.equal(stats.droppedMessages, 100 - QUEUE_MESSAGES_MAX);
    assert.equal(stats.sentMessages, 0);
  });
});
