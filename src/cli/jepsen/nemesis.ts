/**
 * The nemesis: the faults the harness injects, as a registry of {@link Nemesis} entries, and the seeded
 * schedule that runs them.
 *
 * Each entry belongs to a lane. Faults in one lane never overlap (a node is not killed while it is paused);
 * lanes run side by side, so a partition can coincide with a kill. Adding a fault is adding one entry to
 * {@link NEMESES}; the `membership` nemesis is one, with a lane of its own.
 */
import { type LinkPolicy, PASS } from "../../drivers/fault-proxy/index.ts";
import { deriveSeed, Random } from "../../util/random.ts";
import { sleep } from "./cluster.ts";

/** What of the cluster a nemesis uses (JepsenCluster in runs; tests pass a fake). */
export interface NemesisCluster {
  readonly ids: readonly number[];
  /** Milliseconds since the cluster started. */
  now(): number;
  kill(id: number): Promise<void>;
  start(id: number): Promise<void>;
  pause(id: number): void;
  resume(id: number): void;
  readonly proxy: { setPolicy(from: number, to: number, policy: LinkPolicy): void };
}

/** Membership changes through the cluster's API (thesis §4), for the `membership` nemesis. */
export interface MemberControl {
  /** Removes node `id` from the configuration; resolves once the change has settled. */
  remove(id: number): Promise<void>;
  /** Adds node `id` back (as a learner, then promoted); resolves once it is a voter again. */
  add(id: number): Promise<void>;
}

/** What a nemesis can reach. */
export interface NemesisContext {
  readonly cluster: NemesisCluster;
  /** Membership changes; absent where the cluster offers none (unit tests' fakes). */
  readonly members?: MemberControl;
  /** The shortest election timeout of the nodes, in milliseconds: faults are sized in these. */
  readonly electionTimeoutMs: number;
  /** The current leader among the running nodes, or null when none is known. */
  readonly leader: () => Promise<number | null>;
}

/** A fault in place, and how to undo it. */
export interface ActiveFault {
  /** For the timeline: what was done, e.g. `SIGKILL nodes 1,3 (majority)`. */
  readonly description: string;
  /** The nodes it affects most directly. */
  readonly nodes: readonly number[];
  heal(): Promise<void>;
}

export interface Nemesis {
  /** Its name on the command line (`--nemesis kill,pause,...`). */
  readonly name: string;
  /** Faults of one lane never overlap; lanes run concurrently. */
  readonly lane: string;
  /** One line for `--help` and the docs. */
  readonly summary: string;
  /** How long the fault stays before it is healed, in milliseconds. */
  holdMs(random: Random, electionTimeoutMs: number): number;
  /** Injects one fault, chosen with `random`. */
  inject(context: NemesisContext, random: Random): Promise<ActiveFault>;
}

