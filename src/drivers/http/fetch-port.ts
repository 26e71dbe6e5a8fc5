import { performance } from "node:perf_hooks";
import type { HttpPort, Sleep } from "../../kv/client/http-port.ts";

/**
 * The key-value client's ports on Node: `fetch` (redirects are not followed, so the client sees the
 * not-leader answer and its hint), `setTimeout` for backoff, and a monotonic clock for deadlines.
 */
export const fetchPort: HttpPort = async (request) => {
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    redirect: "manual",
    signal: AbortSignal.timeout(request.timeoutMs),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
};

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const monotonicNow = (): number => performance.now();
