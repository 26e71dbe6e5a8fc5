/**
 * Recovery from damaged files. A torn last record (cut short, or garbage then zeros) is dropped with a
 * warning that names the file, offset and byte count, and the log carries on from there. Damage anywhere
 * else (a bad record followed by valid ones, a bad record in an earlier segment, a missing segment, a gap in
 * the entries, a hard state or snapshot with no valid alternative, a commit index past the log) makes open
 * reject with code "corrupt", naming the file and byte offset, and leaves every file untouched.
 */
import assert from "node:assert/strict";
import { open, readdir, readFile, truncate, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { encodeSlot, HARD_STATE_FILE, slotOffset } from "../../../src/drivers/storage/hard-state-file.ts";
import { openDiskLog } from "../../../src/drivers/storage/index.ts";
import { encodeEntriesRecord } from "../../../src/drivers/storage/wal-record.ts";
import type { StorageUpdate } from "../../../src/peer/index.ts";
import { MemoryLogStore } from "../../../src/sim/memory-log-store.ts";
import {
  assertRejectsWith,
  assertSameState,
  entries,
  fingerprint,
  hardState,
  RecordingLogger,
  recordExtents,
  segmentFiles,
  snapshot,
  withTempDir,
} from "./helpers.ts";

const SEGMENT_BYTES = 4096;

/** Writes `updates` (one record each) into a new log and closes it; returns the model after each update. */
async function writeLog(
  dir: string,
  updates: readonly StorageUpdate[],
  segmentBytes = SEGMENT_BYTES,
): Promise<MemoryLogStore[]> {
  const log = await openDiskLog({ dir, segmentBytes });
  const model = new MemoryLogStore();
  const states = [new MemoryLogStore(model.initialState())];
  for (const update of updates) {
    await log.save(update);
    model.apply(update);
    states.push(new MemoryLogStore(model.initialState()));
  }
  await log.close();
  return states;
}

/** Five saves of two entries each, the last with a hard state: five records in one segment. */
function fiveSaves(): StorageUpdate[] {
  const updates: StorageUpdate[] = [];
  for (let save = 0; save < 5; save++) updates.push({ entries: entries(1 + 2 * save, [1, 1], 20) });
  return updates;
}

/** Overwrites bytes of a file at `position`. */
async function overwrite(path: string, position: number, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.write(bytes, 0, bytes.length, position);
  } finally {
    await handle.close();
  }
}

/** The one segment of a log directory (the tests that use this write a single segment). */
async function onlySegment(dir: string): Promise<string> {
  const segments = await segmentFiles(dir);
  assert.equal(segments.length, 1);
  return join(dir, segments[0] as string);
}

/** Checks a reopened log holds `expected`, takes more saves, and that those survive another clean reopen. */
async function assertCarriesOn(
  dir: string,
  expected: MemoryLogStore,
  logger: RecordingLogger,
): Promise<void> {
  const log = await openDiskLog({ dir, segmentBytes: SEGMENT_BYTES, logger });
  assertSameState(log.initialState, expected.initialState(), "after dropping the torn record");
  const model = new MemoryLogStore(expected.initialState());
  const next = expected.lastIndex() + 1;
  for (const update of [
    { entries: entries(next, [2, 2], 20, 5), hardState: hardState(2, 1, next) },
    { entries: entries(next + 2, [2], 20, 6) },
  ]) {
    await log.save(update);
    model.apply(update);
  }
  await log.close();
  const quiet = new RecordingLogger();
  const reopened = await openDiskLog({ dir, segmentBytes: SEGMENT_BYTES, logger: quiet });
  assertSameState(reopened.initialState, model.initialState(), "after appending past the repaired tail");
  assert.deepEqual(quiet.at("warn"), [], "the second reopen finds nothing to repair");
  await reopened.close();
}

