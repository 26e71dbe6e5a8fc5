/**
 * Three transports on loopback deliver messages of every type, in both directions between every pair, intact
 * and in order.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { asNodeId, type Message } from "../../../src/core/index.ts";
import { comparable, MESSAGE_ARBITRARIES } from "./arbitraries.ts";
import { closeAll, peerStats, startCluster, type TestNode, waitFor } from "./helpers.ts";

/** Messages of each type sent over each ordered pair of nodes. */
const MESSAGES_PER_TYPE = 6;

/** Every message type there is. */
const TYPES = Object.keys(MESSAGE_ARBITRARIES).length;

describe("TcpTransport delivery", () => {
  let nodes: TestNode[] = [];
  before(async () => {
    nodes = await startCluster([1, 2, 3]);
  });
  after(async () => {
    await closeAll(nodes);
  });

  test("every message type arrives intact and in order, both ways between every pair", async () => {
    const expected = new Map<string, Message[]>();
    let seed = 1;
    for (const sender of nodes) {
      for (const receiver of nodes) {
        if (sender === receiver) continue;
        const batch: Message[] = [];
        for (const arbitrary of Object.values(MESSAGE_ARBITRARIES)) {
          const samples = fc.sample(arbitrary as fc.Arbitrary<Message>, {
            seed: seed++,
            numRuns: MESSAGES_PER_TYPE,
          });
          for (const sample of samples) batch.push({ ...sample, from: sender.id, to: receiver.id });
        }
        expected.set(`${sender.id}->${receiver.id}`, batch);
        for (const message of batch) sender.transport.send(message);
      }
    }
    const perReceiver = 2 * TYPES * MESSAGES_PER_TYPE;
    await waitFor("all messages to arrive", () => nodes.every((node) => node.received.length >= perReceiver));
    for (const receiver of nodes) {
      assert.equal(receiver.received.length, perReceiver);
      for (const sender of nodes) {
        if (sender === receiver) continue;
        const got = receiver.received.filter((message) => message.from === sender.id);
        assert.ok(got.every((message) => message.to === receiver.id));
        assert.deepEqual(comparable(got), comparable(expected.get(`${sender.id}->${receiver.id}`)));
      }
    }
    for (const node of nodes) {
      for (const peer of node.transport.stats().peers) {
        assert.equal(peer.connected, true);
        assert.equal(peer.inboundConnected, true);
        assert.equal(peer.sentMessages, TYPES * MESSAGES_PER_TYPE);
        assert.equal(peer.receivedMessages, TYPES * MESSAGES_PER_TYPE);
        assert.equal(peer.droppedMessages, 0);
        assert.ok(peer.bytesOut > 0 && peer.bytesIn > 0);
      }
      assert.equal(node.transport.stats().refusedConnections, 0);
    }
  });

  test("a message to a node that is not a peer is dropped, counted and logged once", () => {
    const [first] = nodes;
    assert.ok(first !== undefined);
    const stray: Message = {
      type: "RequestVoteReply",
      from: first.id,
      to: asNodeId(42),
      term: 1 as Message["term"],
      voteGranted: false,
    };
    first.transport.send(stray);
    first.transport.send(stray);
    assert.equal(first.transport.stats().unknownPeerDrops, 2);
    assert.equal(first.logger.matching("warn", /node 42: it is not a configured peer/).length, 1);
    assert.equal(peerStats(first.transport, 2).droppedMessages, 0);
  });
});
