/**
 * The optional network-namespace mode (`--netns`): each node runs in a network namespace of its own,
 * attached by a veth pair to a bridge in the harness's namespace, and the network faults are made in the
 * kernel instead of by the userspace proxy: blocked links with nftables rules, delay and loss with `tc`
 * netem. Real packets are then lost, delayed and reordered, and the kernel's TCP deals with it.
 *
 * It needs root, `ip netns` and `nft`; where they are missing the harness says so and uses the proxy.
 *
 * Layout of a run (tag = the harness's pid, so concurrent runs do not collide and leftovers of a dead run
 * can be recognised):
 * - namespace `tsraft-<tag>-<id>` per node, with `lo` and `eth0` (10.<net>.0.<id>/24);
 * - the other end of each veth, `tsr<tag>v<id>`, in the bridge `tsr<tag>br` (10.<net>.0.254/24), through
 *   which the harness reaches every node's API;
 * - in each node's namespace, the nftables table `inet tsraft` (one output chain) for blocked links, and on
 *   its `eth0` a prio qdisc with one band per peer, each band a netem qdisc, selected by destination.
 *
 * A link's policy (from → to) is applied in the sender's namespace, on what it sends to `to`'s address:
 * blocking drops (blackhole) or rejects with a TCP reset (refuse) those packets, so a one-way cut is a
 * rule in one namespace. Delay and jitter become netem delay on the sender's band for `to`; the proxy's
 * `cutProbability` becomes netem packet loss with that probability per packet (a real loss that TCP
 * retransmits, not a cut connection). Traffic between the harness and the nodes is never touched.
 */
import { spawnSync } from "node:child_process";
import type { LinkAddress, LinkPolicy } from "../../drivers/fault-proxy/index.ts";
import { PASS } from "../../drivers/fault-proxy/index.ts";

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
  const tc = spawnSync("tc", ["-V"], { encoding: "utf8" });
  if (tc.error !== undefined || tc.status !== 0) {
    return { available: false, reason: "`tc` (iproute2) is not installed" };
  }
  return { available: true, reason: "root, ip netns, nft and tc are available" };
}

/**
 * Whether the kernel has the netem qdisc (delay needs it; loss and partitions do not): tried on a veth in a
 * scratch namespace of this harness's naming, so a leftover is removed like any other.
 */
