import { asIndex, type LogIndex } from "../types.ts";
import { Inflights } from "./inflights.ts";

/**
 * How the leader is sending to one follower:
 * - `probe`: the leader does not know where the follower's log matches; it sends one AppendEntries at a time
 *   and waits for the answer (or the next heartbeat) before sending again.
 * - `replicate`: the follower is in sync; entries stream out optimistically, up to the inflight window.
 * - `snapshot`: the follower needs entries the leader has compacted; an InstallSnapshot is on its way.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** The leader's view of one follower (Figure 2's nextIndex and matchIndex, plus flow control). */
export class Progress {
  /** matchIndex: highest index known to be replicated on the follower. Never decreases within a term. */
  match: LogIndex;
  /** nextIndex: the next index to send. Always greater than `match`. */
  next: LogIndex;
  state: ProgressState = "probe";
  /** In probe state: an AppendEntries was sent and is unanswered, so wait before sending another. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot: LogIndex = asIndex(0);
  /** In snapshot state: heartbeats since the snapshot was sent, to resend one that was lost. */
  heartbeatsSinceSnapshot = 0;
  /**
   * Ticks since the leader last sent this follower anything. A replicating follower gets a heartbeat when it
   * reaches heartbeatTicks, so it never goes longer than that without a message, and while entries or commit
   * notices flow no heartbeat is needed at all.
   */
  idleTicks = 0;
  /** Whether `match` advanced since the last heartbeat round. */
  madeProgress = false;
  /**
   * Whether the follower was behind at the last heartbeat round. Behind then and no progress since means a
   * whole heartbeat interval passed without an acknowledgement: something was lost, so re-probe.
   */
  behindAtLastHeartbeat = false;
  /**
   * The highest commit index the follower can have learned from what we sent it: a message tells it
   * min(leaderCommit, last index the message covers). Lets the leader announce new commits only to those who
   * can use them.
   */
  commitSent: LogIndex = asIndex(0);
  /**
   * CheckQuorum (thesis §6.2): whether the leader heard from this follower (any message of its term) since its
   * last quorum check. Cleared at every check; a leader whose majority was not active steps down.
   */
  recentActive = false;
  /** The highest read round this follower has echoed in this term (see read-only.ts). */
  readRoundAcked = 0;
  readonly inflights: Inflights;

  constructor(next: LogIndex, inflightMessagesMax: number) {
    this.match = asIndex(0);
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax);
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot: resume right after it.
    const from = this.state === "snapshot" ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.state = "probe";
    this.next = asIndex(from + 1);
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = asIndex(this.match + 1);
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.state = "snapshot";
    this.pendingSnapshot = snapshotIndex;
    this.heartbeatsSinceSnapshot = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  /**
   * Records an acknowledgement that the follower matches through `index`. Returns false for a stale one
   * (nothing new learned).
   */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      this.madeProgress = true;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = asIndex(index + 1);
    return updated;
  }

  noteCommitSent(index: number): void {
    if (index > this.commitSent) this.commitSent = asIndex(index);
  }

  /** Whether the leader must hold back further AppendEntries to this follower for now. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full;
      case "snapshot":
        return true;
    }
  }
}
