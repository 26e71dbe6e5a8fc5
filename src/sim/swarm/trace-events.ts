import type { Entry, HardState, Message, Role } from "../../core/index.ts";
import { unreachable } from "../../util/assert.ts";
import type { Property } from "./violation.ts";

/**
 * The events of a swarm run as plain JSON-ready objects: one line each in a `--trace` file (NDJSON). Every
 * event has `t`, virtual milliseconds since the start (rounded to the microsecond), and `kind`; the rest
 * depends on the kind. The format is documented in docs/simulation.md and versioned by
 * {@link TRACE_FORMAT_VERSION}; a run replayed from its seed writes the same bytes.
 */
export const TRACE_FORMAT_VERSION = 1;

/** A message as the trace shows it: its type and term, and the fields that say what it carries. */
export type TracedMessage =
  | {
      readonly type: "RequestVote";
      readonly term: number;
      readonly lastLogIndex: number;
      readonly lastLogTerm: number;
      /** Present (true) on a pre-vote (thesis §9.6), whose term is the one proposed. */
      readonly preVote?: true;
      /** Present (true) on a leadership transfer's vote request (thesis §3.10), started by TimeoutNow. */
      readonly transfer?: true;
    }
  | {
      readonly type: "RequestVoteReply";
      readonly term: number;
      readonly granted: boolean;
      /** Present (true) when answering a pre-vote. */
      readonly preVote?: true;
    }
  | {
      readonly type: "AppendEntries";
      readonly term: number;
      readonly prevLogIndex: number;
      readonly prevLogTerm: number;
      /** `[first index, last index]` of the entries carried, or null for a heartbeat. */
      readonly entries: readonly [number, number] | null;
      /** The distinct terms of the entries carried, in order. */
      readonly entryTerms: readonly number[];
      readonly leaderCommit: number;
    }
  | {
      readonly type: "AppendEntriesReply";
      readonly term: number;
      readonly success: boolean;
      readonly prevLogIndex: number;
      readonly matchIndex: number;
      readonly conflictTerm: number;
      readonly conflictIndex: number;
      readonly lastLogIndex: number;
    }
  | { readonly type: "InstallSnapshot"; readonly term: number; readonly lastIncludedIndex: number }
  | { readonly type: "InstallSnapshotReply"; readonly term: number; readonly matchIndex: number }
  | { readonly type: "ReadIndex"; readonly term: number; readonly requestId: number }
  | {
      readonly type: "ReadIndexReply";
      readonly term: number;
      readonly requestId: number;
      readonly index: number;
    }
  /** A leader tells its chosen successor to campaign now (leadership transfer, thesis §3.10). */
  | { readonly type: "TimeoutNow"; readonly term: number };

/** Why a message was not handled by its receiver. */
export type TracedDropReason = "loss" | "partition" | "down" | "overflow";

/** One event of a swarm run. */
export type SwarmTraceEvent =
  /** The first line: the format version, the settings and the plan, and the command that replays the run. */
  | {
      readonly t: number;
      readonly kind: "run";
      readonly format: number;
      readonly seed: number;
      readonly nodes: number;
      readonly timeMs: number;
      readonly mix: string;
      readonly plantedBug: string;
      readonly faults: readonly string[];
      readonly plan: readonly string[];
      readonly replay: string;
    }
  /** A node handled a tick of its clock, or a client's proposal (accepted with its index, or refused). */
  | { readonly t: number; readonly kind: "input"; readonly node: number; readonly input: "tick" }
  | {
      readonly t: number;
      readonly kind: "input";
      readonly node: number;
      readonly input: "propose";
      readonly command: string;
      readonly index: number | null;
    }
  /** A node's Ready reported a new role, term or leader. */
  | {
      readonly t: number;
      readonly kind: "role";
      readonly node: number;
      readonly role: Role;
      readonly term: number;
      readonly leader: number | null;
    }
  /** A node sent a message; `holdMs` is set when the network holds it back for a long delay. */
  | {
      readonly t: number;
      readonly kind: "send";
      readonly id: number;
      readonly from: number;
      readonly to: number;
      readonly msg: TracedMessage;
      readonly holdMs?: number;
    }
  /** The receiver handled message `id` (a duplicate has the same id); `sentAt` is when it was sent. */
  | {
      readonly t: number;
      readonly kind: "deliver";
      readonly id: number;
      readonly from: number;
      readonly to: number;
      readonly sentAt: number;
    }
  /** Message `id` was lost, blocked, addressed to a crashed node, or overflowed a paused one's queue. */
  | {
      readonly t: number;
      readonly kind: "drop";
      readonly id: number;
      readonly from: number;
      readonly to: number;
      readonly reason: TracedDropReason;
    }
  /**
   * A node issued a write (`write`) or the write became durable (`sync`): the entries `[first, last]` (with
   * their distinct terms) and the hard state it carries.
   */
  | {
      readonly t: number;
      readonly kind: "persist";
      readonly node: number;
      readonly phase: "write" | "sync";
      readonly entries: readonly [number, number] | null;
      readonly entryTerms: readonly number[];
      readonly hardState: {
        readonly term: number;
        readonly vote: number | null;
        readonly commit: number;
      } | null;
    }
  /** A node's state machine applied entries `first..last`. */
  | {
      readonly t: number;
      readonly kind: "apply";
      readonly node: number;
      readonly first: number;
      readonly last: number;
    }
  /**
   * A node crashed. `lostWrites` unsynced writes (with `lostEntries` entries) are gone; `torn` tells how much
   * of a torn write reached the disk.
   */
  | {
      readonly t: number;
      readonly kind: "crash";
      readonly node: number;
      readonly role: Role;
      readonly term: number;
      readonly lostWrites: number;
      readonly lostEntries: number;
      readonly torn: { readonly kept: number; readonly of: number } | null;
    }
  /** A node restarted from its disk: what it booted with. */
  | {
      readonly t: number;
      readonly kind: "restart";
      readonly node: number;
      readonly incarnation: number;
      readonly term: number;
      readonly vote: number | null;
      readonly commit: number;
      readonly lastIndex: number;
    }
  /** The network's partition changed: its shape and every blocked directed link `[from, to]`. */
  | {
      readonly t: number;
      readonly kind: "partition";
      readonly shape: string;
      readonly description: string;
      readonly blocked: readonly (readonly [number, number])[];
    }
  /** The partition was healed (every link open). */
  | { readonly t: number; readonly kind: "heal" }
  /** A node's process was paused for `ms`, or resumed with `queued` inputs waiting. */
  | { readonly t: number; readonly kind: "pause"; readonly node: number; readonly ms: number }
  | { readonly t: number; readonly kind: "resume"; readonly node: number; readonly queued: number }
  /**
   * The operator acted (membership-ops.ts): started a brand-new node (`start-node`), asked the node it believed
   * to lead for a membership change or a leadership transfer (`result` is "accepted" or the refusal), or stopped
   * a removed node for good (`stop-node`).
   */
  | {
      readonly t: number;
      readonly kind: "operator";
      readonly action: "start-node" | "add-learner" | "promote" | "remove" | "transfer" | "stop-node";
      readonly node: number;
      readonly leader: number | null;
      readonly result: string;
    }
  /** The flapping node was cut off from every other node, reconnected, or crashed (flapper.ts). */
  | {
      readonly t: number;
      readonly kind: "flap";
      readonly node: number;
      readonly action: "cut" | "reconnect" | "crash";
      readonly ms: number;
    }
  /** The fault phase ended: every fault is healed, every node up, and the liveness phase begins. */
  | { readonly t: number; readonly kind: "heal-all"; readonly firstCommand: number }
  /** A checked property broke; the run stops here. */
  | {
      readonly t: number;
      readonly kind: "violation";
      readonly property: Property;
      readonly message: string;
      readonly nodes: readonly number[];
      readonly indexes: readonly number[];
      readonly terms: readonly number[];
    }
  /** The last line: how the run ended. */
  | {
      readonly t: number;
      readonly kind: "end";
      readonly outcome: "pass" | "fail";
      readonly events: number;
      readonly committed: number;
    };

