/**
 * One harness run from start to verdict: start the cluster, run the clients and the nemesis for the run's
 * time, heal everything, wait for a leader, read every key back from every node, check, and leave the run
 * directory behind (history.jsonl, each node's logs, summary.json and summary.txt).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { connect, KvClientError } from "../../drivers/kv.ts";
import type { UnsafeDebugSwitches } from "../../drivers/server/node-config.ts";
import {
  checkAppends,
  checkLinearizable,
  checkNodeHealth,
  type FinalValues,
  scanNodeLogs,
  type Verdict,
} from "./checks.ts";
import { type Anomaly, HttpKvClient } from "./client.ts";
import { JepsenCluster, type NodeTiming, sleep } from "./cluster.ts";
import { History, type OperationCounts } from "./history.ts";
import { type MemberControl, type Nemesis, runNemeses, type TimelineEntry } from "./nemesis.ts";
import { formatSummary } from "./summary.ts";
import { KeySpace, runClients, type WorkloadSettings } from "./workload.ts";

export interface JepsenOptions {
  /** Seconds the clients and the nemesis run. */
  readonly timeSec: number;
  readonly nodes: number;
  readonly nemeses: readonly Nemesis[];
  readonly clients: number;
  readonly seed: number;
  /** The run directory (created). */
  readonly runDir: string;
  readonly ratePerSecond: number;
  readonly operationTimeoutMs: number;
  readonly timing: NodeTiming;
  /** Unsafe switches for calibration runs; undefined for a healthy build. */
  readonly unsafe: UnsafeDebugSwitches | undefined;
  /** Keep the nodes' data directories even when the run passes. */
  readonly keepData: boolean;
  /** The command line, for the summary and the replay line. */
  readonly command: string;
  /** A note on the namespace mode, when it was asked for. */
  readonly netnsNote?: string;
  /** Run the nodes in network namespaces (only where netns.ts finds the machine allows it). */
  readonly netns?: boolean;
}

/** Everything summary.json holds. */
export interface RunSummary {
  readonly valid: boolean;
  readonly seed: number;
  readonly command: string;
  readonly runDir: string;
  readonly startedAt: string;
  readonly durationSec: number;
  readonly nodes: number;
  readonly clients: number;
  readonly nemeses: readonly string[];
  readonly timing: NodeTiming;
  readonly unsafe: UnsafeDebugSwitches | null;
  readonly netns?: string;
  readonly operations: OperationCounts & { readonly finalReads: number };
  readonly keys: { readonly register: number; readonly append: number };
  readonly faults: { readonly injected: number; readonly byNemesis: Readonly<Record<string, number>> };
  readonly nodeStarts: Readonly<Record<number, number>>;
  readonly timeline: readonly TimelineEntry[];
  readonly verdicts: readonly Verdict[];
  readonly violations: readonly string[];
  readonly anomalies: readonly Anomaly[];
}

/** Milliseconds the cluster gets to agree on a leader after healing (and at the start). */
const LEADER_WAIT_MS = 30_000;
/** How long a membership change is retried (the client follows leaders and waits out elections). */
const MEMBERSHIP_RETRY_MS = 60_000;
/** The pause before retrying a membership change the leader refused for now. */
const MEMBERSHIP_RETRY_PAUSE_MS = 200;
/** Milliseconds every replica gets to apply everything after the final reads. */
const CONVERGE_WAIT_MS = 30_000;
/** Client attempts time out after this long: a paused node must not hold an operation for its whole budget. */
const ATTEMPT_TIMEOUT_MS = 1000;
/** Final reads get a long budget: the cluster is healed and idle. */
const FINAL_READ_TIMEOUT_MS = 15_000;
/** Process numbers of the final readers: 1000 + node id (clients are 1..clients). */
const FINAL_READER_BASE = 1000;
/** Keys in use at once and their lifetime (workload.ts). */
const KEY_SETTINGS = { registerKeys: 3, appendKeys: 2, operationsPerKeyMax: 120 } as const;

