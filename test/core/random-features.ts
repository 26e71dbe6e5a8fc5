/**
 * What the randomized runs with the production features on share: the features, the node shapes they
 * alternate between, a Log Matching check between two nodes, and random partitions.
 */
import assert from "node:assert/strict";
import type { LogIndex, NodeId, RaftNode } from "../../src/core/index.ts";
import type { Random } from "../../src/util/random.ts";
import type { NodeOptions } from "./helpers.ts";

const FEATURES = { preVote: true, checkQuorum: true } as const;

/** Real-cluster shape on even seeds, lab shape (no no-op, slow heartbeats, small messages) on odd ones. */
export function nodeOptionsFor(seed: number): NodeOptions {
  return seed % 2 === 0
    ? FEATURES
    : {
        ...FEATURES,
        noopOnElection: false,
        heartbeatTicks: 3,
        entriesPerMessageMax: 2,
        inflightMessagesMax: 2,
      };
}

/**
 * Log Matching (§5.3): if two logs hold an entry with the same index and term, they hold the same entries up
 * to it. Checked at the highest index where the two logs agree on the term (below it is implied), over the
 * part neither has compacted.
 */
export function checkLogMatching(a: RaftNode, b: RaftNode, context: string): void {
  const low = Math.max(a.log.offset, b.log.offset);
  let matched = Math.min(a.log.lastIndex(), b.log.lastIndex());
  while (matched > low && a.log.term(matched as LogIndex) !== b.log.term(matched as LogIndex)) matched--;
  for (let index = matched; index > low; index--) {
    const ours = a.log.entry(index as LogIndex);
    const theirs = b.log.entry(index as LogIndex);
    assert.ok(
      ours !== undefined &&
        theirs !== undefined &&
        ours.term === theirs.term &&
        ours.data.length === theirs.data.length &&
        ours.data.every((byte, k) => byte === theirs.data[k]),
      `${context}: nodes ${a.id} and ${b.id} agree on (${matched}, term ${a.log.term(matched as LogIndex)}) but differ at ${index}`,
    );
  }
}

/** A partition: healed, one node cut off (most often), or two random halves. */
export function randomGroups(random: Random, ids: readonly NodeId[]): Map<NodeId, number> {
  const shape = random.int(4);
  const groups = new Map<NodeId, number>(ids.map((id) => [id, shape === 3 ? random.int(2) : 0]));
  if (shape === 1 || shape === 2) groups.set(random.pick(ids), 1);
  return groups;
}
