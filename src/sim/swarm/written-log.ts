import type { Entry } from "../../core/index.ts";
import { assert } from "../../util/assert.ts";

/**
 * A 64-bit fingerprint of a log prefix, as two 32-bit halves. Equal prefixes always have equal fingerprints;
 * different ones collide with probability about 2^-64 per comparison, which could only hide a violation,
 * never invent one.
 */
export interface PrefixFingerprint {
  readonly high: number;
  readonly low: number;
}

/** The fingerprint of the empty prefix (index 0). */
export const EMPTY_PREFIX: PrefixFingerprint = { high: 0x6a09e667, low: 0xbb67ae85 };

/**
 * One node's log as it wrote it to storage (synced or not), with a fingerprint of every prefix: entry i's
 * fingerprint hashes entry i - 1's with i's term and data. Two logs that hold the same (index, term) agree on
 * every earlier entry exactly when their fingerprints there are equal, so the Log Matching property is an
 * O(1) comparison per written entry instead of a walk back through both logs.
 */
export class WrittenLog {
  /** `terms[i - 1]` is the term of entry i. */
  readonly #terms: number[] = [];
  readonly #high: number[] = [];
  readonly #low: number[] = [];

  /** The last index written (0 when empty). */
  get lastIndex(): number {
    return this.#terms.length;
  }

  /** The term of entry `index`, or undefined past the end (0 for index 0). */
  term(index: number): number | undefined {
    return index === 0 ? 0 : this.#terms[index - 1];
  }

  /** The fingerprint of entries 1..index, or undefined past the end. */
  fingerprint(index: number): PrefixFingerprint | undefined {
    if (index === 0) return EMPTY_PREFIX;
    const high = this.#high[index - 1];
    const low = this.#low[index - 1];
    return high === undefined || low === undefined ? undefined : { high, low };
  }

  /** Drops every entry after `lastIndex`. */
  truncate(lastIndex: number): void {
    assert(lastIndex >= 0 && lastIndex <= this.lastIndex, "WrittenLog.truncate: out of range");
    this.#terms.length = lastIndex;
    this.#high.length = lastIndex;
    this.#low.length = lastIndex;
  }

  /** Appends `entry`, which must follow the last one, and returns its prefix's fingerprint. */
  append(entry: Entry): PrefixFingerprint {
    assert(entry.index === this.lastIndex + 1, "WrittenLog.append: entries must follow the last one");
    const previous = this.fingerprint(this.lastIndex) ?? EMPTY_PREFIX;
    const data = bytesHash(entry.data);
    const high = mix(previous.high ^ Math.imul(entry.term, 0x9e3779b1) ^ data, 0x85ebca6b);
    const low = mix(previous.low + Math.imul(entry.term ^ data, 0xc2b2ae35) + entry.index, 0x27d4eb2f);
    this.#terms.push(entry.term);
    this.#high.push(high);
    this.#low.push(low);
    return { high, low };
  }

  /** Replaces the whole log with `entries` (1..n, in order), as after a crash. */
  reset(entries: readonly Entry[]): void {
    this.truncate(0);
    for (const entry of entries) this.append(entry);
  }

  /** The first index at which this log and `other` hold different entries, up to `through`; undefined if none. */
  firstDifference(other: WrittenLog, through: number): number | undefined {
    for (let index = 1; index <= through; index++) {
      const ours = this.fingerprint(index);
      const theirs = other.fingerprint(index);
      if (ours?.high !== theirs?.high || ours?.low !== theirs?.low) return index;
    }
    return undefined;
  }
}

/** FNV-1a over the bytes: entry data are a few bytes, so this costs next to nothing. */
function bytesHash(bytes: Uint8Array): number {
  let hash = 0x811c9dc5 ^ bytes.length;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash | 0;
}

/** A murmur3-style finaliser: spreads every input bit over the result. */
function mix(value: number, multiplier: number): number {
  let hash = value | 0;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, multiplier);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash | 0;
}
