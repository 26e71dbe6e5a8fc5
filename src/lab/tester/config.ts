import { decode, encode } from "../../codec/msgpack.ts";
import type { Clock } from "../../peer/index.ts";
import { deriveSeed, Random } from "../../util/random.ts";
import { Channel } from "../channel.ts";
import { type ClientEnd, makeNetwork, makeServer, makeService, type Network } from "../labrpc/index.ts";
import { makePersister, type Persister } from "../persister.ts";
import { type ApplyMsg, type LabFeatures, make, type Raft } from "../raft.ts";
import { LabTestFailure } from "./failure.ts";
import { sameCommand, showCommand } from "./values.ts";

/** The tester generously allows one second per election (the course's RaftElectionTimeout). */
export const RAFT_ELECTION_TIMEOUT_MS = 1000;
/** The snapshot applier snapshots at every index ≡ 9 (mod 10). */
export const SNAPSHOT_INTERVAL = 10;
/** Upper bound on persisted Raft state in the 2D tests (bytes). */
export const MAX_LOG_SIZE = 2000;
/** The course's per-test limit, measured from makeConfig (ms). */
export const TEST_TIME_LIMIT_MS = 120_000;

/** How a {@link Config} runs: on which clock, from which seed, and where its lines go. */
export interface ConfigOptions {
  readonly clock: Clock;
  readonly seed: number;
  /** Receives the lines the course's tester prints (`Test (2A): ... Passed -- ...`). */
  readonly print?: (line: string) => void;
  /** Production features to turn on in every server's Raft (default none, as in the course). */
  readonly features?: LabFeatures;
}

/** The five figures the course's tester prints at the end of each test. */
export interface TestFigures {
  readonly seconds: number;
  readonly peers: number;
  readonly rpcs: number;
  readonly bytes: number;
  readonly commits: number;
}

type Applier = (i: number, applyCh: Channel<ApplyMsg>) => Promise<void>;

/**
 * The course's Raft tester (`config.go`) ported to tsraft's lab interface: servers on a labrpc network,
 * crash/restart with persister copies, connect/disconnect, and the checks (`checkOneLeader`, `one`,
 * `nCommitted`, the appliers). All waiting goes through the given clock, so the same tests run on virtual or
 * real time; all randomness comes from the seed.
 */
export class Config {
  readonly n: number;
  readonly net: Network;
  readonly clock: Clock;
  readonly seed: number;
  /** Production features every server's Raft runs with (see LabFeatures), if any. */
  readonly features: LabFeatures | undefined;
  /** The tester's own random choices (which server to disconnect, command values). */
  readonly random: Random;
  readonly rafts: Array<Raft | null>;
  readonly applyErr: string[];
  readonly connected: boolean[];
  readonly saved: Array<Persister | null>;
  readonly endnames: string[][];
  /** Per server: the commands it has applied, by index. Kept across restarts, as in the course. */
  logs: Array<Map<number, unknown>>;
  readonly lastApplied: number[];
  readonly startTime: number;
  /** Settles (rejects) on the first fatal error: an apply error or a broken invariant inside a peer. */
  readonly failure: Promise<never>;
  #fail: (error: Error) => void = () => {};
  #failed: Error | null = null;
  #finished = false;
  #snapshotMode: boolean;
  #incarnations: number[];
  readonly #print: (line: string) => void;
  // begin()/end() bookkeeping
  #t0 = 0;
  #rpcs0 = 0;
  #bytes0 = 0;
  maxIndex = 0;
  #maxIndex0 = 0;
  figures: TestFigures | null = null;

