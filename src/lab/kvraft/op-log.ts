import {
  type CheckResult,
  checkOperations,
  HistoryRecorder,
  type KvInput,
  type KvKeyState,
  type KvOutput,
  kvModel,
  type Model,
  type Operation,
} from "../../check/index.ts";

/**
 * Search steps one linearizability check may take. A legal kvraft history costs a few steps per operation
 * (a few thousand operations check in well under a second); the budget is hundreds of times that, so only a
 * pathological history runs out — and then the test fails (the course would assume "ok"). Steps, not a
 * wall-clock deadline, so that a run on the virtual clock stays a pure function of its seed.
 */
export const LINEARIZABILITY_CHECK_STEPS_MAX = 20_000_000;

/**
 * The course's key-value model (`models/kv.go`): every key starts as "", Get returns the value, Put replaces
 * it and Append concatenates. The shared model starts keys as missing (null), which a Get of a never-written
 * key — "" from the course's clerk — would contradict; the kvraft service has no delete, so "" and missing
 * are the same thing here.
 */
export const courseKvModel: Model<KvKeyState, KvInput, KvOutput> = { ...kvModel, init: () => "" };

/**
 * The course's model, taught to cut short searches that cannot succeed on append-only keys.
 *
 * Appends answer nothing, so when several clients append to one key concurrently and a Get reads the result
 * only at the end, the search tries their interleavings one after another and learns each is wrong only at
 * that Get: exponential (TestUnreliableOneKey3A's 50 appends by 5 clients exhaust any budget, which is why
 * the course does not check that test). On a key whose value only ever grows — every Put on it writes "" and
 * returned before any Append on it was called — every state of every valid linearization is a prefix of the
 * next, and each Get reads one of them. So a state that is neither a prefix nor an extension of the longest
 * value a Get read cannot lead anywhere, and an Append producing it is refused on the spot. The verdict is
 * unchanged: only orders that could never be completed are cut; the Gets are still checked as before.
 */
export function courseKvModelFor(
  operations: readonly Operation<KvInput, KvOutput>[],
): Model<KvKeyState, KvInput, KvOutput> {
  const longestRead = longestReadOfGrowingKeys(operations);
  if (longestRead.size === 0) return courseKvModel;
  return {
    ...courseKvModel,
    step(state, input, output) {
      const result = courseKvModel.step(state, input, output);
      if (!result.ok || input.kind !== "append") return result;
      const longest = longestRead.get(input.key);
      if (longest === undefined || prefixComparable(result.next ?? "", longest)) return result;
      return { ok: false, next: result.next };
    },
  };
}

/** Whether one string is a prefix of the other. */
function prefixComparable(a: string, b: string): boolean {
  return a.length <= b.length ? b.startsWith(a) : a.startsWith(b);
}

/**
 * For each key whose value can only grow (see {@link courseKvModelFor}) and that some completed Get read, the
 * longest value read.
 */
function longestReadOfGrowingKeys(operations: readonly Operation<KvInput, KvOutput>[]): Map<string, string> {
  const firstAppendCall = new Map<string, number>();
  const lastPutReturn = new Map<string, number>();
  const notGrowing = new Set<string>();
  const longest = new Map<string, string>();
  for (const { input, output, call, returned } of operations) {
    switch (input.kind) {
      case "append":
        firstAppendCall.set(input.key, Math.min(call, firstAppendCall.get(input.key) ?? call));
        break;
      case "put":
        if (input.value !== "" || returned === null) notGrowing.add(input.key);
        else lastPutReturn.set(input.key, Math.max(returned, lastPutReturn.get(input.key) ?? returned));
        break;
      case "get":
        if (output?.kind === "value" && output.value !== null) {
          const known = longest.get(input.key);
          if (known === undefined || output.value.length > known.length) longest.set(input.key, output.value);
        }
        break;
      default:
        // Deletes and compare-and-sets are not kvraft operations; their keys get no pruning.
        notGrowing.add(input.key);
    }
  }
  for (const [key, putReturn] of lastPutReturn) {
    const appendCall = firstAppendCall.get(key);
    if (appendCall !== undefined && putReturn >= appendCall) notGrowing.add(key);
  }
  for (const key of notGrowing) longest.delete(key);
  return longest;
}

/** What one linearizability check found and cost, for reports. */
export interface HistoryCheck {
  readonly operations: number;
  readonly steps: number;
  readonly outcome: CheckResult<KvInput, KvOutput>["outcome"];
}

/**
 * The tester's record of every clerk operation (the course's `OpLog`): what each asked and answered, and
 * when, as the linearizability checker reads them. Times are the order in which the tester saw events (0, 1,
 * 2, ...), not clock readings: the tester runs on one thread and records each call just before it starts and
 * each return just after it ends, so the order of events is real-time order — finer than any clock, under
 * which the virtual clock in particular would show many events at the same millisecond and make operations
 * that followed one another look concurrent. An operation still waiting when the history is checked counts
 * as one that never returned.
 */
export class OpLog {
  readonly #recorder = new HistoryRecorder<KvInput, KvOutput>();

  /** Records that client `clientId` called `input`; returns the operation's id for {@link complete}. */
  invoke(clientId: number, input: KvInput): number {
    return this.#recorder.invoke(clientId, input);
  }

  /** Records that operation `id` returned `output`. */
  complete(id: number, output: KvOutput): void {
    this.#recorder.complete(id, output);
  }

  /** The operations so far. */
  operations(): Operation<KvInput, KvOutput>[] {
    return this.#recorder.operations();
  }
}

/** Checks a kvraft history against {@link courseKvModel} within {@link LINEARIZABILITY_CHECK_STEPS_MAX}. */
export function checkKvHistory(
  operations: readonly Operation<KvInput, KvOutput>[],
): CheckResult<KvInput, KvOutput> {
  return checkOperations(courseKvModelFor(operations), operations, {
    timeoutSteps: LINEARIZABILITY_CHECK_STEPS_MAX,
  });
}
