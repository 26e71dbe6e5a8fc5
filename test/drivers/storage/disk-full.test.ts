/**
 * Failed writes and syncs. An injected ENOSPC, EIO or short write fails that save with code "io" naming the
 * operation and file, poisons the log (every later save rejects, nothing more is written), and a reopen
 * recovers every save that resolved. Then the same on a real full disk: a 256 KiB tmpfs, when this process
 * may mount one (root with the privilege to mount); otherwise the test shows the mount was refused for lack
 * of permission and says the real-disk case did not run.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import type { InitialState } from "../../../src/core/index.ts";
import { type DiskLog, openDiskLog } from "../../../src/drivers/storage/index.ts";
import type { StorageUpdate } from "../../../src/peer/index.ts";
import { MemoryLogStore } from "../../../src/sim/memory-log-store.ts";
import {
  assertRejectsWith,
  assertSameState,
  entries,
  type Fault,
  FaultyFileSystem,
  hardState,
  RecordingLogger,
  withTempDir,
} from "./helpers.ts";

/** Save number `n` (from 1): one entry at index n and a hard state committing it. */
function saveNumber(n: number, size = 24): StorageUpdate {
  return { entries: entries(n, [1], size), hardState: hardState(1, 0, n) };
}

/** Opens a log on an injected file system and makes `count` saves that all resolve. */
async function logWithSaves(dir: string, files: FaultyFileSystem, count: number, segmentBytes = 4096) {
  const log = await openDiskLog({ dir, files, segmentBytes });
  const model = new MemoryLogStore();
  for (let n = 1; n <= count; n++) {
    await log.save(saveNumber(n));
    model.apply(saveNumber(n));
  }
  return { log, model };
}

async function recoveredState(dir: string, logger?: RecordingLogger): Promise<InitialState> {
  const log = await openDiskLog({ dir, ...(logger === undefined ? {} : { logger }) });
  const state = log.initialState;
  await log.close();
  return state;
}

/** Asserts the log is poisoned: a new save rejects with `io`, saying an earlier failure stopped it. */
async function assertPoisoned(log: DiskLog, next: number): Promise<void> {
  assert.ok(log.failed !== undefined, "the log records its failure");
  await assertRejectsWith(log.save(saveNumber(next)), "io", /failed earlier and takes no more saves/);
}

describe("failed writes and syncs poison the log", () => {
  test("ENOSPC on a WAL write: the save fails, later ones too, and reopen recovers exactly the resolved saves", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      const { log, model } = await logWithSaves(dir, files, 5);
      files.faults.push({ operation: "write", pathIncludes: "segment-", failure: "ENOSPC" });
      const error = await assertRejectsWith(log.save(saveNumber(6)), "io", /^write .*segment-.*\(ENOSPC\)/);
      assert.match(error.file ?? "", /segment-0000000000000001-0000000000000001\.wal$/);
      await assertPoisoned(log, 7);
      const writesAfter = files.writes.length;
      await assertPoisoned(log, 8);
      assert.equal(files.writes.length, writesAfter, "nothing more is written");
      await log.close();
      assertSameState(await recoveredState(dir), model.initialState());
    });
  });

  test("a short write finished by the next write call: the save succeeds", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      const { log, model } = await logWithSaves(dir, files, 5);
      files.faults.push({ operation: "write", pathIncludes: "segment-", failure: "short" });
      await log.save(saveNumber(6));
      model.apply(saveNumber(6));
      assert.equal(files.faults.length, 0, "the short write happened");
      assert.equal(log.failed, undefined);
      await log.close();
      assertSameState(await recoveredState(dir), model.initialState());
    });
  });

  test("a short write whose rest hits ENOSPC: the save fails and reopen drops the partial record", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      const { log, model } = await logWithSaves(dir, files, 5);
      files.faults.push(
        { operation: "write", pathIncludes: "segment-", failure: "short" },
        { operation: "write", pathIncludes: "segment-", failure: "ENOSPC" },
      );
      await assertRejectsWith(
        log.save(saveNumber(6)),
        "io",
        /^write .*segment-.*failed \(ENOSPC\) after a short write of \d+ of \d+ bytes/,
      );
      await assertPoisoned(log, 7);
      await log.close();
      const logger = new RecordingLogger();
      assertSameState(await recoveredState(dir, logger), model.initialState());
      assert.equal(logger.at("warn").length, 1, "the half-written record is reported as torn");
    });
  });

  test("a write that makes no progress fails as a short write", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      const { log, model } = await logWithSaves(dir, files, 2);
      files.faults.push({ operation: "write", pathIncludes: "segment-", failure: "stuck" });
      await assertRejectsWith(log.save(saveNumber(3)), "io", /short write of 0 of \d+ bytes at offset \d+/);
      await assertPoisoned(log, 4);
      await log.close();
      assertSameState(await recoveredState(dir), model.initialState());
    });
  });

  test("ENOSPC creating a new segment: nothing of the save is written", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      const { log, model } = await logWithSaves(dir, files, 3, 256);
      files.faults.push({ operation: "write", pathIncludes: ".wal.tmp", failure: "ENOSPC" });
      let failure: unknown;
      // Small segments fill within a few saves; the save that needs a new one fails.
      for (let n = 4; n <= 20 && failure === undefined; n++) {
        await log.save(saveNumber(n)).then(
          () => model.apply(saveNumber(n)),
          (error: unknown) => {
            failure = error;
          },
        );
      }
      assert.ok(
        failure instanceof Error && /\.wal\.tmp failed \(ENOSPC\)/.test(failure.message),
        String(failure),
      );
      await log.close();
      assertSameState(await recoveredState(dir), model.initialState());
      assert.ok(
        !(await readdir(dir)).some((name) => name.endsWith(".tmp")),
        "the partial segment was removed",
      );
    });
  });

  test("EIO on the WAL fdatasync: that save and the one written behind it fail; the resolved ones survive", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      const { log, model } = await logWithSaves(dir, files, 5);
      const fault: Fault = { operation: "datasync", pathIncludes: "segment-", failure: "EIO" };
      files.faults.push(fault);
      const sixth = log.save(saveNumber(6));
      const seventh = log.save(saveNumber(7));
      await assertRejectsWith(sixth, "io", /^fdatasync .*segment-.*\(EIO\)/);
      await assertRejectsWith(seventh, "io");
      await assertPoisoned(log, 8);
      await log.close();
      // The failed saves' bytes reached the page cache before the sync failed, so they may or may not come
      // back, as after a crash; the hard state, written only after a successful WAL sync, must not.
      const recovered = await recoveredState(dir);
      assert.deepEqual(recovered.hardState, model.hardState, "the hard state of the last resolved save");
      const candidates = [model.initialState().entries];
      for (const n of [6, 7]) {
        model.apply({ entries: saveNumber(n).entries });
        candidates.push(model.initialState().entries);
      }
      assert.ok(
        candidates.some((candidate) => candidate.length === recovered.entries.length),
        `recovered ${recovered.entries.length} entries, a prefix of the saves`,
      );
      assert.deepEqual(
        recovered.entries,
        candidates.find((c) => c.length === recovered.entries.length),
      );
    });
  });

  test("EIO on the hard state fdatasync: the save fails; its entries were durable, its hard state may be", async () => {
    await withTempDir(async (dir) => {
      const files = new FaultyFileSystem();
      const { log, model } = await logWithSaves(dir, files, 5);
      const before = model.hardState;
      files.faults.push({ operation: "datasync", pathIncludes: "hard-state", failure: "EIO" });
      // A new term is synced (a commit index alone is written without a sync, so it could not fail here).
      const newTerm: StorageUpdate = { ...saveNumber(6), hardState: hardState(2, 0, 6) };
      await assertRejectsWith(log.save(newTerm), "io", /^fdatasync .*hard-state.*\(EIO\)/);
      await assertPoisoned(log, 7);
      await log.close();
      model.apply(newTerm);
      const recovered = await recoveredState(dir);
      assert.deepEqual(recovered.entries, model.initialState().entries);
      assert.ok(
        [before, model.hardState].some((candidate) => candidate.commit === recovered.hardState.commit),
        "the old or the new hard state",
      );
    });
  });
});

