/**
 * RaftLog: the snapshot boundary, term lookups, slicing limits, the election restriction, and the follower's
 * append rule (§5.3: truncate at the first conflict, never remove a matching entry), with fast-check
 * properties against a small reference model.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { RaftLog } from "../../src/core/raft-log.ts";
import { asIndex, asTerm, type Entry, type Snapshot } from "../../src/core/types.ts";
import { AssertionFailure } from "../../src/util/assert.ts";
import { entries, initialState } from "./helpers.ts";

const PROPERTY = { seed: 42, numRuns: 200 } as const;

function snapshot(index: number, term: number): Snapshot {
  return { meta: { index: asIndex(index), term: asTerm(term) }, data: new Uint8Array() };
}

/** A log holding entries of `terms` after an optional snapshot, all stable, commit 0. */
function logOf(terms: readonly number[], snap: Snapshot | null = null, commit = 0): RaftLog {
  return new RaftLog(initialState({ terms, snapshot: snap, commit }));
}

function termsOf(log: RaftLog): number[] {
  const terms: number[] = [];
  for (let index = log.firstIndex(); index <= log.lastIndex(); index++)
    terms.push(log.term(asIndex(index)) ?? -1);
  return terms;
}

/** Entries with the given terms from `firstIndex`, each tagged with `tag` in its data. */
function tagged(terms: readonly number[], firstIndex: number, tag: number): Entry[] {
  return terms.map((term, i) => ({
    index: asIndex(firstIndex + i),
    term: asTerm(term),
    data: new Uint8Array([tag]),
  }));
}

describe("RaftLog layout", () => {
  test("an empty log: first 1, last 0, term 0 at index 0", () => {
    const log = logOf([]);
    assert.equal(log.firstIndex(), 1);
    assert.equal(log.lastIndex(), 0);
    assert.equal(log.lastTerm(), 0);
    assert.equal(log.term(asIndex(0)), 0);
    assert.equal(log.term(asIndex(1)), undefined);
    assert.equal(log.length, 0);
  });

  test("after a snapshot: the boundary keeps its term, compacted and future indexes have none", () => {
    const log = logOf([3, 4], snapshot(5, 2), 6);
    assert.equal(log.offset, 5);
    assert.equal(log.firstIndex(), 6);
    assert.equal(log.lastIndex(), 7);
    assert.equal(log.lastTerm(), 4);
    assert.equal(log.term(asIndex(5)), 2);
    assert.equal(log.term(asIndex(4)), undefined);
    assert.equal(log.term(asIndex(6)), 3);
    assert.equal(log.term(asIndex(8)), undefined);
    assert.equal(log.entry(asIndex(6))?.term, 3);
    assert.equal(log.committed, 6);
    assert.equal(log.applied, 5, "the state machine starts from the snapshot");
  });

  test("a snapshot with no entries after it: lastTerm is the snapshot's", () => {
    const log = logOf([], snapshot(9, 4));
    assert.equal(log.lastIndex(), 9);
    assert.equal(log.lastTerm(), 4);
    assert.equal(log.committed, 9, "everything in a snapshot is committed");
  });

  test("the commit index from storage is capped at the last index", () => {
    assert.equal(logOf([1, 1], null, 7).committed, 2);
  });

  test("entries that do not follow the snapshot without gaps are refused", () => {
    assert.throws(
      () =>
        new RaftLog({
          hardState: initialState().hardState,
          snapshot: snapshot(3, 1),
          entries: entries([1, 1], 5),
        }),
      AssertionFailure,
    );
  });

  test("slice honours the count and byte limits but always returns at least one entry", () => {
    const big = (index: number): Entry => ({
      index: asIndex(index),
      term: asTerm(1),
      data: new Uint8Array(10),
    });
    const log = new RaftLog({
      hardState: initialState().hardState,
      snapshot: null,
      entries: [1, 2, 3, 4, 5].map(big),
    });
    assert.deepEqual(
      log.slice(asIndex(1), asIndex(5)).map((e) => e.index),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      log.slice(asIndex(2), asIndex(9), 2).map((e) => e.index),
      [2, 3],
    );
    assert.deepEqual(
      log.slice(asIndex(1), asIndex(5), 10, 25).map((e) => e.index),
      [1, 2],
    );
    assert.deepEqual(
      log.slice(asIndex(3), asIndex(5), 10, 1).map((e) => e.index),
      [3],
      "one entry even if it alone exceeds bytesMax",
    );
    assert.deepEqual(log.slice(asIndex(6), asIndex(9)), []);
  });

  test("slice refuses a compacted start", () => {
    const log = logOf([1], snapshot(3, 1));
    assert.throws(() => log.slice(asIndex(3), asIndex(4)), AssertionFailure);
  });

  test("appendAtEnd requires the next index", () => {
    const log = logOf([1, 1]);
    log.appendAtEnd(tagged([2], 3, 0));
    assert.equal(log.lastIndex(), 3);
    assert.throws(() => log.appendAtEnd(tagged([2], 5, 0)), AssertionFailure);
  });
});