/** Every fault the harness knows, in the order `--help` lists them. */
export const NEMESES: readonly Nemesis[] = [
  {
    name: "kill",
    lane: "process",
    summary: "SIGKILL one node, the leader, a minority, a majority or all nodes; restart them after a while",
    holdMs: (random) => random.intBetween(200, 3000),
    async inject(context, random) {
      // Weighted towards single nodes, which keep the cluster available; whole-cluster kills are rarer.
      const { nodes, shape } = await pickNodes(context, random, [
        ...["one", "one", "one", "leader", "leader", "leader"],
        ...["minority", "majority", "majority", "all"],
      ] as const);
      await Promise.all(nodes.map((id) => context.cluster.kill(id)));
      return {
        description: `SIGKILL ${describeNodes(nodes)} (${shape})`,
        nodes,
        heal: async () => {
          await Promise.all(nodes.map((id) => context.cluster.start(id)));
        },
      };
    },
  },
  {
    name: "pause",
    lane: "process",
    summary: "SIGSTOP one node, the leader or a majority for several election timeouts, then SIGCONT",
    holdMs: (random, electionTimeoutMs) => random.intBetween(2 * electionTimeoutMs, 8 * electionTimeoutMs),
    async inject(context, random) {
      const { nodes, shape } = await pickNodes(context, random, ["one", "leader", "leader", "majority"]);
      for (const id of nodes) context.cluster.pause(id);
      return {
        description: `SIGSTOP ${describeNodes(nodes)} (${shape})`,
        nodes,
        heal: async () => {
          for (const id of nodes) context.cluster.resume(id);
        },
      };
    },
  },
  {
    name: "partition",
    lane: "network",
    summary:
      "two-way partitions: an isolated node, the isolated leader, minority/majority halves, a majorities ring",
    holdMs: partitionHoldMs,
    async inject(context, random) {
      const ids = context.cluster.ids;
      const shapes = ["isolate-one", "isolate-leader", "halves", ...(ids.length >= 5 ? ["ring"] : [])];
      const shape = random.pick(shapes);
      let links: Link[];
      let what: string;
      if (shape === "ring") {
        const order = shuffle(ids, random);
        links = ringCut(order);
        what = `majorities ring ${order.join("-")}`;
      } else {
        const { nodes } = await pickNodes(
          context,
          random,
          shape === "isolate-one" ? ["one"] : shape === "isolate-leader" ? ["leader"] : ["minority"],
        );
        const rest = ids.filter((id) => !nodes.includes(id));
        links = cutBetween([nodes, rest]);
        what = `${describeNodes(nodes)} | ${describeNodes(rest)}`;
      }
      return blockLinks(context, random, links, `partition ${shape}: ${what}`);
    },
  },
  {
    name: "bridge",
    lane: "network",
    summary: "two halves that cannot reach each other, and one node that reaches both",
    holdMs: partitionHoldMs,
    async inject(context, random) {
      const order = shuffle(context.cluster.ids, random);
      const [bridge = 1, ...others] = order;
      const half = Math.floor(others.length / 2);
      const left = others.slice(0, half);
      const right = others.slice(half);
      const links = cutBetween([left, right]);
      return blockLinks(
        context,
        random,
        links,
        `bridge: ${describeNodes(left)} | ${describeNodes(right)} bridged by node ${bridge}`,
      );
    },
  },
  {
    name: "oneway",
    lane: "network",
    summary:
      "one-way partitions: a node (or the leader) that cannot send, or cannot receive; random directed cuts",
    holdMs: partitionHoldMs,
    async inject(context, random) {
      const ids = context.cluster.ids;
      const shape = random.pick(["mute", "deaf", "random"]);
      if (shape === "random") {
        const all = ids.flatMap((from) => ids.filter((to) => to !== from).map((to): Link => [from, to]));
        const links = all.filter(() => random.chance(1, 3));
        if (links.length === 0) links.push(random.pick(all));
        const text = links.map(([from, to]) => `${from}->${to}`).join(" ");
        return blockLinks(context, random, links, `oneway random: ${text} blocked`);
      }
      const { nodes, shape: who } = await pickNodes(context, random, ["one", "leader"]);
      const node = nodes[0] ?? 1;
      const others = ids.filter((id) => id !== node);
      const links: Link[] = others.map((other) => (shape === "mute" ? [node, other] : [other, node]));
      const text = shape === "mute" ? "cannot send (still receives)" : "cannot receive (still sends)";
      return blockLinks(context, random, links, `oneway: node ${node} (${who}) ${text}`);
    },
  },
  {
    name: "delay",
    lane: "network",
    summary:
      "delay with jitter on every link, on one node's links, or on random links (up to an election timeout)",
    holdMs: partitionHoldMs,
    async inject(context, random) {
      const delayMs = random.pick([5, 20, 60, 150, context.electionTimeoutMs]);
      const jitterMs = random.int(delayMs + 1);
      const { links, scope } = await pickLinks(context, random);
      const policy: LinkPolicy = { ...PASS, delayMs, jitterMs };
      return setLinks(context, links, policy, `delay ${delayMs}+${jitterMs}ms on ${scope}`);
    },
  },
  {
    name: "loss",
    lane: "network",
    summary: "connection cuts (TCP's face of packet loss) on every link, one node's links, or random links",
    holdMs: partitionHoldMs,
    async inject(context, random) {
      const cutProbability = random.pick([0.01, 0.05, 0.2, 0.5]);
      const { links, scope } = await pickLinks(context, random);
      const policy: LinkPolicy = { ...PASS, cutProbability };
      return setLinks(
        context,
        links,
        policy,
        `loss: cut probability ${cutProbability} per chunk on ${scope}`,
      );
    },
  },
  {
    name: "membership",
    lane: "membership",
    summary:
      "remove a node (sometimes the leader) from the configuration, and add it back later (learner, then voter)",
    holdMs: (random, electionTimeoutMs) => random.intBetween(2 * electionTimeoutMs, 8 * electionTimeoutMs),
    async inject(context, random) {
      const members = context.members;
      if (members === undefined) throw new Error("this cluster offers no membership changes");
      const { nodes, shape } = await pickNodes(context, random, ["one", "leader"]);
      const node = nodes[0] ?? 1;
      // A removal that got no answer may still have happened: the node is added back whatever the outcome.
      let outcome = "";
      try {
        await members.remove(node);
      } catch (error) {
        outcome = ` (removal unconfirmed: ${error instanceof Error ? error.message : String(error)})`;
      }
      return {
        description: `remove node ${node} (${shape}) from the configuration, then add it back${outcome}`,
        nodes: [node],
        heal: () => members.add(node),
      };
    },
  },
];

