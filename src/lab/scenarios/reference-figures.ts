import type { KvraftFigures } from "../kvraft/config.ts";
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

/** One row of the course's published kvraft figures: a test section's printed title and its four figures. */
export interface KvraftReferenceRow {
  /** The title the course prints, without the trailing " ...". */
  readonly title: string;
  readonly figures: KvraftFigures;
}

function row(title: string, seconds: number, peers: number, rpcs: number, ops: number): KvraftReferenceRow {
  return { title, figures: { seconds, peers, rpcs, ops } };
}

/**
 * The figures the course published for its kvraft solution (the Spring 2022 handout's sample run, made with
 * `-race`): seconds, peers, RPCs sent (clerks' and Raft's), clerk operations counted. By scenario name, one
 * row per `begin`/`end` section (TestOnePartition3A has three).
 */
export const KVRAFT_REFERENCE_FIGURES: Readonly<Record<string, readonly KvraftReferenceRow[]>> = {
  Basic3A: [row("Test: one client (3A)", 15.5, 5, 4576, 903)],
  Speed3A: [row("Test: ops complete fast enough (3A)", 15.7, 3, 3022, 0)],
  Concurrent3A: [row("Test: many clients (3A)", 15.9, 5, 5884, 1160)],
  Unreliable3A: [row("Test: unreliable net, many clients (3A)", 19.2, 5, 3083, 441)],
  UnreliableOneKey3A: [row("Test: concurrent append to same key, unreliable (3A)", 2.5, 3, 218, 52)],
  OnePartition3A: [
    row("Test: progress in majority (3A)", 1.7, 5, 103, 2),
    row("Test: no progress in minority (3A)", 1.0, 5, 102, 3),
    row("Test: completion after heal (3A)", 1.2, 5, 70, 3),
  ],
  ManyPartitionsOneClient3A: [row("Test: partitions, one client (3A)", 23.8, 5, 4501, 765)],
  ManyPartitionsManyClients3A: [row("Test: partitions, many clients (3A)", 23.5, 5, 5692, 974)],
  PersistOneClient3A: [row("Test: restarts, one client (3A)", 22.2, 5, 4721, 908)],
  PersistConcurrent3A: [row("Test: restarts, many clients (3A)", 22.5, 5, 5490, 1033)],
  PersistConcurrentUnreliable3A: [
    row("Test: unreliable net, restarts, many clients (3A)", 26.5, 5, 3532, 474),
  ],
  PersistPartition3A: [row("Test: restarts, partitions, many clients (3A)", 29.7, 5, 6122, 1060)],
  PersistPartitionUnreliable3A: [
    row("Test: unreliable net, restarts, partitions, many clients (3A)", 32.9, 5, 2967, 317),
  ],
  PersistPartitionUnreliableLinearizable3A: [
    row("Test: unreliable net, restarts, partitions, random keys, many clients (3A)", 35.0, 7, 8249, 746),
  ],
  SnapshotRPC3B: [row("Test: InstallSnapshot RPC (3B)", 4.0, 3, 289, 63)],
  SnapshotSize3B: [row("Test: snapshot size is reasonable (3B)", 2.6, 3, 2418, 800)],
  Speed3B: [row("Test: ops complete fast enough (3B)", 3.2, 3, 3025, 0)],
  SnapshotRecover3B: [row("Test: restarts, snapshots, one client (3B)", 21.9, 5, 29266, 5820)],
  SnapshotRecoverManyClients3B: [row("Test: restarts, snapshots, many clients (3B)", 21.5, 5, 33115, 6420)],
  SnapshotUnreliable3B: [row("Test: unreliable net, snapshots, many clients (3B)", 17.4, 5, 3233, 482)],
  SnapshotUnreliableRecover3B: [
    row("Test: unreliable net, restarts, snapshots, many clients (3B)", 22.7, 5, 3337, 471),
  ],
  SnapshotUnreliableRecoverConcurrentPartition3B: [
    row("Test: unreliable net, restarts, partitions, snapshots, many clients (3B)", 30.4, 5, 2725, 274),
  ],
  SnapshotUnreliableRecoverConcurrentPartitionLinearizable3B: [
    row(
      "Test: unreliable net, restarts, partitions, snapshots, random keys, many clients (3B)",
      37.7,
      7,
      8378,
      681,
    ),
  ],
};

/** The course's total `go test` times for its kvraft sample runs (seconds, with `-race`). */
export const KVRAFT_REFERENCE_TOTAL_SECONDS: Readonly<Record<"3A" | "3B", number>> = {
  "3A": 290.184,
  "3B": 161.538,
};
