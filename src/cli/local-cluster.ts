import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * What `tsraft up` records in its data directory (`cluster.json`) so that `tsraft kv`, `status` and `bench`
 * find the cluster without being told its addresses.
 */
export interface LocalClusterFile {
  readonly clusterId: string;
  /** The current members, in the order they were added. */
  readonly nodes: readonly LocalNode[];
  /** The id the next node added gets: ids are never reused. */
  readonly nextId?: number;
  /** Where the running `tsraft up` takes `grow` and `shrink` requests (loopback host:port). */
  readonly control?: string;
}

/** One node of a local cluster. */
export interface LocalNode {
  readonly id: number;
  readonly peer: string;
  readonly api: string;
  /** Added by `tsraft up grow`: it starts with --join. */
  readonly joined?: boolean;
}

/** The cluster recorded in `dataDir`, if any. */
export function readClusterFile(dataDir: string): LocalClusterFile | undefined {
  const file = join(dataDir, CLUSTER_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as LocalClusterFile;
}

/** The data directory `tsraft up` uses unless told otherwise. */
export const DEFAULT_DATA_DIR = "./data";
export const CLUSTER_FILE = "cluster.json";

/** The endpoints a client command should use: `--endpoints`, else the local cluster's file, else the defaults. */
export function resolveEndpoints(
  endpoints: string | undefined,
  dataDir: string = DEFAULT_DATA_DIR,
): string[] {
  if (endpoints !== undefined) {
    return endpoints
      .split(",")
      .map((endpoint) => endpoint.trim())
      .filter((endpoint) => endpoint !== "")
      .map((endpoint) => (endpoint.includes("://") ? endpoint : `http://${endpoint}`));
  }
  const recorded = readClusterFile(dataDir);
  if (recorded !== undefined) return recorded.nodes.map((node) => `http://${node.api}`);
  return [1, 2, 3].map((id) => `http://127.0.0.1:${8000 + id}`);
}
