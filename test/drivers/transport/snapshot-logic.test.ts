/**
 * The snapshot transfer state machines without sockets: the sender's window, resumption, restarts,
 * absorption and timeouts, and the receiver's in-order reassembly, bound and checksum.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import CRC32 from "crc-32";
import { asIndex, asNodeId, asTerm, type InstallSnapshot } from "../../../src/core/index.ts";
import type { SnapshotChunk, SnapshotTransferId } from "../../../src/drivers/transport/envelope.ts";
import { SnapshotAssembler } from "../../../src/drivers/transport/snapshot-assembler.ts";
import { SnapshotSender } from "../../../src/drivers/transport/snapshot-sender.ts";

const CHUNK = 10;
const OPTIONS = { chunkBytes: CHUNK, chunksInFlightMax: 3, transferTimeoutMs: 1000, installTimeoutMs: 500 };

function snapshot(index: number, bytes: number, fill = 1): InstallSnapshot {
  return {
    type: "InstallSnapshot",
    from: asNodeId(1),
    to: asNodeId(2),
    term: asTerm(4),
    lastIncludedIndex: asIndex(index),
    lastIncludedTerm: asTerm(3),
    data: Uint8Array.from({ length: bytes }, (_, k) => (k * fill) & 0xff),
  };
}

/** Pulls every chunk the window allows now. */
function drain(sender: SnapshotSender): SnapshotChunk[] {
  const chunks: SnapshotChunk[] = [];
  for (let chunk = sender.nextChunk(); chunk !== undefined; chunk = sender.nextChunk()) chunks.push(chunk);
  return chunks;
}

function idOf(sender: SnapshotSender): SnapshotTransferId {
  const id = sender.id;
  assert.ok(id !== undefined);
  return id;
}

describe("SnapshotSender", () => {
  test("one chunk until the receiver answers, then a window of chunksInFlightMax", () => {
    const sender = new SnapshotSender(OPTIONS);
    const message = snapshot(100, 95);
    assert.equal(sender.offer(message, 0).kind, "started");
    const id = idOf(sender);
    assert.equal(id.checksum, CRC32.buf(message.data) >>> 0);
    assert.deepEqual(
      drain(sender).map((chunk) => chunk.offset),
      [0],
    );
    assert.deepEqual(sender.onAck({ id, nextOffset: 10 }, 1), { kind: "progress", ackedOffset: 10 });
    assert.deepEqual(
      drain(sender).map((chunk) => chunk.offset),
      [10, 20, 30],
    );
    sender.onAck({ id, nextOffset: 20 }, 2);
    assert.deepEqual(
      drain(sender).map((chunk) => chunk.offset),
      [40],
    );
    for (const offset of [30, 40, 50]) sender.onAck({ id, nextOffset: offset }, 3);
    const rest = drain(sender);
    assert.deepEqual(
      rest.map((chunk) => [chunk.offset, chunk.data.length]),
      [
        [50, 10],
        [60, 10],
        [70, 10],
      ],
    );
    for (const offset of [60, 70, 80]) sender.onAck({ id, nextOffset: offset }, 4);
    assert.deepEqual(
      drain(sender).map((chunk) => [chunk.offset, chunk.data.length]),
      [
        [80, 10],
        [90, 5],
      ],
    );
    const done = sender.onAck({ id, nextOffset: 95 }, 5);
    assert.deepEqual(done, { kind: "completed", id, bytesSent: 95 });
    assert.equal(sender.phase, "delivered");
  });

  test("after a reconnect it resumes at the acked offset, and follows the receiver forward or back", () => {
    const sender = new SnapshotSender(OPTIONS);
    sender.offer(snapshot(100, 95), 0);
    const id = idOf(sender);
    drain(sender);
    sender.onAck({ id, nextOffset: 10 }, 1);
    drain(sender); // 10, 20, 30 in flight when the connection dies
    assert.equal(sender.onConnected(), 10);
    assert.deepEqual(
      drain(sender).map((chunk) => chunk.offset),
      [10],
    );
    // The receiver had got 10 and 20 before the old connection died: it says 30, and we go on from there.
    assert.deepEqual(sender.onAck({ id, nextOffset: 30 }, 2), { kind: "progress", ackedOffset: 30 });
    assert.deepEqual(
      drain(sender).map((chunk) => chunk.offset),
      [30, 40, 50],
    );
    // Another reconnect; this time the receiver lost its partial copy: it says 0, we start over.
    assert.equal(sender.onConnected(), 30);
    drain(sender);
    assert.deepEqual(sender.onAck({ id, nextOffset: 0 }, 3), { kind: "restarted", offset: 0 });
    assert.deepEqual(
      drain(sender).map((chunk) => chunk.offset),
      [0, 10, 20],
    );
    // Acks for another transfer are ignored.
    assert.deepEqual(sender.onAck({ id: { ...id, totalBytes: 7 }, nextOffset: 7 }, 4), { kind: "ignored" });
  });

  test("the same snapshot is absorbed while sending and installing; the install timeout or a reply ends that", () => {
    const sender = new SnapshotSender(OPTIONS);
    const message = snapshot(100, 15);
    sender.offer(message, 0);
    assert.deepEqual(sender.offer({ ...message, data: message.data.slice() }, 1), {
      kind: "absorbed",
      id: idOf(sender),
      phase: "sending",
    });
    const id = idOf(sender);
    drain(sender);
    sender.onAck({ id, nextOffset: 10 }, 2);
    drain(sender);
    sender.onAck({ id, nextOffset: 15 }, 3);
    assert.equal(sender.offer(message, 3 + 499).kind, "absorbed");
    assert.equal(sender.offer(message, 3 + 500).kind, "started");
    drain(sender);
    sender.onAck({ id, nextOffset: 10 }, 600);
    drain(sender);
    sender.onAck({ id, nextOffset: 15 }, 601);
    sender.onReply();
    assert.equal(sender.phase, "idle");
    assert.equal(sender.offer(message, 602).kind, "started");
  });

  test("a different snapshot replaces the current one; no progress for transferTimeoutMs abandons it", () => {
    const sender = new SnapshotSender(OPTIONS);
    sender.offer(snapshot(100, 50), 0);
    const first = idOf(sender);
    const replaced = sender.offer(snapshot(101, 50), 10);
    assert.equal(replaced.kind, "started");
    assert.deepEqual(replaced.kind === "started" ? replaced.replaced : undefined, first);
    // Same index and size but different bytes: a different transfer (the checksum tells them apart).
    const other = sender.offer(snapshot(101, 50, 3), 20);
    assert.equal(other.kind, "started");
    assert.equal(sender.deadline, 20 + 1000);
    const current = idOf(sender);
    assert.notDeepEqual(current, replaced.id);
    assert.equal(sender.expire(1019), undefined);
    assert.deepEqual(sender.expire(1020), { id: current, ackedOffset: 0 });
    assert.equal(sender.phase, "idle");
  });
});

