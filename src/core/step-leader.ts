import { assert } from "../util/assert.ts";
import { hasQuorum, quorumValue } from "./membership.ts";
import type { AppendEntriesReply, InstallSnapshotReply } from "./messages.ts";
import type { RaftNode } from "./raft.ts";
import { confirmReads, releaseEarlyReads } from "./read-only.ts";
import type { Progress } from "./tracker/progress.ts";
import { asIndex, type LogIndex, type NodeId } from "./types.ts";

/**
 * The leader's side of replication (§5.3, §7): what to send each follower, how to read their replies, and
 * when an entry is committed.
 */

/** Sends whatever each follower is ready to receive. */
export function broadcastAppend(node: RaftNode, options: { evenIfEmpty?: boolean } = {}): void {
  for (const [id, progress] of node.progress) {
    if (id !== node.id) maybeSendAppend(node, id, progress, options.evenIfEmpty ?? false);
  }
}

/**
 * Sends every follower an empty AppendEntries at once, to start a read round (thesis §6.4). A follower whose
 * match index was compacted gets none; it cannot count toward this round until it has the snapshot.
 */
export function broadcastHeartbeat(node: RaftNode): void {
  for (const [id, progress] of node.progress) {
    if (id !== node.id && node.log.term(progress.match) !== undefined) sendHeartbeat(node, id, progress);
  }
}

/**
 * The leader's tick for its followers (§5.2). Every tick, a replicating follower that has not been sent
 * anything for a heartbeat interval gets an empty AppendEntries at its match index. Once per heartbeat
 * interval (`round`), the rest of the bookkeeping: a probing follower gets its probe again; a replicating
 * follower that was behind at the last round and acknowledged nothing since lost something and goes back to
 * probing, as does one whose next entries were compacted (it needs the snapshot); a follower waiting for a
 * snapshot gets a heartbeat, and the snapshot again if it went unanswered for an election timeout.
 */
export function tickFollowers(node: RaftNode, round: boolean): void {
  const { heartbeatTicks, electionTicks } = node.config;
  for (const [id, progress] of node.progress) {
    if (id === node.id) continue;
    progress.idleTicks++;
    if (round) {
      switch (progress.state) {
        case "probe":
          progress.probeSent = false;
          maybeSendAppend(node, id, progress, true);
          break;
        case "replicate":
          if (
            (progress.behindAtLastHeartbeat && !progress.madeProgress) ||
            node.log.term(progress.match) === undefined
          ) {
            progress.becomeProbe();
            maybeSendAppend(node, id, progress, true);
          }
          break;
        case "snapshot":
          progress.heartbeatsSinceSnapshot++;
          if (progress.heartbeatsSinceSnapshot * heartbeatTicks >= electionTicks) {
            progress.becomeProbe();
            maybeSendAppend(node, id, progress, true);
          } else {
            sendHeartbeat(node, id, progress, node.log.offset);
          }
          break;
      }
      progress.madeProgress = false;
      progress.behindAtLastHeartbeat = progress.match < node.log.lastIndex();
    }
    if (progress.state === "replicate" && progress.idleTicks >= heartbeatTicks) {
      if (node.log.term(progress.match) === undefined) {
        // Its next entries were compacted since: it needs the snapshot, which probing will send.
        progress.becomeProbe();
        maybeSendAppend(node, id, progress, true);
      } else {
        sendHeartbeat(node, id, progress);
      }
    }
  }
}

/**
 * CheckQuorum (thesis §6.2): notes that a follower is reachable. Called for every message of the leader's term,
 * whatever its type: any of them shows the path from that follower works.
 */
export function noteActive(node: RaftNode, from: NodeId): void {
  const progress = node.progress.get(from);
  if (progress !== undefined) progress.recentActive = true;
}

/**
 * CheckQuorum (thesis §6.2), once per election timeout: steps down (leader unknown) unless a majority, this
 * leader included, was heard from since the last check. A leader cut off from the majority thus stops taking
 * proposals and reads within two election timeouts, and clients look for the new one. Starts the next period
 * with nobody marked active. Returns whether the leader stepped down.
 */
