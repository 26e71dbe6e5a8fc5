import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { asNodeId, type NodeId } from "../../src/core/index.ts";
import { makeVirtualClock } from "../../src/lab/clocks.ts";
import { type LinkFaults, type NetworkEvent, RELIABLE_LINK, SimNetwork } from "../../src/sim/network.ts";
import type { VirtualClock } from "../../src/sim/virtual-clock.ts";
import { Random } from "../../src/util/random.ts";

// Every test runs on a virtual clock with a fixed seed: "after 10 ms" is an exact statement about virtual
// time, and a probabilistic fault gives the same count on every run.

const n1 = asNodeId(1);
const n2 = asNodeId(2);
const n3 = asNodeId(3);

interface Delivery {
  readonly time: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: number;
}

/** A three-node network whose handlers record every delivery. */
function makeNetwork(clock: VirtualClock, faults: LinkFaults, seed = 1) {
  const deliveries: Delivery[] = [];
  const events: NetworkEvent<number>[] = [];
  const network = new SimNetwork<number>({
    clock,
    random: new Random(seed),
    nodes: [n1, n2, n3],
    faults,
    observer: (event) => events.push(event),
  });
  for (const to of [n1, n2, n3]) {
    network.register(to, (message, from) => deliveries.push({ time: clock.now(), from, to, message }));
  }
  return { network, deliveries, events };
}

const faults = (overrides: Partial<LinkFaults>): LinkFaults => ({ ...RELIABLE_LINK, ...overrides });

