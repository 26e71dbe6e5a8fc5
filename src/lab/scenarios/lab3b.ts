import { ELECTION_TIMEOUT_MS } from "../kvraft/config.ts";
import { type GenericOptions, genericPartScenario, speedScenario } from "../kvraft/generic-scenario.ts";
import type { KvraftScenario } from "../kvraft/scenario.ts";
import { check, put } from "../kvraft/tester-ops.ts";

/** The Raft state size at which 3B servers snapshot (bytes). */
const MAX_RAFT_STATE = 1000;
/** TestSnapshotSize3B: 500 bytes is a generous bound for the snapshot of the operations it does. */
const MAX_SNAPSHOT_STATE = 500;
/** TestSnapshotRPC3B: Puts into the majority while the third server is cut off. */
const SNAPSHOT_RPC_PUTS = 50;
/** TestSnapshotSize3B: rounds of Put/check/Put/check. */
const SNAPSHOT_SIZE_ROUNDS = 200;

/** A GenericTest of part 3B: five servers unless said otherwise, snapshots at 1000 bytes. */
function generic3B(name: string, nclients: number, options: GenericOptions): KvraftScenario {
  return genericPartScenario("3B", MAX_RAFT_STATE, name, nclients, options);
}

/** Lab 3B: the key-value service with snapshots, every test of the course in its order. */
export const lab3B: readonly KvraftScenario[] = [
  {
    // If one server falls behind, then rejoins, does it recover by using the InstallSnapshot RPC? Also checks
    // that the majority discards committed log entries even if the minority doesn't respond.
    name: "SnapshotRPC3B",
    part: "3B",
    titles: ["Test: InstallSnapshot RPC (3B)"],
    servers: 3,
    unreliable: false,
    maxRaftState: MAX_RAFT_STATE,
    async body(cfg) {
      const maxraftstate = cfg.maxRaftState;
      const ck = cfg.makeClient(cfg.all());
      cfg.begin("Test: InstallSnapshot RPC (3B)");
      await put(cfg, ck, "a", "A");
      await check(cfg, ck, "a", "A");

      // A bunch of puts into the majority partition.
      cfg.partition([0, 1], [2]);
      {
        const ck1 = cfg.makeClient([0, 1]);
        for (let i = 0; i < SNAPSHOT_RPC_PUTS; i++) await put(cfg, ck1, String(i), String(i));
        await cfg.clock.sleep(ELECTION_TIMEOUT_MS);
        await put(cfg, ck1, "b", "B");
      }

      // Check that the majority partition has thrown away most of its log entries.
      const sz = cfg.logSize();
      if (sz > 8 * maxraftstate) cfg.fatal(`logs were not trimmed (${sz} > 8*${maxraftstate})`);

      // Now make a group that requires participation of the lagging server, so that it has to catch up.
      cfg.partition([0, 2], [1]);
      {
        const ck1 = cfg.makeClient([0, 2]);
        await put(cfg, ck1, "c", "C");
        await put(cfg, ck1, "d", "D");
        await check(cfg, ck1, "a", "A");
        await check(cfg, ck1, "b", "B");
        await check(cfg, ck1, "1", "1");
        await check(cfg, ck1, "49", "49");
      }

      // Now everybody.
      cfg.partition([0, 1, 2], []);
      await put(cfg, ck, "e", "E");
      await check(cfg, ck, "c", "C");
      await check(cfg, ck, "e", "E");
      await check(cfg, ck, "1", "1");
      cfg.checkHistory();
      cfg.end();
    },
  },
  {
    // Are the snapshots not too huge? 500 bytes is a generous bound for the operations we're doing here.
    name: "SnapshotSize3B",
    part: "3B",
    titles: ["Test: snapshot size is reasonable (3B)"],
    servers: 3,
    unreliable: false,
    maxRaftState: MAX_RAFT_STATE,
    async body(cfg) {
      const maxraftstate = cfg.maxRaftState;
      const ck = cfg.makeClient(cfg.all());
      cfg.begin("Test: snapshot size is reasonable (3B)");
      for (let i = 0; i < SNAPSHOT_SIZE_ROUNDS; i++) {
        await put(cfg, ck, "x", "0");
        await check(cfg, ck, "x", "0");
        await put(cfg, ck, "x", "1");
        await check(cfg, ck, "x", "1");
      }
      // Check that servers have thrown away most of their log entries.
      const sz = cfg.logSize();
      if (sz > 8 * maxraftstate) cfg.fatal(`logs were not trimmed (${sz} > 8*${maxraftstate})`);
      // Check that the snapshots are not unreasonably large.
      const ssz = cfg.snapshotSize();
      if (ssz > MAX_SNAPSHOT_STATE) cfg.fatal(`snapshot too large (${ssz} > ${MAX_SNAPSHOT_STATE})`);
      cfg.checkHistory();
      cfg.end();
    },
  },
  speedScenario("Speed3B", "3B", MAX_RAFT_STATE),
  generic3B("SnapshotRecover3B", 1, { crash: true }),
  generic3B("SnapshotRecoverManyClients3B", 20, { crash: true }),
  generic3B("SnapshotUnreliable3B", 5, { unreliable: true }),
  generic3B("SnapshotUnreliableRecover3B", 5, { unreliable: true, crash: true }),
  generic3B("SnapshotUnreliableRecoverConcurrentPartition3B", 5, {
    unreliable: true,
    crash: true,
    partitions: true,
  }),
  generic3B("SnapshotUnreliableRecoverConcurrentPartitionLinearizable3B", 15, {
    unreliable: true,
    crash: true,
    partitions: true,
    randomkeys: true,
    nservers: 7,
  }),
];
