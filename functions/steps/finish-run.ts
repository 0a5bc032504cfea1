// Finish: record SUCCEEDED, FAILED (with why) or CANCELLED, and the run's cost.
import * as z from "zod/mini";
import { finishStep } from "../../core/pipeline.ts";
import { runId } from "../../core/schemas.ts";
import { task } from "../middleware.ts";
import { storeDeps } from "../runtime.ts";

export const createHandler = (deps = storeDeps) =>
  task(
    z.object({
      runId,
      outcome: z.enum(["SUCCEEDED", "FAILED", "CANCELLED"]),
      error: z.optional(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
    }),
    (input) => finishStep(deps(), input.runId, input.outcome, input.error),
  );
export const handler = createHandler();