describe("SimNetwork", () => {
  let clock: VirtualClock;
  beforeEach(() => {
    clock = makeVirtualClock();
  });
  afterEach(() => {
    clock.stop();
  });

  test("delivers each message once, after the link's delay", async () => {
    const { network, deliveries } = makeNetwork(clock, faults({ delayMinMs: 7, delayMaxMs: 7 }));
    network.send(n1, n2, 10);
    network.send(n2, n3, 20);
    await clock.sleep(6);
    assert.equal(deliveries.length, 0);
    await clock.sleep(10);
    assert.deepEqual(deliveries, [
      { time: 7, from: n1, to: n2, message: 10 },
      { time: 7, from: n2, to: n3, message: 20 },
    ]);
    assert.deepEqual(network.counters, { sent: 2, delivered: 2, dropped: 0, duplicated: 0, inFlight: 0 });
  });

  test("a delay range keeps every delay in range and reorders messages", async () => {
    const { network, deliveries } = makeNetwork(clock, faults({ delayMinMs: 1, delayMaxMs: 50 }));
    for (let i = 0; i < 100; i++) network.send(n1, n2, i);
    await clock.sleep(100);
    assert.equal(deliveries.length, 100);
    for (const delivery of deliveries)
      assert.ok(delivery.time >= 1 && delivery.time <= 50, `${delivery.time}`);
    const order = deliveries.map((delivery) => delivery.message);
    assert.notDeepEqual(
      order,
      [...order].sort((a, b) => a - b),
      "a random delay should reorder",
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  test("drops with the configured probability", async () => {
    const all = makeNetwork(clock, faults({ dropProbability: 1 }));
    for (let i = 0; i < 20; i++) all.network.send(n1, n2, i);
    const half = makeNetwork(clock, faults({ dropProbability: 0.5 }), 2);
    for (let i = 0; i < 1000; i++) half.network.send(n1, n2, i);
    await clock.sleep(10);
    assert.equal(all.deliveries.length, 0);
    assert.equal(all.network.counters.dropped, 20);
    assert.ok(
      all.events.filter((e) => e.kind === "drop").every((e) => e.kind === "drop" && e.reason === "loss"),
    );
    const delivered = half.deliveries.length;
    assert.ok(delivered > 400 && delivered < 600, `delivered ${delivered} of 1000 at p=0.5`);
    assert.equal(half.network.counters.dropped + delivered, 1000);
  });

  test("duplicates with the configured probability", async () => {
    const { network, deliveries } = makeNetwork(clock, faults({ duplicateProbability: 1, delayMaxMs: 5 }));
    for (let i = 0; i < 10; i++) network.send(n1, n3, i);
    await clock.sleep(10);
    assert.equal(deliveries.length, 20);
    for (let i = 0; i < 10; i++) assert.equal(deliveries.filter((d) => d.message === i).length, 2);
    assert.deepEqual(network.counters, { sent: 10, delivered: 20, dropped: 0, duplicated: 10, inFlight: 0 });
  });

  test("per-link faults override the default", async () => {
    const { network, deliveries } = makeNetwork(clock, RELIABLE_LINK);
    network.setLinkFaults(n1, n2, faults({ dropProbability: 1 }));
    network.send(n1, n2, 1);
    network.send(n2, n1, 2);
    network.send(n1, n3, 3);
    await clock.sleep(5);
    assert.deepEqual(
      deliveries.map((d) => d.message),
      [2, 3],
    );
    network.setLinkFaults(n1, n2, undefined);
    network.send(n1, n2, 4);
    await clock.sleep(5);
    assert.equal(deliveries.at(-1)?.message, 4);
  });

  test("a partition blocks traffic between groups, both ways, until healed", async () => {
    const { network, deliveries, events } = makeNetwork(clock, RELIABLE_LINK);
    network.partition([[n1, n2], [n3]]);
    network.send(n1, n2, 12);
    network.send(n1, n3, 13);
    network.send(n3, n1, 31);
    await clock.sleep(5);
    assert.deepEqual(
      deliveries.map((d) => d.message),
      [12],
    );
    assert.equal(events.filter((e) => e.kind === "drop" && e.reason === "partition").length, 2);
    network.heal();
    network.send(n1, n3, 13);
    network.send(n3, n1, 31);
    await clock.sleep(5);
    assert.deepEqual(
      deliveries.map((d) => d.message),
      [12, 13, 31],
    );
  });

  test("a node left out of every group is cut off from everyone", async () => {
    const { network, deliveries } = makeNetwork(clock, RELIABLE_LINK);
    network.partition([[n1, n2]]);
    network.send(n3, n1, 31);
    network.send(n2, n3, 23);
    network.send(n2, n1, 21);
    await clock.sleep(5);
    assert.deepEqual(
      deliveries.map((d) => d.message),
      [21],
    );
  });

  test("a one-way block stops one direction only", async () => {
    const { network, deliveries } = makeNetwork(clock, RELIABLE_LINK);
    network.block(n1, n2);
    assert.ok(network.isBlocked(n1, n2));
    assert.ok(!network.isBlocked(n2, n1));
    network.send(n1, n2, 12);
    network.send(n2, n1, 21);
    await clock.sleep(5);
    assert.deepEqual(
      deliveries.map((d) => d.message),
      [21],
    );
  });

  test("isolate cuts a node off both ways and adds to the current partition", async () => {
    const { network, deliveries } = makeNetwork(clock, RELIABLE_LINK);
    network.block(n1, n3);
    network.isolate(n2);
    network.send(n1, n2, 12);
    network.send(n2, n3, 23);
    network.send(n1, n3, 13);
    network.send(n3, n1, 31);
    await clock.sleep(5);
    assert.deepEqual(
      deliveries.map((d) => d.message),
      [31],
    );
  });

  test("a partition also cuts messages already on the wire", async () => {
    const { network, deliveries, events } = makeNetwork(clock, faults({ delayMinMs: 10, delayMaxMs: 10 }));
    network.send(n1, n2, 12);
    await clock.sleep(5);
    network.isolate(n2);
    await clock.sleep(10);
    assert.equal(deliveries.length, 0);
    assert.deepEqual(events.at(-1), {
      kind: "drop",
      time: 10,
      from: n1,
      to: n2,
      message: 12,
      reason: "partition",
    });
  });

  test("messages for an unregistered node are dropped as down", async () => {
    const { network, deliveries, events } = makeNetwork(clock, RELIABLE_LINK);
    network.unregister(n3);
    network.send(n1, n3, 13);
    await clock.sleep(5);
    assert.equal(deliveries.length, 0);
    const last = events.at(-1);
    assert.ok(last?.kind === "drop" && last.reason === "down");
    assert.deepEqual(network.counters, { sent: 1, delivered: 0, dropped: 1, duplicated: 0, inFlight: 0 });
  });

  test("the counters add up while messages are in flight", async () => {
    const { network } = makeNetwork(
      clock,
      faults({ dropProbability: 0.2, duplicateProbability: 0.2, delayMinMs: 1, delayMaxMs: 30 }),
    );
    for (let i = 0; i < 200; i++) network.send(asNodeId(1 + (i % 3)), asNodeId(1 + ((i + 1) % 3)), i);
    await clock.sleep(15);
    const mid = network.counters;
    assert.ok(mid.inFlight > 0);
    assert.equal(mid.delivered + mid.dropped + mid.inFlight, mid.sent + mid.duplicated);
    await clock.sleep(30);
    const end = network.counters;
    assert.equal(end.inFlight, 0);
    assert.equal(end.delivered + end.dropped, end.sent + end.duplicated);
  });

  test("the same seed gives the same deliveries; another seed does not", async () => {
    const run = async (seed: number) => {
      const runClock = makeVirtualClock();
      try {
        const lossy = faults({
          dropProbability: 0.1,
          duplicateProbability: 0.1,
          delayMinMs: 1,
          delayMaxMs: 20,
        });
        const { network, deliveries } = makeNetwork(runClock, lossy, seed);
        for (let i = 0; i < 50; i++) network.send(n1, n2, i);
        await runClock.sleep(30);
        return deliveries;
      } finally {
        runClock.stop();
      }
    };
    assert.deepEqual(await run(5), await run(5));
    assert.notDeepEqual(await run(5), await run(6));
  });

  test("rejects fault settings that mean nothing", () => {
    const { network } = makeNetwork(clock, RELIABLE_LINK);
    assert.throws(() => network.setFaults(faults({ dropProbability: 1.5 })), RangeError);
    assert.throws(() => network.setFaults(faults({ duplicateProbability: -0.1 })), RangeError);
    assert.throws(() => network.setFaults(faults({ delayMinMs: 5, delayMaxMs: 2 })), RangeError);
    assert.throws(() => network.setFaults(faults({ delayMinMs: 1.5, delayMaxMs: 2 })), RangeError);
  });
});
