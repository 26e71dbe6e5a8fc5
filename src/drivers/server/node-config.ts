import { readFileSync } from "node:fs";
import { asNodeId, type NodeId } from "../../core/index.ts";

/**
 * The settings of one real node (`tsraft serve`), from flags or a JSON config file, validated in one place
 * so that every mistake is reported before anything starts, with the setting's name in the message.
 */

/** A host and port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface NodeConfig {
  /** Every member uses the same cluster id; peers from another cluster are refused. */
  readonly clusterId: string;
  readonly id: NodeId;
  /** Peer (Raft) address of every member, this node included. */
  readonly peers: ReadonlyMap<NodeId, HostPort>;
  /** Client API address of this node; null for none. */
  readonly http: HostPort | null;
  /** Client API addresses of the other members, for redirects to the leader. */
  readonly httpPeers: ReadonlyMap<NodeId, HostPort>;
  /** Directory of this node's log, hard state and snapshots. */
  readonly dataDir: string;
  /** Milliseconds per Raft tick. */
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  /** Snapshot once this many bytes of entries were applied since the last one. */
  readonly snapshotThresholdBytes: number;
  /** How long a client request may wait for its answer. */
  readonly requestTimeoutMs: number;
  /** pino level: trace, debug, info, warn, error, fatal or silent. */
  readonly logLevel: string;
  /**
   * This node joins a running cluster (thesis §4) instead of starting one: it starts with no configuration
   * and waits, passive, for the leader to add it (`tsraft member add`). `peers` names the members to reach,
   * this node included. Ignored once the node's log holds a configuration.
   */
  readonly join: boolean;
  /**
   * Lease-based reads (thesis §6.4.1): the leader answers linearizable reads without a heartbeat round while
   * its lease holds. Sound only if the nodes' clocks run at about the same rate (see RaftConfig.leaseReads).
   */
  readonly leaseReads: boolean;
  /** UNSAFE debug switches (calibration of fault tests only); absent or all false in any real use. */
  readonly unsafe?: UnsafeDebugSwitches;
}

/**
 * Debug switches that break tsraft's guarantees on purpose, so that a fault-testing harness can prove it
 * notices (`tsraft jepsen` calibration, docs/reliability.md). NEVER for real use: each is refused unless
 * `unsafeDebug` is set too, they are accepted only as command-line flags (never from a config file), and a
 * node running with any of them says so on stderr and in its log.
 */
export interface UnsafeDebugSwitches {
  /**
   * The disk log resolves saves before fdatasync and syncs only about every ten seconds: votes and acknowledgements
   * leave before they are durable (src/drivers/storage/unsafe-switches.ts).
   */
  readonly ackBeforeSync: boolean;
  /** Unsynced writes stay in process memory, so SIGKILL drops them (with ackBeforeSync: lost writes). */
  readonly volatileWrites: boolean;
  /** Default (linearizable) reads answer from this node's state without ReadIndex: stale reads. */
  readonly localReads: boolean;
}

/** The names of the unsafe switches as flags, for messages. */
export const UNSAFE_SWITCH_FLAGS: Readonly<Record<keyof UnsafeDebugSwitches, string>> = {
  ackBeforeSync: "--unsafe-ack-before-sync",
  volatileWrites: "--unsafe-volatile-writes",
  localReads: "--unsafe-local-reads",
};

/** Timing of real nodes: heartbeats every 100 ms, elections after 1–2 s of silence (etcd's defaults). */
export const REAL_TIMING = { tickMs: 50, heartbeatTicks: 2, electionTicks: 20 } as const;

export const NODE_DEFAULTS = {
  clusterId: "tsraft",
  ...REAL_TIMING,
  snapshotThresholdBytes: 4 * 1024 * 1024,
  requestTimeoutMs: 5000,
  logLevel: "info",
} as const;

