import type { Clerk } from "./clerk.ts";
import { ELECTION_TIMEOUT_MS, type KvraftConfig } from "./config.ts";
import {
  append,
  appendedValue,
  checkClntAppends,
  get,
  inBackground,
  nextValue,
  partitioner,
  put,
  runClient,
} from "./tester-ops.ts";

/** Rounds of a GenericTest. */
export const GENERIC_ROUNDS = 3;
/** How long the clients of one round run (ms). */
export const GENERIC_ROUND_MS = 5000;
/** With partitions, how long clients run undisturbed before the partitioner starts (ms). */
export const PARTITIONER_DELAY_MS = 1000;
/** GenericTestSpeed: Appends timed. */
export const SPEED_OPS = 1000;
/** GenericTestSpeed: at least three operations per 100 ms heartbeat interval, i.e. 33.3 ms per operation. */
export const SPEED_MS_PER_OP_MAX = 100 / 3;

/** What a GenericTest does, as the course's arguments say it. */
export interface GenericTestSettings {
  readonly part: string;
  readonly nclients: number;
  readonly unreliable: boolean;
  /** Shut every server down and restart it at the end of each round (persistence). */
  readonly crash: boolean;
  /** Repartition the servers at random while the clients run. */
  readonly partitions: boolean;
  /** -1: no snapshots (and none may appear); otherwise the Raft state must stay within 8 times this. */
  readonly maxraftstate: number;
  /** Clients pick random keys (and Put sometimes) instead of each appending to its own key. */
  readonly randomkeys: boolean;
}

/** The title GenericTest prints, e.g. `Test: unreliable net, restarts, many clients (3A)`. */
export function genericTitle(settings: GenericTestSettings): string {
  let title = "Test: ";
  if (settings.unreliable) title += "unreliable net, "; // the network drops RPC requests and replies
  if (settings.crash) title += "restarts, "; // peers re-start, and thus persistence must work
  if (settings.partitions) title += "partitions, "; // the network may partition
  if (settings.maxraftstate !== -1) title += "snapshots, ";
  if (settings.randomkeys) title += "random keys, ";
  title += settings.nclients > 1 ? "many clients" : "one client";
  return `${title} (${settings.part})`;
}

/**
 * The course's GenericTest: for three rounds, `nclients` clients submit Appends and Gets (and, with random
 * keys, Puts) for five seconds — optionally over an unreliable network, with the servers repartitioned
 * meanwhile, and with every server shut down and restarted at the end of the round. Then each client's
 * key must hold all its appends exactly once and in order, and the Raft state must respect `maxraftstate`.
 * At the end the whole history must be linearizable.
 */
