/**
 * `tsraft demo` (and `npm run demo`): a Raft cluster in the deterministic simulator, put through a leader crash,
 * a partition that strands the next leader in a minority, a heal and a restart, narrated as a timeline and
 * finished with a check that every node ended up with the same log.
 */
import type { LogIndex, NodeId } from "../core/index.ts";
import { makeVirtualClock } from "../lab/clocks.ts";
import { type LinkFaults, SimCluster, sameBytes, Timeline } from "../sim/index.ts";
import type { VirtualClock } from "../sim/virtual-clock.ts";
import { deriveSeed, Random } from "../util/random.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./exit-status.ts";

/** What {@link runDemo} takes. */
export interface DemoOptions {
  /** The seed of the simulation; the same seed prints the same output. */
  readonly seed: number;
  /** Cluster size, from {@link DEMO_NODES_MIN} to {@link DEMO_NODES_MAX}. */
  readonly nodes: number;
  /** Where output lines go. Default `console.log`. */
  readonly print?: (line: string) => void;
}

/** The smallest cluster worth the demo: with fewer than three nodes no failure can be survived. */
export const DEMO_NODES_MIN = 3;
/** The largest cluster the demo runs; beyond it the timeline stops fitting a screen. */
export const DEMO_NODES_MAX = 9;

/** The network the demo runs on: a few milliseconds of jittered delay (so reordering), with some loss and duplication. */
const DEMO_FAULTS: LinkFaults = {
  dropProbability: 0.01,
  duplicateProbability: 0.01,
  delayMinMs: 1,
  delayMaxMs: 8,
};

/** Width of the header's paragraphs, in characters. */
const HEADER_WIDTH = 100;

/** Milliseconds between client commands, on average (each gap is drawn from ±10 ms around it). */
const PROPOSE_EVERY_MS = 50;
/** A client whose oldest unacknowledged command is this old gives up on its leader and looks for another. */
const CLIENT_PATIENCE_MS = 1000;
/** How long any one step of the script may wait for the cluster (an election, convergence). */
const STEP_TIMEOUT_MS = 10_000;
/** When each scripted step happens, in milliseconds of virtual time (later if the cluster is not ready). */
interface Schedule {
  readonly crash: number;
  readonly restart: number;
  readonly partition: number;
  readonly heal: number;
  readonly stopClient: number;
}

/**
 * The script for five nodes or more: the partition comes while the old leader is still down. That needs a
 * minority that holds the new leader while the rest, one node short, still make a quorum.
 */
const SCHEDULE_RESTART_LAST: Schedule = {
  crash: 2000,
  partition: 4000,
  heal: 7000,
  restart: 8500,
  stopClient: 10_500,
};

/** The script for three or four nodes, which need the crashed node back before a partition can leave a quorum. */
const SCHEDULE_RESTART_FIRST: Schedule = {
  crash: 2000,
  restart: 4000,
  partition: 5500,
  heal: 8500,
  stopClient: 10_500,
};

