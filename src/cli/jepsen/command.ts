/**
 * `tsraft jepsen` (also `npm run jepsen --`): fault testing of real `tsraft serve` processes in the manner of
 * Jepsen. See run.ts for what a run does and docs/reliability.md for what it found.
 */
import { randomInt } from "node:crypto";
import { join } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { UNSAFE_SWITCH_FLAGS, type UnsafeDebugSwitches } from "../../drivers/server/node-config.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../exit-status.ts";
import { integerOption, positiveOption, SEED_MAX, seedOption } from "../parse.ts";
import { NEMESES, NEMESIS_NAMES, type Nemesis } from "./nemesis.ts";
import { netemAvailable, netnsAvailability, netnsNote } from "./netns.ts";
import { type RunSummary, runJepsen } from "./run.ts";

/** Where runs go unless `--out` says otherwise. */
export const DEFAULT_RUNS_DIR = "jepsen-runs";

/** Node timing of harness runs: 20 ms ticks, heartbeats every 40 ms, elections after 400–800 ms. */
export const JEPSEN_TIMING = {
  tickMs: 20,
  heartbeatTicks: 2,
  electionTicks: 20,
  requestTimeoutMs: 2000,
  // Small, so that snapshots and InstallSnapshot happen many times a run, under faults too: about every
  // hundred writes (the count restarts with each node process).
  snapshotBytes: 2 * 1024,
} as const;

interface JepsenFlags {
  readonly time: number;
  readonly nodes: number;
  readonly nemesis: readonly Nemesis[];
  readonly clients: number;
  readonly seed?: number;
  readonly out?: string;
  readonly rate: number;
  readonly opTimeoutMs: number;
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  readonly requestTimeoutMs: number;
  readonly snapshotBytes: number;
  readonly keepData?: boolean;
  readonly netns?: boolean;
  readonly unsafeDebug?: boolean;
  readonly unsafeAckBeforeSync?: boolean;
  readonly unsafeVolatileWrites?: boolean;
  readonly unsafeLocalReads?: boolean;
}

/** Parses `--nemesis`: a comma-separated list of names, `all`, or `none`. */
export function parseNemeses(value: string): Nemesis[] {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 1 && names[0] === "none") return [];
  if (names.length === 1 && names[0] === "all") return [...NEMESES];
  const selected: Nemesis[] = [];
  for (const name of names) {
    const nemesis = NEMESES.find((candidate) => candidate.name === name);
    if (nemesis === undefined) {
      throw new InvalidArgumentError(
        `unknown nemesis "${name}"; choose from ${NEMESIS_NAMES.join(", ")}, all or none.`,
      );
    }
    if (!selected.includes(nemesis)) selected.push(nemesis);
  }
  if (selected.length === 0) throw new InvalidArgumentError("name at least one nemesis, or all, or none.");
  return selected;
}

