/**
 * What a fault proxy does to the traffic of one directed peer link (node i dialling node j). A policy is a
 * plain value: the proxy reads it for every chunk it forwards, so changing it takes effect at once.
 *
 * TCP is a byte stream, so the faults a datagram network has must be translated:
 *
 * - A lost packet on a TCP connection is retransmitted; what the application sees is a stall, or, when the
 *   loss lasts, a connection that dies. "Loss" here therefore cuts the connection: each chunk the proxy is
 *   about to forward is, with probability `cutProbability`, not forwarded, and the connection is reset in
 *   both directions. The sender's transport notices, redials and carries on; the messages in flight are
 *   gone, which Raft must survive (it retransmits from its own state).
 * - Bytes are never dropped from the middle of a stream that keeps going: a Raft frame cut in half would be
 *   garbage to the receiver, a fault no real network produces. A connection either forwards everything in
 *   order or stops forwarding for good.
 * - Delay holds each chunk for `delayMs` plus a uniform jitter in [0, `jitterMs`), but never lets a chunk
 *   overtake the one before it (TCP delivers in order; the jitter stretches and squeezes the gaps).
 */

/**
 * How a link is blocked:
 * - `none`: traffic passes (subject to delay and cuts);
 * - `blackhole`: connections are accepted and kept open, and everything sent on them is read and thrown
 *   away, so the sender sees no error (a partition where packets vanish and the connection has not noticed
 *   yet). A connection that has been blackholed never forwards again: when the link heals it is reset, so
 *   the sender redials and starts a fresh stream;
 * - `refuse`: every connection is reset at once, existing and new ones (a partition where the other side
 *   answers with RST, or an unreachable host with fast failure).
 */
export type LinkBlock = "none" | "blackhole" | "refuse";

export interface LinkPolicy {
  readonly block: LinkBlock;
  /** Milliseconds each chunk is held before it is forwarded (at least 0). */
  readonly delayMs: number;
  /** Extra random hold per chunk, uniform in [0, jitterMs) milliseconds (at least 0). */
  readonly jitterMs: number;
  /** Probability, per chunk about to be forwarded, that the connection is reset instead (in [0, 1]). */
  readonly cutProbability: number;
}

/** A link that forwards everything at once. */
export const PASS: LinkPolicy = { block: "none", delayMs: 0, jitterMs: 0, cutProbability: 0 };

/** Longest delay or jitter accepted, in milliseconds: longer would outlive any election and any test. */
export const LINK_DELAY_MS_MAX = 60_000;

/** Throws a RangeError naming the first field of `policy` that is out of range. */
export function checkLinkPolicy(policy: LinkPolicy): void {
  if (!["none", "blackhole", "refuse"].includes(policy.block)) {
    throw new RangeError(`link policy: block must be none, blackhole or refuse, got ${String(policy.block)}`);
  }
  for (const [name, value] of [
    ["delayMs", policy.delayMs],
    ["jitterMs", policy.jitterMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0 || value > LINK_DELAY_MS_MAX) {
      throw new RangeError(`link policy: ${name} must be in [0, ${LINK_DELAY_MS_MAX}], got ${value}`);
    }
  }
  const cut = policy.cutProbability;
  if (!Number.isFinite(cut) || cut < 0 || cut > 1) {
    throw new RangeError(`link policy: cutProbability must be in [0, 1], got ${cut}`);
  }
}

/** A short description of a policy for logs and timelines, e.g. `blackhole` or `delay 120+40ms cut 0.02`. */
export function describeLinkPolicy(policy: LinkPolicy): string {
  if (policy.block !== "none") return policy.block;
  const parts: string[] = [];
  if (policy.delayMs > 0 || policy.jitterMs > 0) parts.push(`delay ${policy.delayMs}+${policy.jitterMs}ms`);
  if (policy.cutProbability > 0) parts.push(`cut ${policy.cutProbability}`);
  return parts.length === 0 ? "pass" : parts.join(" ");
}
