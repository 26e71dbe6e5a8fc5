import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * What `tsraft up` records in its data directory (`cluster.json`) so that `tsraft kv`, `status` and `bench`
 * find the cluster without being told its addresses.
 */
export interface LocalClusterFile {
  readonly clusterId: string;
  readonly nodes: readonly {
    readonly id: number;
    readonly peer: string;
    readonly api: string;
  }[];
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
  const file = join(dataDir, CLUSTER_FILE);
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as LocalClusterFile;
    return parsed.nodes.map((node) => `http://${node.api}`);
  }
  return [1, 2, 3].map((id) => `http://127.0.0.1:${8000 + id}`);
}
