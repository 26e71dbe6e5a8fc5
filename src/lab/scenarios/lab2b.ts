import { RAFT_ELECTION_TIMEOUT_MS as T } from "../tester/config.ts";
import type { LabScenario } from "./scenario.ts";

/** Lab 2B: log replication. */
export const lab2B: readonly LabScenario[] = [
  {
    name: "BasicAgree2B",
    part: "2B",
    title: "Test (2B): basic agreement",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      cfg.begin(this.title);
      for (let index = 1; index < 4; index++) {
        const { count } = cfg.nCommitted(index);
        if (count > 0) cfg.fatal("some have committed before Start()");
        const xindex = await cfg.one(index * 100, cfg.n, false);
        if (xindex !== index) cfg.fatal(`got index ${xindex} but expected ${index}`);
      }
      cfg.end();
    },
  },
  {
    name: "RPCBytes2B",
    part: "2B",
    title: "Test (2B): RPC byte count",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      // Each command should be sent to each peer only once.
      cfg.begin(this.title);
      await cfg.one(99, cfg.n, false);
      const bytes0 = cfg.bytesTotal();
      const iters = 10;
      let sent = 0;
      for (let index = 2; index < iters + 2; index++) {
        const cmd = cfg.randomString(5000);
        const xindex = await cfg.one(cmd, cfg.n, false);
        if (xindex !== index) cfg.fatal(`got index ${xindex} but expected ${index}`);
        sent += cmd.length;
      }
      const got = cfg.bytesTotal() - bytes0;
      const expected = cfg.n * sent;
      if (got > expected + 50000) cfg.fatal(`too many RPC bytes; got ${got}, expected ${expected}`);
      cfg.end();
    },
  },
  {
    name: "FollowerFailure2B",
    part: "2B",
    title: "Test (2B): test progressive failure of followers",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.one(101, n, false);
      // Disconnect one follower from the network.
      const leader1 = await cfg.checkOneLeader();
      cfg.disconnect((leader1 + 1) % n);
      // The leader and remaining follower should be able to agree despite the disconnected follower.
      await cfg.one(102, n - 1, false);
      await cfg.clock.sleep(T);
      await cfg.one(103, n - 1, false);
      // Disconnect the remaining follower.
      const leader2 = await cfg.checkOneLeader();
      cfg.disconnect((leader2 + 1) % n);
      cfg.disconnect((leader2 + 2) % n);
      // Submit a command.
      const result = cfg.rafts[leader2]?.start(104);
      if (!result?.isLeader) return cfg.fatal("leader rejected Start()");
      if (result.index !== 4) cfg.fatal(`expected index 4, got ${result.index}`);
      await cfg.clock.sleep(2 * T);
      // Check that the command did not commit.
      if (cfg.nCommitted(result.index).count > 0) cfg.fatal(`${result.index} committed but no majority`);
      cfg.end();
    },
  },
  {
    name: "LeaderFailure2B",
    part: "2B",
    title: "Test (2B): test failure of leaders",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.one(101, n, false);
      // Disconnect the first leader.
      const leader1 = await cfg.checkOneLeader();
      cfg.disconnect(leader1);
      // The remaining followers should elect a new leader.
      await cfg.one(102, n - 1, false);
      await cfg.clock.sleep(T);
      await cfg.one(103, n - 1, false);
      // Disconnect the new leader.
      const leader2 = await cfg.checkOneLeader();
      cfg.disconnect(leader2);
      // Submit a command to each server.
      for (let i = 0; i < n; i++) cfg.rafts[i]?.start(104);
      await cfg.clock.sleep(2 * T);
      // Check that command 104 did not commit.
      if (cfg.nCommitted(4).count > 0) cfg.fatal("4 committed but no majority");
      cfg.end();
    },
  },
  {
    name: "FailAgree2B",
    part: "2B",
    title: "Test (2B): agreement after follower reconnects",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.one(101, n, false);
      // Disconnect one follower from the network.
      const leader = await cfg.checkOneLeader();
      cfg.disconnect((leader + 1) % n);
      // The leader and remaining follower should be able to agree despite the disconnected follower.
      await cfg.one(102, n - 1, false);
      await cfg.one(103, n - 1, false);
      await cfg.clock.sleep(T);
      await cfg.one(104, n - 1, false);
      await cfg.one(105, n - 1, false);
      // Re-connect.
      cfg.connect((leader + 1) % n);
      // The full set of servers should preserve previous agreements, and be able to agree on new commands.
      await cfg.one(106, n, true);
      await cfg.clock.sleep(T);
      await cfg.one(107, n, true);
      cfg.end();
    },
  },
  {
    name: "FailNoAgree2B",
    part: "2B",
    title: "Test (2B): no agreement if too many followers disconnect",
    servers: 5,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.one(10, n, false);
      // 3 of 5 followers disconnect.
      const leader = await cfg.checkOneLeader();
      cfg.disconnect((leader + 1) % n);
      cfg.disconnect((leader + 2) % n);
      cfg.disconnect((leader + 3) % n);
      const result = cfg.rafts[leader]?.start(20);
      if (!result?.isLeader) return cfg.fatal("leader rejected Start()");
      if (result.index !== 2) cfg.fatal(`expected index 2, got ${result.index}`);
      await cfg.clock.sleep(2 * T);
      if (cfg.nCommitted(result.index).count > 0) cfg.fatal(`${result.index} committed but no majority`);
      // Repair.
      cfg.connect((leader + 1) % n);
      cfg.connect((leader + 2) % n);
      cfg.connect((leader + 3) % n);
      // The disconnected majority may have chosen a leader from among their own ranks, forgetting index 2.
      const leader2 = await cfg.checkOneLeader();
      const result2 = cfg.rafts[leader2]?.start(30);
      if (!result2?.isLeader) return cfg.fatal("leader2 rejected Start()");
      if (result2.index < 2 || result2.index > 3) cfg.fatal(`unexpected index ${result2.index}`);
      await cfg.one(1000, n, true);
      cfg.end();
    },
  },
  {
    name: "ConcurrentStarts2B",
    part: "2B",
    title: "Test (2B): concurrent Start()s",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      cfg.begin(this.title);
      let success = false;
      loop: for (let attempt = 0; attempt < 5; attempt++) {
        // Give the solution some time to settle.
        if (attempt > 0) await cfg.clock.sleep(3000);
        const leader = await cfg.checkOneLeader();
        const first = cfg.rafts[leader]?.start(1);
        if (!first?.isLeader) continue;
        const term = first.term;
        const iters = 5;
        const indexes = await Promise.all(
          Array.from({ length: iters }, async (_, ii) => {
            const result = cfg.rafts[leader]?.start(100 + ii);
            return result?.isLeader && result.term === term ? result.index : undefined;
          }),
        );
        for (let j = 0; j < cfg.n; j++) {
          // Term changed: can't expect low RPC counts.
          if (cfg.rafts[j]?.getState().term !== term) continue loop;
        }
        let failed = false;
        const cmds: number[] = [];
        for (const index of indexes) {
          if (index === undefined) continue;
          const cmd = await cfg.wait(index, cfg.n, term);
          if (typeof cmd !== "number") return cfg.fatal(`value ${String(cmd)} is not an int`);
          if (cmd === -1) {
            // Peers have moved on to later terms, so we can't expect all Start()s to have succeeded.
            failed = true;
            break;
          }
          cmds.push(cmd);
        }
        if (failed) continue;
        for (let ii = 0; ii < iters; ii++) {
          const x = 100 + ii;
          if (!cmds.includes(x)) cfg.fatal(`cmd ${x} missing in [${cmds.join(" ")}]`);
        }
        success = true;
        break;
      }
      if (!success) cfg.fatal("term changed too often");
      cfg.end();
    },
  },
  {
    name: "Rejoin2B",
    part: "2B",
    title: "Test (2B): rejoin of partitioned leader",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.one(101, n, true);
      // Leader network failure.
      const leader1 = await cfg.checkOneLeader();
      cfg.disconnect(leader1);
      // Make the old leader try to agree on some entries.
      cfg.rafts[leader1]?.start(102);
      cfg.rafts[leader1]?.start(103);
      cfg.rafts[leader1]?.start(104);
      // The new leader commits, also for index 2.
      await cfg.one(103, 2, true);
      // New leader network failure.
      const leader2 = await cfg.checkOneLeader();
      cfg.disconnect(leader2);
      // The old leader connected again.
      cfg.connect(leader1);
      await cfg.one(104, 2, true);
      // All together now.
      cfg.connect(leader2);
      await cfg.one(105, n, true);
      cfg.end();
    },
  },
  {
    name: "Backup2B",
    part: "2B",
    title: "Test (2B): leader backs up quickly over incorrect follower logs",
    servers: 5,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      const rand = () => cfg.random.nonNegativeInt();
      cfg.begin(this.title);
      await cfg.one(rand(), n, true);
      // Put the leader and one follower in a partition.
      const leader1 = await cfg.checkOneLeader();
      cfg.disconnect((leader1 + 2) % n);
      cfg.disconnect((leader1 + 3) % n);
      cfg.disconnect((leader1 + 4) % n);
      // Submit lots of commands that won't commit.
      for (let i = 0; i < 50; i++) cfg.rafts[leader1]?.start(rand());
      await cfg.clock.sleep(T / 2);
      cfg.disconnect((leader1 + 0) % n);
      cfg.disconnect((leader1 + 1) % n);
      // Allow the other partition to recover.
      cfg.connect((leader1 + 2) % n);
      cfg.connect((leader1 + 3) % n);
      cfg.connect((leader1 + 4) % n);
      // Lots of successful commands to the new group.
      for (let i = 0; i < 50; i++) await cfg.one(rand(), 3, true);
      // Now another partitioned leader and one follower.
      const leader2 = await cfg.checkOneLeader();
      let other = (leader1 + 2) % n;
      if (leader2 === other) other = (leader2 + 1) % n;
      cfg.disconnect(other);
      // Lots more commands that won't commit.
      for (let i = 0; i < 50; i++) cfg.rafts[leader2]?.start(rand());
      await cfg.clock.sleep(T / 2);
      // Bring the original leader back to life.
      for (let i = 0; i < n; i++) cfg.disconnect(i);
      cfg.connect((leader1 + 0) % n);
      cfg.connect((leader1 + 1) % n);
      cfg.connect(other);
      // Lots of successful commands to the new group.
      for (let i = 0; i < 50; i++) await cfg.one(rand(), 3, true);
      // Now everyone.
      for (let i = 0; i < n; i++) cfg.connect(i);
      await cfg.one(rand(), n, true);
      cfg.end();
    },
  },
  {
    name: "Count2B",
    part: "2B",
    title: "Test (2B): RPC counts aren't too high",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      const rpcs = () => {
        let total = 0;
        for (let j = 0; j < n; j++) total += cfg.rpcCount(j);
        return total;
      };
      cfg.begin(this.title);
      await cfg.checkOneLeader();
      let total1 = rpcs();
      if (total1 > 30 || total1 < 1) cfg.fatal(`too many or few RPCs (${total1}) to elect initial leader`);
      let total2 = 0;
      let success = false;
      loop: for (let attempt = 0; attempt < 5; attempt++) {
        // Give the solution some time to settle.
        if (attempt > 0) await cfg.clock.sleep(3000);
        const leader = await cfg.checkOneLeader();
        total1 = rpcs();
        const iters = 10;
        const first = cfg.rafts[leader]?.start(1);
        if (!first?.isLeader) continue; // leader moved on really quickly
        const { index: starti, term } = first;
        const cmds: number[] = [];
        for (let i = 1; i < iters + 2; i++) {
          const x = cfg.random.nonNegativeInt();
          cmds.push(x);
          const result = cfg.rafts[leader]?.start(x);
          if (result?.term !== term) continue loop; // term moved on while we were starting
          if (!result.isLeader) continue loop; // no longer the leader, so term has changed
          if (starti + i !== result.index) cfg.fatal("Start() failed");
        }
        for (let i = 1; i < iters + 1; i++) {
          const cmd = await cfg.wait(starti + i, n, term);
          if (cmd === -1) continue loop; // term changed -- try again
          if (cmd !== cmds[i - 1]) {
            cfg.fatal(
              `wrong value ${String(cmd)} committed for index ${starti + i}; expected ${cmds[i - 1]}`,
            );
          }
        }
        let failed = false;
        total2 = 0;
        for (let j = 0; j < n; j++) {
          if (cfg.rafts[j]?.getState().term !== term) failed = true; // term changed -- can't expect low RPC counts
          total2 += cfg.rpcCount(j);
        }
        if (failed) continue;
        if (total2 - total1 > (iters + 1 + 3) * 3)
          cfg.fatal(`too many RPCs (${total2 - total1}) for ${iters} entries`);
        success = true;
        break;
      }
      if (!success) cfg.fatal("term changed too often");
      await cfg.clock.sleep(T);
      let total3 = 0;
      for (let j = 0; j < n; j++) total3 += cfg.rpcCount(j);
      if (total3 - total2 > 3 * 20) cfg.fatal(`too many RPCs (${total3 - total2}) for 1 second of idleness`);
      cfg.end();
    },
  },
];
