import type { Command } from "commander";
import { connect, KvClientError } from "../drivers/kv.ts";
import { EXIT_FAILURE } from "./exit-status.ts";
import { resolveEndpoints } from "./local-cluster.ts";
import { positiveOption } from "./parse.ts";

/** How long `tsraft leader transfer` waits to see the target lead: an election timeout or two, with room. */
const TRANSFER_WAIT_MS = 10_000;
const POLL_MS = 100;

/** Adds `tsraft leader transfer <id>`: hands leadership to another node of a running cluster. */
export function registerLeaderCommand(program: Command): void {
  const leader = program.command("leader").description("manage the cluster's leadership");
  leader
    .command("transfer")
    .argument("<id>", "the node to hand leadership to", positiveOption)
    .description("ask the leader to hand leadership to node <id> (thesis §3.10), and wait until it leads")
    .option("--endpoints <list>", "comma-separated node API addresses (default: the local cluster's)")
    .action(async (target: number, flags: { endpoints?: string }) => {
      const client = connect(resolveEndpoints(flags.endpoints));
      try {
        await client.transferLeader(target);
      } catch (error) {
        if (!(error instanceof KvClientError)) throw error;
        console.error(`tsraft leader transfer: ${error.message}`);
        process.exitCode = EXIT_FAILURE;
        return;
      }
      const deadline = Date.now() + TRANSFER_WAIT_MS;
      while (Date.now() < deadline) {
        const statuses = (await client.statuses()) as ({
          id?: number;
          role?: string;
          term?: number;
        } | null)[];
        const now = statuses.find((status) => status?.role === "leader");
        if (now?.id === target) {
          console.log(`node ${target} is the leader (term ${now.term})`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      console.error(`tsraft leader transfer: node ${target} did not take over within ${TRANSFER_WAIT_MS} ms`);
      process.exitCode = EXIT_FAILURE;
    });
}
