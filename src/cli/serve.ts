import type { Command } from "commander";
import { pino } from "pino";
import { KvNode } from "../drivers/server/kv-node.ts";
import {
  ConfigError,
  formatHostPort,
  NODE_DEFAULTS,
  type RawNodeConfig,
  readConfigFile,
  resolveNodeConfig,
  UNSAFE_SWITCH_FLAGS,
  type UnsafeDebugSwitches,
} from "../drivers/server/node-config.ts";
import { StorageError } from "../drivers/storage/index.ts";
import { EXIT_FAILURE, EXIT_USAGE } from "./exit-status.ts";

/** The flags of `tsraft serve`, as commander hands them over (all strings). */
interface ServeFlags {
  readonly config?: string;
  readonly id?: string;
  readonly peers?: string;
  readonly http?: string;
  readonly httpPeers?: string;
  readonly data?: string;
  readonly clusterId?: string;
  readonly tickMs?: string;
  readonly heartbeatTicks?: string;
  readonly electionTicks?: string;
  readonly snapshotBytes?: string;
  readonly requestTimeoutMs?: string;
  readonly logLevel?: string;
  readonly join?: boolean;
  readonly leaseReads?: boolean;
  readonly unsafeDebug?: boolean;
  readonly unsafeAckBeforeSync?: boolean;
  readonly unsafeVolatileWrites?: boolean;
  readonly unsafeLocalReads?: boolean;
}

/** Adds `tsraft serve`: runs one node of a cluster in this process until SIGINT or SIGTERM. */
export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run one node of a cluster: Raft over TCP, the log on disk, the key-value HTTP API")
    .option("--config <file>", "JSON file with any of the settings below (flags override it)")
    .option("--id <n>", "this node's id (a positive integer)")
    .option("--peers <list>", "every member's peer address: 1=127.0.0.1:7001,2=127.0.0.1:7002,...")
    .option("--http <host:port>", "this node's client API address")
    .option("--http-peers <list>", "the other members' API addresses, for redirects to the leader")
    .option("--data <dir>", "directory for this node's log, hard state and snapshots")
    .option(
      "--cluster-id <id>",
      `cluster id; peers from another cluster are refused (default ${NODE_DEFAULTS.clusterId})`,
    )
    .option("--tick-ms <n>", `milliseconds per Raft tick (default ${NODE_DEFAULTS.tickMs})`)
    .option("--heartbeat-ticks <n>", `heartbeat interval in ticks (default ${NODE_DEFAULTS.heartbeatTicks})`)
    .option(
      "--election-ticks <n>",
      `minimum election timeout in ticks (default ${NODE_DEFAULTS.electionTicks})`,
    )
    .option("--snapshot-bytes <n>", "snapshot after this many bytes of log (0: never)")
    .option("--request-timeout-ms <n>", "how long a client request may wait")
    .option("--log-level <level>", "trace, debug, info, warn, error, fatal or silent (default info)")
    .option(
      "--join",
      "join a running cluster instead of starting one: wait to be added with `tsraft member add` " +
        "(--peers lists the members to reach, this node included)",
    )
    .option(
      "--lease-reads",
      "answer linearizable reads from the leader's lease, without a heartbeat round (assumes clocks that " +
        "run at about the same rate; see docs)",
    )
    .option(
      "--unsafe-debug",
      "UNSAFE: allow the --unsafe-* switches below, which break guarantees on purpose to calibrate fault tests",
    )
    .option(
      UNSAFE_SWITCH_FLAGS.ackBeforeSync,
      "UNSAFE: acknowledge storage writes before fdatasync, syncing only about every ten seconds",
    )
    .option(
      UNSAFE_SWITCH_FLAGS.volatileWrites,
      "UNSAFE: keep unsynced writes in process memory, so SIGKILL drops them",
    )
    .option(UNSAFE_SWITCH_FLAGS.localReads, "UNSAFE: serve default reads from local state, without ReadIndex")
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<number> {
  let raw: RawNodeConfig;
  try {
    raw = {
      ...(flags.config === undefined ? {} : readConfigFile(flags.config)),
      ...definedOnly({
        id: flags.id,
        peers: flags.peers,
        http: flags.http,
        httpPeers: flags.httpPeers,
        data: flags.data,
        clusterId: flags.clusterId,
        tickMs: flags.tickMs,
        heartbeatTicks: flags.heartbeatTicks,
        electionTicks: flags.electionTicks,
        snapshotThresholdBytes: flags.snapshotBytes,
        requestTimeoutMs: flags.requestTimeoutMs,
        logLevel: flags.logLevel,
      }),
      ...(flags.join === true ? { join: true } : {}),
      ...(flags.leaseReads === true ? { leaseReads: true } : {}),
      // Switches, only ever from flags: a config file cannot turn them on (readConfigFile refuses them).
      ...(flags.unsafeDebug === true ? { unsafeDebug: true } : {}),
      ...(flags.unsafeAckBeforeSync === true ? { unsafeAckBeforeSync: true } : {}),
      ...(flags.unsafeVolatileWrites === true ? { unsafeVolatileWrites: true } : {}),
      ...(flags.unsafeLocalReads === true ? { unsafeLocalReads: true } : {}),
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`tsraft serve: ${error.message}`);
    return EXIT_USAGE;
  }
  let config: ReturnType<typeof resolveNodeConfig>;
  try {
    config = resolveNodeConfig(raw);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`tsraft serve: ${error.message}`);
    return EXIT_USAGE;
  }
  const logger = pino({ level: config.logLevel, base: { node: config.id } });
  if (config.unsafe !== undefined) warnUnsafe(config.unsafe, logger);
  const node = new KvNode(config, logger);
  try {
    const addresses = await node.start();
    const http = addresses.http === null ? "no API" : `API http://${formatHostPort(addresses.http)}`;
    const peers = [...config.peers].map(([id, address]) => `${id}=${formatHostPort(address)}`).join(",");
    console.error(
      `tsraft node ${config.id} of cluster "${config.clusterId}" serving: peers on ${formatHostPort(addresses.peer)}, ` +
        `${http}, data in ${config.dataDir} (members ${peers})`,
    );
  } catch (error) {
    await node.stop();
    const message = error instanceof StorageError || error instanceof Error ? error.message : String(error);
    logger.fatal({ event: "start-failed", err: error }, message);
    console.error(`tsraft serve: node ${config.id} failed to start: ${message}`);
    return EXIT_FAILURE;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ event: "signal", signal }, `received ${signal}, stopping`);
    void node.stop();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const cause = await node.stopped;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  if (cause !== undefined) {
    console.error(`tsraft serve: node ${config.id} stopped: ${cause.message}`);
    return EXIT_FAILURE;
  }
  return 0;
}

/** Says loudly, on stderr and in the log, that this node breaks its guarantees on purpose. */
function warnUnsafe(
  switches: UnsafeDebugSwitches,
  logger: { warn: (object: object, message: string) => void },
): void {
  const on = (Object.keys(switches) as (keyof UnsafeDebugSwitches)[])
    .filter((name) => switches[name])
    .map((name) => UNSAFE_SWITCH_FLAGS[name]);
  const message = `UNSAFE DEBUG SWITCHES ON (${on.join(" ")}): this node may lose acknowledged writes or serve stale reads; for calibrating fault tests only`;
  console.error(`tsraft serve: ${message}`);
  logger.warn({ event: "unsafe-debug", switches }, message);
}

/** The entries of `record` whose value is not undefined (so they do not override the config file). */
function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Record<
    string,
    string
  >;
}
