/**
 * The one-line printed forms of messages, entries and states used in the golden files. They must stay stable
 * (a change here rewrites every golden file) and deterministic (no object identity, no insertion-order
 * surprises beyond what the core itself decides).
 *
 * Conventions: a log position is `term/index`; an entry is its position followed by its data (a bare word
 * when it is one, JSON-quoted otherwise, so `""` is the empty entry a new leader appends); fields a message
 * type does not usually carry are printed only when set.
 */
import {
  decodeMembership,
  describeMembership,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftNode,
  type Snapshot,
  type SoftState,
} from "../../../src/core/index.ts";

const decoder = new TextDecoder();

/** Data as a bare word when it is a plain token, else as a JSON string. */
export function formatData(data: Uint8Array): string {
  const text = decoder.decode(data);
  return /^[\w.:+-]+$/.test(text) ? text : JSON.stringify(text);
}

/** `term/index`. */
export function formatPosition(term: number, index: number): string {
  return `${term}/${index}`;
}

/**
 * `term/index data`. A membership entry shows the configuration it holds, `1/5 membership(voters=[1,2,3])`;
 * an entry of a kind this printer does not know shows the kind and the size of its payload.
 */
export function formatEntry(entry: Entry): string {
  const position = formatPosition(entry.term, entry.index);
  const kind: string | undefined = entry.kind;
  if (kind === "membership")
    return `${position} membership(${describeMembership(decodeMembership(entry.data))})`;
  if (kind !== undefined) return `${position} ${kind}(${entry.data.length} bytes)`;
  return `${position} ${formatData(entry.data)}`;
}

export function formatEntries(entries: readonly Entry[]): string {
  return `[${entries.map(formatEntry).join(", ")}]`;
}

export function formatNodeOrNone(id: NodeId | null): string {
  return id === null ? "none" : String(id);
}

export function formatHardState(state: HardState): string {
  return `term=${state.term} vote=${formatNodeOrNone(state.vote)} commit=${state.commit}`;
}

export function formatSoftState(state: SoftState): string {
  return `role=${state.role} term=${state.term} leader=${formatNodeOrNone(state.leader)}`;
}

/**
 * Snapshot data as it is when it is printable without spaces (the harness's state machine writes JSON), so it
 * reads without a second layer of quoting; JSON-quoted otherwise.
 */
export function formatSnapshotData(data: Uint8Array): string {
  const text = decoder.decode(data);
  return /^[\x21-\x7e]+$/.test(text) ? text : JSON.stringify(text);
}

export function formatSnapshot(snapshot: Snapshot): string {
  return `${formatPosition(snapshot.meta.term, snapshot.meta.index)} data=${formatSnapshotData(snapshot.data)}`;
}

/** The short name of a message's type, as the golden files show it. */
export function messageKind(message: Message): string {
  switch (message.type) {
    case "RequestVote":
      return message.preVote === true ? "MsgPreVote" : "MsgVote";
    case "RequestVoteReply":
      return message.preVote === true ? "MsgPreVoteResp" : "MsgVoteResp";
    case "AppendEntries":
      return "MsgApp";
    case "AppendEntriesReply":
      return "MsgAppResp";
    case "InstallSnapshot":
      return "MsgSnap";
    case "InstallSnapshotReply":
      return "MsgSnapResp";
    case "ReadIndex":
      return "MsgReadIndex";
    case "ReadIndexReply":
      return "MsgReadIndexResp";
    case "TimeoutNow":
      return "MsgTimeoutNow";
    default:
      // A message type added to the core after this printer: still printed, under its own name.
      return (message as { readonly type: string }).type;
  }
}

/** `from->to Kind term=T fields...`, one line. */
export function formatMessage(message: Message): string {
  return `${message.from}->${message.to} ${messageKind(message)} term=${message.term}${messageFields(message)}`;
}

function messageFields(message: Message): string {
  switch (message.type) {
    case "RequestVote":
      return (
        ` last=${formatPosition(message.lastLogTerm, message.lastLogIndex)}` +
        (message.transfer === true ? " transfer" : "")
      );
    case "RequestVoteReply":
      return message.voteGranted ? " granted" : " rejected";
    case "AppendEntries":
      return (
        ` log=${formatPosition(message.prevLogTerm, message.prevLogIndex)} commit=${message.leaderCommit}` +
        (message.entries.length > 0 ? ` entries=${formatEntries(message.entries)}` : "") +
        formatReadRound(message.readRound)
      );
    case "AppendEntriesReply": {
      const outcome = message.success
        ? ` match=${message.matchIndex}`
        : ` rejected prev=${message.prevLogIndex} conflict=${formatPosition(message.conflictTerm, message.conflictIndex)} last=${message.lastLogIndex}`;
      return outcome + formatReadRound(message.readRound);
    }
    case "InstallSnapshot":
      return ` snap=${formatPosition(message.lastIncludedTerm, message.lastIncludedIndex)} data=${formatSnapshotData(message.data)}`;
    case "InstallSnapshotReply":
      return ` match=${message.matchIndex}`;
    case "ReadIndex":
      return ` req=${message.requestId}`;
    case "ReadIndexReply":
      return ` req=${message.requestId} index=${message.index}`;
    case "TimeoutNow":
      return "";
    default:
      return genericFields(message);
  }
}

function formatReadRound(round: number): string {
  return round === 0 ? "" : ` read=${round}`;
}

/** Every field but the envelope's, as `key=value`, in a fixed (sorted) order. */
function genericFields(message: object): string {
  const skip = new Set(["type", "from", "to", "term"]);
  return Object.entries(message)
    .filter(([key]) => !skip.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(
      ([key, value]) => ` ${key}=${value instanceof Uint8Array ? formatData(value) : JSON.stringify(value)}`,
    )
    .join("");
}

/**
 * The role as a person would name it. The core's SoftState calls all of these "follower": a follower running
 * a pre-vote is a "pre-candidate" (nothing persisted changes until the real election); a follower whose vote
 * does not count is a "learner" if the configuration in force lists it as one, else a "non-member" (a node
 * that has yet to join, or was removed).
 */
export function roleName(node: RaftNode): string {
  if (node.preCandidate) return "pre-candidate";
  if (node.role !== "follower" || node.isVoter()) return node.role;
  return node.membership.learners.includes(node.id) ? "learner" : "non-member";
}
