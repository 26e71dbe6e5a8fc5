/**
 * MemoryLogStore applies storage updates by the rules the core's RaftLog follows (ready.ts): entries overwrite
 * from their first index; a snapshot keeps the later entries only if ours at its index has its term. The
 * property test drives a RaftLog through follower appends and snapshot installs, persists its unstable part
 * the way a Ready hands it out, and checks that the store always equals the log.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { RaftLog } from "../../src/core/raft-log.ts";
import { asIndex, asNodeId, asTerm, type Entry, type Snapshot } from "../../src/core/types.ts";
import { MemoryLogStore } from "../../src/sim/memory-log-store.ts";
import { AssertionFailure } from "../../src/util/assert.ts";
import { entries, initialState } from "../core/helpers.ts";

const PROPERTY = { seed: 42, numRuns: 200 } as const;

function snapshot(index: number, term: number): Snapshot {
  return { meta: { index: asIndex(index), term: asTerm(term) }, data: new Uint8Array([index & 0xff]) };
}

function termsOf(store: MemoryLogStore): number[] {
  return store.entries.map((e) => e.term);
}

describe("MemoryLogStore", () => {
  test("starts empty, or from an initial state", () => {
    const empty = new MemoryLogStore();
    assert.equal(empty.lastIndex(), 0);
    assert.equal(empty.offset, 0);
    assert.deepEqual(empty.hardState, { term: 0, vote: null, commit: 0 });
    const store = new MemoryLogStore(
      initialState({ term: 3, vote: 2, commit: 4, terms: [1, 2], snapshot: snapshot(3, 1) }),
    );
    assert.equal(store.offset, 3);
    assert.equal(store.lastIndex(), 5);
    assert.deepEqual(store.initialState(), {
      hardState: { term: 3, vote: 2, commit: 4 },
      snapshot: snapshot(3, 1),
      entries: entries([1, 2], 4),
    });
  });

  test("entries overwrite everything from their first index on", () => {
    const store = new MemoryLogStore(initialState({ terms: [1, 1, 1, 1] }));
    const result = store.apply({ entries: entries([2, 2], 3) });
    assert.deepEqual(termsOf(store), [1, 1, 2, 2]);
    assert.deepEqual(result, { logChanged: true, termOrVoteChanged: false });
    store.apply({ entries: entries([3], 2) });
    assert.deepEqual(termsOf(store), [1, 3], "a shorter update also drops what followed");
    store.apply({ entries: entries([3], 3) });
    assert.deepEqual(termsOf(store), [1, 3, 3]);
  });

  test("entries must neither leave a gap nor reach into the snapshot", () => {
    const store = new MemoryLogStore(initialState({ terms: [1], snapshot: snapshot(2, 1) }));
    assert.throws(() => store.apply({ entries: entries([1], 5) }), AssertionFailure);
    assert.throws(() => store.apply({ entries: entries([1], 2) }), AssertionFailure);
  });

  test("a snapshot keeps the later entries when our entry at its index has its term", () => {
    const store = new MemoryLogStore(initialState({ terms: [1, 1, 2, 2, 3] }));
    store.apply({ snapshot: snapshot(3, 2), entries: [] });
    assert.equal(store.offset, 3);
    assert.deepEqual(
      store.entries.map((e) => e.index),
      [4, 5],
    );
    assert.deepEqual(termsOf(store), [2, 3]);
  });

  test("a snapshot drops every entry when ours at its index has another term or is missing", () => {
    for (const [index, term] of [
      [3, 1],
      [8, 3],
    ] as const) {
      const store = new MemoryLogStore(initialState({ terms: [1, 1, 2, 2, 3] }));
      store.apply({ snapshot: snapshot(index, term), entries: [] });
      assert.equal(store.offset, index);
      assert.deepEqual(store.entries, []);
      assert.equal(store.lastIndex(), index);
    }
  });

  test("a snapshot then entries in one update: the entries continue the snapshot", () => {
    const store = new MemoryLogStore(initialState({ terms: [1, 1] }));
    store.apply({ snapshot: snapshot(4, 2), entries: entries([2, 3], 5) });
    assert.equal(store.offset, 4);
    assert.deepEqual(termsOf(store), [2, 3]);
  });

  test("the hard state is replaced, and a term or vote change is reported", () => {
    const store = new MemoryLogStore();
    const hard = (term: number, vote: number | null, commit: number) => ({
      term: asTerm(term),
      vote: vote === null ? null : asNodeId(vote),
      commit: asIndex(commit),
    });
    assert.deepEqual(store.apply({ entries: [], hardState: hard(1, 2, 0) }), {
      logChanged: false,
      termOrVoteChanged: true,
    });
    assert.deepEqual(store.apply({ entries: [], hardState: hard(1, 2, 5) }), {
      logChanged: false,
      termOrVoteChanged: false,
    });
    assert.deepEqual(store.hardState, hard(1, 2, 5));
    assert.deepEqual(store.apply({ entries: [] }), { logChanged: false, termOrVoteChanged: false });
  });

  test("initialState returns a copy: later updates do not change it", () => {
    const store = new MemoryLogStore(initialState({ terms: [1, 1] }));
    const before = store.initialState();
    store.apply({ entries: entries([2], 2) });
    assert.deepEqual(
      before.entries.map((e) => e.term),
      [1, 1],
    );
  });

  /** One thing a follower's log can go through between two Readies. */
  type Op =
    | { kind: "append"; prevFraction: number; copied: number; steps: number[] }
    | { kind: "keepSnapshot"; fraction: number }
    | { kind: "dropSnapshot"; ahead: number }
    | { kind: "persist" };

  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("append" as const),
        prevFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        copied: fc.nat(6),
        steps: fc.array(fc.nat(2), { maxLength: 5 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("keepSnapshot" as const),
        fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("dropSnapshot" as const),
        ahead: fc.integer({ min: 1, max: 6 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("persist" as const) }) },
  );

  test("a store fed each Ready's snapshot and entries always equals the core's log", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 8 }),
        fc.array(op, { maxLength: 40 }),
        (raw, ops) => {
          const start = initialState({ terms: [...raw].sort((a, b) => a - b) });
          const log = new RaftLog(start);
          const store = new MemoryLogStore(start);
          let tag = 0;
          let highestTerm = 10;
          const persist = () => {
            // What ready() hands out and advance() acknowledges.
            const snap = log.unstableSnapshot;
            const unstable = log.unstableEntries();
            store.apply({ ...(snap === null ? {} : { snapshot: snap }), entries: unstable });
            log.unstableSnapshot = null;
            const last = unstable[unstable.length - 1];
            if (last !== undefined) log.stableTo(last.index, last.term);
          };
          for (const o of ops) {
            switch (o.kind) {
              case "append": {
                // An AppendEntries that passed the consistency check at prev: copies some of our entries, then
                // continues with terms at least as high (a leader's log).
                const prev = log.offset + Math.floor(o.prevFraction * (log.lastIndex() - log.offset + 0.999));
                const copies: Entry[] = [];
                for (let i = prev + 1; i <= Math.min(log.lastIndex(), prev + o.copied); i++) {
                  copies.push(log.entry(asIndex(i)) as Entry);
                }
                let term: number = copies[copies.length - 1]?.term ?? log.term(asIndex(prev)) ?? 1;
                const fresh = o.steps.map((step, i): Entry => {
                  term = Math.max(1, term + step);
                  return {
                    index: asIndex(prev + copies.length + 1 + i),
                    term: asTerm(term),
                    data: new Uint8Array([++tag & 0xff]),
                  };
                });
                log.appendAfter(asIndex(prev), [...copies, ...fresh]);
                highestTerm = Math.max(highestTerm, term);
                break;
              }
              case "keepSnapshot": {
                // A snapshot that our log continues (its term is ours at its index).
                if (log.lastIndex() <= log.offset) break;
                const index =
                  log.offset + 1 + Math.floor(o.fraction * (log.lastIndex() - log.offset - 0.001));
                log.installSnapshot(snapshot(index, log.term(asIndex(index)) ?? 0));
                break;
              }
              case "dropSnapshot": {
                // A snapshot of a term nobody has seen yet: nothing matches it, in the log or in storage.
                highestTerm++;
                log.installSnapshot(snapshot(log.offset + o.ahead, highestTerm));
                break;
              }
              case "persist":
                persist();
                break;
            }
          }
          persist();
          assert.equal(store.offset, log.offset);
          assert.deepEqual(store.snapshot?.meta ?? null, log.snapshot?.meta ?? null);
          assert.equal(store.lastIndex(), log.lastIndex());
          for (let index = log.firstIndex(); index <= log.lastIndex(); index++) {
            assert.deepEqual(
              store.entries[index - log.firstIndex()],
              log.entry(asIndex(index)),
              `entry ${index}`,
            );
          }
          assert.equal(log.stableIndex, log.lastIndex());
        },
      ),
      PROPERTY,
    );
  });
});
