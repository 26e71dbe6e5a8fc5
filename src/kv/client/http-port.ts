/**
 * The one thing the key-value client needs from its host: send an HTTP request, get the status, the
 * headers it cares about and the body. Node's and browsers' `fetch` both fit (see drivers/http/fetch-port.ts);
 * tests can answer in memory.
 */
export interface HttpRequest {
  readonly method: "GET" | "PUT" | "POST" | "DELETE";
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Give up on the request after this many milliseconds. */
  readonly timeoutMs: number;
}

export interface HttpResponse {
  readonly status: number;
  /** The parsed JSON body, or undefined if it was not JSON. */
  readonly body: unknown;
}

/** Sends one request; rejects on a network error or timeout (the request may or may not have arrived). */
export type HttpPort = (request: HttpRequest) => Promise<HttpResponse>;

/** Waits; the client's backoff between attempts. */
export type Sleep = (ms: number) => Promise<void>;