export function maybeStepDown(node: RaftNode): boolean {
  const active = hasQuorum(
    node.membership,
    (id) => id === node.id || node.progress.get(id)?.recentActive === true,
  );
  for (const progress of node.progress.values()) progress.recentActive = false;
  if (active) return false;
  node.becomeFollower(node.term, null);
  return true;
}

/** Leader receiving an AppendEntries reply: advance the follower's progress or back its nextIndex up. */
export function handleAppendReply(node: RaftNode, reply: AppendEntriesReply): void {
  const progress = node.progress.get(reply.from);
  if (progress === undefined) return;
  // Any answer in our term, success or not, shows the follower still took us for leader.
  if (reply.readRound > progress.readRoundAcked) {
    progress.readRoundAcked = reply.readRound;
    confirmReads(node);
  }
  if (reply.success) {
    const updated = progress.maybeUpdate(reply.matchIndex);
    // A probe acknowledged at the match index we already knew (say 0, on an empty log) also ends probing.
    if (updated || (progress.state === "probe" && reply.matchIndex === progress.match)) {
      switch (progress.state) {
        case "probe":
          progress.becomeReplicate();
          break;
        case "snapshot":
          if (progress.match >= progress.pendingSnapshot) progress.becomeReplicate();
          break;
        case "replicate":
          progress.inflights.freeTo(reply.matchIndex);
          break;
      }
      if (updated) maybeCommit(node);
      // Even without a new commit this follower may now hold entries committed before it acknowledged them.
      node.commitAnnouncePending = true;
    }
    maybeSendAppend(node, reply.from, progress, false);
    return;
  }
  if (maybeBackUp(node, progress, reply)) maybeSendAppend(node, reply.from, progress, true);
}

/** Leader receiving an InstallSnapshot reply: the follower now matches through the snapshot. */
export function handleSnapshotReply(node: RaftNode, reply: InstallSnapshotReply): void {
  const progress = node.progress.get(reply.from);
  if (progress === undefined) return;
  const updated = progress.maybeUpdate(reply.matchIndex);
  if (progress.state === "snapshot" && progress.match >= progress.pendingSnapshot) progress.becomeReplicate();
  if (updated) maybeCommit(node);
  maybeSendAppend(node, reply.from, progress, false);
}

/**
 * Commits the highest index a majority holds (of C_old and of C_new while joint, thesis §4.3), but only if it
 * is of the current term (§5.4.2): entries of earlier terms commit indirectly, never by counting replicas
 * (Figure 8). A commit may settle the configuration: leave a joint one, or step down when removed.
 */
export function maybeCommit(node: RaftNode): boolean {
  const candidate = asIndex(
    Math.max(
      0,
      quorumValue(node.membership, (id) => node.progress.get(id)?.match ?? 0),
    ),
  );
  const anyTerm = node.config.plantedBug === "commit-earlier-term";
  if (candidate <= node.log.committed || (!anyTerm && node.log.term(candidate) !== node.term)) return false;
  node.log.commitTo(candidate);
  node.commitAnnouncePending = true;
  releaseEarlyReads(node);
  node.settleMembership();
  return true;
}

/**
 * Tells every replicating follower about a commit index it can use and has not heard of (see
 * {@link maybeSendCommit}). Called on the leader's tick.
 */
export function announceCommit(node: RaftNode): void {
  for (const [id, progress] of node.progress) {
    if (id !== node.id) maybeSendCommit(node, id, progress);
  }
}

/**
 * Tells a replicating follower the commit index at once, rather than at the next heartbeat, when it holds
 * entries committed beyond what it was last told, so it applies them sooner. The message sits at the
 * follower's match index, which it is known to hold, so reordering with entries still in flight cannot make
 * it fail the consistency check.
 */
function maybeSendCommit(node: RaftNode, to: NodeId, progress: Progress): void {
  if (progress.state !== "replicate") return;
  if (Math.min(node.log.committed, progress.match) <= progress.commitSent) return;
  if (node.log.term(progress.match) !== undefined) sendHeartbeat(node, to, progress);
}

/**
 * Sends one follower its next entries now rather than with the next Ready or heartbeat round: a leadership
 * transfer (see leader-transfer.ts) wants its target caught up at once. A probing follower gets a probe even
 * if one is outstanding (it may be lost; a duplicate costs one message and a stale answer is ignored). A
 * replicating follower whose entries are all in flight gets nothing: the answers keep the entries coming.
 */
