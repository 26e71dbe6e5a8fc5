import { lab2B } from "../../src/lab/scenarios/lab2b.ts";
import { registerLabTests } from "./lab-seeds.ts";

// Lab 2B, every scenario of the course, on the seeds chosen by lab-seeds.ts.
registerLabTests(lab2B);
