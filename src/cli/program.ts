/**
 * The `tsraft` command line: one commander program with a subcommand per task. Each subcommand lives in its
 * own file and registers itself here.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerBenchCommand } from "./bench.ts";
import { runDemo } from "./demo.ts";
import { registerFigure16Command } from "./figure16.ts";
import { registerJepsenCommand } from "./jepsen/command.ts";
import { registerKvCommand } from "./kv.ts";
import { registerLabCommand } from "./lab.ts";
import { registerLeaderCommand } from "./leader.ts";
import { registerMemberCommand } from "./member.ts";
import { positiveOption, seedOption } from "./parse.ts";
import { registerServeCommand } from "./serve.ts";
import { registerSimCommand } from "./sim.ts";
import { registerStatusCommand } from "./status.ts";
import { registerUpCommand } from "./up.ts";

/** The package's version, read at run time: a JSON import would need a flag and warn on Node 20. */
function packageVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  const parsed: unknown = JSON.parse(text);
  const version = typeof parsed === "object" && parsed !== null ? Reflect.get(parsed, "version") : undefined;
  return typeof version === "string" ? version : "unknown";
}

/**
 * Builds the `tsraft` program. Commander is told to throw instead of exiting, so `main.ts` owns the process's
 * exit status (and a test can drive the program without losing its process).
 */
export function buildProgram(): Command {
  const program = new Command("tsraft")
    .description(
      "Raft consensus in TypeScript: a replicated key-value store, the MIT 6.824 lab tests, and a simulator",
    )
    .version(packageVersion())
    .showHelpAfterError("(run with --help for usage)")
    // Set before the subcommands are added: commander copies these settings into each one it creates.
    .exitOverride();
  registerLabCommand(program);
  registerDemoCommand(program);
  registerFigure16Command(program);
  registerSimCommand(program);
  registerServeCommand(program);
  registerUpCommand(program);
  registerKvCommand(program);
  registerStatusCommand(program);
  registerBenchCommand(program);
  registerLeaderCommand(program);
  registerMemberCommand(program);
  registerJepsenCommand(program);
  return program;
}

/** Adds `tsraft demo` (also `npm run demo`). */
function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("watch a simulated Raft cluster elect a leader and replicate a log")
    .option("--seed <n>", "seed of the simulation (the same seed replays the same run)", seedOption, 1)
    .option("--nodes <n>", "number of Raft nodes", positiveOption, 5)
    .action(async (options: { seed: number; nodes: number }) => {
      process.exitCode = await runDemo({ seed: options.seed, nodes: options.nodes });
    });
}