export function sendAppendNow(node: RaftNode, to: NodeId, progress: Progress): void {
  if (progress.state === "probe") progress.probeSent = false;
  maybeSendAppend(node, to, progress, false);
}

/**
 * Sends the follower its next AppendEntries if its flow control allows: from nextIndex, batched by count and
 * bytes, or an InstallSnapshot when those entries are compacted. With `evenIfEmpty` it sends even when there
 * is nothing new (a probe or the announcement of a new leader).
 */
function maybeSendAppend(node: RaftNode, to: NodeId, progress: Progress, evenIfEmpty: boolean): void {
  if (progress.isPaused()) return;
  const { log, config } = node;
  const prevLogIndex = asIndex(progress.next - 1);
  const prevLogTerm = log.term(prevLogIndex);
  if (prevLogTerm === undefined) {
    sendSnapshot(node, to, progress);
    return;
  }
  const entries =
    progress.next <= log.lastIndex()
      ? log.slice(progress.next, log.lastIndex(), config.entriesPerMessageMax, config.messageBytesMax)
      : [];
  if (entries.length === 0 && !evenIfEmpty && progress.state === "replicate") return;
  node.send({
    type: "AppendEntries",
    from: node.id,
    to,
    term: node.term,
    prevLogIndex,
    prevLogTerm,
    entries,
    leaderCommit: log.committed,
    readRound: node.readOnly.round,
  });
  progress.noteCommitSent(Math.min(log.committed, prevLogIndex + entries.length));
  const last = entries[entries.length - 1];
  if (progress.state === "replicate") {
    if (last !== undefined) {
      progress.next = asIndex(last.index + 1);
      progress.inflights.add(last.index);
    }
  } else {
    progress.probeSent = true;
  }
}

function sendHeartbeat(node: RaftNode, to: NodeId, progress: Progress, at: LogIndex = progress.match): void {
  const prevLogTerm = node.log.term(at);
  assert(prevLogTerm !== undefined, () => `sendHeartbeat: no term at ${at}`);
  // Only a heartbeat at the match index is sure to be accepted (in snapshot state it may not be).
  if (at === progress.match) progress.noteCommitSent(Math.min(node.log.committed, at));
  node.send({
    type: "AppendEntries",
    from: node.id,
    to,
    term: node.term,
    prevLogIndex: at,
    prevLogTerm,
    entries: [],
    leaderCommit: node.log.committed,
    readRound: node.readOnly.round,
  });
}

function sendSnapshot(node: RaftNode, to: NodeId, progress: Progress): void {
  const snapshot = node.log.snapshot;
  assert(snapshot !== null, "sendSnapshot: entries are compacted but there is no snapshot");
  node.send({
    type: "InstallSnapshot",
    from: node.id,
    to,
    term: node.term,
    lastIncludedIndex: snapshot.meta.index,
    lastIncludedTerm: snapshot.meta.term,
    ...(snapshot.meta.membership === undefined ? {} : { membership: snapshot.meta.membership }),
    data: snapshot.data,
  });
  progress.becomeSnapshot(snapshot.meta.index);
}

/**
 * Moves nextIndex back after a rejection, a whole term at a time: past the follower's log end if it is
 * short, past our last entry of the conflicting term if we have that term, else to the first index the
 * follower holds of it. Ignores stale rejections (answers to requests we no longer care about).
 */
function maybeBackUp(node: RaftNode, progress: Progress, reply: AppendEntriesReply): boolean {
  const rejected = reply.prevLogIndex;
  switch (progress.state) {
    case "replicate":
      if (rejected <= progress.match) return false;
      progress.becomeProbe();
      break;
    case "probe":
      if (rejected !== progress.next - 1) return false;
      break;
    case "snapshot":
      return false;
  }
  let next: number;
  if (reply.conflictTerm === 0) {
    next = reply.lastLogIndex + 1;
  } else {
    const ours = node.log.lastIndexOfTerm(reply.conflictTerm);
    next = ours === undefined ? reply.conflictIndex : ours + 1;
  }
  progress.next = asIndex(Math.max(progress.match + 1, Math.min(next, rejected)));
  progress.probeSent = false;
  return true;
}
