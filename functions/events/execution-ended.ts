// EventBridge: a Step Functions execution ended ABORTED, TIMED_OUT or FAILED. It may not have
// released its capacity (an aborted execution runs no more states): release it here.
import * as z from "zod/mini";
import { deliverCallback } from "../../core/callback.ts";
import { executionEnded } from "../../core/safety-nets.ts";
import { runId } from "../../core/schemas.ts";
import { log, logRun } from "../log.ts";
import { task } from "../middleware.ts";
import { callbackDeps, capacityDeps } from "../runtime.ts";

const ExecutionStatusChange = z.object({
  detail: z.looseObject({
    name: z.string(),
    status: z.enum(["ABORTED", "TIMED_OUT", "FAILED"]),
    input: z.nullish(z.string()),
    cause: z.nullish(z.string()),
  }),
});

function runOf(detail: { name: string; input?: string | null }): string {
  try {
    const input = JSON.parse(detail.input ?? "{}") as { runId?: string };
    return runId.parse(input.runId ?? detail.name);
  } catch {
    return runId.parse(detail.name);
  }
}

export const createHandler = (deps = capacityDeps, callbacks = callbackDeps) =>
  task(ExecutionStatusChange, async ({ detail }) => {
    const id = runOf(detail);
    logRun(id);
    const result = await executionEnded(deps(), id, detail.status, detail.cause ?? undefined);
    // The run ended here, not in FinishRun: its callback is sent from here.
    if (result.failed) await deliverCallback(callbacks(), id);
    log.info("execution ended", { status: detail.status, ...result });
    return result;
  });
export const handler = createHandler();
