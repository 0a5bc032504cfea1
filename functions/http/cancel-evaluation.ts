// DELETE /evaluations/{runId}: cancel. The run is marked; the pipeline releases capacity and ends it CANCELLED.
import { cancelRun } from "../../core/queries.ts";
import { apiRoutes } from "../../core/routes.ts";
import { json, route } from "../middleware.ts";
import { runStore } from "../runtime.ts";

export const handler = route(apiRoutes.cancelEvaluation, async ({ path }) => {
  const run = await cancelRun(runStore(), path.runId);
  return json(202, {
    runId: run.runId,
    status: run.status,
    cancelRequested: true,
    links: { self: `/evaluations/${run.runId}` },
  });
});
