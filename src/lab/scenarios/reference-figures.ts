import type { TestFigures } from "../tester/config.ts";

/**
 * The figures the course published for its own solution (the Spring 2022 handout's sample run, reused
 * unchanged in 2023 and 2024): seconds, peers, RPCs sent, bytes, commits. The handout calls them indicative
 * ("your numbers will differ"). Three tests added in 2023 have no published row.
 */
export const REFERENCE_FIGURES: Readonly<Record<string, TestFigures>> = {
  InitialElection2A: { seconds: 3.5, peers: 3, rpcs: 58, bytes: 16840, commits: 0 },
  ReElection2A: { seconds: 5.4, peers: 3, rpcs: 118, bytes: 25269, commits: 0 },
  ManyElections2A: { seconds: 7.3, peers: 7, rpcs: 624, bytes: 138014, commits: 0 },
  BasicAgree2B: { seconds: 0.9, peers: 3, rpcs: 16, bytes: 4572, commits: 3 },
  RPCBytes2B: { seconds: 1.7, peers: 3, rpcs: 48, bytes: 114536, commits: 11 },
  FailAgree2B: { seconds: 3.6, peers: 3, rpcs: 78, bytes: 22131, commits: 7 },
  FailNoAgree2B: { seconds: 3.8, peers: 5, rpcs: 172, bytes: 40935, commits: 3 },
  ConcurrentStarts2B: { seconds: 1.1, peers: 3, rpcs: 24, bytes: 7379, commits: 6 },
  Rejoin2B: { seconds: 5.1, peers: 3, rpcs: 152, bytes: 37021, commits: 4 },
  Backup2B: { seconds: 17.2, peers: 5, rpcs: 2080, bytes: 1587388, commits: 102 },
  Count2B: { seconds: 2.2, peers: 3, rpcs: 60, bytes: 20119, commits: 12 },
  Persist12C: { seconds: 5.0, peers: 3, rpcs: 86, bytes: 22849, commits: 6 },
  Persist22C: { seconds: 17.6, peers: 5, rpcs: 952, bytes: 218854, commits: 16 },
  Persist32C: { seconds: 2.0, peers: 3, rpcs: 34, bytes: 8937, commits: 4 },
  Figure82C: { seconds: 31.2, peers: 5, rpcs: 580, bytes: 130675, commits: 32 },
  UnreliableAgree2C: { seconds: 1.7, peers: 5, rpcs: 1044, bytes: 366392, commits: 246 },
  Figure8Unreliable2C: { seconds: 33.6, peers: 5, rpcs: 10700, bytes: 33695245, commits: 308 },
  ReliableChurn2C: { seconds: 16.1, peers: 5, rpcs: 8864, bytes: 44771259, commits: 1544 },
  UnreliableChurn2C: { seconds: 16.5, peers: 5, rpcs: 4220, bytes: 6414632, commits: 906 },
  SnapshotBasic2D: { seconds: 11.6, peers: 3, rpcs: 176, bytes: 61716, commits: 192 },
  SnapshotInstall2D: { seconds: 64.2, peers: 3, rpcs: 878, bytes: 320610, commits: 336 },
  SnapshotInstallUnreliable2D: { seconds: 81.1, peers: 3, rpcs: 1059, bytes: 375850, commits: 341 },
  SnapshotInstallCrash2D: { seconds: 53.5, peers: 3, rpcs: 601, bytes: 256638, commits: 339 },
  SnapshotInstallUnCrash2D: { seconds: 63.5, peers: 3, rpcs: 687, bytes: 288294, commits: 336 },
  SnapshotAllCrash2D: { seconds: 19.5, peers: 3, rpcs: 268, bytes: 81352, commits: 58 },
};
