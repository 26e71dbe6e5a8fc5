import { lab2D } from "../../src/lab/scenarios/lab2d.ts";
import { registerLabTests } from "./lab-seeds.ts";

// Lab 2D, every scenario of the course, on the seeds chosen by lab-seeds.ts.
registerLabTests(lab2D);