/**
 * Runs the demo and returns the process exit status: 0 when every node ends with the same log, 1 when the
 * check fails (or a safety property breaks, or the cluster gets stuck), 2 for options out of range.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const { seed, nodes } = options;
  if (!Number.isSafeInteger(nodes) || nodes < DEMO_NODES_MIN || nodes > DEMO_NODES_MAX) {
    print(`tsraft demo: --nodes must be from ${DEMO_NODES_MIN} to ${DEMO_NODES_MAX}, got ${nodes}`);
    return EXIT_USAGE;
  }
  const rerun = `npm run demo -- --seed ${seed}${nodes === 5 ? "" : ` --nodes ${nodes}`}`;
  const clock = makeVirtualClock();
  try {
    printHeader(print, seed, nodes, rerun);
    const passed = await runScript(clock, seed, nodes, print);
    print("");
    print(`seed ${seed}; to replay this exact run: ${rerun}`);
    return passed ? EXIT_OK : EXIT_FAILURE;
  } catch (error) {
    print("");
    print(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    print(`seed ${seed}; to replay this exact run: ${rerun}`);
    return EXIT_FAILURE;
  } finally {
    clock.stop();
  }
}

function printHeader(print: (line: string) => void, seed: number, nodes: number, rerun: string): void {
  const percent = (p: number) => `${Math.round(p * 100)}%`;
  print(`tsraft demo: a ${nodes}-node Raft cluster in the deterministic simulator`);
  print("");
  const about =
    `${nodes} real Raft peers run on virtual time over a simulated network that delays messages by ` +
    `${DEMO_FAULTS.delayMinMs}-${DEMO_FAULTS.delayMaxMs} ms (so it reorders them), loses ` +
    `${percent(DEMO_FAULTS.dropProbability)} and duplicates ${percent(DEMO_FAULTS.duplicateProbability)}. ` +
    `A client proposes a command every ~${PROPOSE_EVERY_MS} ms. The simulator crashes the leader, strands ` +
    "the next leader in a minority partition (it keeps accepting commands it can never commit), heals the " +
    "network and restarts the crashed node from its disk. After every role change and every applied entry " +
    "it checks Raft's safety properties (Figure 3: at most one leader per term; no two nodes apply " +
    "different commands at one index).";
  for (const line of wrap(about, HEADER_WIDTH)) print(line);
  print("");
  print(`seed ${seed} (the same seed replays the same run, line for line: ${rerun})`);
  print("");
  print("timeline (virtual time):");
}

/** Runs the scripted scenario and the final check; returns whether the check passed. */
async function runScript(
  clock: VirtualClock,
  seed: number,
  nodes: number,
  print: (line: string) => void,
): Promise<boolean> {
  const timeline = new Timeline({ onLine: print });
  const cluster = new SimCluster({ clock, seed, nodes, faults: DEMO_FAULTS, observer: timeline.observe });
  const client = new DemoClient(cluster, clock, timeline, new Random(deriveSeed(seed, "client")));
  const step = async (what: string, condition: () => boolean): Promise<void> => {
    if (!(await cluster.waitFor(condition, STEP_TIMEOUT_MS))) {
      throw new Error(`gave up after ${STEP_TIMEOUT_MS / 1000} s of virtual time waiting for ${what}`);
    }
  };
  const newLeaderSince = (term: number): NodeId | null => {
    const leader = cluster.leader();
    return leader !== null && termOf(cluster, leader) > term ? leader : null;
  };

  const schedule = nodes >= 5 ? SCHEDULE_RESTART_LAST : SCHEDULE_RESTART_FIRST;
  cluster.start();
  await step("a first leader", () => cluster.leader() !== null);
  client.start();

  await cluster.runUntil(schedule.crash);
  const crashed = requireLeader(cluster);
  const crashedTerm = termOf(cluster, crashed);
  cluster.crash(crashed);
  await step("a leader after the crash", () => newLeaderSince(crashedTerm) !== null);

  const restartFirst = schedule.restart < schedule.partition;
  if (restartFirst) {
    await cluster.runUntil(schedule.restart);
    cluster.restart(crashed);
  }

  // Strand whoever leads now in a minority; it keeps accepting commands that it cannot commit.
  await cluster.runUntil(schedule.partition);
  const stranded = requireLeader(cluster);
  const strandedTerm = termOf(cluster, stranded);
  const [minority, majority] = splitAround(cluster, stranded);
  cluster.partition([minority, majority]);
  await step("the majority to elect a leader", () => {
    const leader = newLeaderSince(strandedTerm);
    return leader !== null && majority.includes(leader);
  });

  await cluster.runUntil(schedule.heal);
  cluster.heal();
  await step(`node ${stranded} to step down`, () => !isLeader(cluster, stranded));

  if (!restartFirst) {
    await cluster.runUntil(schedule.restart);
    cluster.restart(crashed);
  }

  await cluster.runUntil(schedule.stopClient);
  client.stop();
  await step("every node to apply every entry", () => allCaughtUp(cluster));
  timeline.checkpoint(clock.now(), cluster.commitStatus());
  timeline.note(clock.now(), "done", "every node has applied every entry");
  return finalCheck(cluster, client, clock, print);
}

/** Prints the summary and the final agreement check; returns whether it passed. */
function finalCheck(
  cluster: SimCluster,
  client: DemoClient,
  clock: VirtualClock,
  print: (line: string) => void,
): boolean {
  print("");
  print("final state:");
  for (const node of cluster.status()) {
    const restarts = node.incarnation > 1 ? `, restarted ${node.incarnation - 1}x` : "";
    print(
      `  node ${node.id}  ${node.role.padEnd(9)} term ${node.term}  applied ${node.lastApplied}${restarts}`,
    );
  }
  const net = cluster.networkCounters;
  print(
    `network: ${net.sent} messages sent, ${net.delivered} delivered, ${net.dropped} dropped, ` +
      `${net.duplicated} duplicated`,
  );
  const tally = client.tally();
  // Lost commands were accepted by a leader deposed before it could commit them: Raft allows that, as long
  // as none was acknowledged, and the client never acknowledges a command before it is applied.
  print(
    `client: ${tally.accepted} commands accepted, ${tally.committed} committed, ` +
      `${tally.lost} lost with deposed leaders (never acknowledged)`,
  );
  print(`simulated ${(clock.now() / 1000).toFixed(3)} s of virtual time in ${clock.eventsRun} events`);
  const result = cluster.checkConvergence();
  if (!result.agreed) {
    print(`check: FAILED: ${result.detail}`);
    return false;
  }
  if (tally.committed + tally.lost !== tally.accepted) {
    print("check: FAILED: the client's commands do not add up");
    return false;
  }
  print(`check: all ${cluster.ids.length} logs agree on ${result.entries} entries`);
  return true;
}

/**
 * A client that sends a command every ~50 ms to the node it believes leads, as a real client would: it
 * switches when that node says it is not the leader or is down, or when its oldest command has gone
 * unacknowledged for {@link CLIENT_PATIENCE_MS} (its leader may be cut off without knowing it).
 */