export async function genericTest(cfg: KvraftConfig, settings: GenericTestSettings): Promise<void> {
  const { nclients, crash, partitions, maxraftstate, randomkeys } = settings;
  const nservers = cfg.n;
  cfg.begin(genericTitle(settings));
  const ck = cfg.makeClient(cfg.all());

  for (let round = 0; round < GENERIC_ROUNDS; round++) {
    let doneClients = false;
    let donePartitioner = false;
    const client = async (cli: number, myck: Clerk): Promise<number> => {
      let j = 0;
      let last = ""; // only used when not randomkeys
      if (!randomkeys) await put(cfg, myck, String(cli), last, { cli });
      while (!doneClients) {
        const key = randomkeys ? String(cfg.random.int(nclients)) : String(cli);
        const nv = appendedValue(cli, j);
        if (cfg.random.nonNegativeInt() % 1000 < 500) {
          await append(cfg, myck, key, nv, { cli });
          if (!randomkeys) last = nextValue(last, nv);
          j++;
        } else if (randomkeys && cfg.random.nonNegativeInt() % 1000 < 100) {
          // Only with random keys: a Put would break the check done after Get operations.
          await put(cfg, myck, key, nv, { cli });
          j++;
        } else {
          const v = await get(cfg, myck, key, { cli });
          // The check only makes sense when every client keeps to its own key.
          if (!randomkeys && v !== last) {
            cfg.fatal(`get wrong value, key ${key}, wanted:\n${last}\n, got\n${v}\n`);
          }
        }
      }
      return j;
    };
    const counts = Array.from({ length: nclients }, (_, cli) =>
      inBackground(cfg, runClient(cfg, cli, client)),
    );

    let partitionerDone: Promise<void> | null = null;
    if (partitions) {
      // Allow the clients to perform some operations without interruption.
      await cfg.clock.sleep(PARTITIONER_DELAY_MS);
      partitionerDone = inBackground(
        cfg,
        partitioner(cfg, () => donePartitioner),
      );
    }
    await cfg.clock.sleep(GENERIC_ROUND_MS);

    doneClients = true; // tell clients to quit
    donePartitioner = true; // tell partitioner to quit

    if (partitionerDone !== null) {
      await partitionerDone;
      // Reconnect the network. A client may have submitted a request in a minority; that request won't
      // return until that server discovers a new term has started.
      cfg.connectAll();
      // Wait for a while so that we have a new term.
      await cfg.clock.sleep(ELECTION_TIMEOUT_MS);
    }

    if (crash) {
      for (let i = 0; i < nservers; i++) cfg.shutdownServer(i);
      // Wait for a while for servers to shut down, since shutdown isn't a real crash and isn't instantaneous.
      await cfg.clock.sleep(ELECTION_TIMEOUT_MS);
      // Crash and restart all.
      for (let i = 0; i < nservers; i++) cfg.startServer(i);
      cfg.connectAll();
    }

    for (let i = 0; i < nclients; i++) {
      const j = await (counts[i] as Promise<number>);
      const v = await get(cfg, ck, String(i), { cli: 0 });
      if (!randomkeys) checkClntAppends(cfg, i, v, j);
    }

    if (maxraftstate > 0) {
      // Check the maximum after the servers have processed all client requests and had time to checkpoint.
      const sz = cfg.logSize();
      if (sz > 8 * maxraftstate) cfg.fatal(`logs were not trimmed (${sz} > 8*${maxraftstate})`);
    }
    if (maxraftstate < 0) {
      // Check that snapshots are not used.
      const ssz = cfg.snapshotSize();
      if (ssz > 0) {
        cfg.fatal(`snapshot too large (${ssz}), should not be used when maxraftstate = ${maxraftstate}`);
      }
    }
  }

  cfg.checkHistory();
  cfg.end();
}

/**
 * The course's GenericTestSpeed: with three servers, one Get to wait for a leader, then 1000 Appends one
 * after another, which must average at most 33.3 ms each (three per 100 ms heartbeat interval). The course
 * calls the clerk directly here, so no operation is counted; the history still records them all.
 */
export async function genericTestSpeed(cfg: KvraftConfig, part: string): Promise<void> {
  const ck = cfg.makeClient(cfg.all());
  cfg.begin(`Test: ops complete fast enough (${part})`);
  const uncounted = { count: false } as const;
  // Wait until the first operation completes, so we know a leader is elected and the servers are ready.
  await get(cfg, ck, "x", uncounted);
  const start = cfg.clock.now();
  for (let i = 0; i < SPEED_OPS; i++) await append(cfg, ck, "x", appendedValue(0, i), uncounted);
  const durMs = cfg.clock.now() - start;
  const v = await get(cfg, ck, "x", uncounted);
  checkClntAppends(cfg, 0, v, SPEED_OPS);
  if (durMs > SPEED_OPS * SPEED_MS_PER_OP_MAX) {
    cfg.fatal(
      `Operations completed too slowly ${(durMs / SPEED_OPS).toFixed(2)}ms/op > ${SPEED_MS_PER_OP_MAX.toFixed(2)}ms/op`,
    );
  }
  cfg.checkHistory();
  cfg.end();
}
