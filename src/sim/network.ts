import type { NodeId } from "../core/index.ts";
import type { Clock } from "../peer/index.ts";
import type { Random } from "../util/random.ts";

/**
 * The faults of one directed link. A message sent over the link is lost with `dropProbability`; otherwise it
 * arrives after a delay drawn uniformly from [delayMinMs, delayMaxMs], and with `duplicateProbability` a
 * second copy arrives after its own independent delay. Independent delays are what reorder messages.
 */
export interface LinkFaults {
  /** Probability in [0, 1] that a message is lost. */
  readonly dropProbability: number;
  /** Probability in [0, 1] that a delivered message is delivered twice. */
  readonly duplicateProbability: number;
  /** Shortest delay in milliseconds of virtual time (an integer, at least 0). */
  readonly delayMinMs: number;
  /** Longest delay in milliseconds (an integer, at least `delayMinMs`). */
  readonly delayMaxMs: number;
}

/** A perfect network with a small fixed delay: nothing is lost, duplicated or reordered. */
export const RELIABLE_LINK: LinkFaults = {
  dropProbability: 0,
  duplicateProbability: 0,
  delayMinMs: 1,
  delayMaxMs: 1,
};

/** Why a message was not delivered. */
export type DropReason =
  /** Lost at random on its link. */
  | "loss"
  /** Its link was blocked when it was sent or when it was due. */
  | "partition"
  /** No handler was registered for its receiver when it was due (the node is down). */
  | "down";

/** What the network did with a message, for traces and timelines. */
export type NetworkEvent<M> =
  | {
      readonly kind: "send";
      readonly time: number;
      readonly from: NodeId;
      readonly to: NodeId;
      readonly message: M;
    }
  | {
      readonly kind: "deliver";
      readonly time: number;
      readonly from: NodeId;
      readonly to: NodeId;
      readonly message: M;
    }
  | {
      readonly kind: "drop";
      readonly time: number;
      readonly from: NodeId;
      readonly to: NodeId;
      readonly message: M;
      readonly reason: DropReason;
    };

/** Running totals. Invariant: `delivered + dropped + inFlight === sent + duplicated`. */
export interface NetworkCounters {
  /** Calls to {@link SimNetwork.send}. */
  sent: number;
  /** Copies handed to a receiver. */
  delivered: number;
  /** Copies lost, blocked by a partition, or addressed to a node that was down. */
  dropped: number;
  /** Extra copies made by duplication. */
  duplicated: number;
  /** Copies scheduled and not yet delivered or dropped. */
  inFlight: number;
}

/** Receives the messages addressed to one node. */
export type MessageHandler<M> = (message: M, from: NodeId) => void;

/** Everything a {@link SimNetwork} needs. */
export interface SimNetworkOptions<M> {
  /** The time source that delays deliveries; the simulator passes its virtual clock. */
  readonly clock: Clock;
  /** The one stream every random choice (loss, duplication, delay) is drawn from, in send order. */
  readonly random: Random;
  /** Every node on the network; partitions and isolation are expressed over this set. */
  readonly nodes: readonly NodeId[];
  /** The faults of every link without its own setting. Default {@link RELIABLE_LINK}. */
  readonly faults?: LinkFaults;
  /** Called on every send, delivery and drop. */
  readonly observer?: (event: NetworkEvent<M>) => void;
}

/**
 * A seeded, simulated message network on a {@link Clock}. Messages travel one way, from a sender to a
 * handler registered for the receiver, and suffer the faults the simulator sets: loss, duplication, delay
 * (and with it reordering), and partitions of any shape, one-way ones included, as a set of blocked
 * directed links (DESIGN.md §3).
 *
 * It is pure: time comes only from the clock it is given and randomness only from its {@link Random}, so
 * the same sends in the same order on the same seed make the same deliveries at the same virtual times.
 */
export class SimNetwork<M> {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #nodes: readonly NodeId[];
  readonly #observer: ((event: NetworkEvent<M>) => void) | undefined;
  readonly #handlers = new Map<NodeId, MessageHandler<M>>();
  /** Blocked directed links, keyed by {@link linkKey}. */
  readonly #blocked = new Set<string>();
  /** Per-link fault settings that override {@link #defaultFaults}, keyed by {@link linkKey}. */
  readonly #linkFaults = new Map<string, LinkFaults>();
  #defaultFaults: LinkFaults;
  readonly #counters: NetworkCounters = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, inFlight: 0 };

