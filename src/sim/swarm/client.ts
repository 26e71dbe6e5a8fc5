import type { Clock } from "../../peer/index.ts";
import { assert } from "../../util/assert.ts";
import type { Random } from "../../util/random.ts";

/** The first byte of every client command: `c`, then the sequence number in decimal ASCII. */
const COMMAND_TAG = 0x63;
const DIGIT_ZERO = 0x30;

/** The command with sequence number `seq`: the bytes of `c<seq>`, unique in a run. */
export function encodeCommand(seq: number): Uint8Array {
  assert(Number.isSafeInteger(seq) && seq >= 0, "encodeCommand: bad sequence number");
  const digits = String(seq);
  const bytes = new Uint8Array(digits.length + 1);
  bytes[0] = COMMAND_TAG;
  for (let i = 0; i < digits.length; i++) bytes[i + 1] = digits.charCodeAt(i);
  return bytes;
}

/** The sequence number of a client command, or null for anything else (a leader's no-op is empty). */
export function decodeCommand(data: Uint8Array): number | null {
  if (data.length < 2 || data[0] !== COMMAND_TAG) return null;
  let seq = 0;
  for (let i = 1; i < data.length; i++) {
    const digit = (data[i] ?? 0) - DIGIT_ZERO;
    if (digit < 0 || digit > 9) return null;
    seq = seq * 10 + digit;
  }
  return seq;
}

/** A client command as text (`c42`), or `no-op`. */
export function commandText(data: Uint8Array): string {
  const seq = decodeCommand(data);
  return seq === null ? (data.length === 0 ? "no-op" : `${data.length} bytes`) : `c${seq}`;
}

/**
 * The workload: a client that proposes a burst of fresh commands every so often, at a seeded rate, to whichever
 * node it believes leads. It does not retry: a command lost with its leader is simply never committed, and the
 * next ones go to the next leader. Unique commands make every applied entry traceable to one proposal.
 */
export class Client {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #intervalMs: number;
  readonly #burstMax: number;
  readonly #propose: (data: Uint8Array) => void;
  #nextSeq = 0;
  #running = false;

  /**
   * @param intervalMs mean milliseconds between bursts (each gap is drawn from [1, 2 * intervalMs])
   * @param burstMax most commands in one burst
   * @param propose hands a command to the cluster
   */
  constructor(
    clock: Clock,
    random: Random,
    intervalMs: number,
    burstMax: number,
    propose: (data: Uint8Array) => void,
  ) {
    this.#clock = clock;
    this.#random = random;
    this.#intervalMs = intervalMs;
    this.#burstMax = burstMax;
    this.#propose = propose;
  }

  /** The sequence number the next command will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#scheduleBurst();
  }

  stop(): void {
    this.#running = false;
  }

  #scheduleBurst(): void {
    this.#clock.setTimer(
      () => {
        if (!this.#running) return;
        const count = this.#random.intBetween(1, this.#burstMax);
        for (let i = 0; i < count; i++) this.#propose(encodeCommand(this.#nextSeq++));
        this.#scheduleBurst();
      },
      this.#random.intBetween(1, 2 * this.#intervalMs),
    );
  }
}
