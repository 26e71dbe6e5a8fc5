/**
 * The wire encoding of Raft messages: round trips of every type (pre-votes and leadership transfer's messages
 * included), a compact layout, rejection of every malformed shape with a reason, and 100,000 fuzzed inputs that
 * never make the decoder throw.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encode } from "../../src/codec/msgpack.ts";
import { decodeMessage, encodeMessage, messageViolation } from "../../src/codec/wire-message.ts";
import {
  type AppendEntries,
  asIndex,
  asNodeId,
  asTerm,
  type Message,
  type RequestVote,
  type RequestVoteReply,
  type TimeoutNow,
} from "../../src/core/index.ts";
import { AssertionFailure } from "../../src/util/assert.ts";
import { comparable, MESSAGE_ARBITRARIES, messageArbitrary } from "../drivers/transport/arbitraries.ts";

/** Inputs per fuzz property; three properties make the 100,000 the brief asks for. */
const FUZZ_RUNS = 34_000;

const heartbeat: AppendEntries = {
  type: "AppendEntries",
  from: asNodeId(1),
  to: asNodeId(2),
  term: asTerm(5),
  prevLogIndex: asIndex(10),
  prevLogTerm: asTerm(4),
  entries: [],
  leaderCommit: asIndex(9),
  readRound: 0,
};

/** A granted real vote answering `request`. */
function voteReplyOf(request: RequestVote): RequestVoteReply {
  return {
    type: "RequestVoteReply",
    from: request.to,
    to: request.from,
    term: request.term,
    voteGranted: true,
  };
}

/** Asserts that `fields`, encoded as MessagePack, is refused with an error matching `reason`. */
function assertRefused(fields: unknown, reason: RegExp): void {
  const result = decodeMessage(encode(fields));
  assert.equal(result.ok, false, `accepted ${JSON.stringify(fields)}`);
  if (!result.ok) assert.match(result.error, reason);
}

