/**
 * The fault proxy's links on loopback: bytes pass intact and in order (with delay and jitter too), a
 * blackholed link swallows everything without the sender noticing and resets the connection when it heals,
 * a refusing link resets connections, cuts reset them, a dead target is a refused connection, and blocking
 * one direction of a pair leaves the other flowing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { after, describe, test } from "node:test";
import {
  FaultProxy,
  type LinkAddress,
  type LinkPolicy,
  PASS,
  ProxyLink,
} from "../../../src/drivers/fault-proxy/index.ts";
import { Random } from "../../../src/util/random.ts";

const SEED = 7;
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A server that keeps what each connection sent, and echoes it back when asked to. */
interface Sink {
  readonly address: LinkAddress;
  readonly server: Server;
  /** Bytes received over all connections, in arrival order. */
  received(): Buffer;
  readonly connections: Socket[];
}

async function startSink(echo: boolean): Promise<Sink> {
  const chunks: Buffer[] = [];
  const connections: Socket[] = [];
  const server = createServer((socket) => {
    connections.push(socket);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (echo) socket.write(chunk);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const bound = server.address();
  assert.ok(bound !== null && typeof bound === "object");
  cleanups.push(async () => {
    for (const socket of connections) socket.destroy();
    server.close();
  });
  return {
    address: { host: "127.0.0.1", port: bound.port },
    server,
    received: () => Buffer.concat(chunks),
    connections,
  };
}

async function startLink(target: LinkAddress): Promise<ProxyLink> {
  const random = new Random(SEED);
  const link = new ProxyLink({
    listen: { host: "127.0.0.1", port: 0 },
    target,
    random: () => random.int(2 ** 30) / 2 ** 30,
  });
  await link.listen();
  cleanups.push(() => link.close());
  return link;
}

/** A client socket to `address` that records what it reads and how it ended. */
async function dial(address: LinkAddress): Promise<{
  socket: Socket;
  received: () => Buffer;
  closed: Promise<{ error: string | null }>;
}> {
  const socket = connect(address.port, address.host);
  const chunks: Buffer[] = [];
  let error: string | null = null;
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", (cause: NodeJS.ErrnoException) => {
    error = cause.code ?? cause.message;
  });
  // Not events.once: it rejects on 'error', and a reset is what several tests wait for.
  const closed = new Promise<{ error: string | null }>((resolve) => {
    socket.once("close", () => resolve({ error }));
  });
  await once(socket, "connect");
  cleanups.push(async () => {
    socket.destroy();
  });
  return { socket, received: () => Buffer.concat(chunks), closed };
}

