import { unreachable } from "../util/assert.ts";
import type { SessionCommand } from "./command.ts";
import { VALUE_BYTES_MAX } from "./limits.ts";
import { NOT_FOUND, OK_WRITTEN, type SavedResult } from "./result.ts";
import { utf8ByteLength } from "./utf8.ts";

/** A stored value with its UTF-8 size, kept so size accounting never re-measures large values. */
interface StoredValue {
  readonly value: string;
  readonly valueBytes: number;
}

/**
 * The key-value map itself: the data part of the replicated state machine, with the operations' semantics.
 * It knows nothing of sessions; callers pass only validated commands (keys and values within limits).
 */
export class KvStore {
  readonly #data = new Map<string, StoredValue>();
  /** Sum of the UTF-8 sizes of every key and value. */
  #dataBytes = 0;

  /** Number of keys. */
  get keyCount(): number {
    return this.#data.size;
  }

  /** UTF-8 bytes of all keys and values together. */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  /** The value of `key`, or undefined. */
  get(key: string): string | undefined {
    return this.#data.get(key)?.value;
  }

  /** Every key with its value, sorted by key (UTF-16 code unit order), so every replica lists them alike. */
  sortedEntries(): [string, string][] {
    return [...this.#data.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, stored]) => [key, stored.value]);
  }

  /** Sets `key` to `value`; both must be valid (see validateKey and validateValue). */
  set(key: string, value: string): void {
    this.#setMeasured(key, value, measure(value));
  }

  #setMeasured(key: string, value: string, valueBytes: number): void {
    this.remove(key);
    this.#data.set(key, { value, valueBytes });
    this.#dataBytes += measure(key) + valueBytes;
  }

  /** Removes `key`; returns whether it was there. */
  remove(key: string): boolean {
    const stored = this.#data.get(key);
    if (stored === undefined) return false;
    this.#data.delete(key);
    this.#dataBytes -= measure(key) + stored.valueBytes;
    return true;
  }

  /** Runs one validated session command and returns its outcome. */
  execute(command: SessionCommand): SavedResult {
    switch (command.kind) {
      case "put":
        this.set(command.key, command.value);
        return OK_WRITTEN;
      case "get": {
        const value = this.get(command.key);
        return value === undefined ? NOT_FOUND : { kind: "ok", value };
      }
      case "delete":
        return this.remove(command.key) ? OK_WRITTEN : NOT_FOUND;
      case "append":
        return this.#append(command.key, command.value);
      case "cas": {
        const current = this.get(command.key) ?? null;
        if (current !== command.expected) return { kind: "cas-mismatch", current };
        this.set(command.key, command.value);
        return OK_WRITTEN;
      }
      default:
        return unreachable(command);
    }
  }

  #append(key: string, suffix: string): SavedResult {
    const stored = this.#data.get(key);
    const bytes = (stored?.valueBytes ?? 0) + measure(suffix);
    if (bytes > VALUE_BYTES_MAX) return { kind: "value-too-large", bytes };
    this.#setMeasured(key, (stored?.value ?? "") + suffix, bytes);
    return OK_WRITTEN;
  }
}

/** UTF-8 size of an already validated (well-formed) string. */
function measure(text: string): number {
  return utf8ByteLength(text) ?? 0;
}