/** Adds `tsraft jepsen`. */
export function registerJepsenCommand(program: Command): void {
  const nemesisHelp = NEMESES.map((nemesis) => `  ${nemesis.name.padEnd(10)} ${nemesis.summary}`).join("\n");
  program
    .command("jepsen")
    .description(
      "fault-test a real cluster: tsraft serve processes on loopback, concurrent clients on the HTTP API, " +
        "kills, pauses, partitions, delay and loss through a TCP proxy; checks linearizability and lost writes",
    )
    .option("--time <s>", "seconds of clients and faults", positiveOption, 60)
    .option("--nodes <n>", "cluster size (3 to 9)", integerOption(3, 9), 3)
    .addOption(
      new Option("--nemesis <list>", "faults, comma-separated, or all, or none")
        .argParser(parseNemeses)
        .default([...NEMESES], "all"),
    )
    .option("--clients <n>", "concurrent clients", positiveOption, 5)
    .option(
      "--seed <n>",
      "seed of the fault schedule and the clients' choices (default: random, printed)",
      seedOption,
    )
    .option("--out <dir>", `run directory (default ${DEFAULT_RUNS_DIR}/<time>-seed<seed>)`)
    .option("--rate <n>", "target operations per second, all clients together", positiveOption, 150)
    .option(
      "--op-timeout-ms <n>",
      "how long a client tries one operation before it is indeterminate",
      positiveOption,
      5000,
    )
    .option("--tick-ms <n>", "node tick in ms", positiveOption, JEPSEN_TIMING.tickMs)
    .option(
      "--heartbeat-ticks <n>",
      "node heartbeat interval in ticks",
      positiveOption,
      JEPSEN_TIMING.heartbeatTicks,
    )
    .option(
      "--election-ticks <n>",
      "node minimum election timeout in ticks",
      positiveOption,
      JEPSEN_TIMING.electionTicks,
    )
    .option(
      "--request-timeout-ms <n>",
      "node request timeout",
      positiveOption,
      JEPSEN_TIMING.requestTimeoutMs,
    )
    .option(
      "--snapshot-bytes <n>",
      "node snapshot threshold in bytes (0: never)",
      integerOption(0),
      JEPSEN_TIMING.snapshotBytes,
    )
    .option("--keep-data", "keep the nodes' data directories even when the run passes")
    .option(
      "--netns",
      "place nodes in network namespaces and partition with nftables, where the machine allows",
    )
    .option(
      "--unsafe-debug",
      "UNSAFE: allow the --unsafe-* calibration switches below (the run must then fail)",
    )
    .option(UNSAFE_SWITCH_FLAGS.ackBeforeSync, "UNSAFE: nodes acknowledge storage writes before fdatasync")
    .option(
      UNSAFE_SWITCH_FLAGS.volatileWrites,
      "UNSAFE: nodes keep unsynced writes in memory (SIGKILL drops them)",
    )
    .option(UNSAFE_SWITCH_FLAGS.localReads, "UNSAFE: nodes serve reads from local state without ReadIndex")
    .addHelpText(
      "after",
      `\nNemeses:\n${nemesisHelp}\n\nExit status: 0 when every check passes, 1 on any violation, 2 on a usage error.\n` +
        `Each run leaves a directory with history.jsonl, nodes/node-N.log (and .stderr.log), summary.json and summary.txt.`,
    )
    .action(async (flags: JepsenFlags) => {
      process.exitCode = await jepsen(flags);
    });
}