  constructor(options: SimNetworkOptions<M>) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#nodes = [...options.nodes];
    this.#observer = options.observer;
    this.#defaultFaults = validateFaults(options.faults ?? RELIABLE_LINK);
  }

  /** Every node on the network, in the order given. */
  get nodes(): readonly NodeId[] {
    return this.#nodes;
  }

  /** A copy of the running totals. */
  get counters(): Readonly<NetworkCounters> {
    return { ...this.#counters };
  }

  /** Makes `node` reachable: messages due for it from now on go to `handler` (replacing any earlier one). */
  register(node: NodeId, handler: MessageHandler<M>): void {
    this.#handlers.set(node, handler);
  }

  /** Takes `node` off the network: messages due for it are dropped as "down" until it registers again. */
  unregister(node: NodeId): void {
    this.#handlers.delete(node);
  }

  /** Sets the faults of every link that has no setting of its own. */
  setFaults(faults: LinkFaults): void {
    this.#defaultFaults = validateFaults(faults);
  }

  /** Sets (or with `undefined`, clears) the faults of the directed link `from` → `to`. */
  setLinkFaults(from: NodeId, to: NodeId, faults: LinkFaults | undefined): void {
    if (faults === undefined) this.#linkFaults.delete(linkKey(from, to));
    else this.#linkFaults.set(linkKey(from, to), validateFaults(faults));
  }

  /** The faults in force on the directed link `from` → `to`. */
  faultsOf(from: NodeId, to: NodeId): LinkFaults {
    return this.#linkFaults.get(linkKey(from, to)) ?? this.#defaultFaults;
  }

  /** Blocks the directed link `from` → `to` (a one-way partition); `to` can still reach `from`. */
  block(from: NodeId, to: NodeId): void {
    if (from !== to) this.#blocked.add(linkKey(from, to));
  }

  /** Unblocks the directed link `from` → `to`. */
  unblock(from: NodeId, to: NodeId): void {
    this.#blocked.delete(linkKey(from, to));
  }

  /** Whether the directed link `from` → `to` is blocked. A node always reaches itself. */
  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.#blocked.has(linkKey(from, to));
  }

  /** Cuts `node` off from every other node in both directions, on top of any partition already in force. */
  isolate(node: NodeId): void {
    for (const other of this.#nodes) {
      this.block(node, other);
      this.block(other, node);
    }
  }

  /**
   * Replaces the current partition with `groups`: nodes talk only within their own group. A node listed in
   * no group is cut off from everyone.
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.heal();
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, index) => {
      for (const node of group) groupOf.set(node, index);
    });
    for (const from of this.#nodes) {
      for (const to of this.#nodes) {
        const a = groupOf.get(from);
        if (a === undefined || a !== groupOf.get(to)) this.block(from, to);
      }
    }
  }

  /** Unblocks every link. Per-link fault settings stay. */
  heal(): void {
    this.#blocked.clear();
  }

  /**
   * Sends `message` from `from` to `to`. It is dropped at once if the link is blocked or loses it; otherwise
   * one copy (two if duplicated) is scheduled for delivery. A copy is also dropped if, when it falls due, the
   * link has been blocked meanwhile (a partition cuts what is on the wire) or the receiver is down.
   */
  send(from: NodeId, to: NodeId, message: M): void {
    this.#counters.sent++;
    this.#observer?.({ kind: "send", time: this.#clock.now(), from, to, message });
    if (this.isBlocked(from, to)) {
      this.#drop(from, to, message, "partition");
      return;
    }
    const faults = this.faultsOf(from, to);
    if (this.#chance(faults.dropProbability)) {
      this.#drop(from, to, message, "loss");
      return;
    }
    const copies = this.#chance(faults.duplicateProbability) ? 2 : 1;
    this.#counters.duplicated += copies - 1;
    for (let copy = 0; copy < copies; copy++) {
      const delayMs =
        faults.delayMaxMs > faults.delayMinMs
          ? this.#random.intBetween(faults.delayMinMs, faults.delayMaxMs)
          : faults.delayMinMs;
      this.#counters.inFlight++;
      this.#clock.setTimer(() => {
        this.#counters.inFlight--;
        this.#deliver(from, to, message);
      }, delayMs);
    }
  }

  #deliver(from: NodeId, to: NodeId, message: M): void {
    if (this.isBlocked(from, to)) {
      this.#drop(from, to, message, "partition");
      return;
    }
    const handler = this.#handlers.get(to);
    if (handler === undefined) {
      this.#drop(from, to, message, "down");
      return;
    }
    this.#counters.delivered++;
    this.#observer?.({ kind: "deliver", time: this.#clock.now(), from, to, message });
    handler(message, from);
  }

  #drop(from: NodeId, to: NodeId, message: M, reason: DropReason): void {
    this.#counters.dropped++;
    this.#observer?.({ kind: "drop", time: this.#clock.now(), from, to, message, reason });
  }

  /**
   * True with probability `p`, drawn on a grid of one in a million. Certain outcomes draw nothing, so a
   * reliable network leaves the random stream to the delays alone.
   */
  #chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.#random.chance(Math.round(p * PROBABILITY_SCALE), PROBABILITY_SCALE);
  }
}

/** The resolution of fault probabilities. */
const PROBABILITY_SCALE = 1_000_000;

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

/** Rejects settings that cannot mean anything, so a typo fails loudly instead of silently disabling a fault. */
function validateFaults(faults: LinkFaults): LinkFaults {
  const probability = (name: string, value: number) => {
    if (!(value >= 0 && value <= 1))
      throw new RangeError(`LinkFaults.${name} must be in [0, 1], got ${value}`);
  };
  probability("dropProbability", faults.dropProbability);
  probability("duplicateProbability", faults.duplicateProbability);
  if (!Number.isSafeInteger(faults.delayMinMs) || faults.delayMinMs < 0) {
    throw new RangeError(`LinkFaults.delayMinMs must be a non-negative integer, got ${faults.delayMinMs}`);
  }
  if (!Number.isSafeInteger(faults.delayMaxMs) || faults.delayMaxMs < faults.delayMinMs) {
    throw new RangeError(
      `LinkFaults.delayMaxMs must be an integer at least delayMinMs (${faults.delayMinMs}), got ${faults.delayMaxMs}`,
    );
  }
  return { ...faults };
}
