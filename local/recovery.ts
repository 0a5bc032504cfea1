// A stack that stopped (Ctrl-C, a crash, a kill) took its executions with it: Step Functions runs in its
// memory. On the next start, each run its data folder still shows in flight is ended through the same
// steps an execution would take (release its capacity and close its attempts, then finish it), with the
// reason the user needs: the local stack stopped.
import { type CapacityDeps, finishStep, releaseStep } from "../core/pipeline.ts";
import type { RunStatus } from "../core/schemas.ts";

export const STOPPED_REASON = "local stack stopped";

const inFlight: RunStatus[] = ["QUEUED", "PLANNING", "ACQUIRING", "RUNNING", "INTERRUPTED", "RECORDING"];

/** End every run left in flight; returns their ids. */
export async function endRunsInFlight(deps: CapacityDeps): Promise<string[]> {
  const ended: string[] = [];
  for (const status of inFlight) {
    // Each run ended leaves this status's index, so the first page is read again until it is empty.
    for (;;) {
      const { runs } = await deps.store.listRuns({ status, limit: 100 });
      if (!runs.length) break;
      for (const run of runs) {
        await releaseStep(deps, run.runId, "failed", STOPPED_REASON);
        await finishStep(deps, run.runId, "FAILED", { Error: "LocalStackStopped", Cause: STOPPED_REASON });
        ended.push(run.runId);
      }
    }
  }
  return ended;
}
