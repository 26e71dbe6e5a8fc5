/**
 * The clients' workload: concurrent clients issuing reads, writes, compare-and-swaps and appends on a
 * rotating set of keys, every value unique in the run.
 *
 * Two kinds of keys:
 * - register keys take reads, writes and compare-and-swaps (Jepsen's linearizable register), checked by
 *   the linearizability checker;
 * - append keys take reads and appends of unique tokens (`<client>.<n>;`), so that after healing the final
 *   value names exactly which acknowledged appends survived: a missing token is a lost write, a repeated one
 *   a write applied twice.
 * A key retires after {@link WorkloadSettings.operationsPerKeyMax} operations and a fresh one takes its
 * place, which keeps each key's history (the checker's unit of work) small.
 */
import { deriveSeed, Random } from "../../util/random.ts";
import { type Anomaly, type ClientOperation, HttpKvClient } from "./client.ts";
import { sleep } from "./cluster.ts";
import type { History } from "./history.ts";

export interface WorkloadSettings {
  readonly clients: number;
  readonly seed: number;
  /** Target operations per second over all clients (each client staggers its operations around its share). */
  readonly ratePerSecond: number;
  readonly operationTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  /** Register keys in use at once. */
  readonly registerKeys: number;
  /** Append keys in use at once. */
  readonly appendKeys: number;
  /** Operations on one key before it retires. */
  readonly operationsPerKeyMax: number;
}

/** The separator after each appended token. */
export const APPEND_TOKEN_END = ";";

type KeyKind = "register" | "append";

interface KeySlot {
  readonly kind: KeyKind;
  key: string;
  operations: number;
}

/** The keys in use, rotated as they fill up, and every key ever used. */
export class KeySpace {
  readonly #slots: KeySlot[] = [];
  readonly #used: Record<KeyKind, string[]> = { register: [], append: [] };
  readonly #operationsPerKeyMax: number;

  constructor(registerKeys: number, appendKeys: number, operationsPerKeyMax: number) {
    this.#operationsPerKeyMax = operationsPerKeyMax;
    for (let k = 0; k < registerKeys; k++) this.#slots.push(this.#fresh("register"));
    for (let k = 0; k < appendKeys; k++) this.#slots.push(this.#fresh("append"));
  }

  /** A key for the next operation, counted against its budget. */
  pick(random: Random): { kind: KeyKind; key: string } {
    const slot = random.pick(this.#slots);
    slot.operations++;
    const picked = { kind: slot.kind, key: slot.key };
    if (slot.operations >= this.#operationsPerKeyMax) {
      const next = this.#fresh(slot.kind);
      slot.key = next.key;
      slot.operations = 0;
    }
    return picked;
  }

  /** Every key used so far, by kind, in order of first use. */
  used(): { readonly register: readonly string[]; readonly append: readonly string[] } {
    return this.#used;
  }

  #fresh(kind: KeyKind): KeySlot {
    const key = `${kind === "register" ? "r" : "a"}${this.#used[kind].length}`;
    this.#used[kind].push(key);
    return { kind, key, operations: 0 };
  }
}

/** Runs `settings.clients` clients until `stopped()` holds, recording everything in `history`. */
export async function runClients(options: {
  readonly settings: WorkloadSettings;
  readonly endpoints: ReadonlyMap<number, string>;
  readonly keys: KeySpace;
  readonly history: History;
  readonly stopped: () => boolean;
  readonly onAnomaly: (anomaly: Anomaly) => void;
}): Promise<void> {
  const { settings, endpoints } = options;
  const nodes = [...endpoints.keys()];
  const clients = Array.from({ length: settings.clients }, (_, k) => k + 1);
  await Promise.all(
    clients.map((process) =>
      runClient(process, {
        ...options,
        client: new HttpKvClient({
          endpoints,
          home: nodes[(process - 1) % nodes.length] ?? 1,
          operationTimeoutMs: settings.operationTimeoutMs,
          attemptTimeoutMs: settings.attemptTimeoutMs,
          onAnomaly: options.onAnomaly,
        }),
      }),
    ),
  );
}

async function runClient(
  process: number,
  options: {
    readonly settings: WorkloadSettings;
    readonly keys: KeySpace;
    readonly history: History;
    readonly stopped: () => boolean;
    readonly client: HttpKvClient;
  },
): Promise<void> {
  const { settings, keys, history, client } = options;
  const random = new Random(deriveSeed(settings.seed, `client-${process}`));
  /** The value this client last saw for each register key: what its compare-and-swaps expect. */
  const lastSeen = new Map<string, string | null>();
  const meanGapMs = (1000 * settings.clients) / settings.ratePerSecond;
  // Bounded by stopped(): the harness sets it when the run's time is up.
  for (let n = 0; !options.stopped(); n++) {
    const operation = nextOperation(keys.pick(random), `${process}.${n}`, random, lastSeen);
    const id = history.invoke(process, operation);
    const outcome = await client.run(operation);
    history.complete(id, process, outcome);
    if (outcome.type === "ok") {
      if (operation.f === "read") lastSeen.set(operation.key, outcome.value ?? null);
      else if (operation.f === "write" || (operation.f === "cas" && outcome.swapped === true)) {
        lastSeen.set(operation.key, operation.value);
      }
    }
    await sleep(random.int(Math.max(1, Math.round(2 * meanGapMs))));
  }
}

function nextOperation(
  picked: { kind: KeyKind; key: string },
  unique: string,
  random: Random,
  lastSeen: ReadonlyMap<string, string | null>,
): ClientOperation {
  const { key } = picked;
  const roll = random.int(10);
  if (picked.kind === "append") {
    return roll < 4 ? { f: "read", key } : { f: "append", key, value: `${unique}${APPEND_TOKEN_END}` };
  }
  if (roll < 5) return { f: "read", key };
  if (roll < 8) return { f: "write", key, value: unique };
  return { f: "cas", key, expected: lastSeen.get(key) ?? null, value: unique };
}
