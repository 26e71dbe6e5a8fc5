/** summary.txt: a run's verdicts, figures and fault timeline, for people. */
import type { RunSummary } from "./run.ts";

export function formatSummary(summary: RunSummary): string {
  const out: string[] = [];
  const verdict = summary.valid ? "VALID: no violation found" : "INVALID: violations found";
  out.push(`tsraft jepsen run: ${verdict}`);
  out.push("");
  out.push(`seed        ${summary.seed}`);
  out.push(`command     ${summary.command}`);
  out.push(`started     ${summary.startedAt}`);
  out.push(`run dir     ${summary.runDir}`);
  out.push(
    `cluster     ${summary.nodes} nodes; tick ${summary.timing.tickMs} ms, heartbeat ${summary.timing.heartbeatTicks} ticks, ` +
      `election ${summary.timing.electionTicks} ticks; snapshots every ${summary.timing.snapshotBytes} bytes`,
  );
  out.push(
    `workload    ${summary.clients} clients for ${summary.durationSec} s; nemeses ${summary.nemeses.join(",") || "none"}`,
  );
  if (summary.unsafe !== null) {
    const on = Object.entries(summary.unsafe)
      .filter(([, value]) => value)
      .map(([name]) => name);
    out.push(`UNSAFE      calibration switches on: ${on.join(", ")}`);
  }
  if (summary.netns !== undefined) out.push(`netns       ${summary.netns}`);
  out.push("");
  const ops = summary.operations;
  out.push(
    `operations  ${ops.invoked} invoked: ${ops.ok} ok, ${ops.info} indeterminate, ${ops.fail} failed; ` +
      `${ops.finalReads} final reads; ${summary.keys.register} register keys, ${summary.keys.append} append keys`,
  );
  for (const [f, counts] of Object.entries(ops.byFunction)) {
    out.push(
      `            ${f.padEnd(7)} ${counts.ok} ok, ${counts.info} indeterminate, ${counts.fail} failed`,
    );
  }
  const byNemesis = Object.entries(summary.faults.byNemesis)
    .map(([name, count]) => `${name} ${count}`)
    .join(", ");
  out.push(`faults      ${summary.faults.injected} injected${byNemesis === "" ? "" : `: ${byNemesis}`}`);
  const starts = Object.entries(summary.nodeStarts)
    .map(([node, count]) => `node ${node} x${count}`)
    .join(", ");
  out.push(`starts      ${starts}`);
  out.push("");
  out.push("verdicts");
  for (const item of summary.verdicts) {
    out.push(`  ${item.valid ? "ok  " : "FAIL"} ${item.name}: ${item.summary}`);
    for (const line of item.details ?? []) out.push(`         ${line}`);
  }
  out.push("");
  out.push("fault timeline (seconds since the cluster started)");
  for (const entry of summary.timeline) {
    out.push(
      `  ${(entry.at / 1000).toFixed(1).padStart(6)}  ${entry.event.padEnd(5)} ${entry.nemesis.padEnd(9)} ${entry.description}`,
    );
  }
  if (summary.timeline.length === 0) out.push("  (no faults)");
  out.push("");
  out.push(`replay: ${summary.command}`);
  return `${out.join("\n")}\n`;
}
