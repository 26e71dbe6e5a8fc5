/**
 * Majority arithmetic (quorum.ts): unit tables plus fast-check properties against brute-force definitions.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { majority, majorityValue, type VoteResult, voteResult } from "../../src/core/quorum.ts";
import { asIndex, asNodeId, type LogIndex, type NodeId } from "../../src/core/types.ts";

const PROPERTY = { seed: 42, numRuns: 200 } as const;

function voters(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => asNodeId(i + 1));
}

/** The highest k that at least a majority has reached, found by trying every candidate. */
function bruteMajorityIndex(indexes: readonly number[]): number {
  let best = 0;
  for (const k of [0, ...indexes]) {
    const reached = indexes.filter((index) => index >= k).length;
    if (reached >= majority(indexes.length) && k > best) best = k;
  }
  return best;
}

/** Won if every way the missing votes could go wins; lost if none does; pending otherwise. */
function bruteVoteResult(n: number, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const missing = voters(n).filter((id) => !votes.has(id));
  let wins = 0;
  const completions = 2 ** missing.length;
  for (let mask = 0; mask < completions; mask++) {
    let granted = [...votes.values()].filter(Boolean).length;
    missing.forEach((_, bit) => {
      if (mask & (1 << bit)) granted++;
    });
    if (granted > n / 2) wins++;
  }
  return wins === completions ? "won" : wins === 0 ? "lost" : "pending";
}

describe("quorum", () => {
  test("majority(n) is floor(n / 2) + 1", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majority), [1, 2, 2, 3, 3, 4, 4]);
  });

  test("majorityValue examples", () => {
    const at = (indexes: number[]) =>
      majorityValue(voters(indexes.length), (id) => asIndex(indexes[id - 1] ?? 0));
    assert.equal(at([5]), 5);
    assert.equal(at([5, 3]), 3);
    assert.equal(at([5, 3, 1]), 3);
    assert.equal(at([1, 5, 3, 9]), 3);
    assert.equal(at([0, 0, 7, 7, 7]), 7);
    assert.equal(at([0, 0, 0, 7, 7]), 0);
  });

  test("majorityValue equals the brute-force majority index", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(20), { minLength: 1, maxLength: 9 }), (indexes) => {
        const ids = voters(indexes.length);
        const got = majorityValue(ids, (id) => asIndex(indexes[id - 1] ?? -1));
        assert.equal(got, bruteMajorityIndex(indexes));
      }),
      PROPERTY,
    );
  });

  test("majorityValue never exceeds what a majority holds and is monotone in every index", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(20), { minLength: 1, maxLength: 9 }),
        fc.nat(8),
        fc.nat(5),
        (indexes, which, raise) => {
          const ids = voters(indexes.length);
          const of = (list: readonly number[]) => (id: NodeId) => asIndex(list[id - 1] ?? 0) as LogIndex;
          const before = majorityValue(ids, of(indexes));
          assert.ok(indexes.filter((index) => index >= before).length >= majority(indexes.length));
          const raised = [...indexes];
          const position = which % raised.length;
          raised[position] = (raised[position] ?? 0) + raise;
          assert.ok(
            majorityValue(ids, of(raised)) >= before,
            "a follower catching up never lowers the commit",
          );
        },
      ),
      PROPERTY,
    );
  });

  test("voteResult examples", () => {
    const tally = (n: number, votes: Array<[number, boolean]>) =>
      voteResult(voters(n), new Map(votes.map(([id, granted]) => [asNodeId(id), granted])));
    assert.equal(tally(1, []), "pending");
    assert.equal(tally(1, [[1, true]]), "won");
    assert.equal(tally(3, [[1, true]]), "pending");
    assert.equal(
      tally(3, [
        [1, true],
        [2, true],
      ]),
      "won",
    );
    assert.equal(
      tally(3, [
        [2, false],
        [3, false],
      ]),
      "lost",
    );
    assert.equal(
      tally(4, [
        [1, true],
        [2, true],
        [3, false],
      ]),
      "pending",
    );
    assert.equal(
      tally(4, [
        [3, false],
        [4, false],
      ]),
      "lost",
      "two of four refused: a majority of three is out of reach",
    );
    assert.equal(tally(3, [[9, true]]), "pending", "votes from non-voters do not count");
  });

  test("voteResult agrees with trying every completion of the missing votes", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 9 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.array(fc.constantFrom<boolean | null>(true, false, null), { minLength: n, maxLength: n }),
            ),
          ),
        ([n, raw]) => {
          const votes = new Map<NodeId, boolean>();
          raw.forEach((vote, i) => {
            if (vote !== null) votes.set(asNodeId(i + 1), vote);
          });
          assert.equal(voteResult(voters(n), votes), bruteVoteResult(n, votes));
        },
      ),
      PROPERTY,
    );
  });

  test("once won or lost, further votes never change the result", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 9 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.shuffledSubarray(voters(n)),
              fc.array(fc.boolean(), { minLength: n, maxLength: n }),
            ),
          ),
        ([n, order, grants]) => {
          const votes = new Map<NodeId, boolean>();
          let decided: VoteResult | null = null;
          order.forEach((id, i) => {
            votes.set(id, grants[i] ?? false);
            const result = voteResult(voters(n), votes);
            if (decided !== null) assert.equal(result, decided);
            else if (result !== "pending") decided = result;
          });
          if (order.length === n)
            assert.notEqual(voteResult(voters(n), votes), "pending", "all votes in decides");
        },
      ),
      PROPERTY,
    );
  });
});