describe("recovery: torn tail", () => {
  test("a last record cut short is dropped with a warning, and appends continue", async () => {
    await withTempDir(async (dir) => {
      const states = await writeLog(dir, fiveSaves());
      const path = await onlySegment(dir);
      const extents = await recordExtents(path);
      assert.equal(extents.length, 5);
      const last = extents[4]?.start as number;
      await truncate(path, last + 40);

      const logger = new RecordingLogger();
      await assertCarriesOn(dir, states[4] as MemoryLogStore, logger);
      const warnings = logger.at("warn");
      assert.equal(warnings.length, 1);
      assert.deepEqual(warnings[0]?.fields, { file: path, offset: last, droppedBytes: 40 });
      assert.match(warnings[0]?.message ?? "", new RegExp(`${path}.*offset ${last}.*40 bytes`));
    });
  });

  test("a last record overwritten with garbage then zeros is dropped, and appends continue in place", async () => {
    await withTempDir(async (dir) => {
      const states = await writeLog(dir, fiveSaves());
      const path = await onlySegment(dir);
      const { start: last, end: recordEnd } = (await recordExtents(path))[4] as {
        start: number;
        end: number;
      };
      await overwrite(path, last + 20, new Uint8Array(30).fill(0xab));
      await overwrite(path, last + 50, new Uint8Array(recordEnd - last - 50));

      const logger = new RecordingLogger();
      await assertCarriesOn(dir, states[4] as MemoryLogStore, logger);
      // The header is intact, so the whole record its header claims is dropped: the torn record, no more.
      assert.deepEqual(logger.at("warn")[0]?.fields, {
        file: path,
        offset: last,
        droppedBytes: recordEnd - last,
      });
      assert.deepEqual(
        await segmentFiles(dir),
        [path.slice(dir.length + 1)],
        "still one segment: appended in place",
      );
    });
  });

  test("a last record whose header is garbage (the rest never written) is dropped", async () => {
    await withTempDir(async (dir) => {
      const states = await writeLog(dir, fiveSaves());
      const path = await onlySegment(dir);
      const { start: last, end: recordEnd } = (await recordExtents(path))[4] as {
        start: number;
        end: number;
      };
      await overwrite(path, last, new Uint8Array(recordEnd - last));
      await overwrite(path, last, Uint8Array.from([0xc7, 1, 0, 0, 0xff, 0xff, 0x01, 0x00]));

      const logger = new RecordingLogger();
      await assertCarriesOn(dir, states[4] as MemoryLogStore, logger);
      assert.deepEqual(logger.at("warn")[0]?.fields, { file: path, offset: last, droppedBytes: 7 });
    });
  });
});

