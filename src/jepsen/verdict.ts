import {
  type CheckResult,
  checkOperations,
  describeResult,
  type KvInput,
  type KvOutput,
  kvModel,
  type Operation,
} from "../check/index.ts";
import type { HttpResponse } from "../kv/client/http-port.ts";
import type { Property } from "../sim/swarm/index.ts";
import { appendOrderModel } from "./append-order-model.ts";
import { APPEND_TOKEN_END, appendTokens } from "./append-tokens.ts";
import type { RequestRecord } from "./client-network.ts";

/**
 * The key-value verdict of a run: the client history checked for linearizability per key (Wing & Gong with
 * Lowe's memo, src/check), and the final reads after the heal checked for every acknowledged append, exactly
 * once. A check that runs out of budget is a failure, never a pass.
 */

/** The properties only the key-value harness checks. */
export const KV_ONLY_PROPERTIES = [
  "linearizability",
  "lost-write",
  "duplicate-write",
  "unknown-write",
  "checker-unknown",
  "final-read-unavailable",
  "client-error",
] as const;

/** One key-value property. */
export type KvOnlyProperty = (typeof KV_ONLY_PROPERTIES)[number];

/** A property a key-value run can break: its own, or one of the swarm's Raft and harness properties. */
export type KvProperty = KvOnlyProperty | Property;

/** What each key-value property says, for reports and `--help`. */
export const KV_PROPERTY_DESCRIPTIONS: Readonly<Record<KvOnlyProperty, string>> = {
  linearizability:
    "each key's history of get/put/append/cas/delete, as the clients saw it, is linearizable (stale reads, lost or reordered writes)",
  "lost-write": "after the heal, every acknowledged append is in the final read of its key",
  "duplicate-write": "no append shows up twice in a final read (a retried command applied once)",
  "unknown-write": "a final read holds no token that no client ever appended",
  "checker-unknown": "the linearizability checker decided within its budget (running out is a failure)",
  "final-read-unavailable": "after the heal, a final read of every key succeeds within its deadline",
  "client-error": "the client never gets an answer it cannot interpret (a refused or malformed request)",
};

/** A broken property with its evidence. Plain data: it crosses process boundaries as JSON. */
export interface KvViolation {
  readonly property: KvProperty;
  /** One sentence naming the key, the operation or the node. */
  readonly message: string;
  /** More lines of evidence: the checker's explanation, the operations involved. */
  readonly details: readonly string[];
  /** Virtual milliseconds since the run began. */
  readonly timeMs: number;
}

/** A violation as its first line: property, sentence, time. */
export function formatKvViolation(violation: KvViolation): string {
  return `${violation.property}: ${violation.message} at ${(violation.timeMs / 1000).toFixed(3)} s`;
}

/** The search steps one seed's check may take; a history that needs more is reported `checker-unknown`. */
export const CHECK_STEPS_MAX = 20_000_000;

/** The memo's bound per key, in bitset words (16 MiB): past it the check is `checker-unknown`, not a crash. */
export const CHECK_CACHE_WORDS_MAX = 2 ** 22;

type KvOperation = Operation<KvInput, KvOutput>;

/**
 * The error codes with which a node refuses a command without running it, now or later: the service did
 * not propose it (`not-leader`, `unavailable`, `overloaded`), the entry it proposed was replaced by another
 * leader's (`not-leader` again, from `lost-leadership`), or the state machine refused it (`session-expired`,
 * `stale-sequence`, the `overloaded` of too many outstanding commands, `bad-request`). Everything else,
 * `timeout` above all, may have run.
 */
const REFUSED_WITHOUT_EFFECT = new Set([
  "not-leader",
  "unavailable",
  "overloaded",
  "session-expired",
  "stale-sequence",
  "bad-request",
  "payload-too-large",
]);

/** Whether a node's answer says for sure that the command it answers did not run and never will. */
export function refusedWithoutEffect(response: HttpResponse): boolean {
  const code = (response.body as { code?: unknown } | undefined)?.code;
  return response.status >= 300 && typeof code === "string" && REFUSED_WITHOUT_EFFECT.has(code);
}

/**
 * Whether an operation that never returned is known to have had no effect: none of its command requests
 * reached a node, or every one that did was refused without effect (session registrations do not count).
 * Jepsen records such an operation as failed; here it leaves the history, which is what happened.
 */
export function knownFailed(requests: readonly RequestRecord[]): boolean {
  return requests.every(
    (record) =>
      record.request.url.endsWith("/v1/sessions") ||
      !record.delivered ||
      (record.response !== null && refusedWithoutEffect(record.response)),
  );
}

