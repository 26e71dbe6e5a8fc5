import type { NodeId } from "../../core/index.ts";
import { unreachable } from "../../util/assert.ts";
import type { Random } from "../../util/random.ts";
import { formatGroup } from "../timeline.ts";
import type { PartitionKind } from "./fault-kinds.ts";

/** A directed link `[from, to]`. */
export type Link = readonly [NodeId, NodeId];

/** A partition: which links it blocks, and how to say it. */
export interface PartitionShape {
  readonly kind: PartitionKind;
  /** For people: `{1, 2} | {3, 4, 5}`, `isolate 3`, ... */
  readonly description: string;
  /** Every directed link it blocks. */
  readonly blocked: readonly Link[];
}

/**
 * Draws a partition of shape `kind` over `ids`. `target` is the node the fault is aimed at when it should be
 * (the leader, usually): isolated, put in the minority, made mute; without one a random node is chosen.
 */
export function drawPartition(
  kind: PartitionKind,
  ids: readonly NodeId[],
  target: NodeId | null,
  random: Random,
): PartitionShape {
  switch (kind) {
    case "isolate": {
      const node = target ?? random.pick(ids);
      return { kind, description: `isolate ${node}`, blocked: cut([node], others(ids, [node])) };
    }
    case "split":
      return split(ids, target, random);
    case "bridge":
      return bridge(ids, random);
    case "one-way":
      return oneWay(ids, target, random);
    default:
      return unreachable(kind);
  }
}

/** A majority and a minority that cannot talk; the target, if any, is in the minority. */
function split(ids: readonly NodeId[], target: NodeId | null, random: Random): PartitionShape {
  const order = shuffled(ids, random);
  if (target !== null) {
    order.splice(order.indexOf(target), 1);
    order.unshift(target);
  }
  const minoritySize = random.intBetween(1, Math.floor((ids.length - 1) / 2));
  const minority = order.slice(0, minoritySize).sort(byId);
  const majority = order.slice(minoritySize).sort(byId);
  return {
    kind: "split",
    description: `${formatGroup(minority)} | ${formatGroup(majority)}`,
    blocked: [...cut(minority, majority)],
  };
}

/** Two sides that cannot talk, and a bridge node that talks to both. */
function bridge(ids: readonly NodeId[], random: Random): PartitionShape {
  const order = shuffled(ids, random);
  const bridgeNode = order.shift() as NodeId;
  const leftSize = random.intBetween(1, order.length - 1);
  const left = order.slice(0, leftSize).sort(byId);
  const right = order.slice(leftSize).sort(byId);
  return {
    kind: "bridge",
    description: `${formatGroup(left)} | ${formatGroup(right)}, bridged by ${bridgeNode}`,
    blocked: cut(left, right),
  };
}

/** Links blocked one way only: a node that cannot speak, one that cannot hear, or some random links. */
function oneWay(ids: readonly NodeId[], target: NodeId | null, random: Random): PartitionShape {
  const node = target ?? random.pick(ids);
  const rest = others(ids, [node]);
  switch (random.int(3)) {
    case 0:
      return {
        kind: "one-way",
        description: `${node} cannot send`,
        blocked: rest.map((to) => [node, to] as const),
      };
    case 1:
      return {
        kind: "one-way",
        description: `${node} cannot receive`,
        blocked: rest.map((from) => [from, node] as const),
      };
    default: {
      const all = ids.flatMap((from) => others(ids, [from]).map((to) => [from, to] as const));
      const count = random.intBetween(1, ids.length);
      const blocked = shuffled(all, random)
        .slice(0, count)
        .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      return {
        kind: "one-way",
        description: blocked.map(([from, to]) => `${from}->${to}`).join(" "),
        blocked,
      };
    }
  }
}

/** Every link between `a` and `b`, both ways. */
function cut(a: readonly NodeId[], b: readonly NodeId[]): Link[] {
  const links: Link[] = [];
  for (const x of a) {
    for (const y of b) links.push([x, y], [y, x]);
  }
  return links;
}

function others(ids: readonly NodeId[], excluded: readonly NodeId[]): NodeId[] {
  return ids.filter((id) => !excluded.includes(id));
}

/** A seeded Fisher–Yates shuffle (a copy). */
function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const a = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = a;
  }
  return copy;
}

function byId(a: NodeId, b: NodeId): number {
  return a - b;
}
