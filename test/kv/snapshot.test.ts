/**
 * Snapshots of the key-value state machine (Raft §7): byte-identical round trips, identical continuation
 * after a restore, and strict refusal of corrupt snapshots.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decode, encode } from "../../src/codec/msgpack.ts";
import { asIndex } from "../../src/core/types.ts";
import type { ClientId, KvCommand } from "../../src/kv/command.ts";
import { encodeEntry } from "../../src/kv/entry-codec.ts";
import { VALUE_BYTES_MAX } from "../../src/kv/limits.ts";
import { CorruptSnapshotError } from "../../src/kv/snapshot-codec.ts";
import { KvStateMachine } from "../../src/kv/state-machine.ts";
import { assertSameBytes, Driver, SMALL_CONFIG, stamp } from "./helpers.ts";

const FUZZ = { seed: 21, numRuns: 400 } as const;

/** A state machine with data, several sessions and every kind of saved result. */
function populated(): { kv: Driver; ids: ClientId[] } {
  const kv = new Driver(SMALL_CONFIG);
  const ids = [kv.register(), kv.register(), kv.register()];
  const [a, b, c] = ids;
  assert.ok(a !== undefined && b !== undefined && c !== undefined);
  kv.apply({ kind: "put", ...stamp(a, 1, 1), key: "zeta", value: "last" });
  kv.apply({ kind: "put", ...stamp(a, 2, 1), key: "alpha", value: "first 😀" });
  kv.apply({ kind: "get", ...stamp(a, 3, 1), key: "alpha" });
  kv.nowMs += 500;
  kv.apply({ kind: "cas", ...stamp(b, 1), key: "alpha", expected: null, value: "x" });
  kv.apply({ kind: "get", ...stamp(b, 2), key: "missing" });
  kv.apply({ kind: "put", ...stamp(c, 1), key: "big", value: "b".repeat(VALUE_BYTES_MAX) });
  kv.apply({ kind: "append", ...stamp(c, 2), key: "big", value: "!" });
  kv.apply({ kind: "delete", ...stamp(c, 3), key: "zeta" });
  kv.applyData(new Uint8Array(0));
  return { kv, ids };
}

/** The snapshot decoded to its MessagePack array, to be tampered with. */
function snapshotFields(machine: KvStateMachine): unknown[] {
  const fields = decode(machine.snapshot());
  assert.ok(Array.isArray(fields));
  return fields;
}

function assertCorrupt(bytes: Uint8Array, pattern: RegExp, config = SMALL_CONFIG): void {
  assert.throws(
    () => KvStateMachine.restore(bytes, config),
    (error: unknown) => error instanceof CorruptSnapshotError && pattern.test(error.message),
  );
}

describe("snapshot and restore", () => {
  test("an empty state machine round-trips", () => {
    const machine = new KvStateMachine(SMALL_CONFIG);
    const restored = KvStateMachine.restore(machine.snapshot(), SMALL_CONFIG);
    assertSameBytes(restored.snapshot(), machine.snapshot());
    assert.equal(restored.appliedIndex, 0);
  });

  test("restoring and snapshotting again gives the same bytes, stats and sessions", () => {
    const { kv, ids } = populated();
    const bytes = kv.machine.snapshot();
    const restored = KvStateMachine.restore(bytes, SMALL_CONFIG);
    assertSameBytes(restored.snapshot(), bytes);
    assert.deepEqual(restored.stats(), kv.machine.stats());
    for (const id of ids) assert.deepEqual(restored.session(id), kv.machine.session(id));
    assert.equal(restored.get("alpha"), "first 😀");
    assert.equal(restored.logTimeMs, kv.machine.logTimeMs);
  });

  test("a restored replica continues exactly like the original: replays, expiry and eviction order", () => {
    const { kv: original, ids } = populated();
    const copy = new Driver(KvStateMachine.restore(original.machine.snapshot(), SMALL_CONFIG));
    copy.nowMs = original.nowMs;
    const [a, b] = ids;
    assert.ok(a !== undefined && b !== undefined);
    const script: KvCommand[] = [
      { kind: "get", ...stamp(a, 3, 1), key: "alpha" }, // replay of a saved read
      { kind: "cas", ...stamp(b, 1), key: "alpha", expected: null, value: "x" }, // replay of a mismatch
      { kind: "register-client" }, // sessionsMax 4: fills the table
      { kind: "register-client" }, // evicts the least recently used
      { kind: "put", ...stamp(b, 3), key: "after", value: "v" },
    ];
    for (const command of script) {
      assert.deepEqual(copy.apply(command), original.apply(command));
      assertSameBytes(copy.machine.snapshot(), original.machine.snapshot());
    }
    original.nowMs += SMALL_CONFIG.sessionTimeoutMs;
    copy.nowMs = original.nowMs;
    const late: KvCommand = { kind: "get", ...stamp(a, 4, 4), key: "alpha" };
    assert.deepEqual(copy.apply(late), original.apply(late));
    assertSameBytes(copy.machine.snapshot(), original.machine.snapshot());
  });
});

