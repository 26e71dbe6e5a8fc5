import { Random } from "../../util/random.ts";
import { type LinkPolicy, PASS } from "./link-policy.ts";
import { type LinkAddress, ProxyLink, type ProxyLinkStats } from "./proxy-link.ts";

/**
 * A userspace fault proxy for a whole cluster: one {@link ProxyLink} per directed pair of nodes, so that node
 * i reaches node j only through the listener of link (i, j). Each node is configured with its own real peer
 * address and, for every other node j, the address of its link to j ({@link FaultProxy.peerAddressesOf}).
 * The tsraft transport sends i's traffic to j only on the connection i dialled, so blocking link (i, j) cuts
 * i → j while j → i (link (j, i)) still flows: a one-way partition. Needs no privileges: it is all sockets
 * on loopback.
 */

export interface FaultProxyOptions {
  /** Each node's real peer (Raft) listen address, by node id. */
  readonly targets: ReadonlyMap<number, LinkAddress>;
  /** Where the link listeners bind (default 127.0.0.1); their ports are chosen by the kernel. */
  readonly host?: string;
  /** Seed of the proxy's random choices (jitter, cuts). */
  readonly seed: number;
}

/** A directed link: traffic from `from` to `to`. */
export interface DirectedLink {
  readonly from: number;
  readonly to: number;
}

/** One link's counters, with its ends. */
export interface LinkStats extends DirectedLink, ProxyLinkStats {}

export class FaultProxy {
  /** Node ids, ascending. */
  readonly nodes: readonly number[];
  readonly #targets: ReadonlyMap<number, LinkAddress>;
  readonly #links: ReadonlyMap<string, ProxyLink>;

  private constructor(targets: ReadonlyMap<number, LinkAddress>, links: ReadonlyMap<string, ProxyLink>) {
    this.#targets = targets;
    this.#links = links;
    this.nodes = [...targets.keys()].sort((a, b) => a - b);
  }

  /** Starts a listener for every ordered pair of distinct nodes. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const random = new Random(options.seed);
    // 30 bits of resolution are plenty for cut probabilities and jitter.
    const uniform = () => random.int(2 ** 30) / 2 ** 30;
    const links = new Map<string, ProxyLink>();
    const host = options.host ?? "127.0.0.1";
    try {
      for (const from of options.targets.keys()) {
        for (const [to, target] of options.targets) {
          if (from === to) continue;
          const link = new ProxyLink({ listen: { host, port: 0 }, target, random: uniform });
          links.set(linkKey(from, to), link);
          await link.listen();
        }
      }
    } catch (error) {
      await Promise.all([...links.values()].map((link) => link.close()));
      throw error;
    }
    return new FaultProxy(options.targets, links);
  }

  /** The address node `from` must dial to reach node `to`. */
  address(from: number, to: number): LinkAddress {
    return this.#link(from, to).address;
  }

  /**
   * The peer map node `id` must be started with: its own real address, and the proxy's link to every other
   * node.
   */
  peerAddressesOf(id: number): Map<number, LinkAddress> {
    const own = this.#targets.get(id);
    if (own === undefined) throw new RangeError(`FaultProxy: no node ${id}`);
    const map = new Map<number, LinkAddress>();
    for (const node of this.nodes) map.set(node, node === id ? own : this.address(id, node));
    return map;
  }

  policy(from: number, to: number): LinkPolicy {
    return this.#link(from, to).policy;
  }

  setPolicy(from: number, to: number, policy: LinkPolicy): void {
    this.#link(from, to).setPolicy(policy);
  }

  /** Every directed link, in order of (from, to). */
  links(): DirectedLink[] {
    return this.nodes.flatMap((from) => this.nodes.filter((to) => to !== from).map((to) => ({ from, to })));
  }

  /** Sets every link back to {@link PASS} (blackholed connections are reset so they redial cleanly). */
  heal(): void {
    for (const link of this.#links.values()) if (link.policy !== PASS) link.setPolicy(PASS);
  }

  /** Whether every link passes traffic untouched. */
  get healed(): boolean {
    return [...this.#links.values()].every((link) => link.policy === PASS);
  }

  stats(): LinkStats[] {
    return this.links().map(({ from, to }) => ({ from, to, ...this.#link(from, to).stats() }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#links.values()].map((link) => link.close()));
  }

  #link(from: number, to: number): ProxyLink {
    const link = this.#links.get(linkKey(from, to));
    if (link === undefined) throw new RangeError(`FaultProxy: no link from ${from} to ${to}`);
    return link;
  }
}

function linkKey(from: number, to: number): string {
  return `${from}->${to}`;
}
