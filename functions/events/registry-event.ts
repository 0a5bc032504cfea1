// EventBridge: a SageMaker Model Registry approval, or a ModelRegistered event from any registry.
// Both take the same submit path as the HTTP API; the package version or event id is the key.
import * as z from "zod/mini";
import { fromSageMaker, SageMakerPackageEvent, triggerKey } from "../../core/registry.ts";
import { submitTrigger } from "../../core/submit.ts";
import { log, logRun } from "../log.ts";
import { task } from "../middleware.ts";
import { submitDeps, triggerDefaults } from "../runtime.ts";

/** The documented ModelRegistered event: `detail` is an evaluation request, as POST /evaluations takes. */
const ModelRegistered = z.object({
  id: z.string(),
  "detail-type": z.literal("ModelRegistered"),
  detail: z.unknown(),
});
const RegistryEvent = z.union([SageMakerPackageEvent, ModelRegistered]);

export const handler = task(RegistryEvent, async (event) => {
  const trigger =
    event["detail-type"] === "ModelRegistered"
      ? { request: event.detail as never, key: triggerKey("event", event.id) }
      : fromSageMaker(event, triggerDefaults());
  if ("ignored" in trigger) return { ignored: trigger.ignored };
  const { run, created } = await submitTrigger(submitDeps(), trigger.request, trigger.key);
  logRun(run.runId);
  log.info("registry event", { created });
  return { runId: run.runId, created };
});
