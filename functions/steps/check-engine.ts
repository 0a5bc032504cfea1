// CheckEngine: heartbeat, progress and instance state -> running, finished, failed, interrupted, cancelled.
import * as z from "zod/mini";
import { checkEngineStep } from "../../core/pipeline.ts";
import { runId } from "../../core/schemas.ts";
import { task } from "../middleware.ts";
import { capacityDeps } from "../runtime.ts";

export const createHandler = (deps = capacityDeps) =>
  task(z.object({ runId, attempt: z.int().check(z.gte(1)) }), (input) =>
    checkEngineStep(deps(), input.runId, input.attempt),
  );
export const handler = createHandler();
