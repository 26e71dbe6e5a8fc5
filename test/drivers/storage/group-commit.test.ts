/**
 * Group commit: one fdatasync at a time, saves that arrive during it written at once and carried together by
 * the next one, and no save resolving before the sync that covers it. An injected file system holds WAL
 * syncs at a gate the test opens, so what is in flight at each moment is known exactly.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openDiskLog } from "../../../src/drivers/storage/index.ts";
import type { StorageUpdate } from "../../../src/peer/index.ts";
import { MemoryLogStore } from "../../../src/sim/memory-log-store.ts";
import { assertSameState, entries, FaultyFileSystem, hardState, waitFor, withTempDir } from "./helpers.ts";

const isSegment = (path: string): boolean => path.includes("segment-") && !path.endsWith(".tmp");

describe("group commit", () => {
  test("saves arriving during a sync are written at once and share the next sync", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      const gates: (() => void)[] = [];
      files.datasyncGate = (path) =>
        isSegment(path) ? new Promise<void>((resolve) => gates.push(resolve)) : Promise.resolve();
      const log = await openDiskLog({ dir, files, segmentBytes: 1024 * 1024 });
      const model = new MemoryLogStore();
      const saveCount = 50;
      /** For each save, in the order they resolved: its number and how many WAL syncs had completed. */
      const resolved: { save: number; walSyncsDone: number }[] = [];
      const walSyncsDone = () => files.completedDatasyncs.filter(isSegment).length;
      const walWrites = () => files.writes.filter(isSegment).length;
      const pending: Promise<void>[] = [];
      for (let save = 1; save <= saveCount; save++) {
        const update: StorageUpdate = { entries: entries(save, [1]), hardState: hardState(1, 0, save) };
        model.apply(update);
        pending.push(log.save(update).then(() => void resolved.push({ save, walSyncsDone: walSyncsDone() })));
      }

      // The first save's write started the first sync; the other 49 were written while it was held.
      await waitFor(
        () => gates.length === 1 && walWrites() === saveCount,
        "every save written, one sync held",
      );
      assert.equal(resolved.length, 0, "nothing resolves while its sync is held");
      assert.equal(files.datasyncs.filter(isSegment).length, 1, "one WAL sync so far");

      gates.shift()?.();
      await waitFor(() => gates.length === 1, "the second sync to start");
      assert.deepEqual(
        [...resolved],
        [{ save: 1, walSyncsDone: 1 }],
        "the first sync covered only the first save",
      );

      gates.shift()?.();
      await Promise.all(pending);
      assert.equal(resolved.length, saveCount);
      assert.deepEqual(
        resolved.map((r) => r.save),
        Array.from({ length: saveCount }, (_, k) => k + 1),
        "saves resolve in order",
      );
      for (const { save, walSyncsDone } of resolved.slice(1)) {
        assert.equal(walSyncsDone, 2, `save ${save} resolved after the second sync`);
      }
      assert.equal(files.datasyncs.filter(isSegment).length, 2, "two WAL syncs for fifty saves");
      // Term 1 is new, so the first batch syncs the hard state; the second changes only the commit index,
      // which is written without a sync (a lost commit index is relearned from the leader).
      assert.equal(files.datasyncs.filter((path) => path.endsWith("hard-state")).length, 1);
      assert.equal(files.maxSyncsInFlight, 1, "never more than one sync at a time");
      await log.close();

      const reopened = await openDiskLog({ dir });
      assertSameState(reopened.initialState, model.initialState());
      await reopened.close();
    });
  });

  test("under slow syncs, many concurrent saves need far fewer syncs than saves", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      files.datasyncDelayMs = 20;
      const log = await openDiskLog({ dir, files, segmentBytes: 4096 });
      const model = new MemoryLogStore();
      const saveCount = 200;
      let resolvedBeforeAnySync = 0;
      const pending: Promise<void>[] = [];
      for (let save = 1; save <= saveCount; save++) {
        const update: StorageUpdate = {
          entries: entries(save, [1], 32),
          hardState: hardState(1, null, save),
        };
        model.apply(update);
        pending.push(
          log.save(update).then(() => {
            if (files.completedDatasyncs.filter(isSegment).length === 0) resolvedBeforeAnySync++;
          }),
        );
      }
      await Promise.all(pending);
      const walSyncs = files.datasyncs.filter(isSegment).length;
      assert.ok(walSyncs * 4 < saveCount, `${walSyncs} WAL syncs for ${saveCount} saves`);
      assert.equal(resolvedBeforeAnySync, 0);
      assert.equal(
        files.maxSyncsInFlight,
        1,
        "never more than one sync at a time, segment roll-overs included",
      );
      await log.close();

      const reopened = await openDiskLog({ dir, segmentBytes: 4096 });
      assertSameState(reopened.initialState, model.initialState());
      await reopened.close();
    });
  });
});
