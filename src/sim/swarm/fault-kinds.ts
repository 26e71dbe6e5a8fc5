/**
 * The faults the swarm can inject, by name: the vocabulary of `tsraft sim --faults`, of a seed's fault mix and
 * of the coverage table. Each name is one thing that goes wrong in a real deployment.
 */

/** Every fault kind, in the order the CLI and the coverage table list them. */
export const FAULT_KINDS = [
  "loss",
  "duplicate",
  "reorder",
  "delay",
  "isolate",
  "split",
  "bridge",
  "one-way",
  "crash",
  "torn-write",
  "pause",
  "skew",
  "membership",
  "transfer",
  "flap",
] as const;

/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What each fault kind does, for `--help` and docs/simulation.md. */
export const FAULT_KIND_DESCRIPTIONS: Readonly<Record<FaultKind, string>> = {
  loss: "messages lost at random, at a per-link rate",
  duplicate: "messages delivered twice, each copy after its own delay",
  reorder: "delay jitter on every link, so messages overtake each other",
  delay: "a long tail: some messages held for up to several election timeouts",
  isolate: "one node (often the leader) cut off from every other, both ways",
  split: "a majority/minority split (the leader on either side)",
  bridge: "two sides that cannot talk, and one bridge node that sees both",
  "one-way": "links blocked in one direction only (a leader that can hear but not speak, and the like)",
  crash: "a node crashes, losing every write not yet synced, and restarts from its disk later",
  "torn-write": "a node crashes in the middle of a write: a prefix of its entries reaches the disk",
  pause: "a process stops (like SIGSTOP) and resumes, handling what queued up meanwhile",
  skew: "each node's clock runs at its own rate (0.8x to 1.2x)",
  membership:
    "an operator adds new nodes as learners, promotes them, removes voters (the leader too) and learners, and stops removed nodes",
  transfer: "an operator hands leadership to a random voter (TimeoutNow)",
  flap: "one node cut off and reconnected, or crashed and restarted, every few election timeouts",
};

/** Whether `name` is a fault kind. */
export function isFaultKind(name: string): name is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(name);
}

/** The partition shapes: the fault kinds that block links. */
export const PARTITION_KINDS = [
  "isolate",
  "split",
  "bridge",
  "one-way",
] as const satisfies readonly FaultKind[];

/**
 * The operations and the flapping node: fault kinds that an operator (or a bad network card) brings, drawn from
 * their own random stream so that adding them left every older plan decision of a seed as it was.
 */
export const OPERATION_KINDS = ["membership", "transfer", "flap"] as const satisfies readonly FaultKind[];

/** One operation kind. */
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** Whether `kind` is an operation kind. */
export function isOperationKind(kind: FaultKind): kind is OperationKind {
  return (OPERATION_KINDS as readonly FaultKind[]).includes(kind);
}

/** One partition shape. */
export type PartitionKind = (typeof PARTITION_KINDS)[number];

/**
 * Parses a `--faults` value: `all`, `none`, or a comma-separated list of kinds. Returns the kinds in
 * {@link FAULT_KINDS} order (so equal selections print and replay the same), or an error message.
 */
export function parseFaultKinds(text: string): readonly FaultKind[] | { readonly error: string } {
  const trimmed = text.trim();
  if (trimmed === "all") return FAULT_KINDS;
  if (trimmed === "none" || trimmed === "") return [];
  const names = trimmed.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !isFaultKind(name));
  if (unknown.length > 0) {
    return { error: `unknown fault kind ${unknown.map((name) => `"${name}"`).join(", ")}` };
  }
  return FAULT_KINDS.filter((kind) => names.includes(kind));
}

/** The `--faults` value that selects exactly `kinds`: `all`, `none`, or the comma-separated list. */
export function formatFaultKinds(kinds: readonly FaultKind[]): string {
  if (kinds.length === FAULT_KINDS.length) return "all";
  if (kinds.length === 0) return "none";
  return FAULT_KINDS.filter((kind) => kinds.includes(kind)).join(",");
}