describe("recovery: corruption refuses to open and touches nothing", () => {
  test("a flipped byte in an early record, followed by valid records", async () => {
    await withTempDir(async (dir) => {
      await writeLog(dir, fiveSaves());
      const path = await onlySegment(dir);
      const first = (await recordExtents(path))[0]?.start as number;
      const bytes = await readFile(path);
      await overwrite(path, first + 30, Uint8Array.of((bytes[first + 30] ?? 0) ^ 0x10));
      const before = await fingerprint(dir);

      const error = await assertRejectsWith(
        openDiskLog({ dir, segmentBytes: SEGMENT_BYTES }),
        "corrupt",
        new RegExp(
          `${path} is corrupt at byte offset ${first}: payload checksum mismatch, followed by a valid record`,
        ),
      );
      assert.equal(error.file, path);
      assert.equal(error.offset, first);
      assert.deepEqual(await fingerprint(dir), before, "no file changed");
    });
  });

  test("a damaged length field in the middle record", async () => {
    await withTempDir(async (dir) => {
      await writeLog(dir, fiveSaves());
      const path = await onlySegment(dir);
      const second = (await recordExtents(path))[2]?.start as number;
      await overwrite(path, second + 5, Uint8Array.of(0x7f));
      const before = await fingerprint(dir);
      const error = await assertRejectsWith(
        openDiskLog({ dir, segmentBytes: SEGMENT_BYTES }),
        "corrupt",
        /header checksum mismatch/,
      );
      assert.equal(error.offset, second);
      assert.deepEqual(await fingerprint(dir), before);
    });
  });

  test("a bad last record in a segment that is not the last one", async () => {
    await withTempDir(async (dir) => {
      const updates: StorageUpdate[] = [];
      for (let index = 1; index <= 30; index++) updates.push({ entries: entries(index, [1], 40) });
      await writeLog(dir, updates, 512);
      const segments = await segmentFiles(dir);
      assert.ok(segments.length >= 3);
      const path = join(dir, segments[0] as string);
      const last = (await recordExtents(path)).at(-1)?.start as number;
      await overwrite(path, last + 40, Uint8Array.of(0xee));
      const before = await fingerprint(dir);
      const error = await assertRejectsWith(
        openDiskLog({ dir, segmentBytes: 512 }),
        "corrupt",
        new RegExp(`${path} is corrupt at byte offset ${last}: .*not the last`),
      );
      assert.equal(error.file, path);
      assert.deepEqual(await fingerprint(dir), before);
    });
  });

  test("a missing segment in the middle of the sequence", async () => {
    await withTempDir(async (dir) => {
      const updates: StorageUpdate[] = [];
      for (let index = 1; index <= 30; index++) updates.push({ entries: entries(index, [1], 40) });
      await writeLog(dir, updates, 512);
      const segments = await segmentFiles(dir);
      await unlink(join(dir, segments[1] as string));
      await assertRejectsWith(openDiskLog({ dir, segmentBytes: 512 }), "corrupt", /segment 2 is missing/);
    });
  });

  test("a record that would leave a gap in the entries", async () => {
    await withTempDir(async (dir) => {
      await writeLog(dir, fiveSaves());
      const path = await onlySegment(dir);
      const end = (await recordExtents(path))[4]?.end as number;
      await overwrite(path, end, encodeEntriesRecord(entries(15, [1])));
      const before = await fingerprint(dir);
      const error = await assertRejectsWith(
        openDiskLog({ dir, segmentBytes: SEGMENT_BYTES }),
        "corrupt",
        new RegExp(
          `byte offset ${end}: record starts at entry 15 but the log before it ends at 10 \\(a gap\\)`,
        ),
      );
      assert.equal(error.offset, end);
      assert.deepEqual(await fingerprint(dir), before);
    });
  });

  test("a hard state file with both slots damaged", async () => {
    await withTempDir(async (dir) => {
      await writeLog(dir, [{ entries: entries(1, [1]), hardState: hardState(1, 0, 1) }]);
      const path = join(dir, HARD_STATE_FILE);
      await overwrite(path, 10, Uint8Array.of(0xff));
      await overwrite(path, 4096 + 10, Uint8Array.of(0xff));
      const before = await fingerprint(dir);
      const error = await assertRejectsWith(
        openDiskLog({ dir }),
        "corrupt",
        new RegExp(`${path} is corrupt at byte offset 0: no valid slot`),
      );
      assert.equal(error.file, path);
      assert.deepEqual(await fingerprint(dir), before);
    });
  });

  test("a commit index past the end of the log", async () => {
    await withTempDir(async (dir) => {
      await writeLog(dir, [{ entries: entries(1, [1, 1]), hardState: hardState(1, 0, 2) }]);
      const path = join(dir, HARD_STATE_FILE);
      // The log wrote sequence 1 when it was created and 2 for the save; forge 3 with commit 9.
      await overwrite(path, slotOffset(3), encodeSlot({ hardState: hardState(1, 0, 9), sequence: 3 }));
      await assertRejectsWith(
        openDiskLog({ dir }),
        "corrupt",
        new RegExp(`${path} is corrupt at byte offset 4096: commit index 9 is past the last index 2`),
      );
    });
  });

  test("a damaged snapshot with no other snapshot", async () => {
    await withTempDir(async (dir) => {
      await writeLog(dir, [{ entries: entries(1, [1, 1, 1]) }, { snapshot: snapshot(2, 1), entries: [] }]);
      const name = (await readdir(dir)).find((file) => file.endsWith(".snap")) as string;
      await overwrite(join(dir, name), 60, Uint8Array.of(0x00));
      const before = await fingerprint(dir);
      await assertRejectsWith(
        openDiskLog({ dir }),
        "corrupt",
        new RegExp(`${join(dir, name)} is corrupt at byte offset 0: checksum mismatch`),
      );
      assert.deepEqual(await fingerprint(dir), before);
    });
  });

  test("a missing hard state file beside a log", async () => {
    await withTempDir(async (dir) => {
      await writeLog(dir, [{ entries: entries(1, [1]) }]);
      await unlink(join(dir, HARD_STATE_FILE));
      await assertRejectsWith(openDiskLog({ dir }), "corrupt", /hard state file is missing/);
    });
  });
});