/** Receives trace events as they happen. */
export type TraceSink = (event: SwarmTraceEvent) => void;

/** Virtual milliseconds rounded to the microsecond, so a trace never shows floating-point noise. */
export function traceTime(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The `[first, last]` range and distinct terms of some entries, as traces show them. */
export function entryRange(entries: readonly Entry[]): {
  entries: readonly [number, number] | null;
  entryTerms: number[];
} {
  const first = entries[0];
  const last = entries[entries.length - 1];
  const entryTerms: number[] = [];
  for (const entry of entries)
    if (entryTerms[entryTerms.length - 1] !== entry.term) entryTerms.push(entry.term);
  return {
    entries: first === undefined || last === undefined ? null : [first.index, last.index],
    entryTerms,
  };
}

/** A hard state as traces show it. */
export function tracedHardState(
  hardState: HardState | undefined,
): { term: number; vote: number | null; commit: number } | null {
  return hardState === undefined
    ? null
    : { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
}

/** A message as traces show it. */
export function traceMessage(message: Message): TracedMessage {
  switch (message.type) {
    case "RequestVote":
      return {
        type: message.type,
        term: message.term,
        lastLogIndex: message.lastLogIndex,
        lastLogTerm: message.lastLogTerm,
        // Only when set, so that traces of runs without pre-vote or transfers keep their bytes.
        ...(message.preVote === true ? { preVote: true } : {}),
        ...(message.transfer === true ? { transfer: true } : {}),
      };
    case "RequestVoteReply":
      return {
        type: message.type,
        term: message.term,
        granted: message.voteGranted,
        ...(message.preVote === true ? { preVote: true } : {}),
      };
    case "AppendEntries":
      return {
        type: message.type,
        term: message.term,
        prevLogIndex: message.prevLogIndex,
        prevLogTerm: message.prevLogTerm,
        ...entryRange(message.entries),
        leaderCommit: message.leaderCommit,
      };
    case "AppendEntriesReply":
      return {
        type: message.type,
        term: message.term,
        success: message.success,
        prevLogIndex: message.prevLogIndex,
        matchIndex: message.matchIndex,
        conflictTerm: message.conflictTerm,
        conflictIndex: message.conflictIndex,
        lastLogIndex: message.lastLogIndex,
      };
    case "InstallSnapshot":
      return { type: message.type, term: message.term, lastIncludedIndex: message.lastIncludedIndex };
    case "InstallSnapshotReply":
      return { type: message.type, term: message.term, matchIndex: message.matchIndex };
    case "ReadIndex":
      return { type: message.type, term: message.term, requestId: message.requestId };
    case "ReadIndexReply":
      return { type: message.type, term: message.term, requestId: message.requestId, index: message.index };
    case "TimeoutNow":
      return { type: message.type, term: message.term };
    default:
      return unreachable(message);
  }
}
