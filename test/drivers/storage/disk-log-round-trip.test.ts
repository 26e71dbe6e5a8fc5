/**
 * Round trips through real files: what a disk log saves, a reopened one recovers, for entries, hard state,
 * suffix overwrites across segments, both kinds of snapshot install, segment roll-over and the removal of
 * segments and snapshots nothing needs any more. Each test compares against MemoryLogStore, the in-memory
 * statement of the same rules.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { describe, test } from "node:test";
import { asNodeId, encodeMembership, membershipOf } from "../../../src/core/index.ts";
import { openDiskLog } from "../../../src/drivers/storage/index.ts";
import type { StorageUpdate } from "../../../src/peer/index.ts";
import { MemoryLogStore } from "../../../src/sim/memory-log-store.ts";
import {
  assertRejectsWith,
  assertSameState,
  entries,
  hardState,
  segmentFiles,
  snapshot,
  withTempDir,
} from "./helpers.ts";

/** Small segments so a few dozen small entries span several of them. */
const TINY_SEGMENT_BYTES = 512;

/** Saves `updates` one after another into a log in `dir`, applying each to `model` too, then closes it. */
async function saveAll(
  dir: string,
  model: MemoryLogStore,
  updates: readonly StorageUpdate[],
  segmentBytes = TINY_SEGMENT_BYTES,
): Promise<void> {
  const log = await openDiskLog({ dir, segmentBytes });
  for (const update of updates) {
    await log.save(update);
    model.apply(update);
  }
  await log.close();
}

async function reopenedState(dir: string, segmentBytes = TINY_SEGMENT_BYTES) {
  const log = await openDiskLog({ dir, segmentBytes });
  const state = log.initialState;
  await log.close();
  return state;
}