/** The names `--nemesis` accepts. */
export const NEMESIS_NAMES: readonly string[] = NEMESES.map((nemesis) => nemesis.name);

/** One entry of the fault timeline. */
export interface TimelineEntry {
  /** Milliseconds since the cluster started. */
  readonly at: number;
  readonly lane: string;
  readonly nemesis: string;
  readonly event: "start" | "heal" | "error";
  readonly description: string;
  readonly nodes: readonly number[];
}

/**
 * Runs the selected nemeses until `endAt` (cluster milliseconds): per lane, a quiet gap, then a fault drawn
 * from the lane's entries, held for its time, then healed; every fault is healed by `endAt`. Each lane draws
 * from its own seeded stream, so the sequence of choices is a function of the seed (the timing is not: real
 * processes take as long as they take).
 */
export async function runNemeses(options: {
  readonly selected: readonly Nemesis[];
  readonly context: NemesisContext;
  readonly seed: number;
  readonly endAt: number;
  /** Called with each start, heal and failure as it happens. */
  readonly record: (entry: TimelineEntry) => void;
}): Promise<void> {
  const { selected, context, record } = options;
  const lanes = new Map<string, Nemesis[]>();
  for (const nemesis of selected) lanes.set(nemesis.lane, [...(lanes.get(nemesis.lane) ?? []), nemesis]);
  const now = () => context.cluster.now();
  await Promise.all(
    [...lanes].map(async ([lane, nemeses]) => {
      const random = new Random(deriveSeed(options.seed, `nemesis-${lane}`));
      // Bounded by endAt: every pass sleeps a quiet gap of two election timeouts or more (less only at the end).
      for (;;) {
        const gapMs = random.intBetween(2 * context.electionTimeoutMs, 6 * context.electionTimeoutMs);
        await sleep(Math.min(gapMs, options.endAt - now()));
        if (now() >= options.endAt) return;
        const nemesis = random.pick(nemeses);
        const holdMs = nemesis.holdMs(random, context.electionTimeoutMs);
        let fault: ActiveFault;
        try {
          fault = await nemesis.inject(context, random);
        } catch (error) {
          const description = `inject failed: ${error instanceof Error ? error.message : String(error)}`;
          record({ at: now(), lane, nemesis: nemesis.name, event: "error", description, nodes: [] });
          continue;
        }
        const { description, nodes } = fault;
        record({ at: now(), lane, nemesis: nemesis.name, event: "start", description, nodes });
        await sleep(Math.min(holdMs, options.endAt - now()));
        try {
          await fault.heal();
          record({ at: now(), lane, nemesis: nemesis.name, event: "heal", description, nodes });
        } catch (error) {
          const text = `heal failed (${description}): ${error instanceof Error ? error.message : String(error)}`;
          record({ at: now(), lane, nemesis: nemesis.name, event: "error", description: text, nodes });
        }
      }
    }),
  );
}

/** A directed link: traffic from the first node to the second. */
type Link = readonly [number, number];

function partitionHoldMs(random: Random, electionTimeoutMs: number): number {
  return random.intBetween(3 * electionTimeoutMs, 12 * electionTimeoutMs);
}

