import { HistoryError, type Operation } from "./operation.ts";

/** One event of a concurrent history, as clients observe it. `at` is a time on the history's clock. */
export type HistoryEvent<Input, Output> =
  | {
      readonly kind: "invoke";
      readonly id: number;
      readonly clientId: number;
      readonly input: Input;
      readonly at: number;
    }
  | { readonly kind: "return"; readonly id: number; readonly output: Output; readonly at: number }
  /** The client gave up waiting: the operation may take effect at any later time, or never. */
  | { readonly kind: "timeout"; readonly id: number; readonly at: number };

/**
 * Turns a list of events into operations. Every return or timeout must follow the invoke of the same id,
 * and an operation ends at most once. An operation with a timeout, or with no ending at all (the history
 * stopped first), never returned. Throws a {@link HistoryError} naming the first bad event.
 */
export function operationsFromEvents<I, O>(events: readonly HistoryEvent<I, O>[]): Operation<I, O>[] {
  const builder = new OperationsBuilder<I, O>();
  for (const [position, event] of events.entries()) builder.add(event, position);
  return builder.operations();
}

interface OpenOperation<I, O> {
  id: number;
  clientId: number;
  input: I;
  call: number;
  returned: number | null;
  output: O | undefined;
  ended: boolean;
}

class OperationsBuilder<I, O> {
  readonly #byId = new Map<number, OpenOperation<I, O>>();

  add(event: HistoryEvent<I, O>, position: number): void {
    const where = `event ${position} (${event.kind} of operation ${event.id})`;
    if (!Number.isFinite(event.at)) throw new HistoryError(`${where}: time must be finite`);
    if (event.kind === "invoke") {
      if (this.#byId.has(event.id)) throw new HistoryError(`${where}: operation ${event.id} invoked twice`);
      const { id, clientId, input, at } = event;
      this.#byId.set(id, { id, clientId, input, call: at, returned: null, output: undefined, ended: false });
      return;
    }
    const operation = this.#byId.get(event.id);
    if (operation === undefined)
      throw new HistoryError(`${where}: no earlier invoke of operation ${event.id}`);
    if (operation.ended) throw new HistoryError(`${where}: operation ${event.id} already ended`);
    if (event.at < operation.call) throw new HistoryError(`${where}: ends at ${event.at} before its call`);
    operation.ended = true;
    if (event.kind === "return") {
      operation.returned = event.at;
      operation.output = event.output;
    }
  }

  operations(): Operation<I, O>[] {
    return [...this.#byId.values()].map(({ id, clientId, input, call, returned, output }) => ({
      id,
      clientId,
      input,
      call,
      returned,
      output,
    }));
  }
}

/**
 * Records a history as it happens: `invoke` when a client sends a request, `complete` when it gets the
 * answer, `timeout` when it gives up. Times are the event order (0, 1, 2, ...) unless the caller passes its
 * own `at`, which must never decrease. Ids are assigned in invoke order from 0.
 */
export class HistoryRecorder<Input, Output> {
  readonly #events: HistoryEvent<Input, Output>[] = [];
  readonly #ended = new Set<number>();
  #nextId = 0;
  #lastAt = Number.NEGATIVE_INFINITY;

  /** Records that `clientId` invoked an operation with `input`; returns the operation's id. */
  invoke(clientId: number, input: Input, at?: number): number {
    const time = this.#time(at);
    const id = this.#nextId++;
    this.#events.push({ kind: "invoke", id, clientId, input, at: time });
    return id;
  }

  /** Records that operation `id` returned `output`. */
  complete(id: number, output: Output, at?: number): void {
    this.#checkEndable(id);
    this.#events.push({ kind: "return", id, output, at: this.#time(at) });
    this.#ended.add(id);
  }

  /** Records that the client of operation `id` stopped waiting: its effect and output are unknown. */
  timeout(id: number, at?: number): void {
    this.#checkEndable(id);
    this.#events.push({ kind: "timeout", id, at: this.#time(at) });
    this.#ended.add(id);
  }

  /** The events so far, in the order recorded. */
  events(): readonly HistoryEvent<Input, Output>[] {
    return this.#events;
  }

  /** The operations so far; those still in flight count as never returned. */
  operations(): Operation<Input, Output>[] {
    return operationsFromEvents(this.#events);
  }

  #checkEndable(id: number): void {
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.#nextId) {
      throw new HistoryError(`HistoryRecorder: no operation ${id} was invoked`);
    }
    if (this.#ended.has(id)) throw new HistoryError(`HistoryRecorder: operation ${id} already ended`);
  }

  /** Validates the time of a new event (before anything is recorded) and advances the clock to it. */
  #time(at: number | undefined): number {
    const time = at ?? this.#events.length;
    if (!Number.isFinite(time) || time < this.#lastAt) {
      throw new HistoryError(
        `HistoryRecorder: time ${time} is not finite or runs backwards (last ${this.#lastAt})`,
      );
    }
    this.#lastAt = time;
    return time;
  }
}
