import { type Config, RAFT_ELECTION_TIMEOUT_MS as T } from "../tester/config.ts";
import type { LabScenario } from "./scenario.ts";

/** Lab 2C: persistence. */
export const lab2C: readonly LabScenario[] = [
  {
    name: "Persist12C",
    part: "2C",
    title: "Test (2C): basic persistence",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.one(11, n, true);
      // Crash and re-start all.
      for (let i = 0; i < n; i++) cfg.start1(i);
      for (let i = 0; i < n; i++) {
        cfg.disconnect(i);
        cfg.connect(i);
      }
      await cfg.one(12, n, true);
      const leader1 = await cfg.checkOneLeader();
      cfg.disconnect(leader1);
      cfg.start1(leader1);
      cfg.connect(leader1);
      await cfg.one(13, n, true);
      const leader2 = await cfg.checkOneLeader();
      cfg.disconnect(leader2);
      await cfg.one(14, n - 1, true);
      cfg.start1(leader2);
      cfg.connect(leader2);
      await cfg.wait(4, n, -1); // wait for leader2 to join before killing i3
      const i3 = ((await cfg.checkOneLeader()) + 1) % n;
      cfg.disconnect(i3);
      await cfg.one(15, n - 1, true);
      cfg.start1(i3);
      cfg.connect(i3);
      await cfg.one(16, n, true);
      cfg.end();
    },
  },
  {
    name: "Persist22C",
    part: "2C",
    title: "Test (2C): more persistence",
    servers: 5,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      let index = 1;
      for (let iters = 0; iters < 5; iters++) {
        await cfg.one(10 + index, n, true);
        index++;
        const leader1 = await cfg.checkOneLeader();
        cfg.disconnect((leader1 + 1) % n);
        cfg.disconnect((leader1 + 2) % n);
        await cfg.one(10 + index, n - 2, true);
        index++;
        cfg.disconnect((leader1 + 0) % n);
        cfg.disconnect((leader1 + 3) % n);
        cfg.disconnect((leader1 + 4) % n);
        cfg.start1((leader1 + 1) % n);
        cfg.start1((leader1 + 2) % n);
        cfg.connect((leader1 + 1) % n);
        cfg.connect((leader1 + 2) % n);
        await cfg.clock.sleep(T);
        cfg.start1((leader1 + 3) % n);
        cfg.connect((leader1 + 3) % n);
        await cfg.one(10 + index, n - 2, true);
        index++;
        cfg.connect((leader1 + 4) % n);
        cfg.connect((leader1 + 0) % n);
      }
      await cfg.one(1000, n, true);
      cfg.end();
    },
  },
  {
    name: "Persist32C",
    part: "2C",
    title: "Test (2C): partitioned leader and one follower crash, leader restarts",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.one(101, 3, true);
      const leader = await cfg.checkOneLeader();
      cfg.disconnect((leader + 2) % n);
      await cfg.one(102, 2, true);
      cfg.crash1((leader + 0) % n);
      cfg.crash1((leader + 1) % n);
      cfg.connect((leader + 2) % n);
      cfg.start1((leader + 0) % n);
      cfg.connect((leader + 0) % n);
      await cfg.one(103, 2, true);
      cfg.start1((leader + 1) % n);
      cfg.connect((leader + 1) % n);
      await cfg.one(104, n, true);
      cfg.end();
    },
  },
  {
    name: "Figure82C",
    part: "2C",
    title: "Test (2C): Figure 8",
    servers: 5,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      // Test the scenarios described in Figure 8 of the extended Raft paper. Each iteration asks a leader,
      // if there is one, to insert a command in the Raft log. If there is a leader, that leader will fail
      // quickly with a high probability (perhaps without committing the command), or crash after a while
      // with low probability (most likely committing the command). If the number of alive servers isn't
      // enough to form a majority, perhaps start a new server. The leader in a new term may try to finish
      // replicating log entries that haven't been committed yet.
      const n = cfg.n;
      const rand = () => cfg.random.nonNegativeInt();
      cfg.begin(this.title);
      await cfg.one(rand(), 1, true);
      let nup = n;
      for (let iters = 0; iters < 1000; iters++) {
        let leader = -1;
        for (let i = 0; i < n; i++) {
          const raft = cfg.rafts[i];
          if (raft?.start(rand()).isLeader) leader = i;
        }
        await sleepFigure8(cfg);
        if (leader !== -1) {
          cfg.crash1(leader);
          nup--;
        }
        if (nup < 3) {
          const s = cfg.random.int(n);
          if (cfg.rafts[s] === null) {
            cfg.start1(s);
            cfg.connect(s);
            nup++;
          }
        }
      }
      for (let i = 0; i < n; i++) {
        if (cfg.rafts[i] === null) {
          cfg.start1(i);
          cfg.connect(i);
        }
      }
      await cfg.one(rand(), n, true);
      cfg.end();
    },
  },
  {
    name: "UnreliableAgree2C",
    part: "2C",
    title: "Test (2C): unreliable agreement",
    servers: 5,
    unreliable: true,
    snapshot: false,
    async body(cfg) {
      cfg.begin(this.title);
      const clients: Array<Promise<number>> = [];
      for (let iters = 1; iters < 50; iters++) {
        for (let j = 0; j < 4; j++) clients.push(cfg.one(100 * iters + j, 1, true));
        await cfg.one(iters, 1, true);
      }
      cfg.setUnreliable(false);
      await Promise.all(clients);
      await cfg.one(100, cfg.n, true);
      cfg.end();
    },
  },
  {
    name: "Figure8Unreliable2C",
    part: "2C",
    title: "Test (2C): Figure 8 (unreliable)",
    servers: 5,
    unreliable: true,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.one(cfg.random.int(10000), 1, true);
      let nup = n;
      for (let iters = 0; iters < 1000; iters++) {
        if (iters === 200) cfg.setLongReordering(true);
        let leader = -1;
        for (let i = 0; i < n; i++) {
          const result = cfg.rafts[i]?.start(cfg.random.int(10000));
          if (result?.isLeader && cfg.connected[i]) leader = i;
        }
        await sleepFigure8(cfg);
        if (leader !== -1 && cfg.random.int(1000) < T / 2) {
          cfg.disconnect(leader);
          nup--;
        }
        if (nup < 3) {
          const s = cfg.random.int(n);
          if (!cfg.connected[s]) {
            cfg.connect(s);
            nup++;
          }
        }
      }
      for (let i = 0; i < n; i++) if (!cfg.connected[i]) cfg.connect(i);
      await cfg.one(cfg.random.int(10000), n, true);
      cfg.end();
    },
  },
  {
    name: "ReliableChurn2C",
    part: "2C",
    title: "Test (2C): churn",
    servers: 5,
    unreliable: false,
    snapshot: false,
    body: (cfg) => internalChurn(cfg, "Test (2C): churn", false),
  },
  {
    name: "UnreliableChurn2C",
    part: "2C",
    title: "Test (2C): unreliable churn",
    servers: 5,
    unreliable: true,
    snapshot: false,
    body: (cfg) => internalChurn(cfg, "Test (2C): unreliable churn", true),
  },
];

