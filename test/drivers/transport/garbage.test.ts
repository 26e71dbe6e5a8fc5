/**
 * Garbage on the wire: random bytes, huge length prefixes, truncated and malformed frames from raw sockets.
 * Each such connection is closed with a warning naming the remote address, the claimed sizes are never
 * allocated, and the transport keeps serving its real peers.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { asIndex, asTerm, type Message } from "../../../src/core/index.ts";
import { encodeFrame, FRAME_KIND } from "../../../src/drivers/transport/index.ts";
import { closeAll, helloFrame, rawClient, startCluster, type TestNode, waitFor } from "./helpers.ts";

/** How much the process's ArrayBuffer memory may grow in a test that claims gigabytes: nothing of that order. */
const ARRAY_BUFFER_GROWTH_MAX = 8 * 1024 * 1024;

/** A 4-byte big-endian length prefix. */
function prefix(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

describe("TcpTransport against garbage", () => {
  let nodes: TestNode[] = [];
  let one: TestNode;
  let two: TestNode;
  before(async () => {
    // Node 3 is configured but absent, so raw sockets can complete a handshake as node 3.
    nodes = await startCluster([1, 2, 3], (id) => (id === 1 ? { handshakeTimeoutMs: 300 } : {}));
    const [first, second, third] = nodes;
    assert.ok(first !== undefined && second !== undefined && third !== undefined);
    [one, two] = [first, second];
    await third.transport.close();
    nodes = [first, second];
  });
  after(async () => {
    await closeAll(nodes);
  });

  /**
   * Sends `bytes` from a raw socket (after a valid hello as node 3 if `handshake`), optionally ending the
   * stream, and waits for the transport to close the connection. Returns the warnings it logged meanwhile.
   */
  async function sendGarbage(bytes: Uint8Array, options: { handshake?: boolean; end?: boolean } = {}) {
    const warningsBefore = one.logger.lines.length;
    const client = await rawClient(one.address);
    const remote = `127.0.0.1:${client.socket.localPort}`;
    if (options.handshake === true) client.socket.write(helloFrame(3, 1));
    client.socket.write(bytes);
    if (options.end === true) client.socket.end();
    await client.closed;
    const warnings = one.logger.lines.slice(warningsBefore).filter((line) => line.level === "warn");
    return { warnings, remote };
  }

  async function assertPeersStillWork(term: number): Promise<void> {
    const message: Message = {
      type: "AppendEntriesReply",
      from: two.id,
      to: one.id,
      term: asTerm(term),
      success: true,
      prevLogIndex: asIndex(1),
      matchIndex: asIndex(1),
      conflictTerm: asTerm(0),
      conflictIndex: asIndex(0),
      lastLogIndex: asIndex(1),
      readRound: 0,
    };
    two.transport.send(message);
    await waitFor(`message with term ${term}`, () => one.received.some((got) => got.term === term));
  }

  test("random bytes close the connection with a warning naming the remote address", async () => {
    const inputs = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), { seed: 7, numRuns: 20 });
    for (const bytes of inputs) {
      const { warnings, remote } = await sendGarbage(bytes, { end: true });
      assert.equal(warnings.length, 1, `warnings for ${Buffer.from(bytes).toString("hex")}`);
      assert.match(warnings[0]?.message ?? "", new RegExp(`^closing connection from ${remote}: `));
    }
    assert.equal(one.received.length, 0);
    await assertPeersStillWork(1);
  });

  test("a 4 GiB length prefix is refused at once and never allocated", async () => {
    const before = process.memoryUsage().arrayBuffers;
    const bytes = Uint8Array.of(...prefix(0xffff_ffff), ...new Uint8Array(1000).fill(7));
    const { warnings, remote } = await sendGarbage(bytes);
    assert.equal(warnings.length, 1);
    assert.equal(
      warnings[0]?.message,
      `closing connection from ${remote}: frame of 4294967295 bytes exceeds the limit of 1024 bytes`,
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < ARRAY_BUFFER_GROWTH_MAX);
    await assertPeersStillWork(2);
  });

  test("after the handshake, a prefix above frameBytesMax closes the connection without allocating it", async () => {
    const before = process.memoryUsage().arrayBuffers;
    const { warnings, remote } = await sendGarbage(Uint8Array.of(...prefix(0x7fff_ffff), 1, 2, 3), {
      handshake: true,
    });
    assert.equal(warnings.length, 1);
    assert.equal(
      warnings[0]?.message,
      `closing connection from peer 3 (${remote}): frame of 2147483647 bytes exceeds the limit of 16777216 bytes`,
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < ARRAY_BUFFER_GROWTH_MAX);
    await assertPeersStillWork(3);
  });

  test("a frame claiming 16 MiB and cut short after a few bytes costs next to nothing", async () => {
    const before = process.memoryUsage().arrayBuffers;
    const { warnings, remote } = await sendGarbage(
      Uint8Array.of(...prefix(16 * 1024 * 1024), FRAME_KIND.message, 1, 2, 3),
      { handshake: true, end: true },
    );
    assert.equal(warnings.length, 1);
    assert.equal(
      warnings[0]?.message,
      `closing connection from peer 3 (${remote}): stream ended inside a frame (4 of 16777216 payload bytes)`,
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < ARRAY_BUFFER_GROWTH_MAX);
    await assertPeersStillWork(4);
  });

  test("a truncated frame that never completes is closed by the handshake timeout", async () => {
    const { warnings, remote } = await sendGarbage(Uint8Array.of(...prefix(100), 1, 2, 3, 4, 5));
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]?.message ?? "",
      new RegExp(`^closing connection from ${remote}: no handshake within 300 ms`),
    );
  });

  test("well-framed garbage after the handshake closes the connection", async () => {
    const malformed = [
      encodeFrame(FRAME_KIND.message, Uint8Array.of(0x93, 1, 2, 3)),
      encodeFrame(99, new Uint8Array(3)),
      encodeFrame(FRAME_KIND.hello, Uint8Array.of(0xc1)),
      encodeFrame(FRAME_KIND["snapshot-chunk"], Uint8Array.of(0x90)),
      prefix(0),
    ];
    const reasons = [
      /malformed message: RequestVote has 3 fields/,
      /unknown frame kind 99/,
      /malformed frame body/,
      /snapshot-chunk body is not an array of 7 fields/,
      /frame of 0 bytes is shorter than its frame kind/,
    ];
    for (const [k, bytes] of malformed.entries()) {
      const { warnings } = await sendGarbage(bytes, { handshake: true });
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]?.message ?? "", reasons[k] ?? /never/);
    }
    assert.ok(one.received.every((message) => message.from === two.id));
    await assertPeersStillWork(5);
    assert.ok(one.transport.stats().refusedConnections >= 22);
  });
});