describe("RaftLog §5.4.1 isUpToDate", () => {
  const cases: Array<[number, number, boolean]> = [
    // [candidate lastIndex, candidate lastTerm, up to date?] against a log ending at (3, term 2)
    [3, 2, true],
    [4, 2, true],
    [2, 2, false],
    [1, 3, true],
    [9, 1, false],
    [0, 0, false],
  ];
  for (const [lastIndex, lastTerm, expected] of cases) {
    test(`a log ending at (${lastIndex}, term ${lastTerm}) is ${expected ? "" : "not "}at least as up to date as [1, 1, 2]`, () => {
      assert.equal(logOf([1, 1, 2]).isUpToDate(asIndex(lastIndex), asTerm(lastTerm)), expected);
    });
  }

  test("isUpToDate is exactly the lexicographic order on (lastTerm, lastIndex)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 12 }),
        fc.nat(15),
        fc.nat(6),
        (raw, lastIndex, lastTerm) => {
          const terms = [...raw].sort((a, b) => a - b);
          const log = logOf(terms);
          const ours = [log.lastTerm(), log.lastIndex()] as const;
          const expected = lastTerm > ours[0] || (lastTerm === ours[0] && lastIndex >= ours[1]);
          assert.equal(log.isUpToDate(asIndex(lastIndex), asTerm(lastTerm)), expected);
        },
      ),
      PROPERTY,
    );
  });
});

