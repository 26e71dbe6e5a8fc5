/**
 * Entry point of the `tsraft` command (run through tsx: `bin/tsraft.js`, or `tsx src/cli/main.ts`). Parses the
 * arguments, runs the subcommand, and turns commander's usage errors into exit status 2.
 */
import { CommanderError } from "commander";
import { EXIT_OK, EXIT_USAGE } from "./exit-status.ts";
import { buildProgram } from "./program.ts";

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Commander has already printed its message (or the help or version asked for, with exit code 0).
  process.exitCode = error.exitCode === EXIT_OK ? EXIT_OK : EXIT_USAGE;
}
