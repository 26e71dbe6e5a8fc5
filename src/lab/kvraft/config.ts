import { describeResult, type KvInput, type KvOutput } from "../../check/index.ts";
import type { Clock } from "../../peer/clock.ts";
import { deriveSeed, Random } from "../../util/random.ts";
import { type ClientEnd, makeNetwork, makeServer, makeService, type Network } from "../labrpc/index.ts";
import { makePersister, type Persister } from "../persister.ts";
import type { LabFeatures } from "../raft.ts";
import { TEST_TIME_LIMIT_MS } from "../tester/config.ts";
import { LabTestFailure } from "../tester/failure.ts";
import { type Clerk, makeClerk } from "./clerk.ts";
import { checkKvHistory, type HistoryCheck, OpLog } from "./op-log.ts";
import { type KVServer, startKVServer } from "./server.ts";

/** The kvraft tester generously allows one second per election (the course's `electionTimeout`). */
export const ELECTION_TIMEOUT_MS = 1000;

/** The four figures the course's kvraft tester prints at the end of each test. */
export interface KvraftFigures {
  /** Seconds from `begin` to `end` on the test's clock. */
  readonly seconds: number;
  readonly peers: number;
  /** RPCs sent since `begin`, clerks' and Raft's alike. */
  readonly rpcs: number;
  /** Clerk operations the test's wrappers counted since `begin`. */
  readonly ops: number;
}

/** One `begin` … `end` section of a test and its figures (TestOnePartition3A has three). */
export interface KvraftSection {
  readonly title: string;
  readonly figures: KvraftFigures;
}

/** How a {@link KvraftConfig} runs: on which clock, from which seed, and where its lines go. */
export interface KvraftConfigOptions {
  readonly clock: Clock;
  readonly seed: number;
  /** Receives the lines the course's tester prints (`Test: one client (3A) ...`, `  ... Passed -- ...`). */
  readonly print?: (line: string) => void;
  /** Production features every server's Raft runs with (PreVote, CheckQuorum); default none. */
  readonly features?: LabFeatures;
}

/**
 * The course's kvraft tester (`kvraft/config.go`) on tsraft's lab interface: n servers, each a `KVServer`
 * and its `Raft` served together on one labrpc server; shutdown and restart from persister copies; partitions
 * of servers and of clerks; RPC and operation counts for `begin`/`end`; and, beyond the course, one history
 * of every clerk operation, checked for linearizability with tsraft's checker. Time comes from the clock and
 * randomness from the seed, so the same tests run on virtual or real time.
 */
export class KvraftConfig {
  readonly n: number;
  readonly net: Network;
  readonly clock: Clock;
  readonly seed: number;
  /** The tester's own random choices (end names, handle order, client operations, partitions). */
  readonly random: Random;
  readonly kvservers: Array<KVServer | null>;
  readonly saved: Array<Persister | null>;
  /** Names of each server's outgoing ends, by destination. */
  readonly endnames: string[][];
  /** Every clerk made and not deleted, with the names of its ends (by server). */
  readonly clerks = new Map<Clerk, string[]>();
  /** Bytes of Raft state at which servers snapshot; -1: never. */
  readonly maxRaftState: number;
  readonly startTime: number;
  /** Every clerk operation of the test, for the linearizability check. */
  readonly history: OpLog;
  /** What each linearizability check of this test found. */
  readonly checks: HistoryCheck[] = [];
  /** Settles (rejects) on the first failure anywhere: a check, a client, a server's broken invariant. */
  readonly failure: Promise<never>;
  /** The figures of each finished section, in order. */
  readonly sections: KvraftSection[] = [];
  nextClientId: number;
  #fail: (error: Error) => void = () => {};
  #failed: Error | null = null;
  #finished = false;
  readonly #incarnations: number[];
  readonly #print: (line: string) => void;
  // begin()/end() bookkeeping
  #title = "";
  #t0 = 0;
  #rpcs0 = 0;
  #ops = 0;