  constructor(n: number, unreliable: boolean, snapshot: boolean, options: ConfigOptions) {
    this.n = n;
    this.clock = options.clock;
    this.seed = options.seed;
    this.features = options.features;
    this.random = new Random(deriveSeed(options.seed, "tester"));
    this.#print = options.print ?? (() => {});
    this.failure = new Promise<never>((_, reject) => {
      this.#fail = reject;
    });
    // Nobody may be listening yet; the rejection is observed through `failure` when a runner races it.
    this.failure.catch(() => {});
    this.net = makeNetwork({ clock: options.clock, seed: deriveSeed(options.seed, "network") });
    this.rafts = new Array<Raft | null>(n).fill(null);
    this.applyErr = new Array<string>(n).fill("");
    this.connected = new Array<boolean>(n).fill(false);
    this.saved = new Array<Persister | null>(n).fill(null);
    this.endnames = Array.from({ length: n }, () => []);
    this.logs = Array.from({ length: n }, () => new Map());
    this.lastApplied = new Array<number>(n).fill(0);
    this.#incarnations = new Array<number>(n).fill(0);
    this.#snapshotMode = snapshot;
    this.startTime = this.clock.now();

    this.setUnreliable(unreliable);
    this.net.longDelays(true);
    for (let i = 0; i < n; i++) this.start1(i);
    for (let i = 0; i < n; i++) this.connect(i);
  }

  // ---- failures --------------------------------------------------------------------------------------

  /** Fails the test (the course's `t.Fatalf`): records the error and throws it. */
  fatal(message: string): never {
    const error = new LabTestFailure(message);
    this.#recordFailure(error);
    throw error;
  }

  #recordFailure(error: Error): void {
    if (this.#failed !== null) return;
    this.#failed = error;
    this.#fail(error);
  }

  /** Fails if 120 s have passed since the config was made (checked only at end and cleanup, as in the course). */
  checkTimeout(): void {
    if (this.#failed === null && this.clock.now() - this.startTime > TEST_TIME_LIMIT_MS) {
      this.fatal("test took longer than 120 seconds");
    }
  }

  /** Whether cleanup has begun (long loops such as `one` stop then). */
  checkFinished(): boolean {
    return this.#finished;
  }

  /** Kills every server and closes the network. */
  cleanup(): void {
    this.#finished = true;
    for (let i = 0; i < this.rafts.length; i++) {
      this.rafts[i]?.kill();
    }
    this.net.cleanup();
    this.checkTimeout();
  }

  // ---- server life cycle -----------------------------------------------------------------------------

  /** Shuts server i down, keeping a copy of exactly what it had persisted (the course's crash1). */
  crash1(i: number): void {
    this.disconnect(i);
    this.net.deleteServer(i);
    const saved = this.saved[i];
    // Copy first, so the killed instance's later writes cannot reach its successor.
    if (saved) this.saved[i] = saved.copy();
    const raft = this.rafts[i];
    if (raft) {
      raft.kill();
      this.rafts[i] = null;
    }
    const copy = this.saved[i];
    if (copy) {
      const fresh = makePersister();
      fresh.save(copy.readRaftState(), copy.readSnapshot());
      this.saved[i] = fresh;
    }
  }

