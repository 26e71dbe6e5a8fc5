import type { NodeId } from "../../core/index.ts";
import type { LinkPlan, SwarmPlan } from "./plan.ts";

/**
 * Node slots beyond the starting cluster. The plan draws links and clock rates for the starting nodes 1..n
 * only; a node the operator adds later (id n + 1, n + 2, ...) borrows those of a starting node, its template,
 * so that it suffers the same kinds of faults without the plan (and with it every older seed) changing.
 */

/**
 * Most node slots a run creates: the starting nodes plus every node the operator adds. Ids stay below the
 * cluster's per-link key span (64).
 */
export const NODE_SLOTS_MAX = 40;

/** Most nodes running at once (the operator stops adding while this many are neither removed nor stopped). */
export const RUNNING_NODES_MAX = 9;

/** The starting node whose link and clock qualities node `id` borrows: itself for a starting node. */
export function templateOf(plan: SwarmPlan, id: NodeId): number {
  return ((id - 1) % plan.nodes) + 1;
}

/** The fault-phase link from `from` to `to`, through the templates (never undefined for a plan's nodes). */
export function linkPlanOf(plan: SwarmPlan, from: NodeId, to: NodeId): LinkPlan | undefined {
  return plan.links[templateOf(plan, from) - 1]?.[templateOf(plan, to) - 1];
}

/** Node `id`'s clock rate in thousandths, through its template. */
export function clockRateOf(plan: SwarmPlan, id: NodeId): number {
  return plan.skewPerMille[templateOf(plan, id) - 1] ?? 1000;
}
