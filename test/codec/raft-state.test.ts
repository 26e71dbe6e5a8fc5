/**
 * The persisted Raft state encoding (raft-state.ts): round trips, byte-for-byte agreement of the incremental
 * RaftStateWriter with encodeRaftState, and clear Errors on anything malformed. decodeRaftState must throw,
 * never hand back garbage.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encode } from "../../src/codec/msgpack.ts";
import {
  decodeRaftState,
  encodeRaftState,
  type PersistedRaftState,
  RAFT_STATE_VERSION,
  RaftStateWriter,
} from "../../src/codec/raft-state.ts";
import { asIndex, asNodeId, asTerm, type Entry } from "../../src/core/types.ts";
import { membershipBytes } from "../drivers/transport/arbitraries.ts";

const PROPERTY = { seed: 42, numRuns: 200 } as const;

const persistedState: fc.Arbitrary<PersistedRaftState> = fc
  .record({
    term: fc.nat(1_000_000),
    vote: fc.option(fc.nat(1000), { nil: null }),
    commit: fc.nat(1_000_000),
    snapshotIndex: fc.nat(1_000_000),
    snapshotTerm: fc.nat(1_000_000),
    entries: fc.array(
      fc.tuple(
        fc.nat(2 ** 40),
        fc.oneof(
          { weight: 9, arbitrary: fc.uint8Array({ maxLength: 40 }).map((data) => ({ data })) },
          { weight: 1, arbitrary: membershipBytes.map((data) => ({ data, kind: "membership" as const })) },
        ),
      ),
      { maxLength: 20 },
    ),
    snapshotMembership: fc.option(membershipBytes, { nil: undefined }),
  })
  .map(({ term, vote, commit, snapshotIndex, snapshotTerm, entries, snapshotMembership }) => ({
    hardState: { term: asTerm(term), vote: vote === null ? null : asNodeId(vote), commit: asIndex(commit) },
    snapshotMeta: {
      index: asIndex(snapshotIndex),
      term: asTerm(snapshotTerm),
      ...(snapshotMembership === undefined ? {} : { membership: snapshotMembership }),
    },
    entries: entries.map(([entryTerm, content], i) => ({
      index: asIndex(snapshotIndex + 1 + i),
      term: asTerm(entryTerm),
      ...content,
    })),
  }));

/** Plain data for comparisons: byte arrays as number arrays (decoding yields Buffers). */
function plain(state: PersistedRaftState) {
  return {
    hardState: state.hardState,
    snapshotMeta: {
      ...state.snapshotMeta,
      ...(state.snapshotMeta.membership === undefined
        ? {}
        : { membership: [...state.snapshotMeta.membership] }),
    },
    entries: state.entries.map((e) => ({ index: e.index, term: e.term, data: [...e.data], kind: e.kind })),
  };
}

/** Checks that a decoded state is well-formed: what a caller may rely on if decodeRaftState returns. */
function assertWellFormed(state: PersistedRaftState): void {
  const isNatural = (value: number) => Number.isSafeInteger(value) && value >= 0;
  const naturals = [
    state.hardState.term,
    state.hardState.commit,
    state.snapshotMeta.index,
    state.snapshotMeta.term,
  ];
  for (const value of naturals) assert.ok(isNatural(value), `not a non-negative integer: ${value}`);
  assert.ok(state.hardState.vote === null || isNatural(state.hardState.vote));
  state.entries.forEach((entry, i) => {
    assert.equal(entry.index, state.snapshotMeta.index + 1 + i);
    assert.ok(isNatural(entry.term));
    assert.ok(entry.data instanceof Uint8Array);
  });
}

