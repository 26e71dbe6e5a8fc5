/**
 * Helpers for the key-value state machine tests: a driver that applies commands at consecutive log indexes,
 * and builders for session commands.
 */
import assert from "node:assert/strict";
import { asIndex } from "../../src/core/types.ts";
import type { ClientId, KvCommand, SessionStamp } from "../../src/kv/command.ts";
import type { KvConfig } from "../../src/kv/config.ts";
import { encodeEntry } from "../../src/kv/entry-codec.ts";
import type { KvResult } from "../../src/kv/result.ts";
import { type ApplyOutcome, KvStateMachine } from "../../src/kv/state-machine.ts";

/**
 * Asserts two byte arrays hold the same bytes, reporting only the first difference: snapshots can be megabytes,
 * and deepEqual would also compare properties msgpackr attaches to arrays it has decoded (`dataView`).
 */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, message = "bytes differ"): void {
  const length = Math.min(actual.length, expected.length);
  let at = 0;
  while (at < length && actual[at] === expected[at]) at++;
  if (at === length && actual.length === expected.length) return;
  assert.fail(
    `${message}: first difference at byte ${at} of ${actual.length} (expected ${expected.length} bytes)`,
  );
}

/** A config with small bounds, so tests reach them quickly. */
export const SMALL_CONFIG: KvConfig = {
  sessionTimeoutMs: 10_000,
  sessionsMax: 4,
  outstandingPerSessionMax: 8,
  savedValueBytesPerSessionMax: 2 * 1024 * 1024,
};

/** A stamp for a client that acknowledges everything before `sequence` (one command in flight at a time). */
export function stamp(clientId: ClientId, sequence: number, ackedBelow = sequence): SessionStamp {
  return { clientId, sequence, ackedBelow };
}

/** Applies entries at consecutive indexes to one state machine, with a log clock the test moves. */
export class Driver {
  readonly machine: KvStateMachine;
  /** The timestamp the next entry carries, in milliseconds. */
  nowMs = 1_000;

  constructor(machineOrConfig: KvStateMachine | KvConfig) {
    this.machine =
      machineOrConfig instanceof KvStateMachine ? machineOrConfig : new KvStateMachine(machineOrConfig);
  }

  /** Applies raw entry data at the next index. */
  applyData(data: Uint8Array): ApplyOutcome {
    return this.machine.apply(asIndex(this.machine.appliedIndex + 1), data);
  }

  /** Encodes `command` with the current time and applies it at the next index. */
  apply(command: KvCommand): ApplyOutcome {
    return this.applyData(encodeEntry({ timestampMs: this.nowMs, command }));
  }

  /** Applies its result. */
  result(command: KvCommand): KvResult {
    return this.apply(command).result;
  }

  /** Registers a client and returns its id. */
  register(): ClientId {
    const { result } = this.apply({ kind: "register-client" });
    assert.equal(result.kind, "registered");
    return result.kind === "registered" ? result.clientId : asIndex(0);
  }
}
