/**
 * The disk log agrees with MemoryLogStore (the in-memory statement of StorageUpdate's rules) over random save
 * sequences: appends that overwrite suffixes, snapshots that keep or drop the log, hard state changes, bursts
 * of concurrent saves riding shared syncs, and close/reopen at random points. After every reopen the
 * recovered state must equal the model's. Tiny segments make roll-over and segment deletion frequent.
 */
import { describe, test } from "node:test";
import fc from "fast-check";
import { asIndex, asNodeId, asTerm, type Entry, type HardState } from "../../../src/core/index.ts";
import { type DiskLog, openDiskLog } from "../../../src/drivers/storage/index.ts";
import type { StorageUpdate } from "../../../src/peer/index.ts";
import { MemoryLogStore } from "../../../src/sim/memory-log-store.ts";
import { assertSameState, withTempDir } from "./helpers.ts";

const PROPERTY = { seed: 20_240_611, numRuns: 100 } as const;
const SEGMENT_BYTES = 512;

interface AppendOp {
  readonly kind: "append";
  readonly back: number;
  readonly count: number;
  readonly termBump: number;
  readonly size: number;
  readonly withHardState: boolean;
  readonly commitStep: number;
}
interface SnapshotOp {
  readonly kind: "snapshot";
  readonly mode: "keep" | "mismatch" | "beyond";
  readonly position: number;
  readonly beyond: number;
  readonly appendAfter: number;
  readonly size: number;
}
interface HardStateOp {
  readonly kind: "hardState";
  readonly termBump: number;
  readonly vote: number | null;
  readonly commitStep: number;
}
interface ReopenOp {
  readonly kind: "reopen";
}
interface BurstOp {
  readonly kind: "burst";
  readonly saves: readonly (AppendOp | HardStateOp)[];
}
type Op = AppendOp | SnapshotOp | HardStateOp | ReopenOp | BurstOp;

/** Mostly 0: a commit index that races to the end of the log leaves no room for a snapshot to drop a suffix. */
const commitStep = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(3) });

const appendOp: fc.Arbitrary<AppendOp> = fc.record({
  kind: fc.constant("append" as const),
  back: fc.nat(6),
  count: fc.integer({ min: 1, max: 5 }),
  termBump: fc.nat(1),
  size: fc.nat(60),
  withHardState: fc.boolean(),
  commitStep,
});
const hardStateOp: fc.Arbitrary<HardStateOp> = fc.record({
  kind: fc.constant("hardState" as const),
  termBump: fc.nat(1),
  vote: fc.option(fc.nat(4), { nil: null }),
  commitStep,
});
const snapshotOp: fc.Arbitrary<SnapshotOp> = fc.record({
  kind: fc.constant("snapshot" as const),
  mode: fc.constantFrom("keep" as const, "mismatch" as const, "beyond" as const),
  position: fc.nat(1000),
  beyond: fc.nat(3),
  appendAfter: fc.oneof(fc.constant(0), fc.nat(3)),
  size: fc.nat(40),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: appendOp },
  { weight: 2, arbitrary: snapshotOp },
  { weight: 2, arbitrary: hardStateOp },
  { weight: 2, arbitrary: fc.constant({ kind: "reopen" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("burst" as const),
      saves: fc.array(fc.oneof(appendOp, hardStateOp), { minLength: 2, maxLength: 8 }),
    }),
  },
);

/** Turns abstract ops into concrete, valid updates against the model, applying each to it as it goes. */
class UpdateMaker {
  readonly model = new MemoryLogStore();
  #term = 1;
  #salt = 0;

  termAt(index: number): number {
    const offset = this.model.offset;
    if (index === offset) return this.model.snapshot?.meta.term ?? 0;
    return this.model.entries[index - offset - 1]?.term ?? 0;
  }

