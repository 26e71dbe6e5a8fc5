import { type Config, MAX_LOG_SIZE, SNAPSHOT_INTERVAL } from "../tester/config.ts";
import type { LabScenario } from "./scenario.ts";

/** Lab 2D: log compaction. Every 2D test uses the snapshot applier (a snapshot at every index ≡ 9 mod 10). */
export const lab2D: readonly LabScenario[] = [
  snapcommon("SnapshotBasic2D", "Test (2D): snapshots basic", false, true, false),
  snapcommon("SnapshotInstall2D", "Test (2D): install snapshots (disconnect)", true, true, false),
  snapcommon(
    "SnapshotInstallUnreliable2D",
    "Test (2D): install snapshots (disconnect+unreliable)",
    true,
    false,
    false,
  ),
  snapcommon("SnapshotInstallCrash2D", "Test (2D): install snapshots (crash)", false, true, true),
  snapcommon(
    "SnapshotInstallUnCrash2D",
    "Test (2D): install snapshots (unreliable+crash)",
    false,
    false,
    true,
  ),
  {
    name: "SnapshotAllCrash2D",
    part: "2D",
    title: "Test (2D): crash and restart all servers",
    servers: 3,
    unreliable: false,
    snapshot: true,
    async body(cfg) {
      // Crash and restart all servers, checking that the log index does not go backwards.
      const n = cfg.n;
      const rand = () => cfg.random.nonNegativeInt();
      cfg.begin(this.title);
      await cfg.one(rand(), n, true);
      for (let i = 0; i < 5; i++) {
        // Perhaps enough to get a snapshot.
        const nn = SNAPSHOT_INTERVAL / 2 + cfg.random.int(SNAPSHOT_INTERVAL);
        for (let j = 0; j < nn; j++) await cfg.one(rand(), n, true);
        const index1 = await cfg.one(rand(), n, true);
        // Crash all.
        for (let k = 0; k < n; k++) cfg.crash1(k);
        // Revive all.
        for (let k = 0; k < n; k++) {
          cfg.start1(k);
          cfg.connect(k);
        }
        const index2 = await cfg.one(rand(), n, true);
        if (index2 < index1 + 1) cfg.fatal(`index decreased from ${index1} to ${index2}`);
      }
      cfg.end();
    },
  },
  {
    name: "SnapshotInit2D",
    part: "2D",
    title: "Test (2D): snapshot initialization after crash",
    servers: 3,
    unreliable: false,
    snapshot: true,
    async body(cfg) {
      // Checks that a restarted server keeps its snapshot, so that later persists do not lose it.
      const n = cfg.n;
      const rand = () => cfg.random.nonNegativeInt();
      cfg.begin(this.title);
      await cfg.one(rand(), n, true);
      // Enough ops to make a snapshot.
      const nn = SNAPSHOT_INTERVAL + 1;
      for (let i = 0; i < nn; i++) await cfg.one(rand(), n, true);
      restartAll(cfg);
      // A single op, to get something to be written back to persistent storage.
      await cfg.one(rand(), n, true);
      restartAll(cfg);
      // Do another op to trigger a potential bug.
      await cfg.one(rand(), n, true);
      cfg.end();
    },
  },
];

function restartAll(cfg: Config): void {
  for (let i = 0; i < cfg.n; i++) cfg.crash1(i);
  for (let i = 0; i < cfg.n; i++) {
    cfg.start1(i);
    cfg.connect(i);
  }
}

/** The course's snapcommon: 30 rounds of lagging a follower behind the leader's snapshots. */
function snapcommon(
  name: string,
  title: string,
  disconnect: boolean,
  reliable: boolean,
  crash: boolean,
): LabScenario {
  return {
    name,
    part: "2D",
    title,
    servers: 3,
    unreliable: !reliable,
    snapshot: true,
    async body(cfg) {
      const iters = 30;
      const n = cfg.n;
      const rand = () => cfg.random.nonNegativeInt();
      cfg.begin(title);
      await cfg.one(rand(), n, true);
      let leader1 = await cfg.checkOneLeader();
      for (let i = 0; i < iters; i++) {
        let victim = (leader1 + 1) % n;
        let sender = leader1;
        if (i % 3 === 1) {
          sender = (leader1 + 1) % n;
          victim = leader1;
        }
        if (disconnect) {
          cfg.disconnect(victim);
          await cfg.one(rand(), n - 1, true);
        }
        if (crash) {
          cfg.crash1(victim);
          await cfg.one(rand(), n - 1, true);
        }
        // Perhaps send enough to get a snapshot.
        const nn = SNAPSHOT_INTERVAL / 2 + cfg.random.int(SNAPSHOT_INTERVAL);
        for (let j = 0; j < nn; j++) cfg.rafts[sender]?.start(rand());
        // Let applier threads catch up with the Start()'s.
        if (!disconnect && !crash) {
          // Make sure all followers have caught up, so that an InstallSnapshot RPC isn't required for
          // TestSnapshotBasic2D().
          await cfg.one(rand(), n, true);
        } else {
          await cfg.one(rand(), n - 1, true);
        }
        if (cfg.logSize() >= MAX_LOG_SIZE) cfg.fatal("Log size too large");
        if (disconnect) {
          // Reconnect a follower, who may be behind and needs to receive a snapshot to catch up.
          cfg.connect(victim);
          await cfg.one(rand(), n, true);
          leader1 = await cfg.checkOneLeader();
        }
        if (crash) {
          cfg.start1(victim);
          cfg.connect(victim);
          await cfg.one(rand(), n, true);
          leader1 = await cfg.checkOneLeader();
        }
      }
      cfg.end();
    },
  };
}