describe("persisted Raft state", () => {
  test("encode then decode gives the same state back", () => {
    fc.assert(
      fc.property(persistedState, (state) => {
        const decoded = decodeRaftState(encodeRaftState(state));
        assert.deepEqual(plain(decoded), plain(state));
      }),
      PROPERTY,
    );
  });

  test("an empty first-boot state round-trips and stays small", () => {
    const empty: PersistedRaftState = {
      hardState: { term: asTerm(0), vote: null, commit: asIndex(0) },
      snapshotMeta: { index: asIndex(0), term: asTerm(0) },
      entries: [],
    };
    const bytes = encodeRaftState(empty);
    assert.ok(bytes.length <= 8, `${bytes.length} bytes`);
    assert.deepEqual(plain(decodeRaftState(bytes)), plain(empty));
  });

  test("the vote of node 0 is not confused with no vote", () => {
    const state: PersistedRaftState = {
      hardState: { term: asTerm(1), vote: asNodeId(0), commit: asIndex(0) },
      snapshotMeta: { index: asIndex(0), term: asTerm(0) },
      entries: [],
    };
    assert.equal(decodeRaftState(encodeRaftState(state)).hardState.vote, 0);
  });

  const malformed: Array<[string, unknown]> = [
    ["a map instead of an array", { version: 1 }],
    ["a number", 1],
    ["a string", "raft"],
    ["null", null],
    ["too few fields", [RAFT_STATE_VERSION, 1, -1, 0, 0]],
    ["an entry term without data", [RAFT_STATE_VERSION, 1, -1, 0, 0, 0, 1]],
    ["version 0", [0, 1, -1, 0, 0, 0]],
    ["version 2", [2, 1, -1, 0, 0, 0]],
    ["version as a string", ["1", 1, -1, 0, 0, 0]],
    ["a string term", [RAFT_STATE_VERSION, "1", -1, 0, 0, 0]],
    ["a fractional term", [RAFT_STATE_VERSION, 1.5, -1, 0, 0, 0]],
    ["a null vote", [RAFT_STATE_VERSION, 1, null, 0, 0, 0]],
    ["a boolean commit", [RAFT_STATE_VERSION, 1, -1, true, 0, 0]],
    ["an unsafe snapshot index", [RAFT_STATE_VERSION, 1, -1, 0, 2 ** 60, 0]],
    ["an infinite snapshot term", [RAFT_STATE_VERSION, 1, -1, 0, 0, Number.POSITIVE_INFINITY]],
    ["entry data as a string", [RAFT_STATE_VERSION, 1, -1, 0, 0, 0, 1, "data"]],
    ["entry data as an array", [RAFT_STATE_VERSION, 1, -1, 0, 0, 0, 1, [1, 2]]],
    [
      "an entry term as bytes",
      [RAFT_STATE_VERSION, 1, -1, 0, 0, 0, new Uint8Array([1]), new Uint8Array([1])],
    ],
    ["a negative term", [RAFT_STATE_VERSION, -3, -1, 0, 0, 0]],
    ["a vote below -1", [RAFT_STATE_VERSION, 3, -2, 0, 0, 0]],
    ["a negative commit", [RAFT_STATE_VERSION, 3, -1, -1, 0, 0]],
    ["a negative snapshot index", [RAFT_STATE_VERSION, 3, -1, 0, -2, 0]],
    ["a negative snapshot term", [RAFT_STATE_VERSION, 3, -1, 0, 0, -5]],
    ["a negative entry term", [RAFT_STATE_VERSION, 3, -1, 0, 0, 0, -9, new Uint8Array([1])]],
  ];
  for (const [name, value] of malformed) {
    test(`decodeRaftState throws an Error on ${name}`, () => {
      assert.throws(() => decodeRaftState(encode(value)), Error);
    });
  }

  test("decodeRaftState names the unknown version", () => {
    assert.throws(() => decodeRaftState(encode([7, 1, -1, 0, 0, 0])), /unknown version 7/);
  });

  test("every truncation of a valid state throws an Error", () => {
    fc.assert(
      fc.property(persistedState, (state) => {
        const bytes = encodeRaftState(state);
        for (let length = 0; length < bytes.length; length++) {
          assert.throws(
            () => decodeRaftState(bytes.subarray(0, length)),
            Error,
            `prefix ${length} of ${bytes.length}`,
          );
        }
      }),
      { ...PROPERTY, numRuns: 50 },
    );
  });

  test("a valid state followed by extra bytes throws an Error", () => {
    fc.assert(
      fc.property(persistedState, fc.uint8Array({ minLength: 1, maxLength: 8 }), (state, extra) => {
        const bytes = encodeRaftState(state);
        assert.throws(() => decodeRaftState(new Uint8Array([...bytes, ...extra])), Error);
      }),
      PROPERTY,
    );
  });

  test("a corrupted byte either throws an Error or decodes to a well-formed state", () => {
    fc.assert(
      fc.property(persistedState, fc.nat(), fc.integer({ min: 1, max: 255 }), (state, where, flip) => {
        const bytes = encodeRaftState(state);
        const corrupt = Uint8Array.from(bytes);
        const at = where % corrupt.length;
        corrupt[at] = (corrupt[at] ?? 0) ^ flip;
        let decoded: PersistedRaftState;
        try {
          decoded = decodeRaftState(corrupt);
        } catch (error) {
          assert.ok(error instanceof Error, `threw a non-Error: ${String(error)}`);
          return;
        }
        assertWellFormed(decoded);
      }),
      PROPERTY,
    );
  });
});

