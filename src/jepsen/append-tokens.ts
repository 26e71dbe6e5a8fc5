/** Ends every appended token, so a value splits back into the appends that made it. */
export const APPEND_TOKEN_END = ",";

/** The append tokens of a value, in order (each ended by {@link APPEND_TOKEN_END} in the value). */
export function appendTokens(value: string | null): string[] {
  if (value === null || value === "") return [];
  return value.split(APPEND_TOKEN_END).slice(0, -1);
}
