/**
 * The `tsraft` command line: one commander program with a subcommand per task. Each subcommand lives in its
 * own file and registers itself here.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { EXIT_FAILURE } from "./exit-status.ts";
import { registerLabCommand } from "./lab.ts";
import { positiveOption, seedOption } from "./parse.ts";

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
      "Raft consensus in TypeScript: the MIT 6.824 Lab 2 tests, a demo, and (soon) a replicated key-value store",
    )
    .version(packageVersion())
    .showHelpAfterError("(run with --help for usage)")
    // Set before the subcommands are added: commander copies these settings into each one it creates.
    .exitOverride();
  registerLabCommand(program);
  registerDemoCommand(program);
  return program;
}

/** The demo's entry point, as `src/cli/demo.ts` exports it. */
type RunDemo = (options: { seed: number; nodes: number }) => Promise<number>;

/**
 * Adds `tsraft demo`. The demo is its own module, loaded only when asked for: it is large, and a build may
 * ship without it, in which case the command says so instead of failing every other command at startup.
 */
function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("watch a simulated Raft cluster elect a leader and replicate a log")
    .option("--seed <n>", "seed of the simulation (the same seed replays the same run)", seedOption, 1)
    .option("--nodes <n>", "number of Raft nodes", positiveOption, 5)
    .action(async (options: { seed: number; nodes: number }) => {
      process.exitCode = await runDemoCommand(options);
    });
}

async function runDemoCommand(options: { seed: number; nodes: number }): Promise<number> {
  const url = new URL("./demo.ts", import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    process.stderr.write("tsraft demo: this copy of tsraft has no demo (src/cli/demo.ts is missing)\n");
    return EXIT_FAILURE;
  }
  // A computed specifier, so the type checker does not require the file; its shape is checked below instead.
  const module: unknown = await import(url.href);
  const runDemo = typeof module === "object" && module !== null ? Reflect.get(module, "runDemo") : undefined;
  if (typeof runDemo !== "function") {
    process.stderr.write("tsraft demo: src/cli/demo.ts does not export a runDemo(options) function\n");
    return EXIT_FAILURE;
  }
  return await (runDemo as RunDemo)({ seed: options.seed, nodes: options.nodes });
}
