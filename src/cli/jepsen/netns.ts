/**
 * The optional network-namespace mode (`--netns`): each node in its own namespace, partitions made with
 * nftables rules instead of the userspace proxy, which would also exercise the kernel's TCP behaviour under
 * real packet loss. It needs root, `ip netns` and `nft`. What exists so far is the detection: the harness
 * says whether the machine allows the mode and runs with the userspace proxy either way.
 */
import { spawnSync } from "node:child_process";

/** Whether the namespace mode could run here, and if not, why not. */
export function netnsAvailability(): { readonly available: boolean; readonly reason: string } {
  const uid = process.getuid?.();
  if (uid !== 0) return { available: false, reason: `it needs root (this is uid ${uid ?? "unknown"})` };
  const ip = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  if (ip.error !== undefined || ip.status !== 0) {
    return { available: false, reason: "`ip netns` is not available (iproute2 missing or not permitted)" };
  }
  const nft = spawnSync("nft", ["--version"], { encoding: "utf8" });
  if (nft.error !== undefined || nft.status !== 0) {
    return { available: false, reason: "`nft` (nftables) is not installed" };
  }
  return { available: true, reason: "root, ip netns and nft are available" };
}

/** The line the harness prints (and records in the summary) when `--netns` was asked for. */
export function netnsNote(): string {
  const { available, reason } = netnsAvailability();
  return available
    ? `netns mode: ${reason}, but the namespace mode is not implemented yet; running with the userspace TCP proxy`
    : `netns mode skipped: ${reason}; running with the userspace TCP proxy`;
}
