/**
 * fast-check generators of valid Raft messages (every type, every field over its whole range, entries that
 * satisfy the wire rules), shared by the codec tests and the transport tests.
 */
import fc from "fast-check";
import {
  type AppendEntries,
  type AppendEntriesReply,
  asIndex,
  asNodeId,
  asTerm,
  encodeMembership,
  type InstallSnapshot,
  type InstallSnapshotReply,
  type Message,
  type ReadIndex,
  type ReadIndexReply,
  type RequestVote,
  type RequestVoteReply,
  type TimeoutNow,
} from "../../../src/core/index.ts";

/** Small numbers most of the time, the extremes of the safe range sometimes. */
const natural = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 1000 }) },
  { weight: 1, arbitrary: fc.maxSafeNat() },
  { weight: 1, arbitrary: fc.constant(Number.MAX_SAFE_INTEGER) },
);

const nodeIds = fc.tuple(natural, natural).filter(([from, to]) => from !== to);

const envelope = fc.record({ ids: nodeIds, term: natural });

/** Real votes mostly, pre-votes (thesis §9.6) sometimes. */
const preVote = fc.oneof(
  { weight: 2, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);

/** Vote requests: real ones mostly, pre-votes and leadership transfer's votes (thesis §3.10) sometimes. */
const voteKind = fc.oneof(
  { weight: 2, arbitrary: fc.constant("real" as const) },
  { weight: 1, arbitrary: fc.constant("pre-vote" as const) },
  { weight: 1, arbitrary: fc.constant("transfer" as const) },
);

const requestVote: fc.Arbitrary<RequestVote> = fc
  .record({ envelope, kind: voteKind })
  // A pre-vote proposes a term above the sender's own, hence above its last log term.
  .filter(({ envelope, kind }) => kind !== "pre-vote" || envelope.term > 0)
  .chain(({ envelope: { ids, term }, kind }) =>
    fc
      .record({
        lastLogIndex: natural,
        lastLogTerm: fc.nat({ max: kind === "pre-vote" ? term - 1 : term }),
      })
      .map((fields) => ({
        type: "RequestVote" as const,
        from: asNodeId(ids[0]),
        to: asNodeId(ids[1]),
        term: asTerm(term),
        lastLogIndex: asIndex(fields.lastLogIndex),
        lastLogTerm: asTerm(fields.lastLogTerm),
        ...(kind === "pre-vote" ? { preVote: true as const } : {}),
        ...(kind === "transfer" ? { transfer: true as const } : {}),
      })),
  );

const requestVoteReply: fc.Arbitrary<RequestVoteReply> = fc
  .record({ ids: nodeIds, term: natural, voteGranted: fc.boolean(), preVote })
  .map(({ ids, term, voteGranted, preVote }) => ({
    type: "RequestVoteReply" as const,
    from: asNodeId(ids[0]),
    to: asNodeId(ids[1]),
    term: asTerm(term),
    voteGranted,
    ...(preVote ? { preVote: true as const } : {}),
  }));

/**
 * The encoded bytes of a well-formed configuration (thesis §4): one to five voters, sometimes joint, sometimes
 * with learners.
 */
export const membershipBytes: fc.Arbitrary<Uint8Array> = fc
  .uniqueArray(fc.nat(20), { minLength: 1, maxLength: 12 })
  .chain((ids) =>
    fc.record({ voters: fc.nat(4), outgoing: fc.nat(4), learners: fc.nat(3) }).map((counts) => {
      const voters = ids.slice(0, 1 + (counts.voters % ids.length));
      const outgoing = ids.slice(1, 1 + counts.outgoing); // none: not joint
      const learners = ids
        .slice(6, 6 + counts.learners)
        .filter((id) => !voters.includes(id) && !outgoing.includes(id));
      return encodeMembership({
        voters: voters.map(asNodeId),
        outgoing: outgoing.map(asNodeId),
        learners: learners.map(asNodeId),
      });
    }),
  );

/** Entry data: empty (no-op entries) or small, sometimes a few KiB. */
const entryData = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 32 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 4000 }) },
);

/** An entry's data and kind: mostly commands and no-ops, now and then a configuration. */
const entryContent = fc.oneof(
  { weight: 9, arbitrary: entryData.map((data) => ({ data })) },
  { weight: 1, arbitrary: membershipBytes.map((data) => ({ data, kind: "membership" as const })) },
);