class DemoClient {
  readonly #cluster: SimCluster;
  readonly #clock: VirtualClock;
  readonly #timeline: Timeline;
  readonly #random: Random;
  readonly #encoder = new TextEncoder();
  /** Every accepted command, in order: its bytes and where it went. */
  readonly #accepted: Array<{ readonly data: Uint8Array; readonly index: LogIndex; readonly at: number }> =
    [];
  /** Position in `#accepted` of the oldest command not yet known to be committed or lost. */
  #oldestOpen = 0;
  #target: NodeId | null = null;
  #sequence = 0;
  #running = false;

  constructor(cluster: SimCluster, clock: VirtualClock, timeline: Timeline, random: Random) {
    this.#cluster = cluster;
    this.#clock = clock;
    this.#timeline = timeline;
    this.#random = random;
  }

  start(): void {
    this.#running = true;
    this.#tick();
  }

  stop(): void {
    this.#running = false;
    this.#timeline.note(this.#clock.now(), "client", `stops after ${this.#sequence} commands`);
  }

  /** How the accepted commands ended. Valid once the cluster has converged. */
  tally(): { accepted: number; committed: number; lost: number } {
    let committed = 0;
    for (const command of this.#accepted) if (this.#outcome(command) === "committed") committed++;
    return { accepted: this.#accepted.length, committed, lost: this.#accepted.length - committed };
  }

  #tick(): void {
    if (!this.#running) return;
    this.#settle();
    const oldest = this.#accepted[this.#oldestOpen];
    if (oldest !== undefined && this.#clock.now() - oldest.at >= CLIENT_PATIENCE_MS) {
      this.#switch(`no acknowledgement from node ${this.#target} for ${CLIENT_PATIENCE_MS / 1000} s`);
      // Commands still open are left to their fate; the client stops waiting on them.
      this.#oldestOpen = this.#accepted.length;
    }
    if (this.#target === null || !this.#cluster.isUp(this.#target)) this.#switch(null);
    if (this.#target !== null) {
      const data = this.#encoder.encode(`command ${this.#sequence + 1}`);
      let result = this.#cluster.propose(data, this.#target);
      if (!result.accepted) {
        this.#switch(null);
        result = this.#cluster.propose(data, this.#target);
      }
      if (result.accepted) {
        this.#sequence++;
        this.#accepted.push({ data, index: result.index, at: this.#clock.now() });
      }
    }
    const gapMs = this.#random.intBetween(PROPOSE_EVERY_MS - 10, PROPOSE_EVERY_MS + 10);
    this.#clock.setTimer(() => this.#tick(), gapMs);
  }

  /** Finds the leader again; notes the change when it is a different node. */
  #switch(reason: string | null): void {
    const leader = this.#cluster.leader();
    if (leader === this.#target) return;
    const because = reason === null ? "" : `${reason}; `;
    const to = leader === null ? "no leader to send to, waits" : `sends to node ${leader}`;
    this.#timeline.note(this.#clock.now(), "client", `${because}${to}`);
    this.#target = leader;
  }

  /** Moves past the commands whose fate is known. */
  #settle(): void {
    for (;;) {
      const command = this.#accepted[this.#oldestOpen];
      if (command === undefined || this.#outcome(command) === "open") return;
      this.#oldestOpen++;
    }
  }

  #outcome(command: { readonly data: Uint8Array; readonly index: LogIndex }): "committed" | "lost" | "open" {
    const committed = this.#cluster.committedAt(command.index);
    if (committed === undefined) return "open";
    return sameBytes(committed, command.data) ? "committed" : "lost";
  }
}

/** Splits text into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

function termOf(cluster: SimCluster, id: NodeId): number {
  return cluster.status().find((node) => node.id === id)?.term ?? 0;
}

function isLeader(cluster: SimCluster, id: NodeId): boolean {
  return cluster.status().some((node) => node.id === id && node.up && node.role === "leader");
}

function requireLeader(cluster: SimCluster): NodeId {
  const leader = cluster.leader();
  if (leader === null) throw new Error("expected a leader, found none");
  return leader;
}

/**
 * Splits the live nodes into a minority holding `leader` and a majority without it, the minority as large
 * as it can be while the majority side keeps a quorum of the whole cluster. Down nodes go in no group.
 */
function splitAround(cluster: SimCluster, leader: NodeId): [NodeId[], NodeId[]] {
  const quorum = Math.floor(cluster.ids.length / 2) + 1;
  const others = cluster.ids.filter((id) => id !== leader && cluster.isUp(id));
  const minorityExtra = Math.max(0, others.length - quorum);
  return [[leader, ...others.slice(0, minorityExtra)], others.slice(minorityExtra)];
}

/** Whether every node is up and has applied everything in the leader's log. */
function allCaughtUp(cluster: SimCluster): boolean {
  const leader = cluster.leader();
  if (leader === null) return false;
  const status = cluster.status();
  const last = status.find((node) => node.id === leader)?.lastLogIndex;
  return status.every((node) => node.up && node.lastApplied === last && node.lastLogIndex === last);
}
