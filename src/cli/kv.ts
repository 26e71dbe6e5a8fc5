import type { Command } from "commander";
import { connect, KvClientError } from "../drivers/kv.ts";
import { EXIT_FAILURE } from "./exit-status.ts";
import { resolveEndpoints } from "./local-cluster.ts";

interface ClientFlags {
  readonly endpoints?: string;
  readonly consistency?: string;
}

const ENDPOINTS_HELP =
  "comma-separated node API addresses (default: the ones `tsraft up` recorded in ./data, else 127.0.0.1:8001-8003)";

/** Adds `tsraft kv get|put|del|append|cas`: the key-value client on the command line. */
export function registerKvCommand(program: Command): void {
  const kv = program.command("kv").description("read and write keys in a running cluster");
  kv.command("get <key>")
    .description("print the value of a key (exit status 1 if there is none)")
    .option("--endpoints <list>", ENDPOINTS_HELP)
    .option("--consistency <mode>", "linearizable (default), local (this node's copy, may be stale) or log")
    .action(async (key: string, flags: ClientFlags) => {
      await run(flags, async (client) => {
        const mode = flags.consistency ?? "linearizable";
        if (mode !== "linearizable" && mode !== "local" && mode !== "log") {
          throw new KvClientError(
            "rejected",
            `--consistency must be linearizable, local or log, not ${mode}`,
          );
        }
        const value = await client.get(key, mode);
        if (value === null) {
          console.error(`no such key: ${key}`);
          return EXIT_FAILURE;
        }
        console.log(value);
        return 0;
      });
    });
  kv.command("put <key> <value>")
    .description("set a key")
    .option("--endpoints <list>", ENDPOINTS_HELP)
    .action(async (key: string, value: string, flags: ClientFlags) => {
      await run(flags, async (client) => {
        await client.put(key, value);
        console.log("OK");
        return 0;
      });
    });
  kv.command("append <key> <value>")
    .description("append to a key's value (a missing key counts as empty)")
    .option("--endpoints <list>", ENDPOINTS_HELP)
    .action(async (key: string, value: string, flags: ClientFlags) => {
      await run(flags, async (client) => {
        await client.append(key, value);
        console.log("OK");
        return 0;
      });
    });
  kv.command("del <key>")
    .description("delete a key (exit status 1 if there was none)")
    .option("--endpoints <list>", ENDPOINTS_HELP)
    .action(async (key: string, flags: ClientFlags) => {
      await run(flags, async (client) => {
        const existed = await client.delete(key);
        console.log(existed ? "deleted" : `no such key: ${key}`);
        return existed ? 0 : EXIT_FAILURE;
      });
    });
  kv.command("cas <key> <expected> <value>")
    .description("set a key only if it holds <expected> (use --absent to require that it does not exist)")
    .option("--endpoints <list>", ENDPOINTS_HELP)
    .option("--absent", "treat <expected> as ignored and require the key to be absent")
    .action(
      async (key: string, expected: string, value: string, flags: ClientFlags & { absent?: boolean }) => {
        await run(flags, async (client) => {
          const outcome = await client.cas(key, flags.absent === true ? null : expected, value);
          if (outcome.swapped) {
            console.log("OK");
            return 0;
          }
          console.error(
            `not swapped: current value is ${outcome.current === null ? "absent" : JSON.stringify(outcome.current)}`,
          );
          return EXIT_FAILURE;
        });
      },
    );
}

/** Runs one client action, turning client errors into a message and exit status 1. */
async function run(
  flags: ClientFlags,
  action: (client: ReturnType<typeof connect>) => Promise<number>,
): Promise<void> {
  const client = connect(resolveEndpoints(flags.endpoints));
  try {
    process.exitCode = await action(client);
  } catch (error) {
    if (!(error instanceof KvClientError)) throw error;
    console.error(`tsraft kv: ${error.message}`);
    process.exitCode = EXIT_FAILURE;
  }
}