describe("RaftLog §5.3 appendAfter", () => {
  test("matching entries are skipped, the first conflict truncates, the rest is appended", () => {
    const log = logOf([1, 1, 2, 2]);
    assert.equal(log.appendAfter(asIndex(1), tagged([1, 3, 3], 2, 9)), 4);
    assert.deepEqual(termsOf(log), [1, 1, 3, 3]);
    assert.equal(
      log.entry(asIndex(2))?.data[0],
      2,
      "the matching entry 2 is our original (data = its index)",
    );
    assert.equal(log.entry(asIndex(3))?.data[0], 9);
    assert.equal(log.stableIndex, 2, "storage must rewrite from index 3");
    assert.deepEqual(
      log.unstableEntries().map((e) => e.index),
      [3, 4],
    );
  });

  test("a short stale request leaves a longer matching log alone", () => {
    const log = logOf([1, 1, 1, 1]);
    assert.equal(log.appendAfter(asIndex(0), tagged([1, 1], 1, 9)), 2);
    assert.deepEqual(termsOf(log), [1, 1, 1, 1]);
    assert.equal(log.stableIndex, 4);
    assert.deepEqual(log.unstableEntries(), []);
  });

  test("entries already covered by the snapshot are skipped", () => {
    const log = logOf([2], snapshot(3, 1), 3);
    assert.equal(log.appendAfter(asIndex(3), tagged([2, 2], 4, 9)), 5);
    assert.deepEqual(termsOf(log), [2, 2]);
  });

  test("a conflict at a committed index is a broken invariant", () => {
    const log = logOf([1, 1, 1], null, 2);
    assert.throws(() => log.appendAfter(asIndex(1), tagged([2], 2, 9)), AssertionFailure);
  });

  /** The rule of §5.3 written out plainly: a model of the follower's log as (term, tag) pairs. */
  function modelAppend(base: readonly [number, number][], prev: number, sent: readonly [number, number][]) {
    const result = [...base];
    for (let i = 0; i < sent.length; i++) {
      const index = prev + 1 + i;
      const entry = sent[i] as [number, number];
      if (index <= result.length) {
        if (result[index - 1]?.[0] === entry[0]) continue;
        result.length = index - 1;
      }
      result.push(entry);
    }
    return result;
  }

  /** A follower log (sorted terms), a prevLogIndex in it, and a request that copies some then diverges. */
  const appendCase = fc
    .record({
      base: fc
        .array(fc.integer({ min: 1, max: 4 }), { maxLength: 15 })
        .map((t) => [...t].sort((a, b) => a - b)),
      prevFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      copied: fc.nat(15),
      steps: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 8 }),
    })
    .map(({ base, prevFraction, copied, steps }) => {
      const prev = Math.min(base.length, Math.floor(prevFraction * (base.length + 1)));
      const copies = base.slice(prev, prev + copied);
      let term = copies[copies.length - 1] ?? base[prev - 1] ?? 1;
      const fresh = steps.map((step) => {
        term += step;
        return term;
      });
      return { base, prev, sent: [...copies, ...fresh] };
    });

  test("appendAfter equals the model, never removes a matching entry and truncates exactly at the first conflict", () => {
    fc.assert(
      fc.property(appendCase, ({ base, prev, sent }) => {
        const log = logOf([]);
        log.appendAfter(asIndex(0), tagged(base, 1, 0));
        log.stableTo(log.lastIndex(), log.lastTerm());
        const lastNew = log.appendAfter(asIndex(prev), tagged(sent, prev + 1, 1));

        assert.equal(lastNew, prev + sent.length);
        const want = modelAppend(
          base.map((t) => [t, 0]),
          prev,
          sent.map((t) => [t, 1]),
        );
        assert.deepEqual(
          Array.from({ length: log.lastIndex() }, (_, i) => {
            const e = log.entry(asIndex(i + 1));
            return [e?.term, e?.data[0]];
          }),
          want,
        );
        const firstConflict = sent.findIndex(
          (term, i) => prev + 1 + i <= base.length && base[prev + i] !== term,
        );
        if (firstConflict === -1) {
          // Nothing conflicts: every entry we had is still there, untouched.
          assert.ok(log.lastIndex() >= base.length);
          for (let i = 0; i < base.length; i++) assert.equal(log.entry(asIndex(i + 1))?.data[0], 0);
          assert.equal(log.stableIndex, base.length);
        } else {
          const at = prev + 1 + firstConflict;
          assert.equal(log.lastIndex(), prev + sent.length, "after a conflict the log ends with the request");
          for (let i = 1; i < at; i++)
            assert.equal(log.term(asIndex(i)), base[i - 1], `entry ${i} before the conflict`);
          assert.equal(log.stableIndex, at - 1, "storage keeps exactly the entries before the conflict");
        }
        assert.deepEqual(
          log.unstableEntries().map((e) => e.index),
          Array.from({ length: log.lastIndex() - log.stableIndex }, (_, i) => log.stableIndex + 1 + i),
        );
      }),
      PROPERTY,
    );
  });

  test("appending the same request twice changes nothing the second time", () => {
    fc.assert(
      fc.property(appendCase, ({ base, prev, sent }) => {
        const log = logOf(base);
        log.appendAfter(asIndex(prev), tagged(sent, prev + 1, 1));
        const once = termsOf(log);
        const stable = log.stableIndex;
        log.appendAfter(asIndex(prev), tagged(sent, prev + 1, 2));
        assert.deepEqual(termsOf(log), once);
        assert.equal(log.stableIndex, stable);
      }),
      PROPERTY,
    );
  });
});