describe("RaftStateWriter", () => {
  const entryOf = (index: number, term: number, size: number): Entry => ({
    index: asIndex(index),
    term: asTerm(term),
    data: new Uint8Array(size).fill(index & 0xff),
  });

  test("mirrors a log through appends, overwrites and snapshots, byte for byte like encodeRaftState", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("replace" as const),
        back: fc.nat(6),
        terms: fc.array(fc.nat(300), { minLength: 1, maxLength: 5 }),
        size: fc.nat(70_000).map((n) => (n > 60_000 ? n : n % 40)),
      }),
      fc.record({ kind: fc.constant("snapshot" as const), forward: fc.nat(8) }),
    );
    fc.assert(
      fc.property(persistedState, fc.array(op, { maxLength: 12 }), (initial, ops) => {
        const writer = new RaftStateWriter();
        let offset: number = initial.snapshotMeta.index;
        let log: Entry[] = [...initial.entries];
        writer.reset(asIndex(offset), log);
        for (const o of ops) {
          if (o.kind === "replace") {
            const first = Math.max(offset + 1, offset + log.length + 1 - o.back);
            const fresh = o.terms.map((term, i) => entryOf(first + i, term, o.size));
            writer.replaceFrom(fresh);
            log = [...log.slice(0, first - offset - 1), ...fresh];
          } else {
            const keep = Math.min(o.forward, log.length);
            offset += keep;
            log = log.slice(keep);
            writer.reset(asIndex(offset), log);
          }
          const meta = { index: asIndex(offset), term: asTerm(7) };
          const expected = encodeRaftState({
            hardState: initial.hardState,
            snapshotMeta: meta,
            entries: log,
          });
          const got = writer.encode(initial.hardState, meta);
          assert.deepEqual([...got], [...expected]);
        }
      }),
      { ...PROPERTY, numRuns: 60 },
    );
  });

  test("an array of more than 65535 fields uses the 32-bit header and still decodes", () => {
    const writer = new RaftStateWriter();
    const entries = Array.from({ length: 33_000 }, (_, i) => entryOf(i + 1, 1, 0));
    writer.reset(asIndex(0), entries);
    const hardState = { term: asTerm(1), vote: null, commit: asIndex(0) };
    const meta = { index: asIndex(0), term: asTerm(0) };
    const bytes = writer.encode(hardState, meta);
    assert.deepEqual([...bytes], [...encodeRaftState({ hardState, snapshotMeta: meta, entries })]);
    assert.equal(decodeRaftState(bytes).entries.length, 33_000);
  });

  test("replaceFrom refuses entries that leave a gap or reach into the snapshot", () => {
    const writer = new RaftStateWriter();
    writer.reset(asIndex(5), [entryOf(6, 1, 1)]);
    assert.throws(() => writer.replaceFrom([entryOf(8, 1, 1)]), Error);
    assert.throws(() => writer.replaceFrom([entryOf(5, 1, 1)]), Error);
    writer.replaceFrom([]); // nothing to do
    writer.replaceFrom([entryOf(7, 1, 1)]);
  });
});
