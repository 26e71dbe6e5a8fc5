import { allKvraftScenarios, allScenarios } from "../../src/lab/scenarios/index.ts";
import { labSeeds, registerKvraftTests, registerLabTests } from "./lab-seeds.ts";

// Every Lab 2 and Lab 3 scenario of the course with PreVote and CheckQuorum on (thesis §9.6, §6.2): none of
// the course's scenarios forbids them, and all must still pass. One fixed seed and one fresh random seed
// (TSRAFT_SEEDS replaces them); `npm run lab -- --features pre-vote,check-quorum --seeds N` sweeps more.
const featureRun = {
  features: { preVote: true, checkQuorum: true },
  seeds: labSeeds([1], 1),
};
registerLabTests(allScenarios, featureRun);
registerKvraftTests(allKvraftScenarios, featureRun);