  readonly #features: LabFeatures | undefined;

  constructor(n: number, unreliable: boolean, maxRaftState: number, options: KvraftConfigOptions) {
    this.n = n;
    this.clock = options.clock;
    this.seed = options.seed;
    this.#features = options.features;
    this.random = new Random(deriveSeed(options.seed, "tester"));
    this.#print = options.print ?? (() => {});
    this.failure = new Promise<never>((_, reject) => {
      this.#fail = reject;
    });
    // Nobody may be listening yet; the rejection is observed through `failure` when a runner races it.
    this.failure.catch(() => {});
    this.net = makeNetwork({ clock: options.clock, seed: deriveSeed(options.seed, "network") });
    this.kvservers = new Array<KVServer | null>(n).fill(null);
    this.saved = new Array<Persister | null>(n).fill(null);
    this.endnames = Array.from({ length: n }, () => []);
    this.nextClientId = n + 1000; // client ids start 1000 above the highest server id, as in the course
    this.maxRaftState = maxRaftState;
    this.#incarnations = new Array<number>(n).fill(0);
    this.history = new OpLog();
    this.startTime = this.clock.now();

    for (let i = 0; i < n; i++) this.startServer(i);
    this.connectAll();
    this.net.reliable(!unreliable);
  }

  // ---- failures --------------------------------------------------------------------------------------

  /** Fails the test (the course's `t.Fatalf`): records the error and throws it. */
  fatal(message: string): never {
    const error = new LabTestFailure(message);
    this.recordFailure(error);
    throw error;
  }

  /** Records a failure that happened away from the test's main line (a client, a server); the first one wins. */
  recordFailure(error: Error): void {
    if (this.#failed !== null) return;
    this.#failed = error;
    this.#fail(error);
  }

  /** Whether the test has failed. */
  get failed(): boolean {
    return this.#failed !== null;
  }

  /** Fails if 120 s have passed since the config was made (checked only at end and cleanup, as in the course). */
  checkTimeout(): void {
    if (this.#failed === null && this.clock.now() - this.startTime > TEST_TIME_LIMIT_MS) {
      this.fatal("test took longer than 120 seconds");
    }
  }

  /** Whether cleanup has begun. */
  checkFinished(): boolean {
    return this.#finished;
  }

  /** Kills every server, stops every clerk (their waiting operations never complete) and closes the network. */
  cleanup(): void {
    this.#finished = true;
    for (const kv of this.kvservers) kv?.kill();
    for (const clerk of this.clerks.keys()) clerk.stop();
    this.net.cleanup();
    this.checkTimeout();
  }

  // ---- sizes -------------------------------------------------------------------------------------------

  /** The largest persisted Raft state of any server (bytes). */
  logSize(): number {
    let size = 0;
    for (const persister of this.saved) size = Math.max(size, persister?.raftStateSize() ?? 0);
    return size;
  }

  /** The largest persisted snapshot of any server (bytes). */
  snapshotSize(): number {
    let size = 0;
    for (const persister of this.saved) size = Math.max(size, persister?.snapshotSize() ?? 0);
    return size;
  }

  // ---- connectivity ------------------------------------------------------------------------------------

  /** Attaches server i to the servers listed in `to`, both ways. */
  connect(i: number, to: readonly number[]): void {
    for (const j of to) this.#enable(this.endnames[i]?.[j], true);
    for (const j of to) this.#enable(this.endnames[j]?.[i], true);
  }

  /** Detaches server i from the servers listed in `from`, both ways. */
  disconnect(i: number, from: readonly number[]): void {
    for (const j of from) this.#enable(this.endnames[i]?.[j], false);
    for (const j of from) this.#enable(this.endnames[j]?.[i], false);
  }

  #enable(endName: string | undefined, enabled: boolean): void {
    if (endName !== undefined) this.net.enable(endName, enabled);
  }

