// The wait between polls (WaitForBoot, WaitForEngine): invoked with the wait's task token, which it
// stores with the attempt (never logs, never returns), so an event can end the wait at once.
import * as z from "zod/mini";
import { runId } from "../../core/schemas.ts";
import { awaitEvent } from "../../core/wake.ts";
import { task } from "../middleware.ts";
import { wakeDeps } from "../runtime.ts";

const AwaitInput = z.object({
  runId,
  attempt: z.int().check(z.gte(1)),
  taskToken: z.string().check(z.minLength(1), z.maxLength(2048)),
});

export const createHandler = (deps = wakeDeps) =>
  task(AwaitInput, async (input) => {
    const { woken, why } = await awaitEvent(deps(), input.runId, input.attempt, input.taskToken);
    return { woken, why };
  });
export const handler = createHandler();
