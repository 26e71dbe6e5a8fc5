import type { LinearizedSet } from "./linearized-set.ts";

/** Least initial capacity of the cache, in entries; it doubles as needed, up to the caller's word bound. */
const INITIAL_CAPACITY_ENTRIES_MIN = 16;

/** How the cache is sized. */
export interface VisitedCacheShape {
  /** The length of C's word arrays. */
  readonly completedWords: number;
  /** The length of P's word arrays. */
  readonly pendingWords: number;
  /**
   * The most set words the cache may hold, bounding its memory at about 4 bytes per word plus a state hash
   * and a map entry per configuration.
   */
  readonly wordsMax: number;
  /** The entries to allocate room for at first; a legal history needs about one per operation. */
  readonly expectedEntries: number;
}

/** What {@link VisitedCache.visit} found. */
export type VisitResult =
  /** A new configuration, recorded as entry `entry`; report it {@link VisitedCache.finish}ed when left. */
  | { readonly kind: "new"; readonly entry: number }
  /** Seen before, or dominated by a configuration already explored without success: prune it. */
  | { readonly kind: "seen" }
  /** Recording it would exceed the memory bound. */
  | { readonly kind: "full" };

/**
 * The memo of Lowe's improvement to Wing & Gong: the configurations the search has reached, each a set of
 * linearized returned operations C, a set of linearized never-returned operations P, and a model state s.
 * Reaching a configuration again cannot lead anywhere new, so that branch is pruned.
 *
 * One extension: (C, P, s) is also pruned when a configuration (C, P', s) with P' a subset of P was fully
 * explored without success. Whatever could follow the bigger configuration could follow the smaller one too
 * (it has the same state, and more optional operations left, none of which blocks anything), so it fails
 * as well. Without this, histories with many timed-out operations re-explore every subset of them.
 *
 * Sets are stored exactly (copied into growing word slabs) and compared in full on a hash match, so a hash
 * collision never prunes a branch wrongly.
 */
export class VisitedCache {
  readonly #completedWords: number;
  readonly #pendingWords: number;
  readonly #wordsMax: number;
  /** First entry of each hash chain, keyed by the hash of (C, s). */
  readonly #chainHeads = new Map<number, number>();
  /** Entry `i`'s C occupies words `[i * completedWords, (i + 1) * completedWords)`; P likewise. */
  #completedSlab: Uint32Array;
  #pendingSlab: Uint32Array;
  /** The next entry in the same hash chain, or -1. */
  #chainNext: Int32Array;
  /** 1 once the configuration's whole subtree was explored without success. */
  #finished: Uint8Array;
  readonly #stateHashes: string[] = [];
  #entries = 0;

  constructor({ completedWords, pendingWords, wordsMax, expectedEntries }: VisitedCacheShape) {
    this.#completedWords = completedWords;
    this.#pendingWords = pendingWords;
    this.#wordsMax = wordsMax;
    const wordsPerEntry = Math.max(1, completedWords + pendingWords);
    const capacity = Math.min(
      Math.max(INITIAL_CAPACITY_ENTRIES_MIN, 2 * expectedEntries),
      Math.ceil(wordsMax / wordsPerEntry),
    );
    this.#completedSlab = new Uint32Array(capacity * completedWords);
    this.#pendingSlab = new Uint32Array(capacity * pendingWords);
    this.#chainNext = new Int32Array(capacity);
    this.#finished = new Uint8Array(capacity);
  }

  /** The number of configurations recorded. */
  get size(): number {
    return this.#entries;
  }

  /** Looks up (C, P, s) and records it if it is new. */
  visit(completed: LinearizedSet, pending: LinearizedSet, stateHash: string): VisitResult {
    const key = (completed.hash ^ stringHash(stateHash)) | 0;
    const head = this.#chainHeads.get(key);
    for (let entry = head ?? -1; entry !== -1; entry = this.#chainNext[entry] ?? -1) {
      if (this.#stateHashes[entry] !== stateHash || !this.#sameCompleted(entry, completed.words)) continue;
      const relation = this.#comparePending(entry, pending.words);
      if (relation === "equal" || (relation === "subset" && this.#finished[entry] === 1))
        return { kind: "seen" };
    }
    const wordsPerEntry = Math.max(1, this.#completedWords + this.#pendingWords);
    if ((this.#entries + 1) * wordsPerEntry > this.#wordsMax) return { kind: "full" };
    if (this.#entries === this.#chainNext.length) this.#grow(wordsPerEntry);
    const entry = this.#entries++;
    this.#completedSlab.set(completed.words, entry * this.#completedWords);
    this.#pendingSlab.set(pending.words, entry * this.#pendingWords);
    this.#stateHashes.push(stateHash);
    this.#chainNext[entry] = head ?? -1;
    this.#chainHeads.set(key, entry);
    return { kind: "new", entry };
  }

  /** Marks `entry` explored without success: from now on it also prunes the configurations it dominates. */
  finish(entry: number): void {
    this.#finished[entry] = 1;
  }

  #sameCompleted(entry: number, words: Uint32Array): boolean {
    const offset = entry * this.#completedWords;
    for (let word = 0; word < words.length; word++) {
      if (this.#completedSlab[offset + word] !== words[word]) return false;
    }
    return true;
  }

  /** How the entry's P relates to `words`: equal, a strict subset of it, or neither. */
  #comparePending(entry: number, words: Uint32Array): "equal" | "subset" | "other" {
    const offset = entry * this.#pendingWords;
    let equal = true;
    for (let word = 0; word < words.length; word++) {
      const recorded = this.#pendingSlab[offset + word] ?? 0;
      const current = words[word] ?? 0;
      if ((recorded & ~current) !== 0) return "other";
      if (recorded !== current) equal = false;
    }
    return equal ? "equal" : "subset";
  }

  #grow(wordsPerEntry: number): void {
    const capacityMax = Math.ceil(this.#wordsMax / wordsPerEntry);
    const capacity = Math.min(this.#chainNext.length * 2, capacityMax);
    this.#completedSlab = grown(this.#completedSlab, capacity * this.#completedWords);
    this.#pendingSlab = grown(this.#pendingSlab, capacity * this.#pendingWords);
    const chainNext = new Int32Array(capacity);
    chainNext.set(this.#chainNext);
    this.#chainNext = chainNext;
    const finished = new Uint8Array(capacity);
    finished.set(this.#finished);
    this.#finished = finished;
  }
}

function grown(words: Uint32Array, length: number): Uint32Array {
  const copy = new Uint32Array(length);
  copy.set(words);
  return copy;
}

/** FNV-1a over the string's UTF-16 code units: a 32-bit hash of a model state's hash string. */
function stringHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}