async function jepsen(flags: JepsenFlags): Promise<number> {
  const unsafe: UnsafeDebugSwitches = {
    ackBeforeSync: flags.unsafeAckBeforeSync === true,
    volatileWrites: flags.unsafeVolatileWrites === true,
    localReads: flags.unsafeLocalReads === true,
  };
  const anyUnsafe = Object.values(unsafe).some((on) => on);
  if (anyUnsafe && flags.unsafeDebug !== true) {
    console.error(
      "tsraft jepsen: the --unsafe-* switches break durability or linearizability on purpose (to calibrate " +
        "the checkers) and are refused without --unsafe-debug",
    );
    return EXIT_USAGE;
  }
  if (flags.heartbeatTicks >= flags.electionTicks) {
    console.error("tsraft jepsen: --heartbeat-ticks must be below --election-ticks");
    return EXIT_USAGE;
  }
  const seed = flags.seed ?? randomInt(SEED_MAX);
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  const runDir = flags.out ?? join(DEFAULT_RUNS_DIR, `${stamp}-seed${seed}`);
  const timing = {
    tickMs: flags.tickMs,
    heartbeatTicks: flags.heartbeatTicks,
    electionTicks: flags.electionTicks,
    requestTimeoutMs: flags.requestTimeoutMs,
    snapshotBytes: flags.snapshotBytes,
  };
  const command = replayCommand(flags, seed, timing, unsafe, anyUnsafe);
  const availability = flags.netns === true ? netnsAvailability() : undefined;
  let note = availability === undefined ? undefined : netnsNote(availability);
  let nemeses = flags.nemesis;
  // Partitions and loss need only nftables; delay needs the kernel's netem, which some kernels lack.
  if (availability?.available === true && nemeses.some((n) => n.name === "delay") && !netemAvailable()) {
    nemeses = nemeses.filter((nemesis) => nemesis.name !== "delay");
    note = `${note}; the delay nemesis is left out: this kernel has no netem qdisc (sch_netem)`;
  }
  let summary: RunSummary;
  try {
    summary = await runJepsen(
      {
        timeSec: flags.time,
        nodes: flags.nodes,
        nemeses,
        clients: flags.clients,
        seed,
        runDir,
        ratePerSecond: flags.rate,
        operationTimeoutMs: flags.opTimeoutMs,
        timing,
        unsafe: anyUnsafe ? unsafe : undefined,
        keepData: flags.keepData === true,
        command,
        ...(note === undefined ? {} : { netnsNote: note }),
        ...(availability?.available === true ? { netns: true } : {}),
      },
      (line) => console.log(line),
    );
  } catch (error) {
    // The harness could not finish (a node that never started, a port taken): no verdict, and no pass.
    console.error(
      `tsraft jepsen: the run could not complete: ${error instanceof Error ? error.message : String(error)}`,
    );
    console.error(`tsraft jepsen: seed ${seed}; node logs in ${join(runDir, "nodes")}`);
    return EXIT_FAILURE;
  }
  console.log("");
  for (const verdict of summary.verdicts) {
    console.log(`  ${verdict.valid ? "ok  " : "FAIL"} ${verdict.name}: ${verdict.summary}`);
    for (const line of (verdict.details ?? []).slice(0, 20)) console.log(`         ${line}`);
  }
  const ops = summary.operations;
  console.log(
    `\njepsen: ${summary.valid ? "VALID" : "INVALID"}; ${ops.invoked} operations (${ops.ok} ok, ${ops.info} indeterminate, ` +
      `${ops.fail} failed), ${summary.faults.injected} faults; seed ${seed}`,
  );
  console.log(`jepsen: run directory ${summary.runDir} (summary.txt, history.jsonl, nodes/)`);
  if (!summary.valid) console.log(`jepsen: replay the schedule with: ${command}`);
  return summary.valid ? EXIT_OK : EXIT_FAILURE;
}

/** The command line that replays this run's schedule (same seed and settings; real timing differs). */
function replayCommand(
  flags: JepsenFlags,
  seed: number,
  timing: {
    tickMs: number;
    heartbeatTicks: number;
    electionTicks: number;
    requestTimeoutMs: number;
    snapshotBytes: number;
  },
  unsafe: UnsafeDebugSwitches,
  anyUnsafe: boolean,
): string {
  const parts = [
    "npx tsraft jepsen",
    `--time ${flags.time}`,
    `--nodes ${flags.nodes}`,
    `--nemesis ${flags.nemesis.length === 0 ? "none" : flags.nemesis.map((nemesis) => nemesis.name).join(",")}`,
    `--clients ${flags.clients}`,
    `--seed ${seed}`,
    `--rate ${flags.rate}`,
  ];
  if (flags.opTimeoutMs !== 5000) parts.push(`--op-timeout-ms ${flags.opTimeoutMs}`);
  const defaults: Record<string, number> = { ...JEPSEN_TIMING };
  for (const [name, flag] of [
    ["tickMs", "--tick-ms"],
    ["heartbeatTicks", "--heartbeat-ticks"],
    ["electionTicks", "--election-ticks"],
    ["requestTimeoutMs", "--request-timeout-ms"],
    ["snapshotBytes", "--snapshot-bytes"],
  ] as const) {
    if (timing[name] !== defaults[name]) parts.push(`${flag} ${timing[name]}`);
  }
  if (flags.netns === true) parts.push("--netns");
  if (anyUnsafe) {
    parts.push("--unsafe-debug");
    for (const name of Object.keys(UNSAFE_SWITCH_FLAGS) as (keyof UnsafeDebugSwitches)[]) {
      if (unsafe[name]) parts.push(UNSAFE_SWITCH_FLAGS[name]);
    }
  }
  return parts.join(" ");
}
