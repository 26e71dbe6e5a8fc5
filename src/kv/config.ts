import { VALUE_BYTES_MAX } from "./limits.ts";

/**
 * Settings of the key-value state machine. Every replica of a cluster must use the same values: they decide
 * when sessions expire and which commands are refused, and replicas that decided differently would diverge
 * (Raft thesis §6.3 asks that session expiry be deterministic).
 */
export interface KvConfig {
  /**
   * A session unused for this many milliseconds of log time (the maximum leader timestamp applied so far)
   * expires when the next command is applied.
   */
  readonly sessionTimeoutMs: number;
  /** Most sessions kept at once; registering one more evicts the least recently used (by log index). */
  readonly sessionsMax: number;
  /**
   * How many sequences past its acknowledged floor a session may run: a command with
   * `sequence >= ackedBelow + outstandingPerSessionMax` is refused, which bounds the results a session keeps.
   */
  readonly outstandingPerSessionMax: number;
  /**
   * Most UTF-8 bytes of read values (get results, compare-and-set mismatches) one session keeps for
   * unacknowledged sequences. At least VALUE_BYTES_MAX, so a single read always fits once older ones are
   * acknowledged. The state machine keeps at most `sessionsMax` times this many bytes of saved values.
   */
  readonly savedValueBytesPerSessionMax: number;
}

/** Defaults: an hour of idleness, 1024 sessions, 1024 pipelined commands and 4 MiB of saved reads each. */
export const DEFAULT_KV_CONFIG: KvConfig = {
  sessionTimeoutMs: 60 * 60 * 1000,
  sessionsMax: 1024,
  outstandingPerSessionMax: 1024,
  savedValueBytesPerSessionMax: 4 * VALUE_BYTES_MAX,
};

/** Throws a RangeError unless every setting is a positive safe integer and the byte budget fits one value. */
export function validateKvConfig(config: KvConfig): void {
  const positive: readonly (keyof KvConfig)[] = [
    "sessionTimeoutMs",
    "sessionsMax",
    "outstandingPerSessionMax",
    "savedValueBytesPerSessionMax",
  ];
  for (const name of positive) {
    const value = config[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`KvConfig.${name} must be a positive safe integer, got ${value}`);
    }
  }
  if (config.savedValueBytesPerSessionMax < VALUE_BYTES_MAX) {
    throw new RangeError(
      `KvConfig.savedValueBytesPerSessionMax (${config.savedValueBytesPerSessionMax}) must be at least ` +
        `VALUE_BYTES_MAX (${VALUE_BYTES_MAX}), or a large read could never be answered`,
    );
  }
}
