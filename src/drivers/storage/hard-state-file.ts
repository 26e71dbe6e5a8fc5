import { asIndex, asNodeId, asTerm, type HardState } from "../../core/index.ts";
import { crc32, readU64, writeU64 } from "./wal-record.ts";

/**
 * The hard state file: two checksummed slots, written alternately in place. Layout, see also disk-log.ts:
 *
 *   slot k (k = 0, 1) at byte k * 4096, 40 bytes, little-endian:
 *     0  u32  magic "HSv1"
 *     4  u32  CRC-32 of bytes 8..39
 *     8  u64  sequence number (slot k only ever holds sequences with k = sequence mod 2)
 *     16 u64  term
 *     24 u64  vote + 1 (0 = no vote)
 *     32 u64  commit index
 *
 * Why two slots rather than temp file + rename: a hard state write is on the path of every vote and every
 * commit-index change, and one in-place write plus one fdatasync of a preallocated file (no size change, no
 * new directory entry) is the cheapest durable write there is; temp + rename needs an fsync of the new file,
 * a rename and an fsync of the directory. A crash can tear only the slot being written; the other still holds
 * the previous state, and the newest valid slot wins. The slots sit a page apart so no device writes both in
 * one sector or page.
 */

/** The hard state file's name in the log directory. */
export const HARD_STATE_FILE = "hard-state";
/** Distance between the two slots, in bytes: a page, so a torn page write cannot reach both. */
const SLOT_STRIDE_BYTES = 4096;
/** Bytes a slot's content takes. */
const SLOT_BYTES = 40;
/** Size of the hard state file, fixed at creation. */
export const HARD_STATE_FILE_BYTES = 2 * SLOT_STRIDE_BYTES;
/** "HSv1" read as a little-endian u32. */
const SLOT_MAGIC = 0x3176_5348;

/** A hard state with the sequence number of the write that stored it. */
export interface StoredHardState {
  readonly hardState: HardState;
  readonly sequence: number;
}

/** The byte offset of the slot that holds (or will hold) `sequence`. */
export function slotOffset(sequence: number): number {
  return (sequence % 2) * SLOT_STRIDE_BYTES;
}

/** Encodes one slot's bytes for `state` written as write number `sequence` (>= 1). */
export function encodeSlot(state: StoredHardState): Uint8Array {
  const bytes = new Uint8Array(SLOT_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SLOT_MAGIC, true);
  writeU64(view, 8, state.sequence);
  writeU64(view, 16, state.hardState.term);
  writeU64(view, 24, state.hardState.vote === null ? 0 : state.hardState.vote + 1);
  writeU64(view, 32, state.hardState.commit);
  view.setUint32(4, crc32(bytes.subarray(8)), true);
  return bytes;
}

/** The bytes of a fresh hard state file: slot 1 holds `initial` as sequence 1, slot 0 is zero. */
export function encodeInitialHardStateFile(initial: HardState): Uint8Array {
  const bytes = new Uint8Array(HARD_STATE_FILE_BYTES);
  bytes.set(encodeSlot({ hardState: initial, sequence: 1 }), slotOffset(1));
  return bytes;
}

/**
 * Decodes the slot at `slot` (0 or 1) of a hard state file's bytes; returns why it is not valid as a string.
 * A slot holding a sequence of the other parity is invalid: it cannot have been written there.
 */
export function decodeSlot(file: Uint8Array, slot: 0 | 1): StoredHardState | string {
  const start = slot * SLOT_STRIDE_BYTES;
  if (file.length < start + SLOT_BYTES) return "file too short";
  const bytes = file.subarray(start, start + SLOT_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, SLOT_BYTES);
  if (view.getUint32(0, true) !== SLOT_MAGIC) return "bad magic";
  if (view.getUint32(4, true) !== crc32(bytes.subarray(8))) return "checksum mismatch";
  const sequence = readU64(view, 8);
  const term = readU64(view, 16);
  const votePlusOne = readU64(view, 24);
  const commit = readU64(view, 32);
  if (sequence === undefined || term === undefined || votePlusOne === undefined || commit === undefined) {
    return "field beyond the safe integer range";
  }
  if (sequence < 1 || sequence % 2 !== slot) return `sequence ${sequence} does not belong in slot ${slot}`;
  const hardState: HardState = {
    term: asTerm(term),
    vote: votePlusOne === 0 ? null : asNodeId(votePlusOne - 1),
    commit: asIndex(commit),
  };
  return { hardState, sequence };
}

/**
 * Picks the newest valid slot of a hard state file's bytes. Returns the reasons both slots failed, as one
 * string, when neither is valid (or the file has the wrong size).
 */
export function decodeHardStateFile(file: Uint8Array): StoredHardState | string {
  if (file.length !== HARD_STATE_FILE_BYTES) {
    return `size is ${file.length} bytes, expected ${HARD_STATE_FILE_BYTES}`;
  }
  const slots = [decodeSlot(file, 0), decodeSlot(file, 1)] as const;
  const valid = slots.filter((slot): slot is StoredHardState => typeof slot !== "string");
  const newest = valid.reduce<StoredHardState | undefined>(
    (best, slot) => (best === undefined || slot.sequence > best.sequence ? slot : best),
    undefined,
  );
  if (newest !== undefined) return newest;
  return `no valid slot (slot 0: ${String(slots[0])}; slot 1: ${String(slots[1])})`;
}