/** Figure 8's pause between iterations: mostly 0–12 ms, with probability 10 % up to half an election timeout. */
async function sleepFigure8(cfg: Config): Promise<void> {
  if (cfg.random.int(1000) < 100) await cfg.clock.sleep(cfg.random.int(T / 2));
  else await cfg.clock.sleep(cfg.random.int(13));
}

/** Shared by the two churn tests: three clients keep submitting while servers crash, restart and rejoin. */
async function internalChurn(cfg: Config, title: string, unreliable: boolean): Promise<void> {
  const n = cfg.n;
  cfg.begin(title);
  let stop = false;
  const client = async (me: number): Promise<number[]> => {
    const values: number[] = [];
    while (!stop) {
      const x = cfg.random.nonNegativeInt();
      let index = -1;
      let ok = false;
      for (let i = 0; i < n; i++) {
        // Try them all, maybe one of them is a leader.
        const raft = cfg.rafts[i];
        if (raft) {
          const result = raft.start(x);
          if (result.isLeader) {
            ok = true;
            index = result.index;
          }
        }
      }
      if (ok) {
        // Maybe leader will commit our value, maybe not. But don't wait forever.
        for (const to of [10, 20, 50, 100, 200]) {
          const { count, command } = cfg.nCommitted(index);
          if (count > 0) {
            if (typeof command !== "number") cfg.fatal("wrong command type");
            if (command === x) values.push(x);
            break;
          }
          await cfg.clock.sleep(to);
        }
      } else {
        await cfg.clock.sleep(79 + me * 17);
      }
    }
    return values;
  };
  const clients = [0, 1, 2].map((me) => client(me));
  for (let iters = 0; iters < 20; iters++) {
    if (cfg.random.int(1000) < 200) cfg.disconnect(cfg.random.int(n));
    if (cfg.random.int(1000) < 500) {
      const i = cfg.random.int(n);
      if (cfg.rafts[i] === null) cfg.start1(i);
      cfg.connect(i);
    }
    if (cfg.random.int(1000) < 200) {
      const i = cfg.random.int(n);
      if (cfg.rafts[i] !== null) cfg.crash1(i);
    }
    // Make crash/restart infrequent enough that the peers can often keep up, but not so infrequent that
    // everything has settled down from one change to the next. Pick a value smaller than the election
    // timeout, but not hugely smaller.
    await cfg.clock.sleep((T * 7) / 10);
  }
  await cfg.clock.sleep(T);
  cfg.setUnreliable(false);
  for (let i = 0; i < n; i++) {
    if (cfg.rafts[i] === null) cfg.start1(i);
    cfg.connect(i);
  }
  stop = true;
  const values = (await Promise.all(clients)).flat();
  await cfg.clock.sleep(T);
  const lastIndex = await cfg.one(cfg.random.nonNegativeInt(), n, true);
  const really: number[] = [];
  for (let index = 1; index <= lastIndex; index++) {
    const v = await cfg.wait(index, n, -1);
    if (typeof v !== "number") return cfg.fatal("not an int");
    really.push(v);
  }
  const committed = new Set(really);
  for (const v1 of values) {
    if (!committed.has(v1)) cfg.fatal("didn't find a value");
  }
  void unreliable;
  cfg.end();
}
