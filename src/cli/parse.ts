import { InvalidArgumentError } from "commander";

/** The largest seed: seeds are 32-bit (`Random` uses `seed | 0`), so larger ones would alias smaller ones. */
export const SEED_MAX = 0xffff_ffff;

/**
 * Builds a commander argument parser for an integer in [min, max]. Commander reports the thrown
 * {@link InvalidArgumentError} with the option's name, so the message only says what was wrong.
 */
export function integerOption(min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    // Number("") is 0 and Number(" 7") is 7; insist on plain digits so typos are not silently accepted.
    const parsed = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected an integer ${range}.`);
    }
    return parsed;
  };
}

/** Parses a seed: an integer from 0 to {@link SEED_MAX}. */
export const seedOption: (value: string) => number = integerOption(0, SEED_MAX);

/** Parses a count that must be at least one (`--seeds`, `--jobs`, `--nodes`). */
export const positiveOption: (value: string) => number = integerOption(1);
