#!/usr/bin/env node
/**
 * The `tsraft` executable. tsraft ships TypeScript sources, so this shim registers the tsx loader and then
 * imports `src/cli/main.ts`, in this same process.
 *
 * In-process rather than a child Node: a child would need this process to relay signals, and a relayed
 * Ctrl-C arrives twice (the terminal sends it to the whole process group, child included), which a command
 * with a graceful first Ctrl-C, like `tsraft lab`, would take as the second "quit now" press. Here signals,
 * the terminal and the exit status are the command's own. Processes the command forks pass the loader
 * themselves (see `src/cli/lab-pool.ts`).
 */
import { register } from "tsx/esm/api";

register();
await import(new URL("../src/cli/main.ts", import.meta.url).href);
