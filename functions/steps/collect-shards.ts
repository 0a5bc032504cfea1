// CollectShards: after the Map, the shards' results merged into one file, and how the run ends.
import * as z from "zod/mini";
import { runId } from "../../core/schemas.ts";
import { collectShardsStep } from "../../core/shards.ts";
import { task } from "../middleware.ts";
import { artifactDeps } from "../runtime.ts";

const outcome = z.object({
  runId,
  shard: z.int().check(z.gte(0)),
  outcome: z.enum(["finished", "failed", "cancelled"]),
  resultsKey: z.optional(z.string().check(z.regex(/^runs\/[0-9a-z]{26}\/[\w./-]+$/))),
  error: z.optional(z.object({ Error: z.string(), Cause: z.string() })),
});

export const createHandler = (deps = artifactDeps) =>
  task(z.object({ runId, shards: z.array(outcome).check(z.minLength(1), z.maxLength(64)) }), (input) =>
    collectShardsStep(deps(), input.runId, input.shards),
  );
export const handler = createHandler();
