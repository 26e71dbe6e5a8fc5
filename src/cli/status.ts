import type { Command } from "commander";
import { connect } from "../drivers/kv.ts";
import { EXIT_FAILURE } from "./exit-status.ts";
import { resolveEndpoints } from "./local-cluster.ts";

/** The fields of GET /v1/status this table shows. */
interface StatusRow {
  readonly id?: number;
  readonly role?: string;
  readonly term?: number;
  readonly leader?: number | null;
  readonly commitIndex?: number;
  readonly appliedIndex?: number;
  readonly snapshotIndex?: number;
  readonly lastLogIndex?: number;
  readonly keys?: number;
}

/** Adds `tsraft status`: one line per node of a running cluster. */
export function registerStatusCommand(program: Command): void {
  program
    .command("status")
    .description("print a table of the cluster's nodes: role, term, leader, log indexes")
    .option("--endpoints <list>", "comma-separated node API addresses (default: the local cluster's)")
    .option("--json", "print the raw status of every node as JSON")
    .action(async (flags: { endpoints?: string; json?: boolean }) => {
      const endpoints = resolveEndpoints(flags.endpoints);
      const statuses = (await connect(endpoints).statuses()) as (StatusRow | null)[];
      if (flags.json === true) {
        console.log(JSON.stringify(statuses, null, 2));
      } else {
        console.log(formatStatusTable(endpoints, statuses));
      }
      process.exitCode = statuses.every((status) => status === null) ? EXIT_FAILURE : 0;
    });
}

/** The status table: a header and one row per endpoint, down nodes included. */
export function formatStatusTable(
  endpoints: readonly string[],
  statuses: readonly (StatusRow | null)[],
): string {
  const header = ["node", "api", "role", "term", "leader", "commit", "applied", "snapshot", "last", "keys"];
  const rows = endpoints.map((endpoint, i) => {
    const status = statuses[i];
    if (status === null || status === undefined) return ["?", endpoint, "down", "", "", "", "", "", "", ""];
    return [
      String(status.id ?? "?"),
      endpoint,
      status.role ?? "?",
      String(status.term ?? ""),
      status.leader === null || status.leader === undefined ? "-" : String(status.leader),
      String(status.commitIndex ?? ""),
      String(status.appliedIndex ?? ""),
      String(status.snapshotIndex ?? ""),
      String(status.lastLogIndex ?? ""),
      String(status.keys ?? ""),
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ");
  return [line(header), ...rows.map(line)].join("\n").trimEnd();
}
