import type { Operation } from "./operation.ts";

/** The index of the list's head sentinel. */
export const HEAD = 0;
/** The `next`/`prev` value meaning "no entry". */
export const NONE = -1;
/** The first index of a real entry (after the sentinel). */
const FIRST_ENTRY = 1;

/**
 * Wing & Gong's history as a doubly linked list of call and return entries in time order, with the
 * "lift"/"unlift" of their search: lifting an operation unlinks its entries, and unlifting it (in the
 * reverse order of lifting) links them back exactly where they were, as in Knuth's dancing links.
 * Operations are numbered 0..n-1 (their positions in the partition); one that never returned has a call
 * entry and no return entry, so it never forces anything to happen before some time.
 */
export class EntryList {
  /** The operation each entry belongs to (unused for the sentinel). */
  readonly operationOf: Int32Array;
  /** 1 for a call entry, 0 for a return entry or the sentinel. */
  readonly isCall: Uint8Array;
  /** The next entry in the list, or {@link NONE}. */
  readonly next: Int32Array;
  /** The previous entry in the list (possibly the sentinel), or {@link NONE} for the sentinel. */
  readonly prev: Int32Array;
  /** The return entry of each operation, or {@link NONE} if it never returned. */
  readonly returnEntry: Int32Array;
  /** How many operations have a return entry. */
  readonly returningOperations: number;

  constructor(operations: readonly Operation<unknown, unknown>[]) {
    const entries = buildSortedEntries(operations);
    const size = entries.length + FIRST_ENTRY;
    this.operationOf = new Int32Array(size);
    this.isCall = new Uint8Array(size);
    this.next = new Int32Array(size).fill(NONE);
    this.prev = new Int32Array(size).fill(NONE);
    this.returnEntry = new Int32Array(operations.length).fill(NONE);
    // Index loops here and below: these run once per operation of every check, and iterator
    // destructuring costs a visible share of a large check.
    for (let position = 0; position < entries.length; position++) {
      const { operation, isCall } = entries[position] as SortableEntry;
      const entry = position + FIRST_ENTRY;
      this.operationOf[entry] = operation;
      this.isCall[entry] = isCall ? 1 : 0;
      if (!isCall) this.returnEntry[operation] = entry;
      this.prev[entry] = entry - 1;
      this.next[entry - 1] = entry;
    }
    this.returningOperations = entries.length - operations.length;
  }

  /** Unlinks the call and return entries of the operation whose call entry is `call`. */
  lift(call: number): void {
    this.#unlink(call);
    const returned = this.returnEntry[this.operationOf[call] ?? 0] ?? NONE;
    if (returned !== NONE) this.#unlink(returned);
  }

  /** Relinks what {@link EntryList.lift} unlinked; must undo the most recent lift still in effect. */
  unlift(call: number): void {
    const returned = this.returnEntry[this.operationOf[call] ?? 0] ?? NONE;
    if (returned !== NONE) this.#relink(returned);
    this.#relink(call);
  }

  #unlink(entry: number): void {
    const before = this.prev[entry] ?? NONE;
    const after = this.next[entry] ?? NONE;
    this.next[before] = after;
    if (after !== NONE) this.prev[after] = before;
  }

  #relink(entry: number): void {
    const before = this.prev[entry] ?? NONE;
    const after = this.next[entry] ?? NONE;
    this.next[before] = entry;
    if (after !== NONE) this.prev[after] = entry;
  }
}

interface SortableEntry {
  readonly operation: number;
  readonly isCall: boolean;
  readonly time: number;
}

/**
 * Call and return entries by time. At equal times calls come first, so operations whose intervals touch are
 * concurrent (see `happensBefore`); remaining ties keep partition order, so the search is deterministic.
 */
function buildSortedEntries(operations: readonly Operation<unknown, unknown>[]): SortableEntry[] {
  const entries: SortableEntry[] = [];
  for (let operation = 0; operation < operations.length; operation++) {
    const { call, returned } = operations[operation] as Operation<unknown, unknown>;
    entries.push({ operation, isCall: true, time: call });
    if (returned !== null) entries.push({ operation, isCall: false, time: returned });
  }
  return entries.sort(
    (a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.operation - b.operation,
  );
}
