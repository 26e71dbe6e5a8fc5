/**
 * A lab test failed (the course's `t.Fatalf` / `log.Fatalf`). The message names the seed and the one command
 * that replays the run, added by the scenario runner.
 */
export class LabTestFailure extends Error {
  override name = "LabTestFailure";
}