/** A problem with the settings; the message names the setting. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The settings as given, all optional strings or numbers (flags and config file alike). */
export interface RawNodeConfig {
  readonly clusterId?: unknown;
  readonly id?: unknown;
  readonly peers?: unknown;
  readonly http?: unknown;
  readonly httpPeers?: unknown;
  readonly data?: unknown;
  readonly tickMs?: unknown;
  readonly heartbeatTicks?: unknown;
  readonly electionTicks?: unknown;
  readonly snapshotThresholdBytes?: unknown;
  readonly requestTimeoutMs?: unknown;
  readonly logLevel?: unknown;
  readonly join?: unknown;
  readonly leaseReads?: unknown;
  /** Command line only (readConfigFile refuses these): see {@link UnsafeDebugSwitches}. */
  readonly unsafeDebug?: unknown;
  readonly unsafeAckBeforeSync?: unknown;
  readonly unsafeVolatileWrites?: unknown;
  readonly unsafeLocalReads?: unknown;
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** Reads a JSON config file (same keys as {@link RawNodeConfig}); throws ConfigError naming the file. */
export function readConfigFile(path: string): RawNodeConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  const known = new Set([
    "clusterId",
    "id",
    "peers",
    "http",
    "httpPeers",
    "data",
    "tickMs",
    "heartbeatTicks",
    "electionTicks",
    "snapshotThresholdBytes",
    "requestTimeoutMs",
    "logLevel",
    "join",
    "leaseReads",
  ]);
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new ConfigError(`config file ${path}: unknown setting "${key}"`);
  }
  return parsed as RawNodeConfig;
}

/** Validates raw settings and fills in defaults. */
export function resolveNodeConfig(raw: RawNodeConfig): NodeConfig {
  const id = nodeId(raw.id, "id");
  if (raw.peers === undefined) throw new ConfigError("peers is required (e.g. 1=127.0.0.1:7001,2=...)");
  const peers = addressMap(raw.peers, "peers");
  if (!peers.has(id)) throw new ConfigError(`peers must include this node's own id ${id}`);
  if (raw.data === undefined || typeof raw.data !== "string" || raw.data === "") {
    throw new ConfigError("data is required: the directory for this node's log");
  }
  const clusterId = raw.clusterId ?? NODE_DEFAULTS.clusterId;
  if (typeof clusterId !== "string" || !/^[\w.-]{1,64}$/.test(clusterId)) {
    throw new ConfigError("clusterId must be 1-64 letters, digits, '.', '_' or '-'");
  }
  const logLevel = raw.logLevel ?? NODE_DEFAULTS.logLevel;
  if (typeof logLevel !== "string" || !LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`logLevel must be one of ${LOG_LEVELS.join(", ")}`);
  }
  const config: NodeConfig = {
    clusterId,
    id,
    peers,
    http: raw.http === undefined || raw.http === null ? null : hostPort(raw.http, "http"),
    httpPeers: raw.httpPeers === undefined ? new Map() : addressMap(raw.httpPeers, "httpPeers"),
    dataDir: raw.data,
    tickMs: positiveInteger(raw.tickMs ?? NODE_DEFAULTS.tickMs, "tickMs"),
    heartbeatTicks: positiveInteger(raw.heartbeatTicks ?? NODE_DEFAULTS.heartbeatTicks, "heartbeatTicks"),
    electionTicks: positiveInteger(raw.electionTicks ?? NODE_DEFAULTS.electionTicks, "electionTicks"),
    snapshotThresholdBytes: nonNegativeInteger(
      raw.snapshotThresholdBytes ?? NODE_DEFAULTS.snapshotThresholdBytes,
      "snapshotThresholdBytes",
    ),
    requestTimeoutMs: positiveInteger(
      raw.requestTimeoutMs ?? NODE_DEFAULTS.requestTimeoutMs,
      "requestTimeoutMs",
    ),
    logLevel,
    join: booleanSetting(raw.join, "join"),
    leaseReads: booleanSetting(raw.leaseReads, "leaseReads"),
    ...unsafeSwitches(raw),
  };
  if (config.heartbeatTicks >= config.electionTicks) {
    throw new ConfigError("heartbeatTicks must be below electionTicks");
  }
  return config;
}

