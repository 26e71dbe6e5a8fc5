import type { Command } from "commander";
import { connect, KvClientError } from "../drivers/kv.ts";
import type { MembersView } from "../kv/client/kv-client.ts";
import { EXIT_FAILURE } from "./exit-status.ts";
import { resolveEndpoints } from "./local-cluster.ts";
import { positiveOption } from "./parse.ts";

/**
 * `tsraft member list|add|promote|remove`: membership changes on a running cluster (Raft thesis §4), through
 * the leader's HTTP API. Each change returns once the new configuration is committed and settled.
 */
export function registerMemberCommand(program: Command): void {
  const member = program.command("member").description("list or change the cluster's members");
  const endpointsOption = "--endpoints <list>";
  const endpointsHelp = "comma-separated node API addresses (default: the local cluster's)";

  member
    .command("list")
    .description("print the configuration: every member, its role (voter or learner) and its addresses")
    .option(endpointsOption, endpointsHelp)
    .option("--json", "print it as JSON")
    .action(async (flags: { endpoints?: string; json?: boolean }) => {
      await run("list", flags, (client) => client.members(), flags.json === true);
    });

  member
    .command("add")
    .argument("<id>", "the new node's id", positiveOption)
    .argument(
      "<peer-address>",
      "where the other nodes reach it (host:port of its `tsraft serve --peers` entry)",
    )
    .description(
      "add node <id>, already started with `tsraft serve --join`: as a learner first, promoted to voter once it " +
        "has caught up",
    )
    .option("--api <host:port>", "the new node's HTTP API address, for redirects and status")
    .option("--learner", "leave it a learner (it receives the log but does not vote)")
    .option(endpointsOption, endpointsHelp)
    .action(
      async (
        id: number,
        peerAddress: string,
        flags: { api?: string; learner?: boolean; endpoints?: string },
      ) => {
        const addresses = flags.api === undefined ? { peerAddress } : { peerAddress, apiAddress: flags.api };
        await run("add", flags, (client) => client.addMember(id, addresses, flags.learner === true));
      },
    );

  member
    .command("promote")
    .argument("<id>", "the learner to promote", positiveOption)
    .description("make learner <id> a voter, once it has caught up with the leader's log")
    .option(endpointsOption, endpointsHelp)
    .action(async (id: number, flags: { endpoints?: string }) => {
      await run("promote", flags, (client) => client.promoteMember(id));
    });

  member
    .command("remove")
    .argument("<id>", "the member to remove", positiveOption)
    .description(
      "remove member <id> from the configuration (a removed leader steps down); stop it afterwards",
    )
    .option(endpointsOption, endpointsHelp)
    .action(async (id: number, flags: { endpoints?: string }) => {
      await run("remove", flags, (client) => client.removeMember(id));
    });
}

async function run(
  name: string,
  flags: { endpoints?: string },
  action: (client: ReturnType<typeof connect>) => Promise<MembersView>,
  json = false,
): Promise<void> {
  const client = connect(resolveEndpoints(flags.endpoints));
  let view: MembersView;
  try {
    view = await action(client);
  } catch (error) {
    if (!(error instanceof KvClientError)) throw error;
    console.error(`tsraft member ${name}: ${error.message}`);
    process.exitCode = EXIT_FAILURE;
    return;
  }
  console.log(json ? JSON.stringify(view, null, 2) : formatMembers(view));
}

/** The configuration as a table: id, role, addresses; joint configurations say so. */
export function formatMembers(view: MembersView): string {
  const rows = view.members.map((member) => [
    String(member.id),
    member.id === view.leader ? `${member.role} (leader)` : member.role,
    member.peerAddress ?? "-",
    member.apiAddress ?? "-",
  ]);
  const header = ["node", "role", "peer address", "api address"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  const joint = view.joint ? " (joint: changing voters)" : "";
  return [`configuration at index ${view.membershipIndex}${joint}`, line(header), ...rows.map(line)].join(
    "\n",
  );
}
