import { encode } from "../../codec/msgpack.ts";

/** Whether two commands are the same value, compared by their encoding (commands travel encoded anyway). */
export function sameCommand(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const x = encode(a);
  const y = encode(b);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

/** A printable form of a command for failure messages (long strings shortened). */
export function showCommand(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
