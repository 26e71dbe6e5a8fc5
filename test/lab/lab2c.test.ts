import { lab2C } from "../../src/lab/scenarios/lab2c.ts";
import { registerLabTests } from "./lab-seeds.ts";

// Lab 2C, every scenario of the course, on the seeds chosen by lab-seeds.ts.
registerLabTests(lab2C);