describe("recovery: alternatives and leftovers", () => {
  test("a torn newest hard state slot falls back to the previous slot, which the next write skips", async () => {
    await withTempDir(async (dir) => {
      await writeLog(dir, [
        { entries: entries(1, [1, 1]), hardState: hardState(1, 0, 1) },
        { entries: [], hardState: hardState(2, 1, 2) },
      ]);
      const path = join(dir, HARD_STATE_FILE);
      // Sequence 3 (the second save) is in slot 1; tear it.
      await overwrite(path, slotOffset(3) + 20, Uint8Array.of(0x55, 0x55));
      const log = await openDiskLog({ dir });
      assert.deepEqual(log.initialState.hardState, hardState(1, 0, 1));
      await log.save({ entries: [], hardState: hardState(3, null, 2) });
      await log.close();
      const reopened = await openDiskLog({ dir });
      assert.deepEqual(reopened.initialState.hardState, hardState(3, null, 2));
      await reopened.close();
    });
  });

  test("a damaged newest snapshot beside an older one left by an unfinished save falls back to the older", async () => {
    await withTempDir(async (dir) => {
      const log = await openDiskLog({ dir, segmentBytes: SEGMENT_BYTES });
      const model = new MemoryLogStore();
      for (const update of [
        { entries: entries(1, [1, 1, 1, 1, 2, 2, 2, 2]), hardState: hardState(2, 0, 6) },
        { snapshot: snapshot(3, 1), entries: [] },
      ]) {
        await log.save(update);
        model.apply(update);
      }
      const olderName = "snapshot-0000000000000003-0000000000000001.snap";
      const older = await readFile(join(dir, olderName));
      await log.save({ snapshot: snapshot(6, 2), entries: [] });
      await log.close();
      // As if the crash came after the newer snapshot was renamed into place but before the older was removed,
      // and the newer one then rotted.
      await writeFile(join(dir, olderName), older);
      const newer = join(dir, "snapshot-0000000000000006-0000000000000002.snap");
      await overwrite(newer, 50, Uint8Array.of(0x99));

      const logger = new RecordingLogger();
      const reopened = await openDiskLog({ dir, segmentBytes: SEGMENT_BYTES, logger });
      assertSameState(reopened.initialState, model.initialState());
      assert.equal(logger.at("error").length, 1);
      assert.equal(logger.at("error")[0]?.fields.file, newer);
      await reopened.close();
    });
  });

  test("temporary files from interrupted writes are removed; unknown files are left with a warning", async () => {
    await withTempDir(async (dir) => {
      const states = await writeLog(dir, fiveSaves());
      await writeFile(join(dir, "segment-0000000000000002-0000000000000011.wal.tmp"), new Uint8Array(100));
      await writeFile(join(dir, "snapshot-0000000000000009-0000000000000001.snap.tmp"), new Uint8Array(10));
      await writeFile(join(dir, "notes.txt"), "hello");
      const logger = new RecordingLogger();
      const log = await openDiskLog({ dir, segmentBytes: SEGMENT_BYTES, logger });
      assertSameState(log.initialState, (states[5] as MemoryLogStore).initialState());
      await log.close();
      assert.deepEqual((await readdir(dir)).sort(), [
        "hard-state",
        "notes.txt",
        "segment-0000000000000001-0000000000000001.wal",
      ]);
      assert.deepEqual(logger.at("warn")[0]?.fields, { dir, files: ["notes.txt"] });
    });
  });
});
