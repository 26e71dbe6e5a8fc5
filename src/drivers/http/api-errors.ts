/**
 * The error codes of the HTTP API. They are stable: clients match on `code`, never on the message, so a
 * code once published keeps its meaning and its HTTP status.
 */
export type ApiErrorCode =
  | "not-leader"
  | "timeout"
  | "key-not-found"
  | "cas-mismatch"
  | "bad-request"
  | "payload-too-large"
  | "unavailable"
  | "overloaded"
  | "session-expired"
  | "stale-sequence"
  | "no-such-route"
  | "method-not-allowed"
  | "transfer-in-progress"
  | "membership-refused"
  | "internal";

/** The HTTP status of each code. `not-leader` is a 307 redirect to the leader (Location header). */
export const STATUS_OF: Readonly<Record<ApiErrorCode, number>> = {
  "not-leader": 307,
  timeout: 504,
  "key-not-found": 404,
  "cas-mismatch": 409,
  "bad-request": 400,
  "payload-too-large": 413,
  unavailable: 503,
  overloaded: 503,
  "session-expired": 410,
  "stale-sequence": 409,
  "no-such-route": 404,
  "method-not-allowed": 405,
  "transfer-in-progress": 409,
  "membership-refused": 409,
  internal: 500,
};

/** The JSON body of an error answer. */
export function apiError(
  code: ApiErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { code, message, ...extra };
}
