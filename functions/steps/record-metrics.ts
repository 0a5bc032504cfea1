// RecordMetrics: the results file in S3 -> one metric item per task, metric and filter, and the
// run's parity against its references (a drift goes on the bus as ParityDrift).
import * as z from "zod/mini";
import { recordMetricsStep } from "../../core/pipeline.ts";
import { runId } from "../../core/schemas.ts";
import { task } from "../middleware.ts";
import { recordDeps } from "../runtime.ts";

export const createHandler = (deps = recordDeps) =>
  task(
    z.object({
      runId,
      resultsKey: z.string().check(z.regex(/^runs\/[0-9a-z]{26}\/[\w./-]+$/)),
      partial: z.optional(z.boolean()),
    }),
    (input) => recordMetricsStep(deps(), input.runId, input.resultsKey, { partial: input.partial === true }),
  );
export const handler = createHandler();
