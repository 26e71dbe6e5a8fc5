import { RAFT_ELECTION_TIMEOUT_MS as T } from "../tester/config.ts";
import type { LabScenario } from "./scenario.ts";

/** Lab 2A: leader election. */
export const lab2A: readonly LabScenario[] = [
  {
    name: "InitialElection2A",
    part: "2A",
    title: "Test (2A): initial election",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      cfg.begin(this.title);
      // Is a leader elected?
      await cfg.checkOneLeader();
      // Sleep a bit to avoid racing with followers learning of the election, then check all peers agree.
      await cfg.clock.sleep(50);
      const term1 = cfg.checkTerms();
      if (term1 < 1) cfg.fatal(`term is ${term1}, but should be at least 1`);
      // Does the leader and term stay the same if there is no network failure?
      await cfg.clock.sleep(2 * T);
      const term2 = cfg.checkTerms();
      if (term1 !== term2) cfg.warn("warning: term changed even though there were no failures");
      // There should still be a leader.
      await cfg.checkOneLeader();
      cfg.end();
    },
  },
  {
    name: "ReElection2A",
    part: "2A",
    title: "Test (2A): election after network failure",
    servers: 3,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      const leader1 = await cfg.checkOneLeader();
      // If the leader disconnects, a new one should be elected.
      cfg.disconnect(leader1);
      await cfg.checkOneLeader();
      // If the old leader rejoins, that shouldn't disturb the new leader; and the old leader should switch to follower.
      cfg.connect(leader1);
      const leader2 = await cfg.checkOneLeader();
      // If there's no quorum, no new leader should be elected.
      cfg.disconnect(leader2);
      cfg.disconnect((leader2 + 1) % n);
      await cfg.clock.sleep(2 * T);
      // Check that the one connected server does not think it is the leader.
      cfg.checkNoLeader();
      // If a quorum arises, it should elect a leader.
      cfg.connect((leader2 + 1) % n);
      await cfg.checkOneLeader();
      // Re-join of last node shouldn't prevent leader from existing.
      cfg.connect(leader2);
      await cfg.checkOneLeader();
      cfg.end();
    },
  },
  {
    name: "ManyElections2A",
    part: "2A",
    title: "Test (2A): multiple elections",
    servers: 7,
    unreliable: false,
    snapshot: false,
    async body(cfg) {
      const n = cfg.n;
      cfg.begin(this.title);
      await cfg.checkOneLeader();
      const iterations = 10;
      for (let ii = 1; ii < iterations; ii++) {
        // Disconnect three nodes.
        const i1 = cfg.random.int(n);
        const i2 = cfg.random.int(n);
        const i3 = cfg.random.int(n);
        cfg.disconnect(i1);
        cfg.disconnect(i2);
        cfg.disconnect(i3);
        // Either the current leader should still be alive, or the remaining four should elect a new one.
        await cfg.checkOneLeader();
        cfg.connect(i1);
        cfg.connect(i2);
        cfg.connect(i3);
      }
      await cfg.checkOneLeader();
      cfg.end();
    },
  },
];