  /** Starts or restarts server i from its saved state (the course's start1); it starts disconnected. */
  start1(i: number): void {
    this.crash1(i);
    this.endnames[i] = Array.from({ length: this.n }, () => this.randomString(20));
    const ends: ClientEnd[] = [];
    for (let j = 0; j < this.n; j++) {
      const name = this.endnames[i]?.[j] as string;
      const end = this.net.makeEnd(name);
      this.net.connect(name, j);
      ends.push(end);
    }
    this.lastApplied[i] = 0;
    const saved = this.saved[i];
    if (saved) {
      this.saved[i] = saved.copy();
      const snapshot = saved.readSnapshot();
      if (snapshot.length > 0) {
        // Ingest the snapshot as a service would on restart.
        const error = this.ingestSnap(i, snapshot, -1);
        if (error !== "") this.fatal(error);
      }
    } else {
      this.saved[i] = makePersister();
    }
    const persister = this.saved[i] as Persister;
    const applyCh = new Channel<ApplyMsg>();
    const incarnation = this.#incarnations[i] ?? 0;
    this.#incarnations[i] = incarnation + 1;
    const raft = make(ends, i, persister, applyCh, {
      clock: this.clock,
      ...(this.features === undefined ? {} : { features: this.features }),
      seed: deriveSeed(this.seed, `raft-${i}-${incarnation}`),
      onFatal: (error) =>
        this.#recordFailure(
          new LabTestFailure(
            `server ${i} stopped on a broken invariant: ${String((error as Error)?.stack ?? error)}`,
          ),
        ),
    });
    this.rafts[i] = raft;
    const applier: Applier = this.#snapshotMode
      ? (k, ch) => this.applierSnap(k, ch)
      : (k, ch) => this.applier(k, ch);
    void applier(i, applyCh);
    const server = makeServer();
    server.addService(makeService(raft));
    this.net.addServer(i, server);
  }

  /** Connects server i to every connected server (the course's connect). */
  connect(i: number): void {
    this.connected[i] = true;
    for (let j = 0; j < this.n; j++) {
      if (this.connected[j]) this.net.enable(this.endnames[i]?.[j] as string, true);
    }
    for (let j = 0; j < this.n; j++) {
      if (this.connected[j]) this.net.enable(this.endnames[j]?.[i] as string, true);
    }
  }

  /** Cuts server i off from everyone (the course's disconnect). */
  disconnect(i: number): void {
    this.connected[i] = false;
    for (let j = 0; j < this.n; j++) {
      const out = this.endnames[i]?.[j];
      if (out !== undefined) this.net.enable(out, false);
      const into = this.endnames[j]?.[i];
      if (into !== undefined) this.net.enable(into, false);
    }
  }

  rpcCount(server: number): number {
    return this.net.getCount(server);
  }

  rpcTotal(): number {
    return this.net.getTotalCount();
  }

  bytesTotal(): number {
    return this.net.getTotalBytes();
  }

  setUnreliable(unreliable: boolean): void {
    this.net.reliable(!unreliable);
  }

  setLongReordering(longReordering: boolean): void {
    this.net.longReordering(longReordering);
  }

  /** The largest persisted Raft state of any server, crashed ones included (bytes). */
  logSize(): number {
    let size = 0;
    for (const persister of this.saved) size = Math.max(size, persister?.raftStateSize() ?? 0);
    return size;
  }

  // ---- appliers ----------------------------------------------------------------------------------------

  /** Checks an applied command against every server's applied log; returns an error or "". */
  checkLogs(i: number, m: ApplyMsg): { error: string; prevOk: boolean } {
    let error = "";
    const value = m.command;
    for (let j = 0; j < this.logs.length; j++) {
      const log = this.logs[j] as Map<number, unknown>;
      if (log.has(m.commandIndex) && !sameCommand(log.get(m.commandIndex), value)) {
        error = `commit index=${m.commandIndex} server=${i} ${showCommand(value)} != server=${j} ${showCommand(log.get(m.commandIndex))}`;
      }
    }
    const own = this.logs[i] as Map<number, unknown>;
    const prevOk = own.has(m.commandIndex - 1);
    own.set(m.commandIndex, value);
    if (m.commandIndex > this.maxIndex) this.maxIndex = m.commandIndex;
    return { error, prevOk };
  }

  /** Reads applyCh and checks every committed command (the course's applier, for tests without snapshots). */
  async applier(i: number, applyCh: Channel<ApplyMsg>): Promise<void> {
    for await (const m of applyCh) {
      if (!m.commandValid) continue;
      const { error, prevOk } = this.checkLogs(i, m);
      const message =
        error !== ""
          ? error
          : m.commandIndex > 1 && !prevOk
            ? `server ${i} apply out of order ${m.commandIndex}`
            : "";
      if (message !== "") {
        this.#applyError(i, message);
        return;
      }
    }
  }

  /** The snapshot applier of the 2D tests: strictly consecutive indexes, a snapshot every 10 entries. */
  async applierSnap(i: number, applyCh: Channel<ApplyMsg>): Promise<void> {
    const raft = this.rafts[i];
    if (!raft) return;
    for await (const m of applyCh) {
      let error = "";
      if (m.snapshotValid) {
        error = this.ingestSnap(i, m.snapshot, m.snapshotIndex);
      } else if (m.commandValid) {
        if (m.commandIndex !== (this.lastApplied[i] ?? 0) + 1) {
          error = `server ${i} apply out of order, expected index ${(this.lastApplied[i] ?? 0) + 1}, got ${m.commandIndex}`;
        }
        if (error === "") {
          const checked = this.checkLogs(i, m);
          error = checked.error;
          if (error === "" && m.commandIndex > 1 && !checked.prevOk) {
            error = `server ${i} apply out of order ${m.commandIndex}`;
          }
        }
        if (error === "") {
          this.lastApplied[i] = m.commandIndex;
          if ((m.commandIndex + 1) % SNAPSHOT_INTERVAL === 0) {
            const log = this.logs[i] as Map<number, unknown>;
            const xlog: unknown[] = [null];
            for (let j = 1; j <= m.commandIndex; j++) xlog.push(log.get(j) ?? null);
            raft.snapshot(m.commandIndex, encode([m.commandIndex, xlog]));
          }
        }
      }
      if (error !== "") {
        this.#applyError(i, error);
        return;
      }
    }
  }

  /** Loads a snapshot made by applierSnap into server i's applied log; returns an error or "". */
  ingestSnap(i: number, snapshot: Uint8Array, index: number): string {
    if (snapshot.length === 0) return "nil snapshot";
    let decoded: unknown;
    try {
      decoded = decode(snapshot);
    } catch {
      return "snapshot decode error";
    }
    if (!Array.isArray(decoded) || decoded.length !== 2 || !Array.isArray(decoded[1])) {
      return "snapshot decode error";
    }
    const lastIncludedIndex = decoded[0] as number;
    const xlog = decoded[1] as unknown[];
    if (index !== -1 && index !== lastIncludedIndex) {
      return `server ${i} snapshot doesn't match m.SnapshotIndex`;
    }
    const log = new Map<number, unknown>();
    for (let j = 1; j < xlog.length; j++) log.set(j, xlog[j]);
    this.logs[i] = log;
    this.lastApplied[i] = lastIncludedIndex;
    return "";
  }

  #applyError(i: number, message: string): void {
    this.applyErr[i] = message;
    this.#recordFailure(new LabTestFailure(`apply error: ${message}`));
  }

  // ---- checks ------------------------------------------------------------------------------------------

  /** Waits for exactly one leader among the connected servers and returns it (the course's checkOneLeader). */
  async checkOneLeader(): Promise<number> {
    for (let iters = 0; iters < 10; iters++) {
      await this.clock.sleep(450 + this.random.int(100));
      const leaders = new Map<number, number[]>();
      for (let i = 0; i < this.n; i++) {
        const raft = this.rafts[i];
        if (this.connected[i] && raft) {
          const { term, isLeader } = raft.getState();
          if (isLeader) leaders.set(term, [...(leaders.get(term) ?? []), i]);
        }
      }
      let lastTermWithLeader = -1;
      for (const [term, ids] of leaders) {
        if (ids.length > 1) this.fatal(`term ${term} has ${ids.length} (>1) leaders`);
        if (term > lastTermWithLeader) lastTermWithLeader = term;
      }
      if (leaders.size !== 0) return leaders.get(lastTermWithLeader)?.[0] as number;
    }
    this.fatal("expected one leader, got none");
  }

  /** All connected servers must agree on the term; returns it, or -1 if none is connected. */
  checkTerms(): number {
    let term = -1;
    for (let i = 0; i < this.n; i++) {
      const raft = this.rafts[i];
      if (this.connected[i] && raft) {
        const xterm = raft.getState().term;
        if (term === -1) term = xterm;
        else if (term !== xterm) this.fatal("servers disagree on term");
      }
    }
    return term;
  }

  /** No connected server may think it is the leader. */
  checkNoLeader(): void {
    for (let i = 0; i < this.n; i++) {
      const raft = this.rafts[i];
      if (this.connected[i] && raft?.getState().isLeader) {
        this.fatal(`expected no leader among connected servers, but ${i} claims to be leader`);
      }
    }
  }

  /** How many servers think the entry at `index` is committed, and its value; fails on disagreement. */
  nCommitted(index: number): { count: number; command: unknown } {
    let count = 0;
    let command: unknown;
    for (let i = 0; i < this.rafts.length; i++) {
      if (this.applyErr[i] !== "") this.fatal(this.applyErr[i] as string);
      const log = this.logs[i] as Map<number, unknown>;
      if (log.has(index)) {
        const value = log.get(index);
        if (count > 0 && !sameCommand(command, value)) {
          this.fatal(
            `committed values do not match: index ${index}, ${showCommand(command)}, ${showCommand(value)}`,
          );
        }
        count++;
        command = value;
      }
    }
    return { count, command };
  }

  /**
   * Waits for at least `n` servers to commit `index`; returns the command, or -1 if a server moved past
   * `startTerm` meanwhile (startTerm -1 disables that check).
   */
  async wait(index: number, n: number, startTerm: number): Promise<unknown> {
    let to = 10;
    for (let iters = 0; iters < 30; iters++) {
      const { count } = this.nCommitted(index);
      if (count >= n) break;
      await this.clock.sleep(to);
      if (to < 1000) to *= 2;
      if (startTerm > -1) {
        for (const raft of this.rafts) {
          if (raft && raft.getState().term > startTerm) return -1;
        }
      }
    }
    const { count, command } = this.nCommitted(index);
    if (count < n) this.fatal(`only ${count} decided for index ${index}; wanted ${n}`);
    return command;
  }

  /**
   * Full agreement on `cmd` (the course's one): submits it to whichever connected server is leader, waits for
   * `expectedServers` servers to commit it, and returns its index. With `retry`, resubmits after 2 s.
   */
  async one(cmd: unknown, expectedServers: number, retry: boolean): Promise<number> {
    const t0 = this.clock.now();
    let starts = 0;
    while (this.clock.now() - t0 < 10_000 && !this.checkFinished()) {
      let index = -1;
      for (let si = 0; si < this.n; si++) {
        starts = (starts + 1) % this.n;
        const raft = this.connected[starts] ? this.rafts[starts] : null;
        if (raft) {
          const result = raft.start(cmd);
          if (result.isLeader) {
            index = result.index;
            break;
          }
        }
      }
      if (index !== -1) {
        const t1 = this.clock.now();
        while (this.clock.now() - t1 < 2000) {
          const { count, command } = this.nCommitted(index);
          if (count > 0 && count >= expectedServers && sameCommand(command, cmd)) return index;
          await this.clock.sleep(20);
        }
        if (!retry) this.fatal(`one(${showCommand(cmd)}) failed to reach agreement`);
      } else {
        await this.clock.sleep(50);
      }
    }
    if (!this.checkFinished()) this.fatal(`one(${showCommand(cmd)}) failed to reach agreement`);
    return -1;
  }

  /** Prints a warning line (not a failure), as the course's tester does. */
  warn(line: string): void {
    this.#print(line);
  }

  // ---- begin / end -------------------------------------------------------------------------------------

  /** Starts a test: prints its title and remembers the counters (the course's begin). */
  begin(description: string): void {
    this.#print(`${description} ...`);
    this.#t0 = this.clock.now();
    this.#rpcs0 = this.rpcTotal();
    this.#bytes0 = this.bytesTotal();
    this.#maxIndex0 = this.maxIndex;
  }

  /** Ends a test: checks the time limit and prints the course's figures line (the course's end). */
  end(): void {
    this.checkTimeout();
    if (this.#failed !== null) throw this.#failed;
    const figures: TestFigures = {
      seconds: (this.clock.now() - this.#t0) / 1000,
      peers: this.n,
      rpcs: this.rpcTotal() - this.#rpcs0,
      bytes: this.bytesTotal() - this.#bytes0,
      commits: this.maxIndex - this.#maxIndex0,
    };
    this.figures = figures;
    this.#print(
      `  ... Passed --  ${figures.seconds.toFixed(1).padStart(4)}  ${figures.peers} ${String(figures.rpcs).padStart(4)} ${String(figures.bytes).padStart(7)} ${String(figures.commits).padStart(4)}`,
    );
  }

  /** A random string of `length` URL-safe characters, as the course's randstring makes them. */
  randomString(length: number): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let text = "";
    for (let k = 0; k < length; k++) text += alphabet[this.random.int(alphabet.length)];
    return text;
  }
}

/** Builds a tester config with `n` servers (the course's make_config). */
export function makeConfig(
  n: number,
  unreliable: boolean,
  snapshot: boolean,
  options: ConfigOptions,
): Config {
  return new Config(n, unreliable, snapshot, options);
}
