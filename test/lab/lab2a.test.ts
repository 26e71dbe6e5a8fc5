import { lab2A } from "../../src/lab/scenarios/lab2a.ts";
import { registerLabTests } from "./lab-seeds.ts";

// Lab 2A, every scenario of the course, on the seeds chosen by lab-seeds.ts.
registerLabTests(lab2A);
