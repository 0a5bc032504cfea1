// ReleaseCapacity: terminate everything the run holds, on every path (success, failure, interruption, cancel).
import * as z from "zod/mini";
import { releaseStep } from "../../core/pipeline.ts";
import { runId } from "../../core/schemas.ts";
import { task } from "../middleware.ts";
import { capacityDeps } from "../runtime.ts";

export const createHandler = (deps = capacityDeps) =>
  task(
    z.object({
      runId,
      outcome: z.enum(["interrupted", "finished", "failed", "cancelled"]),
      reason: z.optional(z.string().check(z.maxLength(4096))),
    }),
    (input) => releaseStep(deps(), input.runId, input.outcome, input.reason),
  );
export const handler = createHandler();