  /** Every server index, 0..n-1. */
  all(): number[] {
    return Array.from({ length: this.n }, (_, i) => i);
  }

  /** Connects every server to every other. */
  connectAll(): void {
    for (let i = 0; i < this.n; i++) this.connect(i, this.all());
  }

  /** Two groups, each fully connected inside and cut off from the other. */
  partition(p1: readonly number[], p2: readonly number[]): void {
    for (const i of p1) {
      this.disconnect(i, p2);
      this.connect(i, p1);
    }
    for (const i of p2) {
      this.disconnect(i, p1);
      this.connect(i, p2);
    }
  }

  // ---- clerks ------------------------------------------------------------------------------------------

  /**
   * A clerk with fresh ends to every server, handed over in random order, of which only those to the servers
   * in `to` are enabled for now.
   */
  makeClient(to: readonly number[]): Clerk {
    const endnames: string[] = [];
    const ends: ClientEnd[] = [];
    for (let j = 0; j < this.n; j++) {
      const name = this.randomString(20);
      endnames.push(name);
      ends.push(this.net.makeEnd(name));
      this.net.connect(name, j);
    }
    const clerk = makeClerk(this.#randomHandles(ends), { clock: this.clock });
    this.clerks.set(clerk, endnames);
    this.nextClientId++;
    this.connectClient(clerk, to);
    return clerk;
  }

  /** Forgets a clerk the test is done with. */
  deleteClient(clerk: Clerk): void {
    this.clerks.delete(clerk);
  }

  /** Enables the clerk's ends to the servers in `to`. */
  connectClient(clerk: Clerk, to: readonly number[]): void {
    const endnames = this.clerks.get(clerk) ?? [];
    for (const j of to) this.#enable(endnames[j], true);
  }

  /** Disables the clerk's ends to the servers in `from`. */
  disconnectClient(clerk: Clerk, from: readonly number[]): void {
    const endnames = this.clerks.get(clerk) ?? [];
    for (const j of from) this.#enable(endnames[j], false);
  }

  /** A shuffled copy (the course's `random_handles`), so a clerk cannot assume server i is `servers[i]`. */
  #randomHandles(ends: readonly ClientEnd[]): ClientEnd[] {
    const shuffled = [...ends];
    for (let i = 0; i < shuffled.length; i++) {
      const j = this.random.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j] as ClientEnd, shuffled[i] as ClientEnd];
    }
    return shuffled;
  }

  // ---- servers -----------------------------------------------------------------------------------------

  /**
   * Shuts server i down: isolates it, removes it from the network (so no reply of its can acknowledge work
   * persisted after this point), keeps a copy of exactly what it had persisted, and kills it.
   */
  shutdownServer(i: number): void {
    this.disconnect(i, this.all());
    this.net.deleteServer(i);
    const saved = this.saved[i];
    // Copy first, so the killed instance's later writes cannot reach its successor.
    if (saved) this.saved[i] = saved.copy();
    const kv = this.kvservers[i];
    if (kv) {
      kv.kill();
      this.kvservers[i] = null;
    }
  }

  /** Starts server i from (a copy of) what it persisted; it starts disconnected from the other servers. */
  startServer(i: number): void {
    this.endnames[i] = Array.from({ length: this.n }, () => this.randomString(20));
    const ends: ClientEnd[] = [];
    for (let j = 0; j < this.n; j++) {
      const name = this.endnames[i]?.[j] as string;
      ends.push(this.net.makeEnd(name));
      this.net.connect(name, j);
    }
    const saved = this.saved[i];
    const persister = saved ? saved.copy() : makePersister();
    this.saved[i] = persister;
    const incarnation = this.#incarnations[i] ?? 0;
    this.#incarnations[i] = incarnation + 1;
    const kv = startKVServer(ends, i, persister, this.maxRaftState, {
      clock: this.clock,
      ...(this.#features === undefined ? {} : { features: this.#features }),
      seed: deriveSeed(this.seed, `kvraft-${i}-${incarnation}`),
      onFatal: (error) =>
        this.recordFailure(
          new LabTestFailure(
            `server ${i} stopped on a broken invariant: ${String((error as Error)?.stack ?? error)}`,
          ),
        ),
    });
    this.kvservers[i] = kv;
    const server = makeServer();
    server.addService(makeService(kv, "KVServer"));
    server.addService(makeService(kv.rf, "Raft"));
    this.net.addServer(i, server);
  }

  /** Whether some live server thinks it is the leader, and the first that does (0 if none). */
  leader(): { readonly found: boolean; readonly leader: number } {
    for (let i = 0; i < this.n; i++) {
      if (this.kvservers[i]?.rf.getState().isLeader) return { found: true, leader: i };
    }
    return { found: false, leader: 0 };
  }

  /** A majority and a minority, with the current leader (server 0 if none) in the minority. */
  makePartition(): [number[], number[]] {
    const { leader } = this.leader();
    const p1: number[] = [];
    const p2: number[] = [];
    for (let i = 0; i < this.n; i++) {
      if (i === leader) continue;
      if (p1.length < Math.floor(this.n / 2) + 1) p1.push(i);
      else p2.push(i);
    }
    p2.push(leader);
    return [p1, p2];
  }

  // ---- counts, begin / end -----------------------------------------------------------------------------

  rpcTotal(): number {
    return this.net.getTotalCount();
  }

  /** Counts one clerk operation (the course's `op`). */
  op(): void {
    this.#ops++;
  }

  /** Starts a test section: prints its title and remembers the counters (the course's `begin`). */
  begin(description: string): void {
    this.#print(`${description} ...`);
    this.#title = description;
    this.#t0 = this.clock.now();
    this.#rpcs0 = this.rpcTotal();
    this.#ops = 0;
  }

  /** Ends a test section: checks the time limit and prints the course's figures line (the course's `end`). */
  end(): void {
    this.checkTimeout();
    if (this.#failed !== null) throw this.#failed;
    const figures: KvraftFigures = {
      seconds: (this.clock.now() - this.#t0) / 1000,
      peers: this.n,
      rpcs: this.rpcTotal() - this.#rpcs0,
      ops: this.#ops,
    };
    this.sections.push({ title: this.#title, figures });
    this.#print(
      `  ... Passed --  ${figures.seconds.toFixed(1).padStart(4)}  ${figures.peers} ${String(figures.rpcs).padStart(5)} ${String(figures.ops).padStart(4)}`,
    );
  }

  /**
   * Checks the history of every clerk operation so far for linearizability (the course's porcupine check,
   * stricter: a check that cannot decide fails the test too). Operations still in flight count as never
   * returned.
   */
  checkHistory(): void {
    const operations = this.history.operations();
    const result = checkKvHistory(operations);
    this.checks.push({ operations: result.operations, steps: result.steps, outcome: result.outcome });
    switch (result.outcome) {
      case "ok":
        return;
      case "illegal":
        this.fatal(`history is not linearizable\n${describeResult<KvInput, KvOutput>(result)}`);
        break;
      case "unknown":
        this.fatal(`linearizability check could not decide, which fails here: ${describeResult(result)}`);
        break;
    }
  }

  /** A random string of `length` URL-safe characters, as the course's randstring makes them. */
  randomString(length: number): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let text = "";
    for (let k = 0; k < length; k++) text += alphabet[this.random.int(alphabet.length)];
    return text;
  }
}

/** Builds a kvraft tester config with `n` servers (the course's `make_config`). */
export function makeKvraftConfig(
  n: number,
  unreliable: boolean,
  maxRaftState: number,
  options: KvraftConfigOptions,
): KvraftConfig {
  return new KvraftConfig(n, unreliable, maxRaftState, options);
}