describe("wire message codec", () => {
  for (const [type, arbitrary] of Object.entries(MESSAGE_ARBITRARIES)) {
    test(`${type} round-trips`, () => {
      fc.assert(
        fc.property(arbitrary, (message: Message) => {
          const result = decodeMessage(encodeMessage(message));
          assert.ok(result.ok, result.ok ? "" : result.error);
          assert.deepEqual(comparable(result.message), comparable(message));
        }),
        { seed: 11, numRuns: 300 },
      );
    });
  }

  test("decoded byte arrays are plain copies that do not alias the input", () => {
    const message: Message = {
      ...heartbeat,
      entries: [{ index: asIndex(11), term: asTerm(5), data: Uint8Array.of(1, 2, 3) }],
    };
    const bytes = encodeMessage(message);
    const result = decodeMessage(bytes);
    assert.ok(result.ok && result.message.type === "AppendEntries");
    const data = result.message.entries[0]?.data;
    assert.ok(data !== undefined);
    assert.equal(Object.getPrototypeOf(data), Uint8Array.prototype);
    assert.notEqual(data.buffer, bytes.buffer);
    bytes.fill(0);
    assert.deepEqual([...data], [1, 2, 3]);
  });

  test("the layout is compact: positional fields, no key names", () => {
    // [3, 1, 2, 5, 10, 4, 9, 0]: a fixarray header and eight one-byte integers.
    assert.equal(encodeMessage(heartbeat).length, 9);
    const vote: Message = {
      type: "RequestVoteReply",
      from: asNodeId(2),
      to: asNodeId(1),
      term: asTerm(5),
      voteGranted: true,
    };
    assert.equal(encodeMessage(vote).length, 6);
    const entry = { index: asIndex(11), term: asTerm(5), data: new Uint8Array(100) };
    // Each entry costs its term, a bin header and its bytes.
    assert.equal(encodeMessage({ ...heartbeat, entries: [entry] }).length, 9 + 1 + 2 + 100);
  });

  test("a pre-vote travels under its own tag, with the layout of a real vote (thesis §9.6)", () => {
    const vote: RequestVote = {
      type: "RequestVote",
      from: asNodeId(1),
      to: asNodeId(2),
      term: asTerm(5),
      lastLogIndex: asIndex(10),
      lastLogTerm: asTerm(4),
    };
    assert.deepEqual(
      [...encodeMessage(vote)],
      [...encode([1, 1, 2, 5, 10, 4])],
      "real votes keep their bytes",
    );
    const preVote: RequestVote = { ...vote, preVote: true };
    assert.deepEqual([...encodeMessage(preVote)], [...encode([9, 1, 2, 5, 10, 4])]);
    assert.deepEqual(decodeMessage(encode([9, 1, 2, 5, 10, 4])), { ok: true, message: preVote });
    const decodedVote = decodeMessage(encode([1, 1, 2, 5, 10, 4]));
    assert.ok(decodedVote.ok && decodedVote.message.type === "RequestVote");
    assert.equal("preVote" in decodedVote.message, false, "a real vote has no preVote field");
    const grant: RequestVoteReply = {
      type: "RequestVoteReply",
      from: asNodeId(2),
      to: asNodeId(1),
      term: asTerm(6),
      voteGranted: true,
      preVote: true,
    };
    assert.deepEqual([...encodeMessage(grant)], [...encode([10, 2, 1, 6, true])]);
    assert.deepEqual(decodeMessage(encode([10, 2, 1, 6, true])), { ok: true, message: grant });
    assertRefused([10, 2, 1, 6, 1], /RequestVoteReply\.voteGranted is not a boolean: 1/);
  });

  test("leadership transfer (thesis §3.10): TimeoutNow and the transfer's vote request have tags of their own", () => {
    const timeoutNow: TimeoutNow = {
      type: "TimeoutNow",
      from: asNodeId(1),
      to: asNodeId(2),
      term: asTerm(5),
    };
    assert.deepEqual([...encodeMessage(timeoutNow)], [...encode([11, 1, 2, 5])]);
    assert.deepEqual(decodeMessage(encode([11, 1, 2, 5])), { ok: true, message: timeoutNow });
    assertRefused([11, 1, 1, 5], /TimeoutNow is from node 1 to itself/);
    assertRefused([11, 1, 2, -5], /TimeoutNow\.term is not a non-negative safe integer: -5/);
    assertRefused([11, 1, 2, 5, 0], /TimeoutNow has 5 fields, expected 4/);

    const vote: RequestVote = {
      type: "RequestVote",
      from: asNodeId(2),
      to: asNodeId(3),
      term: asTerm(6),
      lastLogIndex: asIndex(10),
      lastLogTerm: asTerm(5),
      transfer: true,
    };
    assert.deepEqual([...encodeMessage(vote)], [...encode([12, 2, 3, 6, 10, 5])]);
    assert.deepEqual(decodeMessage(encode([12, 2, 3, 6, 10, 5])), { ok: true, message: vote });
    assertRefused([12, 2, 3, 6, 10, 7], /RequestVote\.lastLogTerm 7 is above the sender's term 6/);
    assertRefused([12, 2, 3, 6, 10], /RequestVote has 5 fields, expected 6/);
    for (const tag of [1, 9]) {
      const decoded = decodeMessage(encode([tag, 2, 3, 6, 10, 5]));
      assert.ok(decoded.ok && decoded.message.type === "RequestVote");
      assert.equal("transfer" in decoded.message, false, `tag ${tag} is not a transfer's vote`);
    }
    // Its answer is an ordinary vote reply: there is no transfer variant of tag 2.
    assert.deepEqual([...encodeMessage(voteReplyOf(vote))], [...encode([2, 3, 2, 6, true])]);

    // No vote request is both a pre-vote and a transfer's: the layout could not say so.
    const both: RequestVote = { ...vote, preVote: true };
    assert.match(messageViolation(both) ?? "", /both a pre-vote and a leadership transfer's vote/);
    assert.throws(() => encodeMessage(both), AssertionFailure);
  });

  test("encodeMessage refuses entries that do not follow prevLogIndex (a caller bug)", () => {
    const gap: AppendEntries = {
      ...heartbeat,
      entries: [{ index: asIndex(12), term: asTerm(5), data: new Uint8Array(0) }],
    };
    assert.throws(() => encodeMessage(gap), AssertionFailure);
  });

  test("bytes that are not one MessagePack value are refused", () => {
    const valid = encodeMessage(heartbeat);
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /^not MessagePack: no bytes$/],
      [valid.subarray(0, valid.length - 1), /^not MessagePack: truncated/],
      [Uint8Array.of(...valid, 0), /^not MessagePack: 1 trailing bytes$/],
      [Uint8Array.of(0xc1), /^not an array: starts with MessagePack byte 0xc1$/],
      // Headers claiming more than there is, or more fields than any message has, allocate nothing.
      [
        Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 1),
        /array of 4294967295 fields is longer than any message/,
      ],
      [
        Uint8Array.of(0x97, 5, 1, 2, 5, 10, 4, 0xc6, 0xff, 0xff, 0xff, 0xff, 1),
        /^not MessagePack: truncated/,
      ],
      [Uint8Array.of(0x91, ...new Uint8Array(100_000).fill(0x91)), /field 0: MessagePack array/],
    ];
    for (const [bytes, reason] of cases) {
      const result = decodeMessage(bytes);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error, reason);
    }
  });

  test("values that are not a tagged array are refused", () => {
    assertRefused({ type: "AppendEntries", from: 1, to: 2 }, /not an array: starts with MessagePack byte 0x/);
    assertRefused(7, /not an array/);
    assertRefused([], /unknown message type tag undefined/);
    for (const tag of [0, 13, 1.5, true, -1]) {
      assertRefused([tag, 1, 2, 3, 4, 5], /unknown message type tag/);
    }
    assertRefused(["1", 1, 2, 3, 4, 5], /field 0: MessagePack string/);
    assertRefused([null, 1, 2, 3, 4, 5], /field 0: MessagePack nil/);
  });

  test("membership entries and snapshot memberships must hold a valid configuration", () => {
    const notConfig = new Uint8Array([1, 2, 3]);
    assertRefused([3, 1, 2, 5, 10, 4, 9, 0, 5, [notConfig]], /entries\[0\]\.data: membership entry/);
    const noVoters = new TextEncoder().encode('{"voters":[],"outgoing":[],"learners":[]}');
    assertRefused([5, 1, 2, 5, 10, 4, new Uint8Array(0), noVoters], /membership: .*no voters/);
  });

  test("a wrong number of fields is refused for every type", () => {
    const fixed: Array<[number, number, string]> = [
      [1, 6, "RequestVote"],
      [2, 5, "RequestVoteReply"],
      [4, 11, "AppendEntriesReply"],
      [5, 7, "InstallSnapshot"],
      [6, 5, "InstallSnapshotReply"],
      [7, 5, "ReadIndex"],
      [8, 6, "ReadIndexReply"],
      [9, 6, "RequestVote"],
      [10, 5, "RequestVoteReply"],
      [11, 4, "TimeoutNow"],
      [12, 6, "RequestVote"],
    ];
    for (const [tag, count, type] of fixed) {
      // An InstallSnapshot may carry one more field, its snapshot's membership.
      for (const wrong of [count - 1, type === "InstallSnapshot" ? count + 2 : count + 1]) {
        const fields = [tag, ...Array.from({ length: wrong - 1 }, () => 0)];
        assertRefused(fields, new RegExp(`${type} has ${wrong} fields, expected ${count}`));
      }
    }
    assertRefused([3, 1, 2, 5, 10, 4, 9], /AppendEntries has 7 fields/);
    assertRefused([3, 1, 2, 5, 10, 4, 9, 0, 5], /AppendEntries has 9 fields/);
  });

  test("ids, terms and indexes must be non-negative safe integers", () => {
    const bad: Array<[unknown, RegExp]> = [
      [-1, /is not a non-negative safe integer: -1/],
      [1.5, /is not a non-negative safe integer: 1.5/],
      [2 ** 53, /is not a non-negative safe integer: 9007199254740992/],
      [Number.NaN, /is not a non-negative safe integer: NaN/],
      [Number.POSITIVE_INFINITY, /is not a non-negative safe integer: Infinity/],
      [true, /is not a non-negative safe integer: true/],
      [new Uint8Array(2), /is not a non-negative safe integer: 2 bytes/],
    ];
    const requestVote = [1, 1, 2, 5, 10, 4];
    const names = ["from", "to", "term", "lastLogIndex", "lastLogTerm"];
    for (const [value, reason] of bad) {
      names.forEach((name, k) => {
        const fields: unknown[] = [...requestVote];
        fields[k + 1] = value;
        assertRefused(fields, new RegExp(`RequestVote\\.${name} ${reason.source}`));
      });
    }
    // Kinds of value no message ever holds are refused by position before anything is built from them.
    const foreign: Array<[unknown, string]> = [
      ["3", "string"],
      [null, "nil"],
      [[1], "array"],
      [{ a: 1 }, "map"],
      [new Date(0), "extension"],
    ];
    for (const [value, kind] of foreign) {
      assertRefused(
        [1, 1, value, 5, 10, 4],
        new RegExp(`^field 2: MessagePack ${kind} .*which no message carries`),
      );
    }
    assertRefused(
      [3, 1, 2, 5, 10, 4, 9, 0, -5, new Uint8Array(0)],
      /entries\[0\]\.term is not a non-negative/,
    );
  });

  test("flags must be booleans and data must be byte arrays", () => {
    assertRefused([2, 1, 2, 5, 1], /RequestVoteReply\.voteGranted is not a boolean: 1/);
    assertRefused([4, 1, 2, 5, 0, 0, 0, 0, 0, 0, 0], /AppendEntriesReply\.success is not a boolean: 0/);
    assertRefused([5, 1, 2, 5, 10, 4, 17], /InstallSnapshot\.data is not a byte array: 17/);
    assertRefused([5, 1, 2, 5, 10, 4, "snapshot"], /field 6: MessagePack string/);
    assertRefused([5, 1, 2, 5, 10, 4, [1, 2, 3]], /field 6: MessagePack array/);
    assertRefused([3, 1, 2, 5, 10, 4, 9, 0, 5, false], /entries\[0\]\.data is not a byte array: false/);
  });

  test("messages a correct node could not send are refused", () => {
    assertRefused([1, 2, 2, 5, 10, 4], /from node 2 to itself/);
    assertRefused(
      [3, 1, 2, 5, 10, 4, 9, -1],
      /AppendEntries\.readRound is not a non-negative safe integer: -1/,
    );
    assertRefused([8, 1, 2, 5, 3, 1.5], /ReadIndexReply\.index is not a non-negative safe integer: 1.5/);
    assertRefused([1, 1, 2, 5, 10, 6], /RequestVote\.lastLogTerm 6 is above the sender's term 5/);
    // A pre-vote proposes a term above the sender's own, which is at least its last log term.
    assertRefused(
      [9, 1, 2, 5, 10, 5],
      /RequestVote \(pre-vote\) proposes term 5, not above its lastLogTerm 5/,
    );
    assertRefused([9, 1, 2, 0, 0, 0], /proposes term 0, not above its lastLogTerm 0/);
    assert.equal(decodeMessage(encode([1, 1, 2, 5, 10, 5])).ok, true, "a real vote may end at its own term");
    assertRefused([3, 1, 2, 5, 10, 6, 9, 0], /AppendEntries\.prevLogTerm 6 is above/);
    assertRefused([5, 1, 2, 5, 10, 6, new Uint8Array(1)], /InstallSnapshot\.lastIncludedTerm 6 is above/);
    const bytes = new Uint8Array(0);
    assertRefused(
      [3, 1, 2, 5, 10, 4, 9, 0, 3, bytes],
      /entries\[0\]\.term 3 is not between the previous term 4/,
    );
    assertRefused([3, 1, 2, 5, 10, 4, 9, 0, 5, bytes, 4, bytes], /entries\[1\]\.term 4 is not between/);
    assertRefused(
      [3, 1, 2, 5, 10, 4, 9, 0, 6, bytes],
      /entries\[0\]\.term 6 is not between .* leader's term 5/,
    );
    assertRefused(
      [3, 1, 2, 5, Number.MAX_SAFE_INTEGER, 4, 9, 0, 5, bytes],
      /AppendEntries\.last entry index is not a non-negative safe integer/,
    );
    // The same rules apply to messages built in memory (the transport checks reassembled snapshots so).
    const jumbled: AppendEntries = {
      ...heartbeat,
      entries: [
        { index: asIndex(11), term: asTerm(5), data: bytes },
        { index: asIndex(13), term: asTerm(5), data: bytes },
      ],
    };
    assert.match(messageViolation(jumbled) ?? "", /entries\[1\]\.index is 13, expected 12/);
    assert.equal(messageViolation(heartbeat), undefined);
  });

  describe("fuzz: decodeMessage never throws", () => {
    /** Whatever decodes must pass the rules and survive another round trip unchanged. */
    const checkNeverThrows = (bytes: Uint8Array): void => {
      const result = decodeMessage(bytes);
      if (!result.ok) return;
      assert.equal(messageViolation(result.message), undefined);
      const again = decodeMessage(encodeMessage(result.message));
      assert.ok(again.ok);
      assert.deepEqual(comparable(again.message), comparable(result.message));
    };

    test("random bytes", () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 48 }), checkNeverThrows), {
        seed: 101,
        numRuns: FUZZ_RUNS,
      });
    });

    test("valid encodings with bytes overwritten, inserted and cut", () => {
      const mutation = fc.oneof(
        fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
        fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
        fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
      );
      fc.assert(
        fc.property(
          messageArbitrary,
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          (message, changes) => {
            let bytes = Array.from(encodeMessage(message));
            for (const change of changes) {
              const at = change.at % (bytes.length + 1);
              if (change.kind === "set") bytes[at % bytes.length] = change.byte;
              else if (change.kind === "insert") bytes.splice(at, 0, change.byte);
              else bytes = bytes.slice(0, at);
            }
            checkNeverThrows(Uint8Array.from(bytes));
          },
        ),
        { seed: 102, numRuns: FUZZ_RUNS },
      );
    });

    test("arrays of arbitrary MessagePack values behind a known tag", () => {
      const field = fc.oneof(
        fc.integer({ min: -3, max: 20 }),
        fc.maxSafeInteger(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.string({ maxLength: 4 }),
        fc.uint8Array({ maxLength: 4 }),
        fc.array(fc.nat({ max: 3 }), { maxLength: 2 }),
        fc.dictionary(fc.constantFrom("a", "b"), fc.nat(), { maxKeys: 2 }),
      );
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 13 }), fc.array(field, { maxLength: 12 }), (tag, fields) => {
          checkNeverThrows(encode([tag, ...fields]));
        }),
        { seed: 103, numRuns: FUZZ_RUNS },
      );
    });
  });
});
