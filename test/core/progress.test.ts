/**
 * The leader's per-follower flow control: the Inflights window and the probe / replicate / snapshot states of
 * Progress, with fast-check properties against simple models.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Inflights } from "../../src/core/tracker/inflights.ts";
import { Progress } from "../../src/core/tracker/progress.ts";
import { asIndex } from "../../src/core/types.ts";
import { AssertionFailure } from "../../src/util/assert.ts";

const PROPERTY = { seed: 42, numRuns: 200 } as const;

describe("Inflights", () => {
  test("fills up to its capacity, then refuses", () => {
    const inflights = new Inflights(3);
    for (const index of [2, 4, 6]) {
      assert.equal(inflights.full, false);
      inflights.add(asIndex(index));
    }
    assert.equal(inflights.count, 3);
    assert.equal(inflights.full, true);
    assert.throws(() => inflights.add(asIndex(8)), AssertionFailure);
  });

  test("an acknowledgement frees every message up to the index it confirms", () => {
    const inflights = new Inflights(5);
    for (const index of [2, 4, 6, 8]) inflights.add(asIndex(index));
    inflights.freeTo(asIndex(5));
    assert.equal(inflights.count, 2);
    inflights.freeTo(asIndex(3)); // stale ack: nothing more
    assert.equal(inflights.count, 2);
    inflights.freeTo(asIndex(100));
    assert.equal(inflights.count, 0);
    inflights.add(asIndex(9));
    inflights.reset();
    assert.equal(inflights.count, 0);
  });

  test("a capacity below one is refused", () => {
    assert.throws(() => new Inflights(0), AssertionFailure);
  });

  test("Inflights behaves like a bounded FIFO of last indexes (model check)", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), step: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant("free" as const), back: fc.nat(12) }),
      fc.record({ kind: fc.constant("reset" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.array(op, { maxLength: 400 }), (capacity, ops) => {
        const inflights = new Inflights(capacity);
        let model: number[] = [];
        let last = 0;
        for (const o of ops) {
          if (o.kind === "add") {
            last += o.step;
            if (model.length >= capacity) {
              assert.throws(() => inflights.add(asIndex(last)), AssertionFailure);
            } else {
              inflights.add(asIndex(last));
              model.push(last);
            }
          } else if (o.kind === "free") {
            const to = last - o.back;
            inflights.freeTo(asIndex(to));
            model = model.filter((index) => index > to);
          } else {
            inflights.reset();
            model = [];
          }
          assert.equal(inflights.count, model.length);
          assert.equal(inflights.full, model.length >= capacity);
        }
      }),
      PROPERTY,
    );
  });
});

describe("Progress", () => {
  test("starts probing at the given next index with nothing matched", () => {
    const progress = new Progress(asIndex(7), 4);
    assert.equal(progress.state, "probe");
    assert.equal(progress.match, 0);
    assert.equal(progress.next, 7);
    assert.equal(progress.isPaused(), false);
    progress.probeSent = true;
    assert.equal(progress.isPaused(), true, "one probe at a time");
  });

  test("maybeUpdate learns only new matches, and unpauses a probe", () => {
    const progress = new Progress(asIndex(3), 4);
    progress.probeSent = true;
    assert.equal(progress.maybeUpdate(asIndex(5)), true);
    assert.equal(progress.match, 5);
    assert.equal(progress.next, 6);
    assert.equal(progress.probeSent, false);
    assert.equal(progress.madeProgress, true);
    assert.equal(progress.maybeUpdate(asIndex(4)), false, "a stale ack teaches nothing");
    assert.equal(progress.match, 5);
    assert.equal(progress.next, 6);
  });

  test("replicate: next restarts after match; paused only when the window is full", () => {
    const progress = new Progress(asIndex(10), 2);
    progress.maybeUpdate(asIndex(4));
    progress.becomeReplicate();
    assert.equal(progress.state, "replicate");
    assert.equal(progress.next, 5);
    progress.inflights.add(asIndex(6));
    assert.equal(progress.isPaused(), false);
    progress.inflights.add(asIndex(8));
    assert.equal(progress.isPaused(), true);
    progress.inflights.freeTo(asIndex(6));
    assert.equal(progress.isPaused(), false);
  });

  test("replicate -> probe: next falls back to match + 1 and the window empties", () => {
    const progress = new Progress(asIndex(1), 2);
    progress.maybeUpdate(asIndex(4));
    progress.becomeReplicate();
    progress.next = asIndex(9);
    progress.inflights.add(asIndex(6));
    progress.inflights.add(asIndex(8));
    progress.becomeProbe();
    assert.equal(progress.state, "probe");
    assert.equal(progress.next, 5);
    assert.equal(progress.inflights.count, 0);
    assert.equal(progress.isPaused(), false);
  });

  test("snapshot: paused until it resolves; probing afterwards resumes after the snapshot", () => {
    const progress = new Progress(asIndex(1), 2);
    progress.maybeUpdate(asIndex(2));
    progress.becomeSnapshot(asIndex(10));
    assert.equal(progress.state, "snapshot");
    assert.equal(progress.pendingSnapshot, 10);
    assert.equal(progress.isPaused(), true);
    progress.becomeProbe();
    assert.equal(
      progress.next,
      11,
      "the follower holds at least the snapshot once it is acknowledged or resent",
    );
    progress.becomeSnapshot(asIndex(10));
    progress.maybeUpdate(asIndex(12));
    progress.becomeProbe();
    assert.equal(progress.next, 13, "a match beyond the snapshot wins");
  });

  test("under any sequence of transitions and acks, match never decreases and next stays above match", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("update" as const), index: fc.nat(40) }),
      fc.record({ kind: fc.constant("probe" as const) }),
      fc.record({ kind: fc.constant("replicate" as const) }),
      fc.record({ kind: fc.constant("snapshot" as const), index: fc.nat(40) }),
      fc.record({ kind: fc.constant("send" as const), count: fc.integer({ min: 1, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(op, { maxLength: 100 }), (next, ops) => {
        const progress = new Progress(asIndex(next), 3);
        let match = 0;
        for (const o of ops) {
          switch (o.kind) {
            case "update":
              assert.equal(progress.maybeUpdate(asIndex(o.index)), o.index > match);
              break;
            case "probe":
              progress.becomeProbe();
              break;
            case "replicate":
              progress.becomeReplicate();
              break;
            case "snapshot":
              progress.becomeSnapshot(asIndex(o.index));
              break;
            case "send":
              // What the leader does in replicate state when it sends entries optimistically.
              if (progress.state === "replicate" && !progress.isPaused()) {
                progress.next = asIndex(progress.next + o.count);
                progress.inflights.add(asIndex(progress.next - 1));
              }
              break;
          }
          assert.ok(progress.match >= match, "match went down");
          match = progress.match;
          assert.ok(progress.next > progress.match, `next ${progress.next} <= match ${progress.match}`);
          assert.equal(
            progress.isPaused(),
            progress.state === "snapshot" ||
              (progress.state === "probe" ? progress.probeSent : progress.inflights.full),
          );
        }
      }),
      PROPERTY,
    );
  });
});