/** Every directed link between nodes of different groups. */
function cutBetween(groups: readonly (readonly number[])[]): Link[] {
  const links: Link[] = [];
  for (const [g, group] of groups.entries()) {
    for (const [h, other] of groups.entries()) {
      if (g === h) continue;
      for (const from of group) for (const to of other) links.push([from, to]);
    }
  }
  return links;
}

/**
 * A majorities ring (Jepsen's): nodes in a circle, each connected only to its nearest neighbours, enough
 * of them that every node sees a majority, yet no two nodes see the same majority.
 */
function ringCut(order: readonly number[]): Link[] {
  const n = order.length;
  const reach = Math.ceil(Math.floor(n / 2) / 2);
  const links: Link[] = [];
  for (const [i, from] of order.entries()) {
    for (const [j, to] of order.entries()) {
      if (i === j) continue;
      const distance = Math.min(Math.abs(i - j), n - Math.abs(i - j));
      if (distance > reach) links.push([from, to]);
    }
  }
  return links;
}

/** Blocks `links`, blackholing or refusing (chosen at random), and heals exactly those links. */
function blockLinks(
  context: NemesisContext,
  random: Random,
  links: readonly Link[],
  description: string,
): ActiveFault {
  const block = random.pick(["blackhole", "refuse"] as const);
  return setLinks(context, links, { ...PASS, block }, `${description} (${block})`);
}

function setLinks(
  context: NemesisContext,
  links: readonly Link[],
  policy: LinkPolicy,
  description: string,
): ActiveFault {
  const { proxy } = context.cluster;
  for (const [from, to] of links) proxy.setPolicy(from, to, policy);
  const nodes = [...new Set(links.flat())].sort((a, b) => a - b);
  return {
    description,
    nodes,
    heal: async () => {
      for (const [from, to] of links) proxy.setPolicy(from, to, PASS);
    },
  };
}

/** The links a delay or loss applies to: all of them, one node's (both ways), or a random third. */
async function pickLinks(context: NemesisContext, random: Random): Promise<{ links: Link[]; scope: string }> {
  const ids = context.cluster.ids;
  const all = ids.flatMap((from) => ids.filter((to) => to !== from).map((to): Link => [from, to]));
  const roll = random.int(4);
  if (roll < 2) return { links: all, scope: "every link" };
  if (roll === 2) {
    const { nodes, shape } = await pickNodes(context, random, ["one", "leader"]);
    const node = nodes[0] ?? 1;
    return {
      links: all.filter(([from, to]) => from === node || to === node),
      scope: `node ${node}'s links (${shape})`,
    };
  }
  const links = all.filter(() => random.chance(1, 3));
  if (links.length === 0) links.push(random.pick(all));
  return { links, scope: links.map(([from, to]) => `${from}->${to}`).join(" ") };
}

/** Chooses target nodes by one of the given shapes; "leader" falls back to a random node when none leads. */
async function pickNodes(
  context: NemesisContext,
  random: Random,
  shapes: readonly ("one" | "leader" | "minority" | "majority" | "all")[],
): Promise<{ nodes: number[]; shape: string }> {
  const ids = context.cluster.ids;
  const shape = random.pick(shapes);
  const shuffled = shuffle(ids, random);
  const majority = Math.floor(ids.length / 2) + 1;
  switch (shape) {
    case "one":
      return { nodes: shuffled.slice(0, 1), shape };
    case "leader": {
      const leader = await context.leader();
      if (leader !== null) return { nodes: [leader], shape };
      return { nodes: shuffled.slice(0, 1), shape: "one (no leader known)" };
    }
    case "minority":
      return { nodes: sorted(shuffled.slice(0, random.intBetween(1, majority - 1))), shape };
    case "majority":
      return { nodes: sorted(shuffled.slice(0, majority)), shape };
    case "all":
      return { nodes: [...ids], shape };
  }
}

/** A seeded Fisher–Yates shuffle. */
function shuffle(items: readonly number[], random: Random): number[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [copy[i], copy[j]] = [copy[j] as number, copy[i] as number];
  }
  return copy;
}

function sorted(nodes: number[]): number[] {
  return nodes.sort((a, b) => a - b);
}

function describeNodes(nodes: readonly number[]): string {
  return nodes.length === 1 ? `node ${nodes[0]}` : `nodes ${nodes.join(",")}`;
}