/** Runs the harness once; `print` gets progress lines. */
export async function runJepsen(options: JepsenOptions, print: (line: string) => void): Promise<RunSummary> {
  const runDir = resolve(options.runDir);
  const dataDir = join(runDir, "data");
  const logDir = join(runDir, "nodes");
  mkdirSync(runDir, { recursive: true });
  const startedAt = new Date().toISOString();
  const electionTimeoutMs = options.timing.tickMs * options.timing.electionTicks;
  print(`jepsen: seed ${options.seed}, run directory ${runDir}`);
  if (options.netnsNote !== undefined) print(`jepsen: ${options.netnsNote}`);

  const cluster = await JepsenCluster.start({
    nodes: options.nodes,
    dataDir,
    logDir,
    timing: options.timing,
    unsafe: options.unsafe,
    seed: options.seed,
    ...(options.netns === true ? { netns: true } : {}),
  });
  if (options.netns === true) print(`jepsen: network: ${cluster.describeNetwork()}`);
  const violations: string[] = [];
  const anomalies: Anomaly[] = [];
  const timeline: TimelineEntry[] = [];
  const history = new History(() => cluster.now());
  const keys = new KeySpace(
    KEY_SETTINGS.registerKeys,
    KEY_SETTINGS.appendKeys,
    KEY_SETTINGS.operationsPerKeyMax,
  );
  const endpoints = new Map(cluster.ids.map((id) => [id, cluster.apiUrl(id)] as const));
  const finals = new Map<string, (string | null)[]>();
  let finalReads = 0;
  const verdicts: Verdict[] = [];
  let stopNotes: string[] = [];
  try {
    const first = await waitForLeader(cluster, LEADER_WAIT_MS);
    if (first === null) violations.push(`no leader within ${LEADER_WAIT_MS / 1000} s of starting`);
    else print(`jepsen: ${options.nodes} nodes up, node ${first} leads; running for ${options.timeSec} s`);

    const endAt = cluster.now() + options.timeSec * 1000;
    const workload: WorkloadSettings = {
      clients: options.clients,
      seed: options.seed,
      ratePerSecond: options.ratePerSecond,
      operationTimeoutMs: options.operationTimeoutMs,
      attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
      ...KEY_SETTINGS,
    };
    const progress = setInterval(() => {
      const counts = history.counts();
      print(
        `jepsen: ${(cluster.now() / 1000).toFixed(0)} s: ${counts.ok} ok, ${counts.info} indeterminate, ${counts.fail} failed`,
      );
    }, 10_000);
    try {
      await Promise.all([
        runClients({
          settings: workload,
          endpoints,
          keys,
          history,
          stopped: () => cluster.now() >= endAt,
          onAnomaly: (anomaly) => anomalies.push(anomaly),
        }),
        runNemeses({
          selected: options.nemeses,
          context: {
            cluster,
            electionTimeoutMs,
            leader: () => currentLeader(cluster),
            members: memberControl(cluster),
          },
          seed: options.seed,
          endAt,
          record: (entry) => {
            timeline.push(entry);
            print(
              `jepsen: ${(entry.at / 1000).toFixed(1)} s ${entry.event} ${entry.nemesis}: ${entry.description}`,
            );
          },
        }),
      ]);
    } finally {
      clearInterval(progress);
    }

    print("jepsen: healing every fault");
    try {
      await cluster.healAll();
    } catch (error) {
      violations.push(`healing failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const leader = await waitForLeader(cluster, LEADER_WAIT_MS);
    if (leader === null) {
      violations.push(`no leader that every node agrees on within ${LEADER_WAIT_MS / 1000} s of healing`);
    } else {
      print(`jepsen: healed; node ${leader} leads; reading every key back from every node`);
    }
    finalReads = await readBack(cluster, keys, history, finals, (anomaly) => anomalies.push(anomaly));
    verdicts.push(await checkConvergence(cluster, [...keys.used().register, ...keys.used().append]));
  } finally {
    const stops = await cluster.stop();
    stopNotes = stops.filter((stop) => !stop.clean).map((stop) => `node ${stop.node} ${stop.detail}`);
  }

  print("jepsen: checking");
  const lines = history.lines();
  const appendFinals: FinalValues = new Map([...finals].filter(([key]) => keys.used().append.includes(key)));
  verdicts.unshift(checkLinearizable(lines), checkAppends(lines, appendFinals));
  const findings = scanNodeLogs(
    cluster.ids.map((id) => ({ id, stdout: cluster.logPath(id), stderr: cluster.stderrPath(id) })),
  );
  verdicts.push(checkNodeHealth(findings, cluster.unexpectedExits, stopNotes));
  const nemesisErrors = timeline.filter((entry) => entry.event === "error");
  verdicts.push({
    name: "faults-healed",
    valid: nemesisErrors.length === 0 && violations.length === 0,
    summary:
      nemesisErrors.length === 0 && violations.length === 0
        ? "every fault was injected and healed; a leader was elected after healing"
        : `${nemesisErrors.length + violations.length} problems injecting or healing faults, or electing after healing`,
    ...(nemesisErrors.length + violations.length === 0
      ? {}
      : { details: [...nemesisErrors.map((entry) => entry.description), ...violations] }),
  });
  verdicts.push({
    name: "api-answers",
    valid: anomalies.length === 0,
    summary:
      anomalies.length === 0
        ? "every answer of the API was one it documents"
        : `${anomalies.length} answers no correct node gives (500s, malformed bodies, unknown codes)`,
    ...(anomalies.length === 0
      ? {}
      : {
          details: anomalies
            .slice(0, 50)
            .map((a) => `node ${a.node} ${a.status} ${a.body} for ${a.operation}`),
        }),
  });

  const counts = history.counts();
  const byNemesis: Record<string, number> = {};
  for (const entry of timeline)
    if (entry.event === "start") byNemesis[entry.nemesis] = (byNemesis[entry.nemesis] ?? 0) + 1;
  const summary: RunSummary = {
    valid: verdicts.every((verdict) => verdict.valid),
    seed: options.seed,
    command: options.command,
    runDir,
    startedAt,
    durationSec: options.timeSec,
    nodes: options.nodes,
    clients: options.clients,
    nemeses: options.nemeses.map((nemesis) => nemesis.name),
    timing: options.timing,
    unsafe: options.unsafe ?? null,
    ...(options.netnsNote === undefined ? {} : { netns: options.netnsNote }),
    operations: { ...counts, finalReads },
    keys: { register: keys.used().register.length, append: keys.used().append.length },
    faults: { injected: Object.values(byNemesis).reduce((sum, n) => sum + n, 0), byNemesis },
    nodeStarts: cluster.starts(),
    timeline,
    verdicts,
    violations: verdicts
      .filter((verdict) => !verdict.valid)
      .map((verdict) => `${verdict.name}: ${verdict.summary}`),
    anomalies,
  };
  writeFileSync(join(runDir, "history.jsonl"), history.toJsonl());
  writeFileSync(join(runDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(runDir, "summary.txt"), formatSummary(summary));
  if (summary.valid && !options.keepData) rmSync(dataDir, { recursive: true, force: true });
  return summary;
}

interface StatusAnswer {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

async function status(cluster: JepsenCluster, id: number): Promise<StatusAnswer | null> {
  try {
    const response = await fetch(`${cluster.apiUrl(id)}/v1/status`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return null;
    return (await response.json()) as StatusAnswer;
  } catch {
    return null;
  }
}

/** The leader with the highest term among the running nodes that answer, or null. */
/**
 * Membership changes through the API (tsraft's own client, as an operator would). A change that cannot
 * complete yet — no quorum while a partition or a kill lasts, or the previous change still settling — is
 * retried until {@link MEMBERSHIP_RETRY_MS} has passed. Removing a node that is no member is done already;
 * adding one that is a voter returns at once (the API makes adding idempotent).
 */
function memberControl(cluster: JepsenCluster): MemberControl {
  const client = connect(
    cluster.ids.map((id) => cluster.apiUrl(id)),
    { deadlineMs: MEMBERSHIP_RETRY_MS, attemptsMax: 1000 },
  );
  const apiAddress = (id: number) => cluster.apiUrl(id).replace(/^http:\/\//, "");
  const retrying = async (change: () => Promise<unknown>, doneIf: string | null) => {
    const deadline = performance.now() + MEMBERSHIP_RETRY_MS;
    for (;;) {
      try {
        await change();
        return;
      } catch (error) {
        if (!(error instanceof KvClientError)) throw error;
        const reason = (error.lastCause as { reason?: unknown } | undefined)?.reason;
        if (reason === doneIf) return;
        const retry =
          error.code === "timeout" || reason === "change-in-progress" || reason === "not-caught-up";
        if (!retry || performance.now() > deadline) throw error;
        await sleep(MEMBERSHIP_RETRY_PAUSE_MS);
      }
    }
  };
  return {
    remove: (id) => retrying(() => client.removeMember(id), "not-a-member"),
    add: (id) =>
      retrying(
        () => client.addMember(id, { peerAddress: cluster.peerAddress(id), apiAddress: apiAddress(id) }),
        null,
      ),
  };
}

async function currentLeader(cluster: JepsenCluster): Promise<number | null> {
  const statuses = await Promise.all(cluster.running().map((id) => status(cluster, id)));
  let best: StatusAnswer | null = null;
  for (const answer of statuses) {
    if (answer?.role === "leader" && (best === null || answer.term > best.term)) best = answer;
  }
  return best?.id ?? null;
}

/** Waits until every node names the same leader and that node says it leads; null after `waitMs`. */
async function waitForLeader(cluster: JepsenCluster, waitMs: number): Promise<number | null> {
  const deadline = performance.now() + waitMs;
  while (performance.now() < deadline) {
    const statuses = await Promise.all(cluster.ids.map((id) => status(cluster, id)));
    const leaders = new Set(statuses.map((answer) => answer?.leader ?? null));
    const [only] = [...leaders];
    if (leaders.size === 1 && only !== null && only !== undefined) {
      if (statuses.some((answer) => answer?.id === only && answer.role === "leader")) return only;
    }
    await sleep(100);
  }
  return null;
}

/**
 * Reads every key ever used from every node (linearizable reads, recorded in the history as processes
 * 1000 + node), and collects the values read of each key in `finals`. Returns how many reads were made.
 */
async function readBack(
  cluster: JepsenCluster,
  keys: KeySpace,
  history: History,
  finals: Map<string, (string | null)[]>,
  onAnomaly: (anomaly: Anomaly) => void,
): Promise<number> {
  const endpoints = new Map(cluster.ids.map((id) => [id, cluster.apiUrl(id)] as const));
  const all = [...keys.used().register, ...keys.used().append];
  let reads = 0;
  await Promise.all(
    cluster.ids.map(async (node) => {
      const process = FINAL_READER_BASE + node;
      const client = new HttpKvClient({
        endpoints,
        home: node,
        operationTimeoutMs: FINAL_READ_TIMEOUT_MS,
        attemptTimeoutMs: 2000,
        onAnomaly,
      });
      for (const key of all) {
        const operation = { f: "read", key } as const;
        const id = history.invoke(process, operation);
        const outcome = await client.run(operation);
        history.complete(id, process, outcome);
        reads++;
        if (outcome.type === "ok") finals.set(key, [...(finals.get(key) ?? []), outcome.value ?? null]);
      }
    }),
  );
  return reads;
}

/**
 * After the final reads: every node applies the same index, and then each node's local copy of every key is
 * the same (replicas that agree on the log but not on the state would be a bug in apply or snapshots).
 */
async function checkConvergence(cluster: JepsenCluster, keys: readonly string[]): Promise<Verdict> {
  const deadline = performance.now() + CONVERGE_WAIT_MS;
  let applied: (number | null)[] = [];
  while (performance.now() < deadline) {
    const statuses = await Promise.all(cluster.ids.map((id) => status(cluster, id)));
    applied = statuses.map((answer) => answer?.appliedIndex ?? null);
    const commit = Math.max(...statuses.map((answer) => answer?.commitIndex ?? 0));
    if (applied.every((index) => index === commit)) break;
    await sleep(100);
  }
  const first = applied[0];
  if (first === null || first === undefined || !applied.every((index) => index === first)) {
    return {
      name: "replicas-converge",
      valid: false,
      summary: `the nodes did not all apply the same index within ${CONVERGE_WAIT_MS / 1000} s: ${applied.join(", ")}`,
    };
  }
  const differences: string[] = [];
  for (const key of keys) {
    const values = await Promise.all(cluster.ids.map((id) => localRead(cluster, id, key)));
    if (new Set(values.map((value) => JSON.stringify(value))).size > 1) {
      differences.push(
        `${key}: ${cluster.ids.map((id, k) => `node ${id}=${JSON.stringify(values[k])}`).join(" ")}`,
      );
    }
  }
  return {
    name: "replicas-converge",
    valid: differences.length === 0,
    summary:
      differences.length === 0
        ? `every node applied index ${first} and holds the same value for all ${keys.length} keys`
        : `${differences.length} keys differ between replicas at applied index ${first}`,
    ...(differences.length === 0 ? {} : { details: differences.slice(0, 50) }),
  };
}

/** A node's own copy of `key` (`?consistency=local`): its value, null when missing, or "?" when unanswered. */
async function localRead(cluster: JepsenCluster, id: number, key: string): Promise<string | null> {
  try {
    const response = await fetch(`${cluster.apiUrl(id)}/v1/kv/${encodeURIComponent(key)}?consistency=local`, {
      signal: AbortSignal.timeout(2000),
    });
    const body = (await response.json()) as { value?: unknown; code?: unknown };
    if (response.ok && typeof body.value === "string") return body.value;
    if (body.code === "key-not-found") return null;
    return `? (${response.status})`;
  } catch (error) {
    return `? (${error instanceof Error ? error.message : String(error)})`;
  }
}