/**
 * The unsafe debug switches, if any is on; refused without `unsafeDebug`, so that none is ever turned on
 * by accident.
 */
function unsafeSwitches(raw: RawNodeConfig): { unsafe?: UnsafeDebugSwitches } {
  const flag = (value: unknown, name: string): boolean => {
    if (value === undefined || value === false) return false;
    if (value === true) return true;
    throw new ConfigError(`${name} is a switch (true or absent), got ${String(value)}`);
  };
  const switches: UnsafeDebugSwitches = {
    ackBeforeSync: flag(raw.unsafeAckBeforeSync, UNSAFE_SWITCH_FLAGS.ackBeforeSync),
    volatileWrites: flag(raw.unsafeVolatileWrites, UNSAFE_SWITCH_FLAGS.volatileWrites),
    localReads: flag(raw.unsafeLocalReads, UNSAFE_SWITCH_FLAGS.localReads),
  };
  const on = (Object.keys(switches) as (keyof UnsafeDebugSwitches)[]).filter((name) => switches[name]);
  if (on.length === 0) return {};
  if (!flag(raw.unsafeDebug, "--unsafe-debug")) {
    throw new ConfigError(
      `${on.map((name) => UNSAFE_SWITCH_FLAGS[name]).join(", ")} break${on.length === 1 ? "s" : ""} ` +
        "durability or linearizability on purpose (for calibrating fault tests only) and " +
        `${on.length === 1 ? "is" : "are"} refused without --unsafe-debug`,
    );
  }
  return { unsafe: switches };
}

function booleanSetting(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean")
    throw new ConfigError(`${name} must be true or false, got ${String(value)}`);
  return value;
}

/** Parses `host:port` (or `[v6]:port`). */
export function hostPort(value: unknown, name: string): HostPort {
  if (typeof value !== "string") throw new ConfigError(`${name} must be host:port, got ${String(value)}`);
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`${name} must be host:port, got "${value}"`);
  }
  return { host, port };
}

/** Formats a {@link HostPort} back as `host:port`. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Parses `1=host:port,2=host:port` or a JSON object `{"1": "host:port"}`. */
function addressMap(value: unknown, name: string): Map<NodeId, HostPort> {
  const pairs: [string, unknown][] =
    typeof value === "string"
      ? value
          .split(",")
          .filter((part) => part.trim() !== "")
          .map((part) => {
            const at = part.indexOf("=");
            if (at < 0) throw new ConfigError(`${name}: "${part}" must be ID=host:port`);
            return [part.slice(0, at).trim(), part.slice(at + 1)];
          })
      : value !== null && typeof value === "object" && !Array.isArray(value)
        ? Object.entries(value)
        : [];
  if (pairs.length === 0) throw new ConfigError(`${name} must list members as ID=host:port,...`);
  const map = new Map<NodeId, HostPort>();
  for (const [idText, address] of pairs) {
    const id = nodeId(idText, `${name} id`);
    if (map.has(id)) throw new ConfigError(`${name}: node ${id} is listed twice`);
    map.set(id, hostPort(address, `${name} address of node ${id}`));
  }
  return map;
}

function nodeId(value: unknown, name: string): NodeId {
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 1 || number > 0xffff_ffff) {
    throw new ConfigError(`${name} must be a positive integer node id, got ${String(value)}`);
  }
  return asNodeId(number);
}

function positiveInteger(value: unknown, name: string): number {
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number <= 0) {
    throw new ConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return number;
}

function nonNegativeInteger(value: unknown, name: string): number {
  if (value === 0 || value === "0") return 0;
  return positiveInteger(value, name);
}
