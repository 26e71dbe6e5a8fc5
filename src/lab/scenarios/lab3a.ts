import { ELECTION_TIMEOUT_MS } from "../kvraft/config.ts";
import { type GenericOptions, genericPartScenario, speedScenario } from "../kvraft/generic-scenario.ts";
import type { KvraftScenario } from "../kvraft/scenario.ts";
import {
  append,
  appendedValue,
  check,
  checkConcurrentAppends,
  get,
  inBackground,
  put,
  spawnClientsAndWait,
} from "../kvraft/tester-ops.ts";

/** Clients of TestUnreliableOneKey3A, and the appends each makes. */
const ONE_KEY_CLIENTS = 5;
const ONE_KEY_APPENDS = 10;
/** TestOnePartition3A: how long minority requests must stay unfinished, and how long the Put may take after healing. */
const MINORITY_WAIT_MS = 1000;
const HEAL_COMPLETION_MS = 30 * 100;

const NO_SNAPSHOTS = -1;

/** A GenericTest of part 3A: five servers unless said otherwise, no snapshots. */
function generic3A(name: string, nclients: number, options: GenericOptions): KvraftScenario {
  return genericPartScenario("3A", NO_SNAPSHOTS, name, nclients, options);
}

/** Lab 3A: the key-value service without snapshots, every test of the course in its order. */
export const lab3A: readonly KvraftScenario[] = [
  generic3A("Basic3A", 1, {}),
  speedScenario("Speed3A", "3A", NO_SNAPSHOTS),
  generic3A("Concurrent3A", 5, {}),
  generic3A("Unreliable3A", 5, { unreliable: true }),
  {
    name: "UnreliableOneKey3A",
    part: "3A",
    titles: ["Test: concurrent append to same key, unreliable (3A)"],
    servers: 3,
    unreliable: true,
    maxRaftState: NO_SNAPSHOTS,
    async body(cfg) {
      const ck = cfg.makeClient(cfg.all());
      cfg.begin("Test: concurrent append to same key, unreliable (3A)");
      await put(cfg, ck, "k", "");
      await spawnClientsAndWait(cfg, ONE_KEY_CLIENTS, async (me, myck) => {
        for (let n = 0; n < ONE_KEY_APPENDS; n++) await append(cfg, myck, "k", appendedValue(me, n));
      });
      const counts = new Array<number>(ONE_KEY_CLIENTS).fill(ONE_KEY_APPENDS);
      const vx = await get(cfg, ck, "k");
      checkConcurrentAppends(cfg, vx, counts);
      cfg.checkHistory();
      cfg.end();
    },
  },
  {
    // Submit a request in the minority partition and check that it doesn't go through until the partition
    // heals. The leader in the original network ends up in the minority partition.
    name: "OnePartition3A",
    part: "3A",
    titles: [
      "Test: progress in majority (3A)",
      "Test: no progress in minority (3A)",
      "Test: completion after heal (3A)",
    ],
    servers: 5,
    unreliable: false,
    maxRaftState: NO_SNAPSHOTS,
    async body(cfg) {
      const ck = cfg.makeClient(cfg.all());
      await put(cfg, ck, "1", "13");

      cfg.begin("Test: progress in majority (3A)");
      const [p1, p2] = cfg.makePartition();
      cfg.partition(p1, p2);
      const ckp1 = cfg.makeClient(p1); // connect ckp1 to p1
      const ckp2a = cfg.makeClient(p2); // connect ckp2a to p2
      const ckp2b = cfg.makeClient(p2); // connect ckp2b to p2
      await put(cfg, ckp1, "1", "14");
      await check(cfg, ckp1, "1", "14");
      cfg.end();

      cfg.begin("Test: no progress in minority (3A)");
      const done0 = inBackground(
        cfg,
        put(cfg, ckp2a, "1", "15").then(() => "put" as const),
      );
      const done1 = inBackground(
        cfg,
        get(cfg, ckp2b, "1").then(() => "get" as const),
      ); // different clerk in p2
      const first = await Promise.race([
        done0,
        done1,
        cfg.clock.sleep(MINORITY_WAIT_MS).then(() => "timeout" as const),
      ]);
      if (first === "put") cfg.fatal("Put in minority completed");
      if (first === "get") cfg.fatal("Get in minority completed");
      await check(cfg, ckp1, "1", "14");
      await put(cfg, ckp1, "1", "16");
      await check(cfg, ckp1, "1", "16");
      cfg.end();

      cfg.begin("Test: completion after heal (3A)");
      cfg.connectAll();
      cfg.connectClient(ckp2a, cfg.all());
      cfg.connectClient(ckp2b, cfg.all());
      await cfg.clock.sleep(ELECTION_TIMEOUT_MS);
      const putDone = await Promise.race([
        done0.then(() => true),
        cfg.clock.sleep(HEAL_COMPLETION_MS).then(() => false),
      ]);
      if (!putDone) cfg.fatal("Put did not complete");
      // The course checks the Get without waiting (a select with a default case), so a Get still in flight
      // here is not an error; if it finished, it is in the history, which is checked below.
      await check(cfg, ck, "1", "15");
      cfg.checkHistory();
      cfg.end();
    },
  },
  generic3A("ManyPartitionsOneClient3A", 1, { partitions: true }),
  generic3A("ManyPartitionsManyClients3A", 5, { partitions: true }),
  generic3A("PersistOneClient3A", 1, { crash: true }),
  generic3A("PersistConcurrent3A", 5, { crash: true }),
  generic3A("PersistConcurrentUnreliable3A", 5, { unreliable: true, crash: true }),
  generic3A("PersistPartition3A", 5, { crash: true, partitions: true }),
  generic3A("PersistPartitionUnreliable3A", 5, { unreliable: true, crash: true, partitions: true }),
  generic3A("PersistPartitionUnreliableLinearizable3A", 15, {
    unreliable: true,
    crash: true,
    partitions: true,
    randomkeys: true,
    nservers: 7,
  }),
];
