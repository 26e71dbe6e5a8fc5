/**
 * The checker against the definition: on thousands of small random key-value histories (at most 7
 * operations, 1 or 2 keys, few values, some timed out), it says "ok" exactly when a brute-force search over
 * every real-time-respecting ordering (each timed-out operation both included and left out) finds one, and
 * every "ok" comes with a witness that really is a linearization. Medium histories (up to 24 operations),
 * too long for brute force, are checked against a plain memoized search.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { checkOperations, describeResult, kvModel } from "../../src/check/index.ts";
import {
  bruteForceLinearizable,
  isWitnessFor,
  type KvOperation,
  legalHistory,
  memoizedLinearizable,
  mutatedHistory,
  randomHistory,
} from "./kv-histories.ts";

const OPERATIONS_MAX = 7;
/** Medium histories, checked against the plain memoized search instead of brute force. */
const MEDIUM_OPERATIONS_MAX = 24;
const MEDIUM_CLIENTS = 5;
/**
 * Medium properties report their first failure unshrunk: shrinking drives every time towards 0, making all
 * operations concurrent, and the plain reference search is exponential on such histories.
 */
const MEDIUM_RUN = { numRuns: 400, endOnFailure: true } as const;

/** Checks one history both ways and asserts they agree; returns the verdict for the tally. */
function agrees(history: readonly KvOperation[]): boolean {
  const result = checkOperations(kvModel, history);
  const expected = bruteForceLinearizable(history);
  assert.notEqual(result.outcome, "unknown", describeResult(result));
  assert.equal(result.outcome === "ok", expected, `brute force says ${expected}; ${describeResult(result)}`);
  if (result.outcome === "ok")
    assert.ok(isWitnessFor(history, result.linearization), "witness is no linearization");
  if (result.outcome === "illegal")
    assert.ok(result.explanation.blocked.length > 0, "explanation names no operation");
  return expected;
}

describe("checker agrees with brute force", () => {
  test("histories of a simulated linearizable store are all ok", () => {
    fc.assert(
      fc.property(legalHistory(OPERATIONS_MAX), (history) => {
        assert.equal(bruteForceLinearizable(history), true, "generator made an illegal history");
        agrees(history);
      }),
      { seed: 1729, numRuns: 2000 },
    );
  });

  test("legal histories with one answer changed", () => {
    const verdicts = { ok: 0, illegal: 0 };
    fc.assert(
      fc.property(mutatedHistory(OPERATIONS_MAX), (history) => {
        verdicts[agrees(history) ? "ok" : "illegal"]++;
      }),
      { seed: 4104, numRuns: 2000 },
    );
    // Both verdicts must be well represented, or the agreement says little.
    assert.ok(verdicts.ok > 100 && verdicts.illegal > 300, JSON.stringify(verdicts));
  });

  test("arbitrary histories", () => {
    const verdicts = { ok: 0, illegal: 0 };
    fc.assert(
      fc.property(randomHistory(OPERATIONS_MAX), (history) => {
        verdicts[agrees(history) ? "ok" : "illegal"]++;
      }),
      { seed: 31337, numRuns: 2000 },
    );
    assert.ok(verdicts.ok > 100 && verdicts.illegal > 300, JSON.stringify(verdicts));
  });
});

describe("checker agrees with a plain memoized search on medium histories", () => {
  /** Up to 24 operations and 5 clients, so a timed-out operation has many places to go. */
  const agreesWithMemoized = (history: readonly KvOperation[]): boolean => {
    const result = checkOperations(kvModel, history);
    const expected = memoizedLinearizable(history);
    assert.equal(result.outcome === "ok", expected, `reference says ${expected}; ${describeResult(result)}`);
    if (result.outcome === "ok")
      assert.ok(isWitnessFor(history, result.linearization), "witness is no linearization");
    return expected;
  };

  test("simulated linearizable store", () => {
    fc.assert(
      fc.property(legalHistory(MEDIUM_OPERATIONS_MAX, MEDIUM_CLIENTS), (history) => {
        assert.equal(agreesWithMemoized(history), true);
      }),
      { seed: 2718, ...MEDIUM_RUN },
    );
  });

  test("with one answer changed", () => {
    const verdicts = { ok: 0, illegal: 0 };
    fc.assert(
      fc.property(mutatedHistory(MEDIUM_OPERATIONS_MAX, MEDIUM_CLIENTS), (history) => {
        verdicts[agreesWithMemoized(history) ? "ok" : "illegal"]++;
      }),
      { seed: 6174, ...MEDIUM_RUN },
    );
    assert.ok(verdicts.ok > 40 && verdicts.illegal > 100, JSON.stringify(verdicts));
  });
});
