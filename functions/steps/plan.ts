// Plan: model size -> instance candidates, tensor-parallel degree, expected cost.
import * as z from "zod/mini";
import { planStep } from "../../core/pipeline.ts";
import { runId } from "../../core/schemas.ts";
import { task } from "../middleware.ts";
import { storeDeps } from "../runtime.ts";

export const createHandler = (deps = storeDeps) =>
  task(z.object({ runId }), (input) => planStep(deps(), input.runId));
export const handler = createHandler();