/** What {@link reduceHistory} left out, and why. */
export interface HistoryReduction {
  readonly operations: readonly KvOperation[];
  /** Writes that never returned and are known to have had no effect (see {@link knownFailed}). */
  readonly knownFailed: number;
  /** Appends that never returned and that no read ever showed (see {@link reduceHistory}). */
  readonly unobservedAppends: number;
}

/**
 * The history the checker needs, without operations that cannot change its verdict:
 * - writes that never returned and are known to have had no effect (`requests` tells, by operation id);
 * - on keys that only ever see get and append, appends that never returned and whose unique token no
 *   returned read shows. In any linearization such an append comes after every returned read (each read after
 *   it would show its token), where only appends follow, and appends answer the same whatever the value:
 *   leaving it out changes nothing. Without this, a few dozen such appends on one key cost the search
 *   factorial time, since each order of them is a different value.
 */
export function reduceHistory(
  operations: readonly KvOperation[],
  requests: ReadonlyMap<number, readonly RequestRecord[]>,
): HistoryReduction {
  const observed = new Map<string, Set<string>>();
  const notAppendOnly = new Set<string>();
  for (const operation of operations) {
    const { input, output } = operation;
    if (input.kind !== "get" && input.kind !== "append") notAppendOnly.add(input.key);
    if (input.kind !== "get" || output?.kind !== "value") continue;
    const tokens = observed.get(input.key) ?? new Set<string>();
    for (const token of appendTokens(output.value)) tokens.add(token);
    observed.set(input.key, tokens);
  }
  let failed = 0;
  let unobserved = 0;
  const kept = operations.filter((operation) => {
    const { input } = operation;
    if (operation.returned !== null || input.kind === "get") return true;
    if (knownFailed(requests.get(operation.id) ?? [])) {
      failed++;
      return false;
    }
    if (
      input.kind === "append" &&
      !notAppendOnly.has(input.key) &&
      !(observed.get(input.key)?.has(input.value.slice(0, -APPEND_TOKEN_END.length)) ?? false)
    ) {
      unobserved++;
      return false;
    }
    return true;
  });
  return { operations: kept, knownFailed: failed, unobservedAppends: unobserved };
}

/** What the history check found, and what it cost. */
export interface HistoryVerdict {
  /** Every violation found, most telling first (final-read findings before the checker's). */
  readonly violations: readonly Omit<KvViolation, "timeMs">[];
  readonly outcome: CheckResult<KvInput, KvOutput>["outcome"];
  /** Operations the linearizability checker was given (after {@link reduceHistory}). */
  readonly checkedOperations: number;
  /** Operations in it that never returned. */
  readonly checkedIndeterminate: number;
  readonly knownFailed: number;
  readonly unobservedAppends: number;
  readonly steps: number;
  readonly partitions: number;
}

/**
 * Checks a finished history: the final reads of the append keys (`finalReads`: key to the id of its final
 * read, which returned and was called after every other operation had ended) against every acknowledged
 * append, then the history, reduced by {@link reduceHistory}, for linearizability.
 */
export function checkHistory(
  operations: readonly KvOperation[],
  requests: ReadonlyMap<number, readonly RequestRecord[]>,
  finalReads: ReadonlyMap<string, number>,
  options: { readonly timeoutSteps?: number; readonly deadline?: () => boolean } = {},
): HistoryVerdict {
  const violations = checkFinalReads(operations, finalReads);
  const reduced = reduceHistory(operations, requests);
  const result = checkPerKey(reduced.operations, finalReads, options);
  if (result.outcome === "illegal") {
    const [first = "", ...rest] = describeResult(result).split("\n");
    const operation = result.explanation.blocked[0]?.operation;
    violations.push({
      property: "linearizability",
      message:
        `key ${JSON.stringify(result.key)}: ${first}` +
        (operation === undefined
          ? ""
          : `; op ${operation.id} of client ${operation.clientId} cannot be placed`),
      details: rest,
    });
  } else if (result.outcome === "unknown") {
    violations.push({
      property: "checker-unknown",
      message: `the linearizability check gave up on key ${JSON.stringify(result.key)}: ${result.reason}`,
      details: [],
    });
  }
  return {
    violations,
    outcome: result.outcome,
    checkedOperations: reduced.operations.length,
    checkedIndeterminate: reduced.operations.filter((operation) => operation.returned === null).length,
    knownFailed: reduced.knownFailed,
    unobservedAppends: reduced.unobservedAppends,
    steps: result.steps,
    partitions: result.partitions,
  };
}