const appendEntries: fc.Arbitrary<AppendEntries> = envelope.chain(({ ids, term }) =>
  fc
    .record({
      prevLogTerm: fc.nat({ max: term }),
      entryTermOffsets: fc.array(fc.nat({ max: term }), { maxLength: 8 }),
      leaderCommit: natural,
      readRound: natural,
    })
    .chain(({ prevLogTerm, entryTermOffsets, leaderCommit, readRound }) => {
      // Non-decreasing terms between prevLogTerm and the leader's term.
      const terms = entryTermOffsets
        .map((offset) => prevLogTerm + (offset % (term - prevLogTerm + 1)))
        .sort((a, b) => a - b);
      return fc
        .record({
          prevLogIndex: fc.nat({ max: Number.MAX_SAFE_INTEGER - terms.length }),
          data: fc.array(entryContent, { minLength: terms.length, maxLength: terms.length }),
        })
        .map(({ prevLogIndex, data }) => ({
          type: "AppendEntries" as const,
          from: asNodeId(ids[0]),
          to: asNodeId(ids[1]),
          term: asTerm(term),
          prevLogIndex: asIndex(prevLogIndex),
          prevLogTerm: asTerm(prevLogTerm),
          entries: terms.map((entryTerm, k) => ({
            index: asIndex(prevLogIndex + 1 + k),
            term: asTerm(entryTerm),
            ...(data[k] ?? { data: new Uint8Array(0) }),
          })),
          leaderCommit: asIndex(leaderCommit),
          readRound,
        }));
    }),
);

const appendEntriesReply: fc.Arbitrary<AppendEntriesReply> = fc
  .record({
    ids: nodeIds,
    term: natural,
    success: fc.boolean(),
    prevLogIndex: natural,
    matchIndex: natural,
    conflictTerm: natural,
    conflictIndex: natural,
    lastLogIndex: natural,
    readRound: natural,
  })
  .map(({ ids, term, ...fields }) => ({
    type: "AppendEntriesReply" as const,
    from: asNodeId(ids[0]),
    to: asNodeId(ids[1]),
    term: asTerm(term),
    success: fields.success,
    prevLogIndex: asIndex(fields.prevLogIndex),
    matchIndex: asIndex(fields.matchIndex),
    conflictTerm: asTerm(fields.conflictTerm),
    conflictIndex: asIndex(fields.conflictIndex),
    lastLogIndex: asIndex(fields.lastLogIndex),
    readRound: fields.readRound,
  }));

const installSnapshot: fc.Arbitrary<InstallSnapshot> = envelope.chain(({ ids, term }) =>
  fc
    .record({
      lastIncludedIndex: natural,
      lastIncludedTerm: fc.nat({ max: term }),
      data: fc.uint8Array({ maxLength: 256 }),
      membership: fc.option(membershipBytes, { nil: undefined }),
    })
    .map((fields) => ({
      type: "InstallSnapshot" as const,
      from: asNodeId(ids[0]),
      to: asNodeId(ids[1]),
      term: asTerm(term),
      lastIncludedIndex: asIndex(fields.lastIncludedIndex),
      lastIncludedTerm: asTerm(fields.lastIncludedTerm),
      data: fields.data,
      ...(fields.membership === undefined ? {} : { membership: fields.membership }),
    })),
);

const installSnapshotReply: fc.Arbitrary<InstallSnapshotReply> = fc
  .record({ ids: nodeIds, term: natural, matchIndex: natural })
  .map(({ ids, term, matchIndex }) => ({
    type: "InstallSnapshotReply" as const,
    from: asNodeId(ids[0]),
    to: asNodeId(ids[1]),
    term: asTerm(term),
    matchIndex: asIndex(matchIndex),
  }));

const readIndex: fc.Arbitrary<ReadIndex> = fc
  .record({ ids: nodeIds, term: natural, requestId: natural })
  .map(({ ids, term, requestId }) => ({
    type: "ReadIndex" as const,
    from: asNodeId(ids[0]),
    to: asNodeId(ids[1]),
    term: asTerm(term),
    requestId,
  }));

const readIndexReply: fc.Arbitrary<ReadIndexReply> = fc
  .record({ ids: nodeIds, term: natural, requestId: natural, index: natural })
  .map(({ ids, term, requestId, index }) => ({
    type: "ReadIndexReply" as const,
    from: asNodeId(ids[0]),
    to: asNodeId(ids[1]),
    term: asTerm(term),
    requestId,
    index: asIndex(index),
  }));

const timeoutNow: fc.Arbitrary<TimeoutNow> = envelope.map(({ ids, term }) => ({
  type: "TimeoutNow" as const,
  from: asNodeId(ids[0]),
  to: asNodeId(ids[1]),
  term: asTerm(term),
}));

/** Each message type's generator, by type name. */
export const MESSAGE_ARBITRARIES = {
  RequestVote: requestVote,
  RequestVoteReply: requestVoteReply,
  AppendEntries: appendEntries,
  AppendEntriesReply: appendEntriesReply,
  InstallSnapshot: installSnapshot,
  InstallSnapshotReply: installSnapshotReply,
  ReadIndex: readIndex,
  ReadIndexReply: readIndexReply,
  TimeoutNow: timeoutNow,
} as const satisfies { [T in Message["type"]]: fc.Arbitrary<Extract<Message, { type: T }>> };

/** Any valid message, every type equally likely. */
export const messageArbitrary: fc.Arbitrary<Message> = fc.oneof(...Object.values(MESSAGE_ARBITRARIES));

/** A message as plain data for deep comparison: byte arrays become number arrays, whatever their class. */
export function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, comparable(inner)]));
  }
  return value;
}