/** Why a failed `mount` failed, from its exit and output; true when it was a matter of permission. */
function isPermissionFailure(result: ReturnType<typeof spawnSync>): boolean {
  const output = `${result.error?.message ?? ""} ${String(result.stderr)}`;
  return /permission denied|operation not permitted|must be superuser|only root|EPERM|EACCES/i.test(output);
}

/** Saves until one fails on the full disk; returns the model of the saves that resolved and the failure. */
async function fillDisk(dir: string) {
  const log = await openDiskLog({ dir, segmentBytes: 16 * 1024 });
  const model = new MemoryLogStore();
  // 256 KiB hold fewer than 300 saves of ~1 KiB; the bound only stops a disk that never fills.
  const savesMax = 2000;
  let failure: unknown;
  for (let n = 1; n <= savesMax && failure === undefined; n++) {
    await log.save(saveNumber(n, 1000)).then(
      () => model.apply(saveNumber(n, 1000)),
      (error: unknown) => {
        failure = error;
      },
    );
  }
  return { log, model, failure };
}

describe("a real full disk", () => {
  test("on a 256 KiB tmpfs: save until the disk is full, then the same guarantees", async (t: TestContext) => {
    if (process.getuid?.() !== 0) {
      t.diagnostic("not running as root, so no tmpfs can be mounted: the real-disk case was not exercised");
      assert.notEqual(process.getuid?.(), 0, "the reason is permission: this process is not root");
      return;
    }
    await withTempDir(async (dir) => {
      const mountPoint = join(dir, "full");
      await mkdir(mountPoint);
      const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint], {
        encoding: "utf8",
      });
      if (mounted.error !== undefined || mounted.status !== 0) {
        t.diagnostic(
          `mount refused (${String(mounted.stderr).trim()}): the real-disk case was not exercised`,
        );
        assert.ok(
          isPermissionFailure(mounted),
          `mount failed for a reason other than permission: ${mounted.stderr}`,
        );
        return;
      }
      let log: DiskLog | undefined;
      try {
        const filled = await fillDisk(mountPoint);
        log = filled.log;
        const { model, failure } = filled;
        assert.ok(failure instanceof Error, "the disk filled up");
        assert.equal((failure as { code?: unknown }).code, "io");
        assert.match(failure.message, /ENOSPC/);
        assert.ok(model.lastIndex() > 50, `many saves resolved first (${model.lastIndex()})`);
        t.diagnostic(`the disk filled after ${model.lastIndex()} saves: ${failure.message}`);
        await assertPoisoned(log, model.lastIndex() + 2);
        await log.close();
        assertSameState(await recoveredState(mountPoint), model.initialState());
      } finally {
        // Close first (a failed assertion may have left the log open), or the unmount finds the tmpfs busy.
        await log?.close().catch(() => undefined);
        const unmounted = spawnSync("umount", [mountPoint], { encoding: "utf8" });
        if (unmounted.status !== 0) spawnSync("umount", ["-l", mountPoint]);
        assert.equal(unmounted.status, 0, `umount ${mountPoint}: ${unmounted.stderr}`);
      }
    });
  });
});
