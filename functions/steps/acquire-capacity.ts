// AcquireCapacity: launch the next attempt's instance; CapacityUnavailable makes the state machine retry.
import * as z from "zod/mini";
import { acquireStep } from "../../core/pipeline.ts";
import { runId } from "../../core/schemas.ts";
import { task } from "../middleware.ts";
import { capacityDeps } from "../runtime.ts";

export const createHandler = (deps = capacityDeps) =>
  task(z.object({ runId, previousAttempt: z.int().check(z.gte(0)) }), (input) =>
    acquireStep(deps(), input.runId, input.previousAttempt),
  );
export const handler = createHandler();