describe("corrupt snapshots are refused with a clear error", () => {
  test("not MessagePack, or not a key-value snapshot", () => {
    assertCorrupt(new Uint8Array([0xc1]), /not MessagePack/);
    assertCorrupt(new Uint8Array(0), /not MessagePack/);
    assertCorrupt(encode({ appliedIndex: 3 }), /not a tsraft-kv snapshot/);
    assertCorrupt(encode(["tsraft-kv", 3, 0, 0, [], [], []]), /unsupported format version 3/);
    assertCorrupt(encode(["tsraft-kv", 1, 0, 0, []]), /expected 6 fields/);
    assertCorrupt(encode(["tsraft-kv", 2, 0, 0, [], []]), /expected 7 fields/);
    assertCorrupt(encode(["tsraft-kv", 2, 0, 0, [], [], [4, "a:1"]]), /members: must be an array of triples/);
    assertCorrupt(
      encode(["tsraft-kv", 2, 0, 0, [], [], [5, "a:1", null, 4, "b:1", null]]),
      /members\[1\]: nodes must be in ascending order/,
    );
  });

  test("version 1 snapshots (before the member address book) are still read", () => {
    const machine = KvStateMachine.restore(encode(["tsraft-kv", 1, 3, 10, ["k", "v"], []]));
    assert.equal(machine.get("k"), "v");
    assert.equal(machine.members().size, 0);
  });

  test("the member address book survives a snapshot", () => {
    const machine = new KvStateMachine();
    const setMember = (node: number, peerAddress: string) =>
      encodeEntry({ timestampMs: 1, command: { kind: "set-member", node, peerAddress, apiAddress: null } });
    machine.apply(asIndex(1), setMember(5, "127.0.0.1:7005"));
    machine.apply(asIndex(2), setMember(4, "127.0.0.1:7004"));
    const restored = KvStateMachine.restore(machine.snapshot());
    assert.deepEqual(
      [...restored.members()].sort(([a], [b]) => a - b),
      [
        [4, { peerAddress: "127.0.0.1:7004", apiAddress: null }],
        [5, { peerAddress: "127.0.0.1:7005", apiAddress: null }],
      ],
    );
    assert.deepEqual(restored.snapshot(), machine.snapshot(), "deterministic bytes");
  });

  test("every truncation of a snapshot is refused", () => {
    const bytes = populated().kv.machine.snapshot();
    // Every prefix of the small header and session part, and a sample across the large value.
    const lengths = new Set<number>();
    for (let length = 0; length < 200; length++) lengths.add(length);
    for (let length = bytes.length - 200; length < bytes.length; length++) lengths.add(length);
    for (let length = 0; length < bytes.length; length += 65_521) lengths.add(length);
    for (const length of lengths) assertCorrupt(bytes.subarray(0, length), /corrupt kv snapshot/);
  });

  test("broken invariants are named", () => {
    const { kv } = populated();
    const tamper = (change: (fields: unknown[]) => void): Uint8Array => {
      const fields = snapshotFields(kv.machine);
      change(fields);
      return encode(fields);
    };
    const data = (fields: unknown[]) => fields[4] as unknown[];
    const sessions = (fields: unknown[]) => fields[5] as unknown[][];
    assertCorrupt(
      tamper((f) => data(f).unshift(...data(f).splice(2, 2))),
      /keys must be strictly ascending/,
    );
    assertCorrupt(
      tamper((f) => data(f).unshift(...data(f).slice(0, 2))),
      /keys must be strictly ascending/,
    );
    assertCorrupt(
      tamper((f) => data(f).push("alpha")),
      /key, value pairs/,
    );
    assertCorrupt(
      tamper((f) => data(f).splice(0, 0, "k".repeat(2000), "v")),
      /key is over the limit/,
    );
    assertCorrupt(
      tamper((f) => {
        f[2] = -1;
      }),
      /appliedIndex/,
    );
    assertCorrupt(
      tamper((f) => sessions(f).reverse()),
      /in use order/,
    );
    assertCorrupt(
      tamper((f) => sessions(f).push(sessions(f)[0] ?? [])),
      /duplicate clientId|in use order/,
    );
    assertCorrupt(
      tamper((f) => {
        const first = sessions(f)[0];
        if (first !== undefined) first[0] = 10_000;
      }),
      /clientId out of range/,
    );
    assertCorrupt(
      tamper((f) => {
        const results = sessions(f)[0]?.[4] as unknown[];
        results[1] = [99];
      }),
      /unknown result tag 99/,
    );
  });

  test("a snapshot taken under another config is refused rather than silently trimmed", () => {
    const bytes = populated().kv.machine.snapshot();
    assertCorrupt(bytes, /over sessionsMax/, { ...SMALL_CONFIG, sessionsMax: 2 });
    assertCorrupt(bytes, /within sessionTimeoutMs/, { ...SMALL_CONFIG, sessionTimeoutMs: 100 });
    assertCorrupt(bytes, /outstanding window/, { ...SMALL_CONFIG, outstandingPerSessionMax: 2 });
  });

  test("random damage to a snapshot gives a CorruptSnapshotError or a valid state, never another error", () => {
    const { kv } = populated();
    // A snapshot without the 1 MiB value, so that flips land in the structure often.
    kv.apply({ kind: "delete", ...stamp(asIndex(3), 4), key: "big" });
    const bytes = kv.machine.snapshot();
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), {
          minLength: 1,
          maxLength: 3,
        }),
        (flips) => {
          const damaged = new Uint8Array(bytes);
          for (const { at, xor } of flips) {
            const position = at % damaged.length;
            damaged[position] = (damaged[position] ?? 0) ^ xor;
          }
          try {
            const restored = KvStateMachine.restore(damaged, SMALL_CONFIG);
            // Whatever restores is a consistent state: it snapshots and restores again to itself.
            const again = restored.snapshot();
            assertSameBytes(KvStateMachine.restore(again, SMALL_CONFIG).snapshot(), again);
          } catch (error) {
            assert.ok(error instanceof CorruptSnapshotError, `unexpected ${String(error)}`);
          }
        },
      ),
      FUZZ,
    );
  });
});