describe("SnapshotAssembler", () => {
  const data = Uint8Array.from({ length: 25 }, (_, k) => k);
  const id: SnapshotTransferId = {
    term: asTerm(4),
    lastIncludedIndex: asIndex(100),
    lastIncludedTerm: asTerm(3),
    totalBytes: 25,
    checksum: CRC32.buf(data) >>> 0,
  };
  const chunk = (offset: number, transfer = id): SnapshotChunk => ({
    id: transfer,
    offset,
    data: data.subarray(offset, Math.min(25, offset + 10)),
  });

  test("reassembles in order, answers out-of-order chunks with the offset it expects", () => {
    const assembler = new SnapshotAssembler(100);
    assert.deepEqual(assembler.accept(chunk(10)), { kind: "ack", nextOffset: 0, started: true });
    assert.deepEqual(assembler.accept(chunk(0)), { kind: "ack", nextOffset: 10, started: false });
    assert.deepEqual(assembler.accept(chunk(0)), { kind: "ack", nextOffset: 10, started: false });
    assert.deepEqual(assembler.accept(chunk(20)), { kind: "ack", nextOffset: 10, started: false });
    assert.deepEqual(assembler.accept(chunk(10)), { kind: "ack", nextOffset: 20, started: false });
    assert.equal(assembler.heldBytes, 20);
    const done = assembler.accept(chunk(20));
    assert.equal(done.kind, "complete");
    assert.deepEqual(done.kind === "complete" ? [...done.data] : [], [...data]);
    assert.equal(assembler.heldBytes, 0);
  });

  test("a chunk of another transfer replaces the partial one", () => {
    const assembler = new SnapshotAssembler(100);
    assembler.accept(chunk(0));
    const newer = { ...id, lastIncludedIndex: asIndex(101) };
    assert.deepEqual(assembler.accept(chunk(10, newer)), { kind: "ack", nextOffset: 0, started: true });
    assert.deepEqual(assembler.partialId, newer);
  });

  test("refuses snapshots above its limit and reassemblies that fail the checksum", () => {
    const small = new SnapshotAssembler(24);
    const tooLarge = small.accept(chunk(0));
    assert.equal(tooLarge.kind, "refuse");
    assert.equal(small.heldBytes, 0);
    const assembler = new SnapshotAssembler(100);
    const wrong = { ...id, checksum: (id.checksum + 1) >>> 0 };
    assembler.accept(chunk(0, wrong));
    assembler.accept(chunk(10, wrong));
    const result = assembler.accept(chunk(20, wrong));
    assert.equal(result.kind, "refuse");
    assert.match(result.kind === "refuse" ? result.reason : "", /CRC-32/);
  });
});
