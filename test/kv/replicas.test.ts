/**
 * The replicated state machine property (Raft §5.3, thesis §6.3): replicas that apply the same log, full of
 * duplicated and retried commands, pipelined clients, stale leader timestamps, no-ops and garbage, produce
 * the same outcomes and byte-identical snapshots after every entry — also when one of them keeps restoring
 * itself from its own snapshot — and their data equals a plain reference model.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { asIndex } from "../../src/core/types.ts";
import type { ClientId, KvEntry, SessionCommand } from "../../src/kv/command.ts";
import type { KvConfig } from "../../src/kv/config.ts";
import { decodeEntry, encodeEntry } from "../../src/kv/entry-codec.ts";
import { type ApplyOutcome, KvStateMachine } from "../../src/kv/state-machine.ts";
import { assertSameBytes } from "./helpers.ts";
import { KvModel } from "./model.ts";

const PROPERTY = { seed: 2024, numRuns: 200 } as const;
const KEYS = ["a", "b", "c", "d"] as const;
const CLIENT_SLOTS = 4;

/** One step of the workload, with the random choices it needs. */
type Action =
  | { readonly type: "new"; readonly slot: number; readonly op: Op }
  | { readonly type: "retry"; readonly slot: number; readonly pick: number; readonly sameBytes: boolean }
  | { readonly type: "ack"; readonly slot: number; readonly count: number }
  | { readonly type: "register"; readonly slot: number }
  | { readonly type: "tick"; readonly ms: number }
  | { readonly type: "stale-leader"; readonly slot: number; readonly op: Op; readonly behindMs: number }
  | { readonly type: "noop" }
  | { readonly type: "garbage"; readonly bytes: Uint8Array }
  | { readonly type: "restore" };

type Op =
  | { readonly kind: "put" | "append"; readonly key: string; readonly value: string }
  | { readonly kind: "get" | "delete"; readonly key: string }
  | { readonly kind: "cas"; readonly key: string; readonly expected: string | null; readonly value: string };

const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom("", "x", "y", "zz");
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom("put" as const, "append" as const), key, value }),
  fc.record({ kind: fc.constantFrom("get" as const, "delete" as const), key }),
  fc.record({ kind: fc.constant("cas" as const), key, expected: fc.option(value), value }),
);
const slot = fc.nat(CLIENT_SLOTS - 1);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constant("new" as const), slot, op }) },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant("retry" as const),
      slot,
      pick: fc.nat(),
      sameBytes: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ type: fc.constant("ack" as const), slot, count: fc.integer({ min: 1, max: 4 }) }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("register" as const), slot }) },
  {
    weight: 3,
    arbitrary: fc.record({ type: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 100 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("stale-leader" as const),
      slot,
      op,
      behindMs: fc.integer({ min: 1, max: 1_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: "noop" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("garbage" as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: "restore" as const }) },
);

/** Small bounds so expiry, eviction and the pipelining window are all reached. */
const config: fc.Arbitrary<KvConfig> = fc.record({
  sessionTimeoutMs: fc.integer({ min: 200, max: 2_000 }),
  sessionsMax: fc.integer({ min: 2, max: 6 }),
  outstandingPerSessionMax: fc.integer({ min: 1, max: 8 }),
  savedValueBytesPerSessionMax: fc.constant(2 * 1024 * 1024),
});

/** What a simulated client knows: its session, its numbering, and what it has proposed. */
interface SimClient {
  id: ClientId | null;
  nextSequence: number;
  ackedBelow: number;
  readonly proposed: { readonly command: SessionCommand; readonly bytes: Uint8Array }[];
}

/** Turns actions into log entries, as clients and (possibly stale) leaders would propose them. */
class Workload {
  nowMs = 1_000;
  readonly clients: SimClient[] = Array.from({ length: CLIENT_SLOTS }, () => ({
    id: null,
    nextSequence: 1,
    ackedBelow: 0,
    proposed: [],
  }));

  /** The entry data this action proposes, or "restore" to restore a replica; undefined when it proposes nothing. */
  entryFor(action: Action): Uint8Array | "restore" | undefined {
    switch (action.type) {
      case "tick":
        this.nowMs += action.ms;
        return undefined;
      case "restore":
        return "restore";
      case "noop":
        return new Uint8Array(0);
      case "garbage":
        return action.bytes;
      case "register":
        return encodeEntry({ timestampMs: this.nowMs, command: { kind: "register-client" } });
      case "ack": {
        const client = this.clients[action.slot];
        if (client !== undefined)
          client.ackedBelow = Math.min(client.nextSequence, client.ackedBelow + action.count);
        return undefined;
      }
      case "new":
        return this.#propose(action.slot, action.op, this.nowMs);
      case "stale-leader":
        return this.#propose(action.slot, action.op, Math.max(0, this.nowMs - action.behindMs));
      case "retry":
        return this.#retry(action.slot, action.pick, action.sameBytes);
    }
  }

  #propose(slotIndex: number, operation: Op, timestampMs: number): Uint8Array | undefined {
    const client = this.clients[slotIndex];
    if (client === undefined) return undefined;
    if (client.id === null) return encodeEntry({ timestampMs, command: { kind: "register-client" } });
    const stamp = { clientId: client.id, sequence: client.nextSequence++, ackedBelow: client.ackedBelow };
    const command: SessionCommand = { ...operation, ...stamp };
    const bytes = encodeEntry({ timestampMs, command });
    client.proposed.push({ command, bytes });
    return bytes;
  }

  #retry(slotIndex: number, pick: number, sameBytes: boolean): Uint8Array | undefined {
    const proposed = this.clients[slotIndex]?.proposed ?? [];
    const chosen = proposed[pick % Math.max(1, proposed.length)];
    if (chosen === undefined) return undefined;
    // The same bytes: a duplicated delivery. A fresh entry: the client retried through a new leader.
    return sameBytes ? chosen.bytes : encodeEntry({ timestampMs: this.nowMs, command: chosen.command });
  }

  /** Tells the clients what an entry produced: registrations and expired sessions. */
  observe(data: Uint8Array, outcome: ApplyOutcome): void {
    const decoded = decodeEntry(data);
    if (!decoded.ok) return;
    const { command } = decoded.entry;
    const result = outcome.result;
    if (result.kind === "registered") {
      const waiting =
        this.clients.find((client) => client.id === null) ?? this.clients[result.clientId % CLIENT_SLOTS];
      if (waiting !== undefined)
        Object.assign(waiting, { id: result.clientId, nextSequence: 1, ackedBelow: 0 });
    } else if (result.kind === "session-expired" && "clientId" in command) {
      for (const client of this.clients) if (client.id === command.clientId) client.id = null;
    }
  }
}

