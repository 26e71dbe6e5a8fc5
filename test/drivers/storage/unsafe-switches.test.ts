/**
 * The UNSAFE calibration switches of the disk log (unsafe-switches.ts) do what they say, and nothing when
 * off: by default a save waits for its fdatasync; with acknowledgeBeforeSync it resolves with its sync still
 * held; with volatileWrites too the bytes are not in the file until the sync, so a SIGKILL would drop them;
 * volatileWrites alone still waits for the sync, so it loses nothing acknowledged.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type DiskLog, openDiskLog, type UnsafeStorageSwitches } from "../../../src/drivers/storage/index.ts";
import {
  entries,
  FaultyFileSystem,
  hardState,
  recordExtents,
  segmentFiles,
  waitFor,
  withTempDir,
} from "./helpers.ts";

const isSegment = (path: string): boolean => path.includes("segment-") && !path.endsWith(".tmp");

/** Opens a log whose WAL syncs wait at a gate the test opens; returns the log and the gate's controls. */
async function gatedLog(dir: string, unsafe: UnsafeStorageSwitches | undefined) {
  const files = new FaultyFileSystem();
  const gates: (() => void)[] = [];
  let open = false;
  files.datasyncGate = (path) =>
    isSegment(path) && !open ? new Promise<void>((resolve) => gates.push(resolve)) : Promise.resolve();
  const log: DiskLog = await openDiskLog({
    dir,
    files,
    segmentBytes: 64 * 1024,
    ...(unsafe === undefined ? {} : { unsafe }),
  });
  const walRecords = async () => {
    const [segment] = await segmentFiles(dir);
    return segment === undefined ? 0 : (await recordExtents(join(dir, segment))).length;
  };
  const release = () => {
    open = true;
    for (const gate of gates.splice(0)) gate();
  };
  return { log, files, gates, walRecords, release };
}

/** Whether `promise` settles within a few event-loop turns. */
async function settlesSoon(promise: Promise<void>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe("disk log unsafe switches", () => {
  test("off (the default): a save waits for the fdatasync that covers it", async () => {
    await withTempDir(async (dir) => {
      const { log, files, gates, release } = await gatedLog(dir, undefined);
      const saved = log.save({ entries: entries(1, [1]), hardState: hardState(1, 1, 0) });
      await waitFor(() => gates.length === 1, "the WAL sync to start");
      assert.equal(await settlesSoon(saved), false, "not acknowledged while its sync is held");
      release();
      await saved;
      assert.ok(files.completedDatasyncs.some(isSegment));
      await log.close();
    });
  });

  test("acknowledgeBeforeSync: the save resolves before any WAL sync; the bytes are in the file", async () => {
    await withTempDir(async (dir) => {
      const { log, files, walRecords, release } = await gatedLog(dir, { acknowledgeBeforeSync: true });
      await log.save({ entries: entries(1, [1]), hardState: hardState(1, 1, 0) });
      assert.equal(files.completedDatasyncs.filter(isSegment).length, 0, "acknowledged with nothing synced");
      assert.equal(await walRecords(), 1, "written with write(2): the page cache would survive SIGKILL");
      release();
      await log.close();
    });
  });

  test("acknowledgeBeforeSync with volatileWrites: acknowledged bytes reach the file only at the sync", async () => {
    await withTempDir(async (dir) => {
      const { log, gates, walRecords, release } = await gatedLog(dir, {
        acknowledgeBeforeSync: true,
        volatileWrites: true,
        lazySyncIntervalMs: 200,
      });
      await log.save({ entries: entries(1, [1]), hardState: hardState(1, 1, 0) });
      assert.equal(await walRecords(), 0, "acknowledged, yet not in the file: a SIGKILL now loses it");
      // The lazy syncer gets to it after its interval; its fdatasync hands the bytes to the file first.
      await waitFor(() => gates.length === 1, "the lazy sync", 5000);
      assert.equal(await walRecords(), 1);
      release();
      await log.close();
    });
  });

  test("volatileWrites alone: a save still resolves only once its bytes are synced", async () => {
    await withTempDir(async (dir) => {
      const { log, gates, walRecords, release } = await gatedLog(dir, { volatileWrites: true });
      const saved = log.save({ entries: entries(1, [1]), hardState: hardState(1, 1, 0) });
      await waitFor(() => gates.length === 1, "the WAL sync to start");
      assert.equal(await settlesSoon(saved), false);
      release();
      await saved;
      assert.equal(await walRecords(), 1);
      await log.close();
      const reopened = await openDiskLog({ dir, segmentBytes: 64 * 1024 });
      assert.deepEqual(
        reopened.initialState.entries.map((entry) => entry.index),
        [1],
        "what was acknowledged is on disk",
      );
      await reopened.close();
    });
  });
});