export function netemAvailable(): boolean {
  const ns = `tsraft-${process.pid}-0`;
  try {
    if (!run(["ip", "netns", "add", ns]).ok) return false;
    run(["ip", "-n", ns, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"]);
    return run([
      "ip",
      "netns",
      "exec",
      ns,
      "tc",
      "qdisc",
      "add",
      "dev",
      "probe0",
      "root",
      "netem",
      "delay",
      "1ms",
    ]).ok;
  } finally {
    run(["ip", "netns", "del", ns]);
  }
}

/** The line the harness prints (and records in the summary) when `--netns` was asked for. */
export function netnsNote(availability = netnsAvailability()): string {
  return availability.available
    ? `netns mode: ${availability.reason}; nodes run in network namespaces; partitions and loss by nftables, delay by tc netem`
    : `netns mode skipped: ${availability.reason}; running with the userspace TCP proxy`;
}

/** Port every node's Raft listener uses on its own namespace address. */
export const NETNS_PEER_PORT = 7000;
/** Port every node's HTTP API uses on its own namespace address. */
export const NETNS_API_PORT = 8080;
/** Host part of the bridge's address in the run's /24. */
const BRIDGE_HOST = 254;
/** The nftables table (family inet) in each node's namespace. */
export const NFT_TABLE = "tsraft";
/** The interface name of each node's end of its veth pair, inside its namespace. */
const NODE_DEVICE = "eth0";
/** Node ids are below this (one htb class per peer, one netem handle per peer above it). */
const ID_LIMIT = 16;

/** Names and addresses of one run's namespaces and links (pure: a function of the tag, net and ids). */
export interface NetnsPlan {
  readonly tag: string;
  /** The second octet of the run's 10.<net>.0.0/24. */
  readonly net: number;
  readonly ids: readonly number[];
  readonly bridge: string;
  readonly bridgeAddress: string;
  namespace(id: number): string;
  hostDevice(id: number): string;
  address(id: number): string;
}

export function netnsPlan(tag: string, net: number, ids: readonly number[]): NetnsPlan {
  if (!/^[0-9]{1,7}$/.test(tag)) throw new RangeError(`netns: tag must be 1 to 7 digits, got ${tag}`);
  if (!Number.isInteger(net) || net < 1 || net > 254) throw new RangeError(`netns: bad net ${net}`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 1 || id >= ID_LIMIT - 1) {
      throw new RangeError(`netns: node ids must be 1 to ${ID_LIMIT - 2}, got ${id}`);
    }
  }
  return {
    tag,
    net,
    ids,
    bridge: `tsr${tag}br`,
    bridgeAddress: `10.${net}.0.${BRIDGE_HOST}`,
    namespace: (id) => `tsraft-${tag}-${id}`,
    hostDevice: (id) => `tsr${tag}v${id}`,
    address: (id) => `10.${net}.0.${id}`,
  };
}

/** One command to run (argv), for the plan's setup and teardown and the policies' application. */
export type Argv = readonly string[];

/**
 * The commands that build the run's network, in order. With `shaping` (the kernel has netem), each node's
 * `eth0` gets an htb qdisc with a default class and one class per peer, selected by destination address,
 * each with a netem leaf, so that delay can differ per directed link.
 */
export function setupCommands(plan: NetnsPlan, shaping: boolean): Argv[] {
  const commands: Argv[] = [
    ["ip", "link", "add", plan.bridge, "type", "bridge"],
    ["ip", "addr", "add", `${plan.bridgeAddress}/24`, "dev", plan.bridge],
    ["ip", "link", "set", plan.bridge, "up"],
  ];
  for (const id of plan.ids) {
    const ns = plan.namespace(id);
    const inNs = (...argv: string[]): Argv => ["ip", "netns", "exec", ns, ...argv];
    const dev = ["dev", NODE_DEVICE];
    commands.push(
      ["ip", "netns", "add", ns],
      ["ip", "link", "add", plan.hostDevice(id), "type", "veth", "peer", "name", NODE_DEVICE, "netns", ns],
      ["ip", "link", "set", plan.hostDevice(id), "master", plan.bridge],
      ["ip", "link", "set", plan.hostDevice(id), "up"],
      ["ip", "-n", ns, "addr", "add", `${plan.address(id)}/24`, ...dev],
      ["ip", "-n", ns, "link", "set", NODE_DEVICE, "up"],
      ["ip", "-n", ns, "link", "set", "lo", "up"],
    );
    if (shaping) {
      commands.push(
        inNs("tc", "qdisc", "add", ...dev, "root", "handle", "1:", "htb", "default", "1"),
        inNs("tc", "class", "add", ...dev, "parent", "1:", "classid", "1:1", "htb", "rate", SHAPING_RATE),
      );
      for (const peer of plan.ids) {
        if (peer === id) continue;
        commands.push(
          inNs(
            "tc",
            "class",
            "add",
            ...dev,
            "parent",
            "1:",
            "classid",
            peerClass(peer),
            "htb",
            "rate",
            SHAPING_RATE,
          ),
          inNs(...netemCommand(peer, "add", PASS)),
          inNs(
            ...["tc", "filter", "add", ...dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32"],
            ...["match", "ip", "dst", `${plan.address(peer)}/32`, "flowid", peerClass(peer)],
          ),
        );
      }
    }
    commands.push(inNs("nft", "-f", "-"));
  }
  return commands;
}

/** The htb rate of every class: far above what a test cluster sends, so classes only sort, never shape. */
const SHAPING_RATE = "10gbit";

/** The htb class that carries traffic to `peer` (tc reads the minor number as hex). */
function peerClass(peer: number): string {
  return `1:${(peer + 1).toString(16)}`;
}

/**
 * The `tc` command (without the namespace prefix) that sets the netem leaf of the class towards `to` to
 * `policy`'s delay. netem's jitter is ± around the delay and uniform when no distribution is named, so the
 * proxy's `delayMs + [0, jitterMs)` becomes delay `delayMs + jitterMs/2` with jitter `jitterMs/2`.
 */
export function netemCommand(to: number, verb: "add" | "change", policy: LinkPolicy): string[] {
  const half = policy.jitterMs / 2;
  const argv = ["tc", "qdisc", verb, "dev", NODE_DEVICE, "parent", peerClass(to)];
  argv.push("handle", `${(to + ID_LIMIT).toString(16)}:`, "netem");
  argv.push("delay", `${formatNumber(policy.delayMs + half)}ms`);
  if (half > 0) argv.push(`${formatNumber(half)}ms`);
  return argv;
}

function formatNumber(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** Loss is drawn per packet out of this many (nft's numgen), so probabilities resolve to 0.0001. */
const LOSS_SCALE = 10_000;

/**
 * The nftables script (for `nft -f -` in node `from`'s namespace) that replaces its table with rules for
 * the links in `policies` (by destination node): drop for blackhole, TCP reset (and drop for what is not
 * TCP) for refuse, and for loss a drop of each packet with probability `cutProbability` (nft's numgen
 * random). Atomic: the table is created if missing, deleted, and written anew in one transaction.
 */
export function nftScript(plan: NetnsPlan, policies: ReadonlyMap<number, LinkPolicy>): string {
  const rules: string[] = [];
  for (const [to, policy] of [...policies].sort(([a], [b]) => a - b)) {
    const match = `ip daddr ${plan.address(to)}`;
    if (policy.block === "blackhole") rules.push(`${match} drop`);
    else if (policy.block === "refuse") {
      rules.push(`${match} meta l4proto tcp reject with tcp reset`, `${match} drop`);
    } else if (policy.cutProbability > 0) {
      const below = Math.max(1, Math.round(policy.cutProbability * LOSS_SCALE));
      rules.push(`${match} numgen random mod ${LOSS_SCALE} < ${below} drop`);
    }
  }
  return [
    `add table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    "  chain output {",
    "    type filter hook output priority 0; policy accept;",
    ...rules.map((rule) => `    ${rule}`),
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The commands that remove everything of `plan` (each may fail harmlessly when already gone). */
export function teardownCommands(plan: NetnsPlan): Argv[] {
  return [
    ...plan.ids.map((id): Argv => ["ip", "link", "del", plan.hostDevice(id)]),
    ["ip", "link", "del", plan.bridge],
    ...plan.ids.map((id): Argv => ["ip", "netns", "del", plan.namespace(id)]),
  ];
}

/** The tag in a namespace or device name of this harness's making, or null for names of others. */
export function tagOf(name: string): string | null {
  const match = /^tsraft-([0-9]{1,7})-[0-9]+$/.exec(name) ?? /^tsr([0-9]{1,7})(?:br|v[0-9]+)$/.exec(name);
  return match?.[1] ?? null;
}

/** The first /24 10.<net>.0.0 in 200..253 that no address in `inUse` (dotted quads) belongs to. */
export function pickNet(inUse: readonly string[], start: number): number {
  const taken = new Set(
    inUse.filter((address) => address.startsWith("10.")).map((address) => Number(address.split(".")[1])),
  );
  for (let k = 0; k < 54; k++) {
    const net = 200 + ((start + k) % 54);
    if (!taken.has(net)) return net;
  }
  throw new Error("netns: no free 10.x.0.0/24 in 10.200-10.253");
}

function run(argv: Argv, input?: string): { ok: boolean; output: string } {
  const [file = "", ...args] = argv;
  const result = spawnSync(file, args, { encoding: "utf8", ...(input === undefined ? {} : { input }) });
  const ok = result.error === undefined && result.status === 0;
  return { ok, output: `${result.stderr ?? ""}${result.stdout ?? ""}`.trim() || String(result.error ?? "") };
}

function mustRun(argv: Argv, input?: string): void {
  const { ok, output } = run(argv, input);
  if (!ok) throw new Error(`netns: \`${argv.join(" ")}\` failed: ${output}`);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // a leftover with our own (reused) pid is stale by definition
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes what runs of harnesses no longer alive left behind (a SIGKILLed harness cannot clean up): their
 * namespaces, with any node process still in them, and their bridges and veths. Returns what it removed.
 */
export function removeStale(): string[] {
  const removed: string[] = [];
  const namespaces = run(["ip", "netns", "list"])
    .output.split("\n")
    .map((line) => line.split(" ")[0] ?? "");
  for (const ns of namespaces) {
    const tag = tagOf(ns);
    if (tag === null || alive(Number(tag))) continue;
    const pids = run(["ip", "netns", "pids", ns])
      .output.split(/\s+/)
      .filter((pid) => /^[0-9]+$/.test(pid));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {}
    }
    run(["ip", "netns", "del", ns]);
    removed.push(ns);
  }
  const links = run(["ip", "-o", "link", "show"])
    .output.split("\n")
    .map((line) => /^[0-9]+: ([^:@]+)/.exec(line)?.[1] ?? "");
  for (const link of links) {
    const tag = tagOf(link);
    if (tag === null || alive(Number(tag))) continue;
    if (run(["ip", "link", "del", link]).ok) removed.push(link);
  }
  return removed;
}

/**
 * The run's network: builds it, applies link policies (the same `setPolicy(from, to, policy)` surface as
 * the proxy, so the nemeses need no change) and removes it on {@link close}, when the harness exits, and on
 * SIGINT, SIGTERM and SIGHUP. Policies are applied synchronously, one `nft` and at most one `tc` call each.
 */
export class NetnsNetwork {
  readonly plan: NetnsPlan;
  /** Removed leftovers of dead runs, for the log. */
  readonly removedStale: readonly string[];
  /** Whether delay is possible: the kernel has netem, and each node's eth0 has a class per peer. */
  readonly shaping: boolean;
  readonly #policies = new Map<string, LinkPolicy>();
  #closed = false;
  readonly #onExit = () => this.#teardown();
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.#teardown();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };

  private constructor(plan: NetnsPlan, removedStale: string[], shaping: boolean) {
    this.plan = plan;
    this.shaping = shaping;
    this.removedStale = removedStale;
  }

  /** Removes stale leftovers, then builds the namespaces, veths, bridge, qdiscs and (empty) nft tables. */
  static create(ids: readonly number[]): NetnsNetwork {
    const removedStale = removeStale();
    const inUse = run(["ip", "-4", "-o", "addr", "show"])
      .output.split("\n")
      .map((line) => /inet ([0-9.]+)/.exec(line)?.[1] ?? "");
    const plan = netnsPlan(String(process.pid), pickNet(inUse, process.pid % 54), ids);
    const network = new NetnsNetwork(plan, removedStale, netemAvailable());
    process.on("exit", network.#onExit);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, network.#onSignal);
    try {
      const empty = nftScript(plan, new Map());
      for (const argv of setupCommands(plan, network.shaping))
        mustRun(argv, argv.includes("nft") ? empty : undefined);
    } catch (error) {
      network.close();
      throw error;
    }
    return network;
  }

  /** Where node `id` listens for peers. */
  peerAddress(id: number): LinkAddress {
    return { host: this.plan.address(id), port: NETNS_PEER_PORT };
  }

  apiAddress(id: number): LinkAddress {
    return { host: this.plan.address(id), port: NETNS_API_PORT };
  }

  /** The argv prefix that runs a command in node `id`'s namespace. */
  execPrefix(id: number): string[] {
    return ["ip", "netns", "exec", this.plan.namespace(id)];
  }

  /** Sets what happens to the packets node `from` sends to node `to`. Throws when the kernel refused. */
  setPolicy(from: number, to: number, policy: LinkPolicy): void {
    if (from === to || !this.plan.ids.includes(from) || !this.plan.ids.includes(to)) {
      throw new RangeError(`netns: no link ${from} -> ${to}`);
    }
    if ((policy.delayMs > 0 || policy.jitterMs > 0) && !this.shaping) {
      throw new Error("netns: delay needs the kernel's netem qdisc (sch_netem), which this kernel lacks");
    }
    const before = this.#policies.get(`${from}>${to}`) ?? PASS;
    if (policy === PASS) this.#policies.delete(`${from}>${to}`);
    else this.#policies.set(`${from}>${to}`, policy);
    const prefix = this.execPrefix(from);
    if (before.block !== policy.block || before.cutProbability !== policy.cutProbability) {
      mustRun([...prefix, "nft", "-f", "-"], nftScript(this.plan, this.#from(from)));
    }
    if (this.shaping && (before.delayMs !== policy.delayMs || before.jitterMs !== policy.jitterMs)) {
      mustRun([...prefix, ...netemCommand(to, "change", policy)]);
    }
  }

  /** Every link passes again. */
  heal(): void {
    for (const key of [...this.#policies.keys()]) {
      const [from, to] = key.split(">").map(Number);
      if (from !== undefined && to !== undefined) this.setPolicy(from, to, PASS);
    }
  }

  /** Whether every link passes. */
  get healed(): boolean {
    return this.#policies.size === 0;
  }

  /** Removes everything the run created; idempotent. */
  close(): void {
    this.#teardown();
    process.off("exit", this.#onExit);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(signal, this.#onSignal);
  }

  #from(from: number): Map<number, LinkPolicy> {
    const policies = new Map<number, LinkPolicy>();
    for (const [key, policy] of this.#policies) {
      const [source, to] = key.split(">").map(Number);
      if (source === from && to !== undefined) policies.set(to, policy);
    }
    return policies;
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const argv of teardownCommands(this.plan)) run(argv);
  }
}
