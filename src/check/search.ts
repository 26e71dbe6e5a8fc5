import { assert } from "../util/assert.ts";
import { EntryList, HEAD, NONE } from "./entry-list.ts";
import { LinearizedSet } from "./linearized-set.ts";
import type { Model } from "./model.ts";
import type { Operation } from "./operation.ts";
import { VisitedCache } from "./visited-cache.ts";

/**
 * How often, in search steps, the caller's `deadline()` is consulted: often enough to stop within a
 * millisecond or so, rarely enough that a costly predicate (reading a clock) adds nothing measurable.
 */
export const DEADLINE_CHECK_INTERVAL_STEPS = 1024;

/** What one partition's search may spend. */
export interface SearchLimits {
  /** The most search steps (loop iterations) this search may take. */
  readonly stepsMax: number;
  /** Called every {@link DEADLINE_CHECK_INTERVAL_STEPS} steps; returning true stops the search. */
  readonly deadline: (() => boolean) | undefined;
  /** The most bitset words the visited cache may hold (about 4 bytes each). */
  readonly cacheWordsMax: number;
}

/** Which limit stopped a search: the step budget, the caller's deadline, or the visited cache's bound. */
export type StopCause = "steps" | "deadline" | "memory";

/** How one partition's search ended. Positions are indexes into the partition's operation array. */
export type SearchOutcome =
  | { readonly kind: "linearizable"; readonly steps: number; readonly order: readonly number[] }
  | { readonly kind: "illegal"; readonly steps: number; readonly longestPrefix: readonly number[] }
  | {
      readonly kind: "stopped";
      readonly steps: number;
      readonly cause: StopCause;
      readonly visitedStates: number;
    };

/**
 * Wing & Gong's linearizability search with Lowe's memo, on one partition: repeatedly linearize the first
 * call entry the model accepts (lifting it out of the list), and when a return entry comes first (its
 * operation had to take effect by then) undo the most recent choice and try the next entry instead. An
 * operation that never returned has no return entry, so it may be taken anywhere after its call or never.
 * Success is reaching a point with no return entries left.
 *
 * (Trying never-returned operations only after the returned candidates was measured and rejected: with the
 * visited cache's dominance rule, call order explores less.)
 */
export function searchPartition<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  limits: SearchLimits,
): SearchOutcome {
  return new PartitionSearch(model, operations, limits).run();
}

/** The state of one partition's search; `run` is the loop, the rest are its steps. */
class PartitionSearch<S, I, O> {
  readonly #model: Model<S, I, O>;
  readonly #operations: readonly Operation<I, O>[];
  readonly #limits: SearchLimits;
  readonly #list: EntryList;
  /** Which returned operations are linearized (C), by their index among the returned ones. */
  readonly #completed: LinearizedSet;
  /** Which never-returned operations are linearized (P), by their index among those. */
  readonly #pending: LinearizedSet;
  /** Each operation's index in `#completed` or `#pending`, by partition position. */
  readonly #setIndex: Int32Array;
  readonly #cache: VisitedCache;
  /** The call entries lifted so far, in linearization order; the backtracking stack. */
  readonly #stackEntries: Int32Array;
  /** The cache entry of the configuration each stacked operation led to, marked finished when undone. */
  readonly #stackVisits: Int32Array;
  /** The model state before each stacked operation, restored when it is undone. */
  readonly #stackStates: S[] = [];
  #depth = 0;
  #state: S;
  #returnsLeft: number;
  #steps = 0;
  /** The longest linearized prefix seen, as call entries. */
  readonly #best: number[] = [];
  /** How many leading stack entries equal `#best`'s: lets `#best` grow in place instead of being recopied. */
  #bestSharedDepth = 0;

