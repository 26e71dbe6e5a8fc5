import { type HistoryRecorder, type KvInput, type KvOutput, kv, kvOutput } from "../check/index.ts";
import type { HttpPort } from "../kv/client/http-port.ts";
import { KvClient, KvClientError } from "../kv/client/kv-client.ts";
import type { Clock } from "../peer/index.ts";
import { unreachable } from "../util/assert.ts";
import type { Random } from "../util/random.ts";
import { APPEND_TOKEN_END } from "./append-tokens.ts";
import type { RequestRecord } from "./client-network.ts";
import type { ClientTimeouts, Keyspace, KvWorkload, OperationWeights } from "./workload.ts";

/**
 * The simulated clients: each is the real {@link KvClient} (leader finding, retries with the same session
 * and sequence, deadlines) over the simulated client network, doing one operation at a time on the seed's
 * keys, each operation recorded in the history as it is invoked and as it ends — with its answer, or as
 * indeterminate when the client gave up (its effect may still happen, or never).
 */

/** What a client reports besides the history. */
export interface ClientEvents {
  /** The client got an answer it cannot interpret (a KvClientError "rejected"): a violation. */
  readonly onRejected: (clientIndex: number, input: KvInput, message: string) => void;
  /** Something that is neither an answer nor a client error escaped: a bug in the harness. */
  readonly onHarnessError: (error: unknown) => void;
  /** For the trace: an operation began or ended. */
  readonly onOperation?: (event: OperationEvent) => void;
}

/** One history event, for traces. */
export type OperationEvent =
  | { readonly kind: "invoke"; readonly id: number; readonly client: number; readonly input: KvInput }
  | { readonly kind: "ok"; readonly id: number; readonly output: KvOutput }
  | { readonly kind: "timeout"; readonly id: number; readonly reason: string };

/** What every client shares. */
export interface ClientContext {
  readonly clock: Clock;
  /** An HTTP port over the simulated client network; `onRequest` learns of every request sent through it. */
  readonly port: (onRequest: (record: RequestRecord) => void) => HttpPort;
  /** The API endpoints of the cluster's nodes now, as the client's configuration lists them. */
  readonly endpoints: () => readonly string[];
  readonly history: HistoryRecorder<KvInput, KvOutput>;
  /** The requests each operation sent, by operation id: what the harness knows of its effect. */
  readonly requests: Map<number, RequestRecord[]>;
  readonly events: ClientEvents;
}

/**
 * One simulated client: a real KvClient over the simulated network, whose operations are recorded in the
 * history with the requests each one sent. When the operator has added or retired nodes, the client is
 * configured anew with the current endpoints before its next operation (a new KvClient, so a new session),
 * as a deployment's clients would be: the real client only follows leader hints to endpoints it knows.
 */
export class SimulatedClient {
  readonly #context: ClientContext;
  readonly #index: number;
  readonly #timeouts: ClientTimeouts;
  #client: KvClient | null = null;
  /** The endpoints `#client` was configured with, joined. */
  #configured = "";
  /** The requests of the operation in flight. */
  #requests: RequestRecord[] = [];

  /** @param index the client's number in the history (its `clientId`) */
  constructor(context: ClientContext, index: number, timeouts: ClientTimeouts) {
    this.#context = context;
    this.#index = index;
    this.#timeouts = timeouts;
  }

