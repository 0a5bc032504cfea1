// EndShard: the last step of a Map iteration, after its release: the shard's end recorded, and how
// it ended returned as the iteration's output.
import * as z from "zod/mini";
import { runId } from "../../core/schemas.ts";
import { endShardStep } from "../../core/shards.ts";
import { task } from "../middleware.ts";
import { storeDeps } from "../runtime.ts";

export const createHandler = (deps = storeDeps) =>
  task(
    z.object({
      runId,
      outcome: z.enum(["finished", "failed", "cancelled"]),
      resultsKey: z.optional(z.string().check(z.regex(/^runs\/[0-9a-z]{26}\/[\w./-]+$/))),
      error: z.optional(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
    }),
    (input) =>
      endShardStep(deps(), input.runId, input.outcome, {
        ...(input.resultsKey ? { resultsKey: input.resultsKey } : {}),
        ...(input.error ? { error: input.error } : {}),
      }),
  );
export const handler = createHandler();