  #hardState(vote: number | null, commit: number): HardState {
    return { term: asTerm(this.#term), vote: vote === null ? null : asNodeId(vote), commit: asIndex(commit) };
  }

  #entries(first: number, count: number, term: number, size: number): Entry[] {
    this.#salt++;
    return Array.from({ length: count }, (_, k) => ({
      index: asIndex(first + k),
      term: asTerm(term),
      data: new Uint8Array(size).map((_, b) => (first + k + b + this.#salt) & 0xff),
    }));
  }

  make(operation: AppendOp | SnapshotOp | HardStateOp): StorageUpdate {
    const update = this.#make(operation);
    this.model.apply(update);
    return update;
  }

  #make(operation: AppendOp | SnapshotOp | HardStateOp): StorageUpdate {
    const offset = this.model.offset;
    const last = this.model.lastIndex();
    const { commit, vote } = this.model.hardState;
    switch (operation.kind) {
      case "append": {
        const first = Math.max(offset + 1, last + 1 - operation.back, commit + 1);
        const term = Math.max(this.termAt(first - 1), this.#term) + operation.termBump;
        this.#term = Math.max(this.#term, term);
        const entries = this.#entries(first, operation.count, term, operation.size);
        const newLast = first + operation.count - 1;
        if (!operation.withHardState) return { entries };
        return {
          entries,
          hardState: this.#hardState(vote, Math.min(commit + operation.commitStep, newLast)),
        };
      }
      case "hardState":
        this.#term += operation.termBump;
        return {
          entries: [],
          hardState: this.#hardState(operation.vote, Math.min(commit + operation.commitStep, last)),
        };
      case "snapshot":
        return this.#snapshot(operation, offset, last, commit, vote);
      default:
        throw new Error(`unexpected op ${JSON.stringify(operation)}`);
    }
  }

  #snapshot(
    operation: SnapshotOp,
    offset: number,
    last: number,
    commit: number,
    vote: number | null,
  ): StorageUpdate {
    let index: number;
    let term: number;
    const lowestMismatch = Math.max(offset + 1, commit);
    if (operation.mode === "keep" && last > offset) {
      index = offset + 1 + (operation.position % (last - offset));
      term = this.termAt(index);
    } else if (operation.mode === "mismatch" && last >= lowestMismatch) {
      index = lowestMismatch + (operation.position % (last - lowestMismatch + 1));
      term = this.termAt(index) + 1;
    } else {
      index = last + 1 + operation.beyond;
      term = Math.max(this.#term, this.termAt(last));
    }
    this.#term = Math.max(this.#term, term);
    const keeps = this.termAt(index) === term && index <= last;
    const newLast = keeps ? last : index;
    const data = new Uint8Array(operation.size).map((_, b) => (index * 3 + b) & 0xff);
    const entries = this.#entries(newLast + 1, operation.appendAfter, this.#term, 20);
    return {
      snapshot: { meta: { index: asIndex(index), term: asTerm(term) }, data },
      entries,
      hardState: this.#hardState(vote, Math.max(commit, index)),
    };
  }
}

async function runScenario(dir: string, ops: readonly Op[]): Promise<void> {
  const maker = new UpdateMaker();
  const open = () => openDiskLog({ dir, segmentBytes: SEGMENT_BYTES });
  let log: DiskLog = await open();
  for (const [step, operation] of ops.entries()) {
    switch (operation.kind) {
      case "reopen":
        await log.close();
        log = await open();
        assertSameState(log.initialState, maker.model.initialState(), `after reopen at step ${step}`);
        break;
      case "burst":
        await Promise.all(operation.saves.map((save) => log.save(maker.make(save))));
        break;
      default:
        await log.save(maker.make(operation));
    }
  }
  await log.close();
  const reopened = await open();
  assertSameState(reopened.initialState, maker.model.initialState(), "at the end");
  await reopened.close();
}

describe("DiskLog against MemoryLogStore", () => {
  test("random save sequences with reopens recover exactly what the model holds", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) =>
        withTempDir((dir) => runScenario(dir, ops)),
      ),
      PROPERTY,
    );
  });
});
