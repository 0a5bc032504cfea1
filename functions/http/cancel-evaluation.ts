// DELETE /evaluations/{runId}: cancel. The run is marked and its wait ended; the pipeline releases
// capacity and ends it CANCELLED within seconds (at the next poll if the wake is lost).
import { apiRoutes } from "../../core/routes.ts";
import { cancelAndWake } from "../../core/wake.ts";
import { json, route } from "../middleware.ts";
import { wakeDeps } from "../runtime.ts";

export const handler = route(apiRoutes.cancelEvaluation, async ({ path }) => {
  const run = await cancelAndWake(wakeDeps(), path.runId);
  return json(202, {
    runId: run.runId,
    status: run.status,
    cancelRequested: true,
    links: { self: `/evaluations/${run.runId}` },
  });
});
