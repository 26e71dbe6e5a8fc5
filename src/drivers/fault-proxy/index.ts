/**
 * A userspace TCP fault proxy for peer links: partitions of any shape (one-way too), delay with jitter, and
 * connection cuts, without privileges. See link-policy.ts for what each fault means on a byte stream.
 */
export { type DirectedLink, FaultProxy, type FaultProxyOptions, type LinkStats } from "./fault-proxy.ts";
export {
  checkLinkPolicy,
  describeLinkPolicy,
  LINK_DELAY_MS_MAX,
  type LinkBlock,
  type LinkPolicy,
  PASS,
} from "./link-policy.ts";
export {
  HELD_BYTES_MAX,
  type LinkAddress,
  ProxyLink,
  type ProxyLinkOptions,
  type ProxyLinkStats,
} from "./proxy-link.ts";
