import type { LogIndex } from "../core/types.ts";
import { assert } from "../util/assert.ts";
import type { ClientId } from "./command.ts";
import { type SavedResult, savedResultPayloadBytes } from "./result.ts";

/**
 * One client session of the Raft thesis §6.3, extended for pipelining: instead of only the latest result, it
 * keeps the result of every sequence at or above the client's acknowledged floor, so several commands may be
 * in flight and any of them can be retried.
 */

/** What a session says about a command with a given sequence before it runs. */
export type Admission =
  /** Already applied: answer with the saved result and do not run it again. */
  | { readonly kind: "replay"; readonly result: SavedResult }
  /** Below the acknowledged floor: the result is gone, and the client said it had it. */
  | { readonly kind: "stale" }
  /** Too far past the floor: the session's window of outstanding commands is full. */
  | { readonly kind: "window-full" }
  /** New: run it and save the result. */
  | { readonly kind: "run" };

/** A saved result with the bytes it counts against the session's budget. */
interface SavedEntry {
  readonly result: SavedResult;
  readonly valueBytes: number;
}

/** The persistent part of a session, as a snapshot holds it. */
export interface ClientSessionState {
  readonly clientId: ClientId;
  /** The last log index at which a command of this session was applied (registration included). */
  readonly lastUsedIndex: LogIndex;
  /** The log time (milliseconds) at `lastUsedIndex`. */
  readonly lastActiveMs: number;
  /** The client has seen replies below this sequence; results below it are forgotten. */
  readonly ackedBelow: number;
  /** Saved results, by sequence ascending, every sequence >= ackedBelow. */
  readonly results: readonly (readonly [number, SavedResult])[];
}

/** A client session: its identity, when it was last used, and its saved results (Raft thesis §6.3). */
export class ClientSession {
  /** The session id: the log index of its registration. */
  readonly clientId: ClientId;
  /** The last log index at which this session was used; orders sessions for eviction. */
  lastUsedIndex: LogIndex;
  /** The log time (milliseconds) when it was last used; decides expiry. */
  lastActiveMs: number;
  #ackedBelow = 0;
  /** Saved results by sequence; every key is >= #ackedBelow. */
  readonly #results = new Map<number, SavedEntry>();
  /** Sum of `valueBytes` over #results. */
  #savedValueBytes = 0;

  constructor(clientId: ClientId, lastUsedIndex: LogIndex, lastActiveMs: number) {
    this.clientId = clientId;
    this.lastUsedIndex = lastUsedIndex;
    this.lastActiveMs = lastActiveMs;
  }

  /** Rebuilds a session from a snapshot's state; the caller has validated it. */
  static fromState(state: ClientSessionState): ClientSession {
    const session = new ClientSession(state.clientId, state.lastUsedIndex, state.lastActiveMs);
    session.#ackedBelow = state.ackedBelow;
    for (const [sequence, result] of state.results) session.save(sequence, result);
    return session;
  }

  /** The acknowledged floor: the client has seen replies to every sequence below it. */
  get ackedBelow(): number {
    return this.#ackedBelow;
  }

  /** How many results the session keeps. */
  get savedCount(): number {
    return this.#results.size;
  }

  /** UTF-8 bytes of read values among the saved results. */
  get savedValueBytes(): number {
    return this.#savedValueBytes;
  }

  /** Raises the floor to `ackedBelow` (it never goes down) and forgets the results below it. */
  acknowledge(ackedBelow: number): void {
    const previous = this.#ackedBelow;
    if (ackedBelow <= previous) return;
    this.#ackedBelow = ackedBelow;
    // Walk whichever is shorter: the sequences newly acknowledged, or the saved results. Either loop is
    // bounded by the session's window (outstandingPerSessionMax) because only that many results are kept.
    if (ackedBelow - previous <= this.#results.size) {
      for (let sequence = previous; sequence < ackedBelow; sequence++) this.#forget(sequence);
    } else {
      for (const sequence of [...this.#results.keys()]) if (sequence < ackedBelow) this.#forget(sequence);
    }
  }

  #forget(sequence: number): void {
    const entry = this.#results.get(sequence);
    if (entry === undefined) return;
    this.#results.delete(sequence);
    this.#savedValueBytes -= entry.valueBytes;
  }

  /** Decides what to do with a command numbered `sequence` (call {@link acknowledge} first). */
  admit(sequence: number, outstandingMax: number): Admission {
    if (sequence < this.#ackedBelow) return { kind: "stale" };
    const saved = this.#results.get(sequence);
    if (saved !== undefined) return { kind: "replay", result: saved.result };
    if (sequence >= this.#ackedBelow + outstandingMax) return { kind: "window-full" };
    return { kind: "run" };
  }

  /** Whether saving `result` keeps the read values within `valueBytesMax`. */
  fits(result: SavedResult, valueBytesMax: number): boolean {
    return this.#savedValueBytes + savedResultPayloadBytes(result) <= valueBytesMax;
  }

  /** Saves the result of `sequence`, which must be at or above the floor and not saved yet. */
  save(sequence: number, result: SavedResult): void {
    assert(sequence >= this.#ackedBelow, () => `save: sequence ${sequence} below floor ${this.#ackedBelow}`);
    assert(!this.#results.has(sequence), () => `save: sequence ${sequence} already saved`);
    const valueBytes = savedResultPayloadBytes(result);
    this.#results.set(sequence, { result, valueBytes });
    this.#savedValueBytes += valueBytes;
  }

  /** The session as a snapshot holds it, results sorted by sequence so every replica writes the same bytes. */
  toState(): ClientSessionState {
    const results = [...this.#results.entries()]
      .sort(([a], [b]) => a - b)
      .map(([sequence, entry]) => [sequence, entry.result] as const);
    return {
      clientId: this.clientId,
      lastUsedIndex: this.lastUsedIndex,
      lastActiveMs: this.lastActiveMs,
      ackedBelow: this.#ackedBelow,
      results,
    };
  }
}
