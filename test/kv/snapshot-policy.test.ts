/** When to snapshot (Raft §7, thesis §5.1): the pure byte-count decision and the tracker around it. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SnapshotTrigger, shouldSnapshot } from "../../src/kv/snapshot-policy.ts";

describe("snapshot policy", () => {
  test("shouldSnapshot: due once the log since the last snapshot reaches the threshold; 0 turns it off", () => {
    assert.equal(shouldSnapshot(99, 100), false);
    assert.equal(shouldSnapshot(100, 100), true);
    assert.equal(shouldSnapshot(5_000, 100), true);
    assert.equal(shouldSnapshot(5_000, 0), false);
  });

  test("SnapshotTrigger counts applied bytes and starts again after a snapshot", () => {
    const trigger = new SnapshotTrigger(1_000);
    trigger.recordApplied(600);
    trigger.recordApplied(0);
    assert.equal(trigger.due, false);
    trigger.recordApplied(400);
    assert.equal(trigger.due, true);
    assert.equal(trigger.bytesSinceSnapshot, 1_000);
    trigger.snapshotTaken();
    assert.equal(trigger.bytesSinceSnapshot, 0);
    assert.equal(trigger.due, false);
  });

  test("SnapshotTrigger refuses nonsense sizes", () => {
    assert.throws(() => new SnapshotTrigger(-1), RangeError);
    assert.throws(() => new SnapshotTrigger(1.5), RangeError);
    assert.throws(() => new SnapshotTrigger(10).recordApplied(-3), RangeError);
    assert.equal(new SnapshotTrigger(0).due, false);
  });
});
