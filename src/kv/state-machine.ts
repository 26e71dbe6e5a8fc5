import { asIndex, type LogIndex } from "../core/types.ts";
import { assert, unreachable } from "../util/assert.ts";
import { ClientSession } from "./client-session.ts";
import type { ClientId, MemberAddresses, SessionCommand } from "./command.ts";
import { DEFAULT_KV_CONFIG, type KvConfig, validateKvConfig } from "./config.ts";
import { decodeEntry } from "./entry-codec.ts";
import { KvStore } from "./kv-store.ts";
import type { KvResult } from "./result.ts";
import { SessionTable } from "./session-table.ts";
import { decodeSnapshot, encodeSnapshot } from "./snapshot-codec.ts";

/**
 * What applying one log entry produced, for the client waiting on it (matched by `index`, which the proposer
 * learned when it proposed).
 */
export interface ApplyOutcome {
  /** The log index of the entry. */
  readonly index: LogIndex;
  /** The session the command ran in; for `register-client`, the new session; null for no-ops and bad entries. */
  readonly clientId: ClientId | null;
  /** The command's sequence number; null when the entry carries none. */
  readonly sequence: number | null;
  readonly result: KvResult;
  /** True when `result` is the saved result of an earlier application of the same (clientId, sequence). */
  readonly replayed: boolean;
}

/** Sizes worth exporting as metrics. */
export interface KvStats {
  /** Number of keys stored. */
  readonly keys: number;
  /** UTF-8 bytes of all keys and values. */
  readonly dataBytes: number;
  /** Live client sessions (at most `sessionsMax`). */
  readonly sessions: number;
  /** Results held for retries across every session. */
  readonly savedResults: number;
  /** The last log index applied (Raft's lastApplied, Figure 2). */
  readonly appliedIndex: LogIndex;
  /** Log time: the largest leader timestamp applied so far, in milliseconds. */
  readonly logTimeMs: number;
}

/** What one session looks like, for tests and operators. */
export interface SessionInfo {
  readonly clientId: ClientId;
  readonly lastUsedIndex: LogIndex;
  readonly lastActiveMs: number;
  readonly ackedBelow: number;
  readonly savedCount: number;
  readonly savedValueBytes: number;
}

/**
 * The replicated key-value state machine (Raft §5.3 and thesis chapter 6). Pure and deterministic: its state
 * is a function of the entries applied, so replicas that applied the same log hold the same state and write
 * byte-identical snapshots. It keeps client sessions for exactly-once commands (thesis §6.3), expires them by
 * log time and bounds their number, and answers local reads for the ReadIndex path (thesis §6.4).
 *
 * Every replica must be constructed with the same {@link KvConfig}.
 */
export class KvStateMachine {
  /** The settings this state machine runs under (validated). */
  readonly config: KvConfig;
  readonly #store: KvStore;
  readonly #sessions: SessionTable;
  #appliedIndex: LogIndex;
  /** Running maximum of the applied entries' timestamps: time as the log tells it, never going back. */
  #logTimeMs: number;
  /** The replicated address book of cluster members (see SetMemberCommand). */
  readonly #members = new Map<number, MemberAddresses>();

  /** An empty state machine (nothing applied). Throws a RangeError if `config` is invalid. */
  constructor(config: KvConfig = DEFAULT_KV_CONFIG) {
    validateKvConfig(config);
    this.config = config;
    this.#store = new KvStore();
    this.#sessions = new SessionTable();
    this.#appliedIndex = asIndex(0);
    this.#logTimeMs = 0;
  }

  /**
   * Rebuilds a state machine from {@link snapshot} bytes (Raft §7). `config` must be the one every replica
   * uses. Throws CorruptSnapshotError when the bytes are not a valid snapshot for it.
   */
  static restore(bytes: Uint8Array, config: KvConfig = DEFAULT_KV_CONFIG): KvStateMachine {
    const machine = new KvStateMachine(config);
    const parts = decodeSnapshot(bytes, machine.config);
    for (const [key, value] of parts.entries) machine.#store.set(key, value);
    machine.#sessions.replaceAll(parts.sessions.map((state) => ClientSession.fromState(state)));
    machine.#appliedIndex = parts.appliedIndex;
    machine.#logTimeMs = parts.logTimeMs;
    for (const [node, addresses] of parts.members) machine.#members.set(node, addresses);
    return machine;
  }

  /** The last log index applied; entries must arrive at exactly the next index. */
  get appliedIndex(): LogIndex {
    return this.#appliedIndex;
  }

  /** Log time in milliseconds: the largest timestamp among the entries applied so far. */
  get logTimeMs(): number {
    return this.#logTimeMs;
  }

