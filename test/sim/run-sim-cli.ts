import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const simModule = new URL("../../src/cli/sim.ts", import.meta.url).href;

/**
 * Runs `tsraft sim <args>` in a fresh Node process, the command registered on a bare commander program (the
 * CLI tests of the swarm and of the key-value mode share it); returns its exit status and output.
 */
export function sim(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const script = `
    import { Command, CommanderError } from "commander";
    import { registerSimCommand } from ${JSON.stringify(simModule)};
    const program = new Command("tsraft").exitOverride();
    registerSimCommand(program);
    try {
      await program.parseAsync(["node", "tsraft", "sim", ...JSON.parse(process.env.SIM_ARGS)]);
    } catch (error) {
      if (!(error instanceof CommanderError)) throw error;
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    }`;
  const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    env: { ...process.env, SIM_ARGS: JSON.stringify(args) },
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
