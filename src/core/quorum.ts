import type { NodeId } from "./types.ts";

/**
 * Majority arithmetic, nothing Raft-specific: which index a majority has reached, and whether a vote is won,
 * lost or still open.
 */

/** The number of members that make a majority of `size`. */
export function majority(size: number): number {
  return Math.floor(size / 2) + 1;
}

/** The highest value that at least a majority of `voters` have reached (each voter's value counts for it). */
export function majorityValue(voters: readonly NodeId[], reached: (id: NodeId) => number): number {
  const values = voters.map(reached).sort((a, b) => b - a);
  const value = values[majority(voters.length) - 1];
  if (value === undefined) throw new RangeError("majorityValue: no voters");
  return value;
}

export type VoteResult = "won" | "lost" | "pending";

/** Tallies the votes recorded so far (true granted, false rejected, absent not yet answered). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const needed = majority(voters.length);
  if (granted >= needed) return "won";
  if (voters.length - rejected < needed) return "lost";
  return "pending";
}