describe("DiskLog round trips", () => {
  test("a new directory opens empty and holds a hard state file and one segment", async () => {
    await withTempDir(async (dir) => {
      const logDir = `${dir}/nested/log`;
      const log = await openDiskLog({ dir: logDir, segmentBytes: 4096 });
      assertSameState(log.initialState, new MemoryLogStore().initialState());
      await log.close();
      assert.deepEqual(await readdir(logDir), [
        "hard-state",
        "segment-0000000000000001-0000000000000001.wal",
      ]);
    });
  });

  test("entries and hard state survive close and reopen", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      await saveAll(dir, model, [
        { entries: entries(1, [1, 1, 1]), hardState: hardState(1, 2, 0) },
        { entries: entries(4, [1, 2]), hardState: hardState(2, null, 3) },
        { entries: [], hardState: hardState(3, 0, 5) },
      ]);
      assertSameState(await reopenedState(dir), model.initialState());
      assert.deepEqual((await reopenedState(dir)).hardState, hardState(3, 0, 5));
    });
  });

  test("an overwritten suffix stays overwritten, across segments and reopens", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      const first: StorageUpdate[] = [];
      for (let index = 1; index <= 40; index += 4) first.push({ entries: entries(index, [1, 1, 1, 1], 24) });
      await saveAll(dir, model, first);
      const segmentsBefore = await segmentFiles(dir);
      assert.ok(segmentsBefore.length >= 3, `40 entries span several segments, got ${segmentsBefore.length}`);
      // Overwrite from entry 5, which lives in the first segment, with a shorter log of a later term.
      await saveAll(dir, model, [{ entries: entries(5, [2, 2, 2], 24, 1), hardState: hardState(2, 1, 4) }]);
      assertSameState(await reopenedState(dir), model.initialState(), "after the overwrite");
      // And keep going after a reopen: the log continues from entry 8.
      await saveAll(dir, model, [
        { entries: entries(8, [3, 3], 24, 2) },
        { entries: entries(7, [3, 3, 3], 24, 3) },
      ]);
      assertSameState(await reopenedState(dir), model.initialState(), "after more overwrites");
      assert.deepEqual(
        (await reopenedState(dir)).entries.map((e) => e.term),
        [1, 1, 1, 1, 2, 2, 3, 3, 3],
      );
    });
  });

  test("a snapshot whose last entry matches ours keeps the entries after it", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      await saveAll(dir, model, [
        { entries: entries(1, [1, 1, 2, 2, 3, 3]) },
        { snapshot: snapshot(4, 2), entries: [], hardState: hardState(3, null, 4) },
      ]);
      const state = await reopenedState(dir);
      assertSameState(state, model.initialState());
      assert.deepEqual(
        state.entries.map((e) => e.index),
        [5, 6],
      );
      assert.deepEqual(state.snapshot, snapshot(4, 2));
    });
  });

  test("membership entries and a snapshot's membership survive reopening (thesis §4)", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      const joint = encodeMembership({
        voters: [1, 2, 4].map(asNodeId),
        outgoing: [1, 2, 3].map(asNodeId),
        learners: [asNodeId(5)],
      });
      const settled = encodeMembership(membershipOf([1, 2, 4].map(asNodeId)));
      const configEntries = entries(1, [1, 1, 1, 1]).map((entry, k) =>
        k === 1 || k === 3
          ? { ...entry, data: k === 1 ? joint : settled, kind: "membership" as const }
          : entry,
      );
      const withMembership = { ...snapshot(2, 1), meta: { ...snapshot(2, 1).meta, membership: joint } };
      await saveAll(dir, model, [
        { entries: configEntries },
        { snapshot: withMembership, entries: [], hardState: hardState(1, null, 2) },
      ]);
      const state = await reopenedState(dir);
      assertSameState(state, model.initialState());
      assert.deepEqual(
        state.entries.map((e) => e.kind),
        [undefined, "membership"],
      );
      assert.deepEqual(state.snapshot?.meta.membership, joint);
    });
  });

  test("a snapshot that does not match our log drops all of it, then the log continues after it", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      await saveAll(dir, model, [
        { entries: entries(1, [1, 1, 2, 2, 3, 3]) },
        // Ours at 4 has term 2, the snapshot says 3: everything goes.
        { snapshot: snapshot(4, 3), entries: [], hardState: hardState(3, null, 4) },
      ]);
      assertSameState(await reopenedState(dir), model.initialState(), "after a mismatching snapshot");
      assert.deepEqual((await reopenedState(dir)).entries, []);
      await saveAll(dir, model, [
        { entries: entries(5, [3, 3]) },
        // Beyond our last entry: also drops everything.
        { snapshot: snapshot(10, 4), entries: entries(11, [4]), hardState: hardState(4, 1, 10) },
      ]);
      const state = await reopenedState(dir);
      assertSameState(state, model.initialState(), "after a snapshot past the log");
      assert.deepEqual(
        state.entries.map((e) => e.index),
        [11],
      );
    });
  });

  test("segments roll over when full and are named in order with their first index", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      const updates: StorageUpdate[] = [];
      for (let index = 1; index <= 60; index++) updates.push({ entries: entries(index, [1], 40) });
      await saveAll(dir, model, updates);
      const names = await segmentFiles(dir);
      assert.ok(
        names.length >= 5,
        `60 entries of 40 bytes in 512-byte segments make many, got ${names.length}`,
      );
      const parsed = names.map((name) => /^segment-(\d{16})-(\d{16})\.wal$/.exec(name));
      const sequences = parsed.map((match) => Number(match?.[1]));
      const firstIndexes = parsed.map((match) => Number(match?.[2]));
      assert.deepEqual(
        sequences,
        names.map((_, k) => k + 1),
      );
      assert.deepEqual(
        firstIndexes,
        [...firstIndexes].sort((a, b) => a - b),
        "first indexes increase with the sequence",
      );
      assertSameState(await reopenedState(dir), model.initialState());
    });
  });

  test("a save larger than a segment gets a segment of its own size", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      await saveAll(dir, model, [{ entries: entries(1, [1], 10) }, { entries: entries(2, [1, 1, 1], 600) }]);
      assertSameState(await reopenedState(dir), model.initialState());
    });
  });

  test("a save split into many records fills several segments in order", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      const log = await openDiskLog({ dir, segmentBytes: TINY_SEGMENT_BYTES, recordBytesMax: 200 });
      const big = { entries: entries(1, new Array(40).fill(1), 40), hardState: hardState(1, null, 40) };
      await log.save(big);
      model.apply(big);
      await log.close();
      assert.ok((await segmentFiles(dir)).length >= 4, "40 entries of 40 bytes in 200-byte records");
      assertSameState(await reopenedState(dir), model.initialState());
    });
  });

  test("segments a snapshot covers are deleted, and so is the older snapshot", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      const updates: StorageUpdate[] = [];
      for (let index = 1; index <= 40; index++) updates.push({ entries: entries(index, [1], 40) });
      await saveAll(dir, model, updates);
      const before = await segmentFiles(dir);
      await saveAll(dir, model, [
        { snapshot: snapshot(20, 1), entries: [], hardState: hardState(1, null, 20) },
      ]);
      const afterFirst = await segmentFiles(dir);
      assert.ok(
        afterFirst.length < before.length,
        `some segments go (${before.length} -> ${afterFirst.length})`,
      );
      assert.deepEqual(afterFirst, before.slice(before.length - afterFirst.length), "the oldest ones go");
      assertSameState(await reopenedState(dir), model.initialState(), "after the first snapshot");

      await saveAll(dir, model, [
        { snapshot: snapshot(40, 1), entries: [], hardState: hardState(1, null, 40) },
      ]);
      const files = await readdir(dir);
      assert.deepEqual(
        files.filter((name) => name.endsWith(".snap")),
        ["snapshot-0000000000000040-0000000000000001.snap"],
      );
      assert.deepEqual(
        await segmentFiles(dir),
        [before.at(-1)],
        "only the segment being appended to is left",
      );
      assertSameState(await reopenedState(dir), model.initialState(), "after the second snapshot");
    });
  });

  test("a mismatching snapshot lets every older segment go, and later entries replay after it", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      const updates: StorageUpdate[] = [];
      for (let index = 1; index <= 30; index++) updates.push({ entries: entries(index, [1], 40) });
      updates.push({
        snapshot: snapshot(25, 2),
        entries: entries(26, [2, 2], 40),
        hardState: hardState(2, 0, 25),
      });
      await saveAll(dir, model, updates);
      assert.equal((await segmentFiles(dir)).length, 1);
      const state = await reopenedState(dir);
      assertSameState(state, model.initialState());
      assert.deepEqual(
        state.entries.map((e) => `${e.index}:${e.term}`),
        ["26:2", "27:2"],
      );
    });
  });

  test("a save that does not fit the log is refused and changes nothing", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      const log = await openDiskLog({ dir, segmentBytes: TINY_SEGMENT_BYTES, recordBytesMax: 256 });
      const first = { entries: entries(1, [1, 1]) };
      await log.save(first);
      model.apply(first);
      await assertRejectsWith(log.save({ entries: entries(4, [1]) }), "invalid", /gap/);
      await assertRejectsWith(log.save({ entries: entries(3, [1], 300) }), "invalid", /recordBytesMax/);
      await assertRejectsWith(
        log.save({ entries: [], hardState: hardState(1, null, 3) }),
        "invalid",
        /commit/,
      );
      const next = { entries: entries(3, [1]) };
      await log.save(next);
      model.apply(next);
      assert.equal(log.failed, undefined, "refusing a save does not poison the log");
      await log.close();
      assertSameState(await reopenedState(dir), model.initialState());
    });
  });

  test("close waits for saves in flight; saves after it reject", async () => {
    await withTempDir(async (dir) => {
      const model = new MemoryLogStore();
      const log = await openDiskLog({ dir, segmentBytes: TINY_SEGMENT_BYTES });
      const pending: Promise<void>[] = [];
      for (let index = 1; index <= 20; index++) {
        const update = { entries: entries(index, [1], 30), hardState: hardState(1, null, index) };
        pending.push(log.save(update));
        model.apply(update);
      }
      const closed = log.close();
      await assertRejectsWith(log.save({ entries: entries(21, [1]) }), "closed");
      await Promise.all(pending);
      await closed;
      assertSameState(await reopenedState(dir), model.initialState());
    });
  });
});
