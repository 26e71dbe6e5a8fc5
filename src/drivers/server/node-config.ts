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
}

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
  };
  if (config.heartbeatTicks >= config.electionTicks) {
    throw new ConfigError("heartbeatTicks must be below electionTicks");
  }
  return config;
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
