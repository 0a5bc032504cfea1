// Finish: record SUCCEEDED, FAILED (with why) or CANCELLED, and the run's cost; then deliver its callback.
import * as z from "zod/mini";
import { deliverCallback } from "../../core/callback.ts";
import { finishStep } from "../../core/pipeline.ts";
import { runId } from "../../core/schemas.ts";
import { log } from "../log.ts";
import { task } from "../middleware.ts";
import { callbackDeps, storeDeps } from "../runtime.ts";

export const createHandler = (deps = storeDeps, callbacks = callbackDeps) =>
  task(
    z.object({
      runId,
      outcome: z.enum(["SUCCEEDED", "FAILED", "CANCELLED"]),
      error: z.optional(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
    }),
    async (input) => {
      const finished = await finishStep(deps(), input.runId, input.outcome, input.error);
      const deliveries = await deliverCallback(callbacks(), input.runId);
      const last = deliveries.at(-1);
      if (last && last.outcome !== "delivered")
        log.warn("callback not delivered", {
          outcome: last.outcome,
          tries: deliveries.length,
          error: last.error,
        });
      return finished;
    },
  );
export const handler = createHandler();
