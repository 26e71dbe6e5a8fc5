import { lab3A } from "../../src/lab/scenarios/lab3a.ts";
import { registerKvraftTests } from "./lab-seeds.ts";

// Lab 3A (kvraft without snapshots), every scenario of the course, each history checked for
// linearizability, on the seeds chosen by lab-seeds.ts.
registerKvraftTests(lab3A);