describe("RaftLog commit, apply and stability", () => {
  test("commitTo only moves forward and never past the last index", () => {
    const log = logOf([1, 1, 1]);
    assert.equal(log.commitTo(asIndex(2)), true);
    assert.equal(log.commitTo(asIndex(1)), false);
    assert.equal(log.committed, 2);
    assert.throws(() => log.commitTo(asIndex(4)), AssertionFailure);
  });

  test("committed entries are handed out once, from applied + 1", () => {
    const log = logOf([1, 1, 1, 1]);
    log.commitTo(asIndex(3));
    assert.deepEqual(
      log.committedToApply().map((e) => e.index),
      [1, 2, 3],
    );
    log.appliedTo(asIndex(2));
    assert.deepEqual(
      log.committedToApply().map((e) => e.index),
      [3],
    );
    log.appliedTo(asIndex(1)); // going back is ignored
    assert.equal(log.applied, 2);
    assert.throws(() => log.appliedTo(asIndex(4)), AssertionFailure, "cannot apply beyond commit");
  });

  test("stableTo ignores an acknowledgement for entries replaced meanwhile", () => {
    const log = logOf([]);
    log.appendAfter(asIndex(0), tagged([1, 1], 1, 0));
    log.appendAfter(asIndex(1), tagged([2], 2, 0)); // entry 2 replaced before storage answered
    log.stableTo(asIndex(2), asTerm(1));
    assert.equal(log.stableIndex, 0);
    log.stableTo(asIndex(2), asTerm(2));
    assert.equal(log.stableIndex, 2);
  });

  test("firstIndexOfTermAt and lastIndexOfTerm find term boundaries, not looking below the snapshot", () => {
    const log = logOf([2, 2, 3, 3, 3, 5], snapshot(2, 2), 2); // indexes 3..8
    assert.equal(log.firstIndexOfTermAt(asIndex(7)), 5);
    assert.equal(log.firstIndexOfTermAt(asIndex(4)), 3, "stops at the boundary");
    assert.equal(log.lastIndexOfTerm(asTerm(3)), 7);
    assert.equal(log.lastIndexOfTerm(asTerm(5)), 8);
    assert.equal(log.lastIndexOfTerm(asTerm(4)), undefined);
    assert.equal(log.lastIndexOfTerm(asTerm(1)), undefined, "compacted away");
  });
});

describe("RaftLog §7 installSnapshot", () => {
  test("keeps the entries after the snapshot when our entry at its index has its term", () => {
    const log = logOf([1, 1, 2, 2, 3]);
    log.installSnapshot(snapshot(3, 2));
    assert.equal(log.offset, 3);
    assert.deepEqual(termsOf(log), [2, 3]);
    assert.equal(log.committed, 3);
    assert.equal(log.stableIndex, 5);
    assert.notEqual(log.unstableSnapshot, null);
  });

  test("drops the whole log when our entry at its index has another term or is missing", () => {
    for (const [index, term] of [
      [3, 3],
      [9, 3],
    ] as const) {
      const log = logOf([1, 1, 2, 2, 3]);
      log.installSnapshot(snapshot(index, term));
      assert.equal(log.offset, index);
      assert.equal(log.lastIndex(), index);
      assert.equal(log.lastTerm(), term);
      assert.equal(log.stableIndex, index);
      assert.deepEqual(log.unstableEntries(), []);
    }
  });

  test("refuses a snapshot that does not move the boundary forward", () => {
    const log = logOf([1], snapshot(4, 1), 4);
    assert.throws(() => log.installSnapshot(snapshot(4, 1)), AssertionFailure);
    assert.throws(() => log.installSnapshot(snapshot(2, 1)), AssertionFailure);
  });
});
