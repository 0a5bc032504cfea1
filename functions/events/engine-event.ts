// EventBridge: an engine's EngineFinished. The event only says which run to look at: whether its wait
// ends is decided from the attempt as DynamoDB has it (anyone allowed to put the event could forge it).
import * as z from "zod/mini";
import { ENGINE_FINISHED } from "../../core/engine-events.ts";
import { runId } from "../../core/schemas.ts";
import { wakeRun } from "../../core/wake.ts";
import { task } from "../middleware.ts";
import { wakeDeps } from "../runtime.ts";

const EngineFinished = z.object({
  "detail-type": z.literal(ENGINE_FINISHED),
  detail: z.looseObject({ runId }),
});

export const createHandler = (deps = wakeDeps) =>
  task(EngineFinished, async ({ detail }) => {
    const wake = await wakeRun(deps(), detail.runId, "engine");
    console.log(JSON.stringify({ level: "INFO", message: "engine finished", ...wake }));
    return wake;
  });
export const handler = createHandler();