  /**
   * Applies the committed entry at `index` (which must be `appliedIndex + 1`: Raft applies each entry once,
   * in order; anything else is a bug in the caller and fails an assertion). Never throws on the entry's
   * contents: an empty entry is a leader's no-op (Raft §8), malformed data gives a `bad-command` result.
   */
  apply(index: LogIndex, data: Uint8Array): ApplyOutcome {
    assert(
      index === this.#appliedIndex + 1,
      () => `apply: index ${index} after appliedIndex ${this.#appliedIndex}`,
    );
    this.#appliedIndex = index;
    if (data.length === 0) return outcome(index, null, null, { kind: "no-op" });
    const decoded = decodeEntry(data);
    if (!decoded.ok) return outcome(index, null, null, { kind: "bad-command", reason: decoded.reason });
    const { timestampMs, command } = decoded.entry;
    this.#logTimeMs = Math.max(this.#logTimeMs, timestampMs);
    this.#sessions.expire(this.#logTimeMs, this.config.sessionTimeoutMs);
    if (command.kind === "set-member") {
      const { peerAddress, apiAddress } = command;
      this.#members.set(command.node, { peerAddress, apiAddress });
      return outcome(index, null, null, { kind: "member-set" });
    }
    if (command.kind !== "register-client") return this.#applySessionCommand(index, command);
    const clientId: ClientId = index;
    this.#sessions.register(clientId, this.#logTimeMs, this.config.sessionsMax);
    return outcome(index, clientId, null, { kind: "registered", clientId });
  }

  /** Exactly-once execution (thesis §6.3): replay saved results, refuse stale or unknown sessions, run new ones. */
  #applySessionCommand(index: LogIndex, command: SessionCommand): ApplyOutcome {
    const { clientId, sequence } = command;
    const session = this.#sessions.use(clientId, index, this.#logTimeMs);
    if (session === undefined) return outcome(index, clientId, sequence, { kind: "session-expired" });
    session.acknowledge(command.ackedBelow);
    const admission = session.admit(sequence, this.config.outstandingPerSessionMax);
    switch (admission.kind) {
      case "replay":
        return { index, clientId, sequence, result: admission.result, replayed: true };
      case "stale":
        return outcome(index, clientId, sequence, { kind: "stale-sequence", ackedBelow: session.ackedBelow });
      case "window-full":
        return outcome(index, clientId, sequence, {
          kind: "too-many-outstanding",
          reason: `sequence ${sequence} is ${this.config.outstandingPerSessionMax} or more past ackedBelow ${session.ackedBelow}`,
        });
      case "run":
        break;
      default:
        return unreachable(admission);
    }
    const result = this.#store.execute(command);
    // Only reads carry a value, and reads change nothing, so refusing one here leaves no half-applied command.
    if (!session.fits(result, this.config.savedValueBytesPerSessionMax)) {
      return outcome(index, clientId, sequence, {
        kind: "too-many-outstanding",
        reason: `unacknowledged read results would exceed ${this.config.savedValueBytesPerSessionMax} bytes`,
      });
    }
    session.save(sequence, result);
    return outcome(index, clientId, sequence, result);
  }

  /**
   * The value of `key` in the applied state, or undefined. A linearizable read once `appliedIndex` has
   * reached the read index confirmed by the leader (ReadIndex, thesis §6.4); otherwise possibly stale.
   */
  get(key: string): string | undefined {
    return this.#store.get(key);
  }

  /** The replicated address book: where each member recorded by `set-member` can be reached. */
  members(): ReadonlyMap<number, MemberAddresses> {
    return this.#members;
  }

  /** Sizes for metrics. Counting saved results walks the sessions (at most `sessionsMax`). */
  stats(): KvStats {
    let savedResults = 0;
    for (const session of this.#sessions.inUseOrder()) savedResults += session.savedCount;
    return {
      keys: this.#store.keyCount,
      dataBytes: this.#store.dataBytes,
      sessions: this.#sessions.size,
      savedResults,
      appliedIndex: this.#appliedIndex,
      logTimeMs: this.#logTimeMs,
    };
  }

  /** One session's bookkeeping, or undefined if it does not exist (never registered, expired, evicted). */
  session(clientId: ClientId): SessionInfo | undefined {
    const session = this.#sessions.peek(clientId);
    if (session === undefined) return undefined;
    return {
      clientId,
      lastUsedIndex: session.lastUsedIndex,
      lastActiveMs: session.lastActiveMs,
      ackedBelow: session.ackedBelow,
      savedCount: session.savedCount,
      savedValueBytes: session.savedValueBytes,
    };
  }

  /**
   * The whole state (data, sessions with their saved results, log time, appliedIndex) as bytes (Raft §7).
   * Deterministic: replicas that applied the same entries produce identical bytes.
   */
  snapshot(): Uint8Array {
    return encodeSnapshot({
      appliedIndex: this.#appliedIndex,
      logTimeMs: this.#logTimeMs,
      entries: this.#store.sortedEntries(),
      sessions: [...this.#sessions.inUseOrder()].map((session) => session.toState()),
      members: [...this.#members].sort(([a], [b]) => a - b),
    });
  }
}

function outcome(
  index: LogIndex,
  clientId: ClientId | null,
  sequence: number | null,
  result: KvResult,
): ApplyOutcome {
  return { index, clientId, sequence, result, replayed: false };
}
