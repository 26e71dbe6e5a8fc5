/** The bounds of one peer's outbound queue. */
export interface OutboundQueueLimits {
  /** Frames the queue holds at most. */
  readonly messagesMax: number;
  /** Bytes (of encoded frames) the queue holds at most. */
  readonly bytesMax: number;
}

/** What a consumed slot holds. */
const RELEASED = new Uint8Array(0);

/** Consumed slots after which the backing array is compacted (so a long-lived queue does not creep). */
const COMPACT_AFTER_SLOTS = 1024;

/**
 * Encoded frames waiting for a peer's socket, oldest first, bounded in count and in bytes. A frame that would
 * break either bound is refused (the caller drops and counts it): under overload the newest traffic is lost,
 * which Raft tolerates like any other loss, and memory stays bounded.
 */
export class OutboundQueue {
  readonly #limits: OutboundQueueLimits;
  #frames: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;

  constructor(limits: OutboundQueueLimits) {
    if (!(Number.isSafeInteger(limits.messagesMax) && limits.messagesMax > 0 && limits.bytesMax > 0)) {
      throw new RangeError(
        `outbound queue bounds must be positive, got ${limits.messagesMax} messages and ${limits.bytesMax} bytes`,
      );
    }
    this.#limits = limits;
  }

  /** Frames waiting. */
  get messages(): number {
    return this.#frames.length - this.#head;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends `frame` unless that would exceed a bound; returns whether it was queued. */
  push(frame: Uint8Array): boolean {
    if (this.messages >= this.#limits.messagesMax || this.#bytes + frame.length > this.#limits.bytesMax) {
      return false;
    }
    this.#frames.push(frame);
    this.#bytes += frame.length;
    return true;
  }

  /** Removes and returns the oldest frame, if any. */
  shift(): Uint8Array | undefined {
    const frame = this.#frames[this.#head];
    if (frame === undefined) return undefined;
    // Release the slot at once: a consumed frame must not stay reachable until the next compaction.
    this.#frames[this.#head] = RELEASED;
    this.#head++;
    this.#bytes -= frame.length;
    if (this.#head === this.#frames.length) {
      this.#frames = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER_SLOTS && this.#head * 2 >= this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
    return frame;
  }

  /** Drops everything. */
  clear(): void {
    this.#frames = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