  /** The KvClient for the cluster's current endpoints. */
  #current(): KvClient {
    const endpoints = this.#context.endpoints();
    const configured = endpoints.join(" ");
    if (this.#client !== null && configured === this.#configured) return this.#client;
    const { clock } = this.#context;
    const timeouts = this.#timeouts;
    this.#configured = configured;
    this.#client = new KvClient({
      endpoints,
      http: this.#context.port((record) => this.#requests.push(record)),
      sleep: (ms) => clock.sleep(ms),
      now: () => clock.now(),
      attemptsMax: timeouts.attemptsMax,
      deadlineMs: timeouts.deadlineMs,
      requestTimeoutMs: timeouts.requestTimeoutMs,
      backoffMs: timeouts.backoffMs,
    });
    return this.#client;
  }

  /**
   * Runs `input` and records it: invoke now, then the answer, or a timeout when the outcome is unknown.
   * Resolves with the operation's id in the history and its output (undefined when there was none).
   */
  async operate(input: KvInput): Promise<{ readonly id: number; readonly output: KvOutput | undefined }> {
    const { clock, history, events, requests } = this.#context;
    const client = this.#current();
    const id = history.invoke(this.#index, input, clock.now());
    this.#requests = [];
    requests.set(id, this.#requests);
    events.onOperation?.({ kind: "invoke", id, client: this.#index, input });
    let output: KvOutput;
    try {
      output = await perform(client, input);
    } catch (error) {
      history.timeout(id, clock.now());
      const reason = error instanceof Error ? error.message : String(error);
      events.onOperation?.({ kind: "timeout", id, reason });
      if (!(error instanceof KvClientError)) events.onHarnessError(error);
      else if (error.code === "rejected") events.onRejected(this.#index, input, error.message);
      return { id, output: undefined };
    }
    history.complete(id, output, clock.now());
    events.onOperation?.({ kind: "ok", id, output });
    return { id, output };
  }
}

async function perform(client: KvClient, input: KvInput): Promise<KvOutput> {
  switch (input.kind) {
    case "get":
      return kvOutput.value(await client.get(input.key));
    case "put":
      await client.put(input.key, input.value);
      return kvOutput.done;
    case "append":
      await client.append(input.key, input.value);
      return kvOutput.done;
    case "delete":
      await client.delete(input.key);
      return kvOutput.done;
    case "cas":
      return kvOutput.swapped((await client.cas(input.key, input.expected, input.value)).swapped);
    default:
      return unreachable(input);
  }
}

/** One workload client: a loop of think, choose, operate, until told to stop. */
export class WorkloadClient {
  readonly #index: number;
  readonly #context: ClientContext;
  readonly #workload: KvWorkload;
  readonly #keyspace: Keyspace;
  readonly #random: Random;
  readonly #client: SimulatedClient;
  /** The value this client last saw or wrote, per key: its guess for the next compare-and-set. */
  readonly #lastKnown = new Map<string, string | null>();
  #operations = 0;
  #running = false;

  constructor(
    index: number,
    context: ClientContext,
    workload: KvWorkload,
    keyspace: Keyspace,
    random: Random,
  ) {
    this.#index = index;
    this.#context = context;
    this.#workload = workload;
    this.#keyspace = keyspace;
    this.#random = random;
    this.#client = new SimulatedClient(context, index, workload.timeouts);
  }

  /** Runs until {@link stop}; resolves once the operation in flight then has ended. */
  async run(): Promise<void> {
    this.#running = true;
    const { clock } = this.#context;
    while (this.#running) {
      await clock.sleep(this.#random.intBetween(0, this.#workload.thinkMsMax));
      if (!this.#running) break;
      const input = this.#next();
      const { output } = await this.#client.operate(input);
      this.#learn(input, output);
    }
  }

  /** Issues no further operation. */
  stop(): void {
    this.#running = false;
  }

  #next(): KvInput {
    const { registerSlots, appendSlots, registerWeights, appendWeights } = this.#workload;
    const random = this.#random;
    const slotIndex = random.int(registerSlots.length + appendSlots.length);
    const isRegister = slotIndex < registerSlots.length;
    const slot =
      (isRegister ? registerSlots[slotIndex] : appendSlots[slotIndex - registerSlots.length]) ?? "";
    const key = this.#keyspace.take(slot);
    const number = this.#operations++;
    const unique = `${this.#index}.${number}`;
    switch (drawKind(random, isRegister ? registerWeights : appendWeights)) {
      case "get":
        return kv.get(key);
      case "put":
        return kv.put(key, `p${unique}`);
      case "append":
        return kv.append(key, `${unique}${APPEND_TOKEN_END}`);
      case "delete":
        return kv.delete(key);
      case "cas": {
        const expected = random.chance(4, 5) ? (this.#lastKnown.get(key) ?? null) : null;
        return kv.cas(key, expected, `c${unique}`);
      }
    }
  }

  /** Remembers what an operation showed of its key's value. */
  #learn(input: KvInput, output: KvOutput | undefined): void {
    if (output === undefined) return;
    switch (input.kind) {
      case "get":
        if (output.kind === "value") this.#lastKnown.set(input.key, output.value);
        return;
      case "put":
        this.#lastKnown.set(input.key, input.value);
        return;
      case "delete":
        this.#lastKnown.set(input.key, null);
        return;
      case "cas":
        if (output.kind === "swapped" && output.swapped) this.#lastKnown.set(input.key, input.value);
        return;
      case "append":
        return;
      default:
        unreachable(input);
    }
  }
}

function drawKind(random: Random, weights: OperationWeights): keyof OperationWeights {
  const kinds = ["get", "put", "append", "cas", "delete"] as const;
  const total = kinds.reduce((sum, kind) => sum + weights[kind], 0);
  let draw = random.int(total);
  for (const kind of kinds) {
    if (draw < weights[kind]) return kind;
    draw -= weights[kind];
  }
  return "get";
}