/** The outcome of the per-key checks: the first key that failed, or the totals of all. */
type PerKeyResult = CheckResult<KvInput, KvOutput> & { readonly key: string };

/**
 * Checks each key on its own (the key-value store is linearizable exactly when each key is): append keys,
 * which have a final read, with {@link appendOrderModel}; the others with the plain key-value model. Stops at
 * the first key that is not linearizable or runs out of budget; the step budget is shared by all keys.
 */
function checkPerKey(
  operations: readonly KvOperation[],
  finalReads: ReadonlyMap<string, number>,
  options: { readonly timeoutSteps?: number; readonly deadline?: () => boolean },
): PerKeyResult {
  const byKey = new Map<string, KvOperation[]>();
  for (const operation of operations) {
    const part = byKey.get(operation.input.key);
    if (part === undefined) byKey.set(operation.input.key, [operation]);
    else part.push(operation);
  }
  const finalValues = new Map<string, string | null>();
  for (const [key, id] of finalReads) {
    const read = operations.find((operation) => operation.id === id);
    if (read?.output?.kind === "value") finalValues.set(key, read.output.value);
  }
  const stepsMax = options.timeoutSteps ?? CHECK_STEPS_MAX;
  let steps = 0;
  const totals = () => ({ operations: operations.length, partitions: byKey.size, steps });
  for (const [key, part] of byKey) {
    const limits = {
      timeoutSteps: Math.max(1, stepsMax - steps),
      cacheWordsMax: CHECK_CACHE_WORDS_MAX,
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    };
    const finalValue = finalValues.get(key);
    const result =
      finalValue === undefined
        ? checkOperations(kvModel, part, limits)
        : checkOperations(appendOrderModel(appendTokens(finalValue)), part, limits);
    steps += result.steps;
    if (result.outcome !== "ok") return { ...result, ...totals(), key };
  }
  return { outcome: "ok", linearization: [], ...totals(), key: "" };
}

/** Acknowledged appends missing from, doubled in, or foreign to their key's final read. */
function checkFinalReads(
  operations: readonly KvOperation[],
  finalReads: ReadonlyMap<string, number>,
): Omit<KvViolation, "timeMs">[] {
  const byId = new Map(operations.map((operation) => [operation.id, operation]));
  const violations: Omit<KvViolation, "timeMs">[] = [];
  for (const [key, readId] of finalReads) {
    const read = byId.get(readId);
    if (read?.output?.kind !== "value") continue;
    const seen = new Map<string, number>();
    for (const token of appendTokens(read.output.value)) seen.set(token, (seen.get(token) ?? 0) + 1);
    const appends = operations.filter(
      (operation) => operation.input.kind === "append" && operation.input.key === key,
    );
    const invoked = new Set(appends.map((operation) => appendValue(operation).slice(0, -1)));
    const describe = (operation: KvOperation) =>
      `op ${operation.id} client ${operation.clientId}: append(${JSON.stringify(key)}, ${JSON.stringify(appendValue(operation))})` +
      ` [called ${operation.call}, returned ${operation.returned ?? "never"}]`;
    const lost = appends.filter(
      (operation) =>
        operation.returned !== null &&
        operation.returned < read.call &&
        !seen.has(appendValue(operation).slice(0, -1)),
    );
    if (lost.length > 0) {
      violations.push({
        property: "lost-write",
        message:
          `key ${JSON.stringify(key)}: ${lost.length} acknowledged append(s) missing from the final read` +
          ` (op ${readId}, ${seen.size} tokens), first op ${lost[0]?.id}`,
        details: [...lost.slice(0, 10).map(describe), `final read: ${JSON.stringify(read.output.value)}`],
      });
    }
    const doubled = [...seen].filter(([, count]) => count > 1).map(([token]) => token);
    if (doubled.length > 0) {
      violations.push({
        property: "duplicate-write",
        message: `key ${JSON.stringify(key)}: append(s) ${doubled.slice(0, 5).join(", ")} applied more than once`,
        details: [`final read: ${JSON.stringify(read.output.value)}`],
      });
    }
    const foreign = [...seen.keys()].filter((token) => !invoked.has(token));
    if (foreign.length > 0) {
      violations.push({
        property: "unknown-write",
        message: `key ${JSON.stringify(key)}: the final read holds token(s) ${foreign.slice(0, 5).join(", ")} nobody appended`,
        details: [`final read: ${JSON.stringify(read.output.value)}`],
      });
    }
  }
  return violations;
}

function appendValue(operation: KvOperation): string {
  return operation.input.kind === "append" ? operation.input.value : "";
}