function comparableResult(outcome: { result: ApplyOutcome["result"] }): unknown {
  return outcome.result.kind === "too-many-outstanding" ? { kind: "too-many-outstanding" } : outcome.result;
}

describe("replicas of the key-value state machine", () => {
  test("same log, same outcomes, byte-identical snapshots at every entry, data equal to the model", () => {
    fc.assert(
      fc.property(
        config,
        fc.array(action, { minLength: 40, maxLength: 120, size: "max" }),
        (kvConfig, actions) => {
          const workload = new Workload();
          const steady = new KvStateMachine(kvConfig);
          let restoring = new KvStateMachine(kvConfig);
          const model = new KvModel(kvConfig);
          const executed = new Set<string>();
          for (const step of actions) {
            const data = workload.entryFor(step);
            if (data === undefined) continue;
            if (data === "restore") {
              restoring = KvStateMachine.restore(restoring.snapshot(), kvConfig);
              continue;
            }
            const index = asIndex(steady.appliedIndex + 1);
            const outcome = steady.apply(index, data);
            assert.deepEqual(restoring.apply(index, data), outcome);
            assertSameBytes(restoring.snapshot(), steady.snapshot(), `snapshots differ after index ${index}`);
            checkAgainstModel(model, index, data, outcome, executed);
            for (const key of KEYS)
              assert.equal(steady.get(key), model.data.get(key), `key ${key} at ${index}`);
            assert.equal(steady.stats().keys, model.data.size);
            workload.observe(data, outcome);
          }
        },
      ),
      PROPERTY,
    );
  });
});

/** Checks one outcome against the model, and that no (clientId, sequence) ever runs twice. */
function checkAgainstModel(
  model: KvModel,
  index: number,
  data: Uint8Array,
  outcome: ApplyOutcome,
  executed: Set<string>,
): void {
  const decoded = decodeEntry(data);
  if (data.length === 0) {
    assert.equal(outcome.result.kind, "no-op");
    return;
  }
  if (!decoded.ok) {
    assert.equal(outcome.result.kind, "bad-command");
    return;
  }
  const expected = model.apply(index, decoded.entry as KvEntry);
  assert.deepEqual(comparableResult(outcome), comparableResult(expected), `result at index ${index}`);
  assert.equal(outcome.replayed, expected.replayed, `replayed at index ${index}`);
  const ran =
    !outcome.replayed && ["ok", "not-found", "cas-mismatch", "value-too-large"].includes(outcome.result.kind);
  if (ran) {
    const id = `${outcome.clientId}/${outcome.sequence}`;
    assert.ok(!executed.has(id), `command ${id} ran twice`);
    executed.add(id);
  }
}
