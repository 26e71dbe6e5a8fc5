/**
 * The set of operations (numbered 0..size-1 within one partition) that the search has linearized so far: a
 * bitset plus a Zobrist hash of it, kept up to date in O(1) per change so the visited cache never rehashes
 * the whole set.
 */
export class LinearizedSet {
  /** Bit `i % 32` of word `i >>> 5` is set when operation `i` is in the set. */
  readonly words: Uint32Array;
  #hash = 0;

  /** @param size the number of operations in the partition; every member is below it. */
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  /** A 32-bit hash of the members (XOR of one mixed value per member): equal sets hash equally. */
  get hash(): number {
    return this.#hash;
  }

  /** Adds operation `index`, which must not be a member. */
  add(index: number): void {
    this.words[index >>> 5] = (this.words[index >>> 5] ?? 0) | (1 << (index & 31));
    this.#hash ^= memberHash(index);
  }

  /** Removes operation `index`, which must be a member. */
  remove(index: number): void {
    this.words[index >>> 5] = (this.words[index >>> 5] ?? 0) & ~(1 << (index & 31));
    this.#hash ^= memberHash(index);
  }

  /** Whether operation `index` is a member. */
  has(index: number): boolean {
    return ((this.words[index >>> 5] ?? 0) & (1 << (index & 31))) !== 0;
  }
}

/** A well-spread 32-bit value per member (murmur3's finaliser), so XORs of different sets rarely collide. */
function memberHash(index: number): number {
  let hash = Math.imul(index + 1, 0x9e3779b1);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash | 0;
}
