import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator";

/**
 * A seeded pseudo-random source. Every random choice in tsraft (election jitter, simulated faults, tester
 * choices) comes from one of these, so a run is a pure function of its seed. Never `Math.random`.
 */
export class Random {
  readonly #generator: JumpableRandomGenerator;

  /** @param seed any 32-bit integer; the same seed always yields the same sequence. */
  constructor(seed: number) {
    this.#generator = xoroshiro128plus(seed | 0);
  }

  /** A uniform integer in [0, bound). `bound` must be a positive safe integer. */
  int(bound: number): number {
    if (!Number.isSafeInteger(bound) || bound <= 0) {
      throw new RangeError(`Random.int: bound must be a positive integer, got ${bound}`);
    }
    return uniformInt(this.#generator, 0, bound - 1);
  }

  /** A uniform integer in [low, high] (both inclusive). */
  intBetween(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }

  /** True with probability `numerator / denominator`. */
  chance(numerator: number, denominator: number): boolean {
    return this.int(denominator) < numerator;
  }

  /** A uniform element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined && items.length === 0) {
      throw new RangeError("Random.pick: empty array");
    }
    return item as T;
  }

  /** A non-negative 31-bit integer, like Go's `rand.Int()` as the course's tester uses it. */
  nonNegativeInt(): number {
    return this.int(0x7fffffff);
  }
}

/**
 * Derives the seed of an independent stream from a parent seed and a stream name, so that adding draws to
 * one stream (say the network's) never shifts another (say node 3's election jitter). A 32-bit FNV-1a hash
 * mixed with the parent seed through a murmur3 finaliser.
 */
export function deriveSeed(parentSeed: number, stream: string): number {
  let hash = 0x811c9dc5 ^ (parentSeed | 0);
  for (let i = 0; i < stream.length; i++) {
    hash ^= stream.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash | 0;
}
