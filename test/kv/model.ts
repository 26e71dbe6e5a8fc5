/**
 * A reference model of the key-value state machine for differential tests: the same rules written the
 * plainest way (a Map for the data, full scans for expiry and eviction, no pruning), so that the real state
 * machine's shortcuts (the use-ordered session table, floors that discard results) are checked against it.
 */
import type { ClientId, KvEntry, SessionCommand } from "../../src/kv/command.ts";
import type { KvConfig } from "../../src/kv/config.ts";
import { VALUE_BYTES_MAX } from "../../src/kv/limits.ts";
import type { KvResult, SavedResult } from "../../src/kv/result.ts";
import { unreachable } from "../../src/util/assert.ts";

interface ModelSession {
  lastUsedIndex: number;
  lastActiveMs: number;
  floor: number;
  readonly applied: Map<number, SavedResult>;
}

/** What the model predicts for one entry. */
export interface ModelOutcome {
  readonly result: KvResult;
  readonly replayed: boolean;
}

/** The reference model. Apply every entry the real machine applies, in the same order. */
export class KvModel {
  readonly data = new Map<string, string>();
  /** The member address book: node id to [peer address, API address]. */
  readonly members = new Map<number, readonly [string, string | null]>();
  readonly #sessions = new Map<number, ModelSession>();
  #logTimeMs = 0;

  constructor(private readonly config: KvConfig) {}

  /** Applies a decoded entry at `index`. */
  apply(index: number, { timestampMs, command }: KvEntry): ModelOutcome {
    this.#logTimeMs = Math.max(this.#logTimeMs, timestampMs);
    for (const [id, session] of [...this.#sessions]) {
      if (this.#logTimeMs - session.lastActiveMs >= this.config.sessionTimeoutMs) this.#sessions.delete(id);
    }
    if (command.kind === "set-member") {
      this.members.set(command.node, [command.peerAddress, command.apiAddress]);
      return { result: { kind: "member-set" }, replayed: false };
    }
    if (command.kind === "register-client") {
      if (this.#sessions.size >= this.config.sessionsMax) {
        const [oldest] =
          [...this.#sessions].sort(([, a], [, b]) => a.lastUsedIndex - b.lastUsedIndex)[0] ?? [];
        if (oldest !== undefined) this.#sessions.delete(oldest);
      }
      this.#sessions.set(index, {
        lastUsedIndex: index,
        lastActiveMs: this.#logTimeMs,
        floor: 0,
        applied: new Map(),
      });
      return { result: { kind: "registered", clientId: index as ClientId }, replayed: false };
    }
    return this.#applyInSession(index, command);
  }

  #applyInSession(index: number, command: SessionCommand): ModelOutcome {
    const session = this.#sessions.get(command.clientId);
    if (session === undefined) return { result: { kind: "session-expired" }, replayed: false };
    session.lastUsedIndex = index;
    session.lastActiveMs = this.#logTimeMs;
    session.floor = Math.max(session.floor, command.ackedBelow);
    if (command.sequence < session.floor) {
      return { result: { kind: "stale-sequence", ackedBelow: session.floor }, replayed: false };
    }
    const saved = session.applied.get(command.sequence);
    if (saved !== undefined) return { result: saved, replayed: true };
    if (command.sequence >= session.floor + this.config.outstandingPerSessionMax) {
      return { result: { kind: "too-many-outstanding", reason: "" }, replayed: false };
    }
    const result = this.#run(command);
    session.applied.set(command.sequence, result);
    return { result, replayed: false };
  }

  #run(command: SessionCommand): SavedResult {
    const current = this.data.get(command.key);
    switch (command.kind) {
      case "put":
        this.data.set(command.key, command.value);
        return { kind: "ok", value: null };
      case "get":
        return current === undefined ? { kind: "not-found" } : { kind: "ok", value: current };
      case "delete":
        return this.data.delete(command.key) ? { kind: "ok", value: null } : { kind: "not-found" };
      case "append": {
        const next = (current ?? "") + command.value;
        // The tests use ASCII values, so characters are bytes.
        if (next.length > VALUE_BYTES_MAX) return { kind: "value-too-large", bytes: next.length };
        this.data.set(command.key, next);
        return { kind: "ok", value: null };
      }
      case "cas":
        if ((current ?? null) !== command.expected) return { kind: "cas-mismatch", current: current ?? null };
        this.data.set(command.key, command.value);
        return { kind: "ok", value: null };
      default:
        return unreachable(command);
    }
  }
}
