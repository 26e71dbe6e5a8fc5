import type { LogIndex, NodeId, Term } from "../core/index.ts";
import { AssertionFailure } from "../util/assert.ts";

/** A broken Raft safety property (Figure 3). Its message names the property, the evidence and the seed. */
export class SafetyViolation extends AssertionFailure {
  override name = "SafetyViolation";
}

/**
 * Checks the Figure 3 properties that are cheap to test as a run goes, from what the nodes report:
 *
 * - Election Safety: at most one leader is elected in a given term;
 * - State Machine Safety: no two nodes apply different commands at the same index;
 * - and, per node, that its state machine receives committed entries in index order, each exactly once
 *   (the contract of the peer's StateMachine port, without which the other check means little).
 *
 * Each observation throws a {@link SafetyViolation} as soon as a property breaks; the message includes the
 * seed so the run can be replayed.
 */
export class SafetyChecker {
  readonly #seed: number;
  /** Election Safety evidence: the leader seen in each term. */
  readonly #leaderOfTerm = new Map<Term, NodeId>();
  /** State Machine Safety evidence: the first command applied at each index, and by whom. */
  readonly #appliedAt = new Map<LogIndex, { readonly node: NodeId; readonly data: Uint8Array }>();
  /** The last index each node's current state machine applied (reset when the node restarts). */
  readonly #lastApplied = new Map<NodeId, number>();

  /** @param seed the seed of the run, quoted in every violation so it can be replayed. */
  constructor(seed: number) {
    this.#seed = seed;
  }

  /** The data first applied at `index` (by State Machine Safety, the data every node applies there), if any. */
  appliedAt(index: LogIndex): Uint8Array | undefined {
    return this.#appliedAt.get(index)?.data;
  }

  /** `node` became leader of `term`. Throws if another node led that term (Election Safety). */
  observeLeader(node: NodeId, term: Term): void {
    const earlier = this.#leaderOfTerm.get(term);
    if (earlier === undefined) {
      this.#leaderOfTerm.set(term, node);
      return;
    }
    if (earlier !== node) {
      this.#fail(`Election Safety: nodes ${earlier} and ${node} were both leader in term ${term}`);
    }
  }

  /**
   * `node` applied `data` at `index`. Throws if it skipped or repeated an index, or if another node applied
   * different data at that index (State Machine Safety).
   */
  observeApply(node: NodeId, index: LogIndex, data: Uint8Array): void {
    const expected = (this.#lastApplied.get(node) ?? 0) + 1;
    if (index !== expected) {
      const what = index < expected ? "again" : `after skipping to it from ${expected - 1}`;
      this.#fail(`state machine of node ${node} applied index ${index} ${what} (expected ${expected})`);
    }
    this.#lastApplied.set(node, index);
    const first = this.#appliedAt.get(index);
    if (first === undefined) {
      this.#appliedAt.set(index, { node, data });
      return;
    }
    if (!sameBytes(first.data, data)) {
      this.#fail(
        `State Machine Safety: at index ${index} node ${first.node} applied ${describe(first.data)} ` +
          `but node ${node} applied ${describe(data)}`,
      );
    }
  }

  /** `node` restarted: its new state machine starts empty and applies again from the first index. */
  observeRestart(node: NodeId): void {
    this.#lastApplied.delete(node);
  }

  #fail(what: string): never {
    throw new SafetyViolation(`safety violation: ${what} (seed ${this.#seed})`);
  }
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes for a message: as text when they are printable (the simulator's commands are), else as hex. */
function describe(data: Uint8Array): string {
  if (data.length === 0) return "a no-op";
  const printable = data.every((byte) => byte >= 0x20 && byte < 0x7f);
  const shown = data.subarray(0, 32);
  const body = printable
    ? JSON.stringify(String.fromCharCode(...shown))
    : `0x${Array.from(shown, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
  return data.length > shown.length ? `${body}… (${data.length} bytes)` : body;
}
