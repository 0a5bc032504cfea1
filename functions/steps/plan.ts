// Plan: model size -> instance candidates, tensor-parallel degree, expected cost.
import { z } from "zod";
import { planStep } from "../../core/pipeline.ts";
import { runId } from "../../core/schemas.ts";
import { task } from "../middleware.ts";
import { pipelineDeps } from "../runtime.ts";

export const createHandler = (deps = pipelineDeps) =>
  task(z.object({ runId }), (input) => planStep(deps(), input.runId));
export const handler = createHandler();
