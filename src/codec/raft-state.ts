import {
  asIndex,
  asNodeId,
  asTerm,
  decodeMembership,
  type Entry,
  type HardState,
  type LogIndex,
  type SnapshotMeta,
  type Term,
} from "../core/index.ts";
import { decode, encode } from "./msgpack.ts";

/**
 * The persisted Raft state as one compact byte string (the lab's `Persister` holds exactly this): hard state,
 * the snapshot boundary and the entries after it. Layout, version 1, one MessagePack array:
 *
 *   [1, term, vote (-1 for none), commit, snapshotIndex, snapshotTerm, term1, data1, term2, data2, ...]
 *
 * Entry indexes are implied (snapshotIndex + 1, + 2, ...), which keeps a small log well under the course's
 * 2000-byte bound for the 2D tests. Membership (thesis §4), which the lab never uses, costs nothing when
 * absent: a membership entry's data is written wrapped in a one-element array, `[data]`, and a snapshot that
 * records a configuration has `[snapshotTerm, membership]` in place of `snapshotTerm`.
 */
export const RAFT_STATE_VERSION = 1;

export interface PersistedRaftState {
  readonly hardState: HardState;
  readonly snapshotMeta: SnapshotMeta;
  readonly entries: readonly Entry[];
}

export function encodeRaftState(state: PersistedRaftState): Uint8Array {
  const { hardState, snapshotMeta, entries } = state;
  const fields: unknown[] = [
    RAFT_STATE_VERSION,
    hardState.term,
    hardState.vote ?? -1,
    hardState.commit,
    snapshotMeta.index,
    snapshotTermField(snapshotMeta),
  ];
  for (const entry of entries) fields.push(entry.term, entryDataField(entry));
  return encode(fields);
}

function snapshotTermField(meta: SnapshotMeta): unknown {
  return meta.membership === undefined ? meta.term : [meta.term, meta.membership];
}

function entryDataField(entry: Entry): unknown {
  return entry.kind === "membership" ? [entry.data] : entry.data;
}

/** Decodes {@link encodeRaftState}'s output; throws a clear error on anything else. */
export function decodeRaftState(bytes: Uint8Array): PersistedRaftState {
  const fields = decode(bytes);
  if (!Array.isArray(fields) || fields.length < 6 || (fields.length - 6) % 2 !== 0) {
    throw new Error("persisted Raft state is malformed: not a version-1 state array");
  }
  if (fields[0] !== RAFT_STATE_VERSION) {
    throw new Error(`persisted Raft state has unknown version ${String(fields[0])}`);
  }
  const int = (position: number, min = 0): number => intValue(fields[position], position, min);
  const intValue = (value: unknown, position: number, min = 0): number => {
    if (!Number.isSafeInteger(value) || (value as number) < min) {
      throw new Error(
        `persisted Raft state: field ${position} is not an integer >= ${min}: ${String(value)}`,
      );
    }
    return value as number;
  };
  const vote = int(2, -1);
  const snapshotIndex = asIndex(int(4));
  const entries: Entry[] = [];
  const bytesAt = (value: unknown, position: number): Uint8Array => {
    if (!(value instanceof Uint8Array))
      throw new Error(`persisted Raft state: field ${position} is not bytes`);
    return value;
  };
  const membershipAt = (value: unknown, position: number): Uint8Array => {
    const bytes = bytesAt(value, position);
    try {
      decodeMembership(bytes);
    } catch (error) {
      throw new Error(`persisted Raft state: field ${position}: ${(error as Error).message}`);
    }
    return bytes;
  };
  for (let position = 6; position < fields.length; position += 2) {
    const data = fields[position + 1];
    const index = asIndex(snapshotIndex + entries.length + 1);
    const term = asTerm(int(position)) as Term;
    if (Array.isArray(data) && data.length === 1) {
      entries.push({ index, term, data: membershipAt(data[0], position + 1), kind: "membership" });
    } else {
      entries.push({ index, term, data: bytesAt(data, position + 1) });
    }
  }
  const snapshotTerm = fields[5];
  const snapshotMeta: SnapshotMeta =
    Array.isArray(snapshotTerm) && snapshotTerm.length === 2
      ? {
          index: snapshotIndex,
          term: asTerm(intValue(snapshotTerm[0], 5)),
          membership: membershipAt(snapshotTerm[1], 5),
        }
      : { index: snapshotIndex, term: asTerm(int(5)) };
  return {
    hardState: {
      term: asTerm(int(1)),
      vote: vote < 0 ? null : asNodeId(vote),
      commit: asIndex(int(3)) as LogIndex,
    },
    snapshotMeta,
    entries,
  };
}

/**
 * Produces {@link encodeRaftState}'s bytes incrementally for a log that grows and shrinks at its tail. The
 * lab persists the whole state on every write, as the course's Persister requires; re-encoding every entry
 * each time made long tests quadratic. This keeps each entry's encoding once, so a write costs one copy.
 *
 * Mirror the log with {@link replaceFrom} (entries overwritten from an index on) and {@link reset} (after a
 * snapshot moves the boundary); the output is byte-for-byte what encodeRaftState gives.
 */
export class RaftStateWriter {
  #bytes = new Uint8Array(1024);
  #length = 0;
  /** Start of each entry's encoding in #bytes; entry k (0-based) has index offset + 1 + k. */
  readonly #starts: number[] = [];
  #offset = 0;

  /** Forgets everything and mirrors `entries`, the log after the snapshot boundary `offset`. */
  reset(offset: LogIndex, entries: readonly Entry[]): void {
    this.#offset = offset;
    this.#length = 0;
    this.#starts.length = 0;
    for (const entry of entries) this.#append(entry);
  }

  /** Drops every entry at `entries[0].index` or later, then appends `entries`. */
  replaceFrom(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const position = first.index - this.#offset - 1;
    if (position < 0 || position > this.#starts.length) {
      throw new Error(
        `RaftStateWriter: entry ${first.index} does not continue the log (offset ${this.#offset})`,
      );
    }
    if (position < this.#starts.length) {
      this.#length = this.#starts[position] as number;
      this.#starts.length = position;
    }
    for (const entry of entries) this.#append(entry);
  }

  /** The encoded state: equal to `encodeRaftState({hardState, snapshotMeta, entries})` for the mirrored log. */
  encode(hardState: HardState, snapshotMeta: SnapshotMeta): Uint8Array {
    const header = [
      hardState.term,
      hardState.vote ?? -1,
      hardState.commit,
      snapshotMeta.index,
      snapshotTermField(snapshotMeta),
    ];
    const parts = [
      arrayHeader(6 + 2 * this.#starts.length),
      encode(RAFT_STATE_VERSION),
      ...header.map((field) => encode(field)),
    ];
    let size = this.#length;
    for (const part of parts) size += part.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    out.set(this.#bytes.subarray(0, this.#length), at);
    return out;
  }

  #append(entry: Entry): void {
    const term = encode(entry.term);
    const data = encode(entryDataField(entry));
    const needed = this.#length + term.length + data.length;
    if (needed > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#starts.push(this.#length);
    this.#bytes.set(term, this.#length);
    this.#bytes.set(data, this.#length + term.length);
    this.#length = needed;
  }
}

/** The MessagePack header of an array of `count` elements. */
function arrayHeader(count: number): Uint8Array {
  if (count < 16) return Uint8Array.of(0x90 | count);
  if (count < 0x10000) return Uint8Array.of(0xdc, count >> 8, count & 0xff);
  return Uint8Array.of(0xdd, (count >>> 24) & 0xff, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff);
}