/** Polls until `condition` holds; fails the test after 10 s naming what it waited for. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function policy(change: Partial<LinkPolicy>): LinkPolicy {
  return { ...PASS, ...change };
}

describe("ProxyLink", () => {
  test("passes bytes intact and in order, both ways", async () => {
    const sink = await startSink(true);
    const link = await startLink(sink.address);
    const client = await dial(link.address);
    const payload = randomBytes(3 * 1024 * 1024);
    client.socket.write(payload);
    await until("the echo", () => client.received().length === payload.length);
    assert.ok(sink.received().equals(payload));
    assert.ok(client.received().equals(payload));
    assert.equal(link.stats().bytesForwarded, 2 * payload.length);
  });

  test("delay with jitter holds every chunk at least the delay and never reorders", async () => {
    const sink = await startSink(false);
    const link = await startLink(sink.address);
    const delayMs = 40;
    link.setPolicy(policy({ delayMs, jitterMs: 30 }));
    const client = await dial(link.address);
    const sent: Buffer[] = [];
    const started = performance.now();
    for (let k = 0; k < 50; k++) {
      const piece = Buffer.from(`<${k}>`);
      sent.push(piece);
      client.socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const expected = Buffer.concat(sent);
    await until("every piece", () => sink.received().length === expected.length);
    // Timers may fire a millisecond early by rounding; the delay is a lower bound, never an upper one.
    assert.ok(performance.now() - started >= delayMs - 2, "nothing arrives before the delay");
    assert.equal(sink.received().toString(), expected.toString(), "in order");
  });

  test("a blackhole swallows bytes silently; healing resets that connection and new ones pass", async () => {
    const sink = await startSink(false);
    const link = await startLink(sink.address);
    const client = await dial(link.address);
    client.socket.write("before|");
    await until("the first bytes", () => sink.received().toString() === "before|");
    link.setPolicy(policy({ block: "blackhole" }));
    client.socket.write("during|");
    await until("the discard", () => link.stats().bytesDiscarded >= "during|".length);
    assert.equal(sink.received().toString(), "before|", "nothing got through");
    assert.equal(client.socket.destroyed, false, "the sender noticed nothing");
    // A connection made during the partition is accepted and swallowed too, without reaching the target.
    const accepted = sink.connections.length;
    const second = await dial(link.address);
    second.socket.write("second|");
    await until("the second discard", () => link.stats().bytesDiscarded >= "during|second|".length);
    assert.equal(sink.connections.length, accepted);

    link.setPolicy(PASS);
    const ended = await client.closed;
    assert.equal(ended.error, "ECONNRESET", "the blackholed stream is reset, never resumed mid-way");
    await second.closed;
    const third = await dial(link.address);
    third.socket.write("after");
    await until("bytes after healing", () => sink.received().toString() === "before|after");
  });

  test("refuse resets live connections and every new one", async () => {
    const sink = await startSink(false);
    const link = await startLink(sink.address);
    const client = await dial(link.address);
    client.socket.write("x");
    await until("the first byte", () => sink.received().length === 1);
    link.setPolicy(policy({ block: "refuse" }));
    assert.equal((await client.closed).error, "ECONNRESET");
    const refused = connect(link.address.port, link.address.host);
    const [error] = (await once(refused, "error").catch((cause: unknown) => [cause])) as [
      NodeJS.ErrnoException,
    ];
    assert.equal(error.code, "ECONNRESET");
    assert.ok(link.stats().connectionsRefused >= 2);
  });

  test("a cut probability of 1 resets the connection on its first chunk; the bytes never arrive", async () => {
    const sink = await startSink(false);
    const link = await startLink(sink.address);
    link.setPolicy(policy({ cutProbability: 1 }));
    const client = await dial(link.address);
    client.socket.write("lost");
    assert.equal((await client.closed).error, "ECONNRESET");
    assert.equal(link.stats().connectionsCut, 1);
    assert.equal(sink.received().length, 0);
  });

  test("a target that is down makes the dialling side see a reset", async () => {
    const sink = await startSink(false);
    const target = sink.address;
    sink.server.close();
    await once(sink.server, "close");
    const link = await startLink(target);
    const client = await dial(link.address);
    client.socket.write("anyone?");
    assert.equal((await client.closed).error, "ECONNRESET");
    assert.equal(link.stats().connectionsRefused, 1);
  });

  test("refuses a bad policy with the field's name", async () => {
    const sink = await startSink(false);
    const link = await startLink(sink.address);
    assert.throws(() => link.setPolicy(policy({ cutProbability: 2 })), /cutProbability/);
    assert.throws(() => link.setPolicy(policy({ delayMs: -1 })), /delayMs/);
    assert.equal(link.policy, PASS);
  });
});

describe("FaultProxy", () => {
  test("one listener per directed link; blocking i -> j leaves j -> i flowing", async () => {
    const sinks = [await startSink(false), await startSink(false), await startSink(false)];
    const targets = new Map(sinks.map((sink, k) => [k + 1, sink.address] as const));
    const proxy = await FaultProxy.start({ targets, seed: SEED });
    cleanups.push(() => proxy.close());
    assert.equal(proxy.links().length, 6);
    const peersOf1 = proxy.peerAddressesOf(1);
    assert.deepEqual(peersOf1.get(1), sinks[0]?.address, "a node's own entry is its real address");
    assert.deepEqual(peersOf1.get(2), proxy.address(1, 2));
    assert.notDeepEqual(proxy.address(1, 2), proxy.address(2, 1));

    proxy.setPolicy(1, 2, policy({ block: "blackhole" }));
    assert.equal(proxy.healed, false);
    const oneToTwo = await dial(proxy.address(1, 2));
    const twoToOne = await dial(proxy.address(2, 1));
    const oneToThree = await dial(proxy.address(1, 3));
    oneToTwo.socket.write("1->2");
    twoToOne.socket.write("2->1");
    oneToThree.socket.write("1->3");
    await until("2 -> 1", () => sinks[0]?.received().toString() === "2->1");
    await until("1 -> 3", () => sinks[2]?.received().toString() === "1->3");
    await until(
      "1 -> 2 discarded",
      () => (proxy.stats().find((s) => s.from === 1 && s.to === 2)?.bytesDiscarded ?? 0) >= 4,
    );
    assert.equal(sinks[1]?.received().length, 0);

    proxy.heal();
    assert.equal(proxy.healed, true);
    await oneToTwo.closed;
    const again = await dial(proxy.address(1, 2));
    again.socket.write("healed");
    await until("1 -> 2 after healing", () => sinks[1]?.received().toString() === "healed");
  });
});
