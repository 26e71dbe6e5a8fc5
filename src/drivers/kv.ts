/**
 * `tsraft/kv`: talk to a tsraft key-value cluster from Node.
 *
 *     import { connect } from "tsraft/kv";
 *     const kv = connect(["http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8003"]);
 *     await kv.put("greeting", "hello");
 *     await kv.get("greeting"); // "hello"
 */
import { KvClient, type KvClientOptions } from "../kv/client/kv-client.ts";
import { fetchPort, monotonicNow, realSleep } from "./http/fetch-port.ts";

export {
  type CasOutcome,
  type Consistency,
  KvClient,
  KvClientError,
  type KvClientErrorCode,
  type KvClientOptions,
} from "../kv/client/kv-client.ts";

/** A client for the cluster whose node APIs are at `endpoints`, with Node's fetch and timers. */
export function connect(
  endpoints: readonly string[],
  options: Partial<Omit<KvClientOptions, "endpoints">> = {},
): KvClient {
  return new KvClient({ http: fetchPort, sleep: realSleep, now: monotonicNow, ...options, endpoints });
}