  constructor(model: Model<S, I, O>, operations: readonly Operation<I, O>[], limits: SearchLimits) {
    this.#model = model;
    this.#operations = operations;
    this.#limits = limits;
    this.#list = new EntryList(operations);
    this.#setIndex = new Int32Array(operations.length);
    let returned = 0;
    let pending = 0;
    for (let position = 0; position < operations.length; position++) {
      this.#setIndex[position] = operations[position]?.returned === null ? pending++ : returned++;
    }
    this.#completed = new LinearizedSet(returned);
    this.#pending = new LinearizedSet(pending);
    const { words: completedWords } = this.#completed;
    this.#cache = new VisitedCache({
      completedWords: completedWords.length,
      pendingWords: this.#pending.words.length,
      wordsMax: limits.cacheWordsMax,
      expectedEntries: operations.length,
    });
    this.#stackEntries = new Int32Array(operations.length);
    this.#stackVisits = new Int32Array(operations.length);
    this.#state = model.init();
    this.#returnsLeft = this.#list.returningOperations;
  }

  /**
   * Walks the list from the head: each call entry is tried in turn; a lifted one restarts the walk from
   * the head, one level deeper. A return entry ends the walk at this level (its operation had to come
   * before it and could not), so the last choice is undone and the walk of the level above resumes just
   * after it. The step budget bounds the loop.
   */
  run(): SearchOutcome {
    const list = this.#list;
    let entry = list.next[HEAD] ?? NONE;
    while (this.#returnsLeft > 0) {
      const stop = this.#countStep();
      if (stop !== undefined) return this.#stopped(stop);
      if (list.isCall[entry] === 1) {
        const taken = this.#tryLinearize(entry);
        if (taken === "full") return this.#stopped("memory");
        entry = taken === "lifted" ? (list.next[HEAD] ?? NONE) : (list.next[entry] ?? NONE);
      } else {
        // A return entry before any call that could be taken: its operation cannot follow this prefix. (A
        // return entry always lies ahead while one is left, since the walk never passes one.)
        assert(entry !== NONE, "linearizability search ran off the end of the entry list");
        if (this.#depth === 0) return this.#illegal();
        entry = list.next[this.#undoLast()] ?? NONE;
      }
    }
    const order = this.#positions(Array.from(this.#stackEntries.subarray(0, this.#depth)));
    return { kind: "linearizable", steps: this.#steps, order };
  }

  #illegal(): SearchOutcome {
    return { kind: "illegal", steps: this.#steps, longestPrefix: this.#positions(this.#best) };
  }

  /** Counts one step; returns why the search must stop, if it must. */
  #countStep(): StopCause | undefined {
    if (this.#steps >= this.#limits.stepsMax) return "steps";
    this.#steps++;
    if (this.#limits.deadline !== undefined && this.#steps % DEADLINE_CHECK_INTERVAL_STEPS === 0) {
      if (this.#limits.deadline()) return "deadline";
    }
    return undefined;
  }

  #stopped(cause: StopCause): SearchOutcome {
    return { kind: "stopped", steps: this.#steps, cause, visitedStates: this.#cache.size };
  }

  /**
   * Tries to take the operation of call entry `entry` next; lifts it if the model accepts it and the
   * configuration it leads to is new. A never-returned operation that leaves the state as it was is not
   * taken: leaving it out reaches the same state with more options.
   */
  #tryLinearize(entry: number): "lifted" | "skipped" | "full" {
    const position = this.#list.operationOf[entry] ?? 0;
    const next = this.#apply(position);
    if (next === undefined) return "skipped";
    const isPending = this.#operations[position]?.returned === null;
    const stateHash = this.#model.hash(next.state);
    if (isPending && stateHash === this.#model.hash(this.#state)) return "skipped";
    const set = isPending ? this.#pending : this.#completed;
    set.add(this.#setIndex[position] ?? 0);
    const visit = this.#cache.visit(this.#completed, this.#pending, stateHash);
    if (visit.kind !== "new") {
      set.remove(this.#setIndex[position] ?? 0);
      return visit.kind === "seen" ? "skipped" : "full";
    }
    this.#stackVisits[this.#depth] = visit.entry;
    this.#stackEntries[this.#depth] = entry;
    this.#stackStates[this.#depth] = this.#state;
    this.#depth++;
    this.#state = next.state;
    this.#list.lift(entry);
    if (!isPending) this.#returnsLeft--;
    this.#noteDepth(entry);
    return "lifted";
  }

  /** The state after the operation at `position`, or undefined if the model rejects it here. */
  #apply(position: number): { readonly state: S } | undefined {
    const operation = this.#operations[position];
    if (operation === undefined) return undefined;
    if (operation.returned === null || operation.output === undefined) {
      return { state: this.#model.stepUnknown(this.#state, operation.input) };
    }
    const result = this.#model.step(this.#state, operation.input, operation.output);
    return result.ok ? { state: result.next } : undefined;
  }

  /** Undoes the most recent linearization; returns its call entry, now back in the list. */
  #undoLast(): number {
    this.#depth--;
    const entry = this.#stackEntries[this.#depth] ?? NONE;
    const position = this.#list.operationOf[entry] ?? 0;
    this.#state = this.#stackStates[this.#depth] as S;
    this.#cache.finish(this.#stackVisits[this.#depth] ?? 0);
    const isPending = this.#operations[position]?.returned === null;
    (isPending ? this.#pending : this.#completed).remove(this.#setIndex[position] ?? 0);
    this.#list.unlift(entry);
    if (!isPending) this.#returnsLeft++;
    this.#bestSharedDepth = Math.min(this.#bestSharedDepth, this.#depth);
    return entry;
  }

  /** Keeps `#best` the longest prefix seen, after `entry` was pushed at depth `#depth - 1`. */
  #noteDepth(entry: number): void {
    const pushedAt = this.#depth - 1;
    if (this.#bestSharedDepth === pushedAt && this.#best[pushedAt] === entry) {
      this.#bestSharedDepth++;
    } else if (this.#depth > this.#best.length) {
      if (this.#bestSharedDepth === pushedAt && this.#best.length === pushedAt) {
        this.#best.push(entry);
      } else {
        this.#best.length = 0;
        for (let depth = 0; depth < this.#depth; depth++) this.#best.push(this.#stackEntries[depth] ?? NONE);
      }
      this.#bestSharedDepth = this.#depth;
    }
  }

  #positions(callEntries: readonly number[]): number[] {
    return callEntries.map((entry) => this.#list.operationOf[entry] ?? 0);
  }
}
