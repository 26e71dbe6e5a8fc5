import assert from "node:assert/strict";
import { test } from "node:test";
import { Channel } from "../../src/lab/channel.ts";

/** Lets every pending promise continuation run (one host macrotask; not a sleep). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled yet, without awaiting it. */
function track<T>(promise: Promise<T>): { readonly done: () => boolean; readonly promise: Promise<T> } {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  return { done: () => done, promise: tracked };
}

test("send completes only once a receiver has taken the value", async () => {
  const channel = new Channel<number>();
  const sent = track(channel.send(7));
  await settle();
  assert.equal(sent.done(), false, "an unbuffered send must wait for a receiver");
  assert.equal(await channel.recv(), 7);
  await sent.promise;
  assert.equal(sent.done(), true);
});

test("recv waits for a sender", async () => {
  const channel = new Channel<string>();
  const received = track(channel.recv());
  await settle();
  assert.equal(received.done(), false);
  await channel.send("x");
  assert.equal(await received.promise, "x");
});

test("waiting senders are served first come, first served", async () => {
  const channel = new Channel<number>();
  const order: number[] = [];
  const sends = [1, 2, 3].map((value) => channel.send(value).then(() => order.push(value)));
  assert.deepEqual([await channel.recv(), await channel.recv(), await channel.recv()], [1, 2, 3]);
  await Promise.all(sends);
  assert.deepEqual(order, [1, 2, 3]);
});

test("waiting receivers are served first come, first served", async () => {
  const channel = new Channel<string>();
  const receives = [channel.recv(), channel.recv(), channel.recv()];
  await channel.send("a");
  await channel.send("b");
  await channel.send("c");
  assert.deepEqual(await Promise.all(receives), ["a", "b", "c"]);
});

test("close wakes waiting receivers with undefined and makes later sends reject", async () => {
  const channel = new Channel<number>();
  const waiting = [channel.recv(), channel.recvOk()];
  channel.close();
  assert.equal(channel.closed, true);
  assert.deepEqual(await Promise.all(waiting), [undefined, { ok: false }]);
  assert.equal(await channel.recv(), undefined);
  await assert.rejects(channel.send(1), /send on closed channel/);
});

test("senders already waiting at close still hand over their values, then the channel reads as closed", async () => {
  const channel = new Channel<number>();
  const sends = [channel.send(1), channel.send(2)];
  channel.close();
  assert.equal(await channel.recv(), 1);
  assert.equal(await channel.recv(), 2);
  assert.equal(await channel.recv(), undefined);
  await Promise.all(sends);
});

test("closing twice is a programming error", () => {
  const channel = new Channel<number>();
  channel.close();
  assert.throws(() => channel.close(), /close of closed channel/);
});

test("recvOk tells an undefined value from a closed channel", async () => {
  const channel = new Channel<number | undefined>();
  const sent = channel.send(undefined);
  assert.deepEqual(await channel.recvOk(), { ok: true, value: undefined });
  await sent;
  channel.close();
  assert.deepEqual(await channel.recvOk(), { ok: false });
});

test("async iteration yields every value and ends on close", async () => {
  const channel = new Channel<number>();
  const producer = (async () => {
    for (let i = 1; i <= 5; i++) await channel.send(i);
    channel.close();
  })();
  const seen: number[] = [];
  for await (const value of channel) seen.push(value);
  await producer;
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
});

test("leaving a for-await loop early loses no value", async () => {
  const channel = new Channel<number>();
  const producer = (async () => {
    for (let i = 1; i <= 3; i++) await channel.send(i);
  })();
  for await (const value of channel) {
    assert.equal(value, 1);
    break;
  }
  assert.equal(await channel.recv(), 2);
  assert.equal(await channel.recv(), 3);
  await producer;
});
