// POST /evaluations: accept an evaluation request and start its run.
import { apiRoutes } from "../../core/routes.ts";
import { planEvaluation, submitEvaluation } from "../../core/submit.ts";
import { logRun } from "../log.ts";
import { json, route } from "../middleware.ts";
import { submitDeps } from "../runtime.ts";

export const handler = route(apiRoutes.submitEvaluation, async ({ body, headers, query }) => {
  // A dry run answers the plan (shards, backends, commands, estimate) and starts nothing.
  if (query.dryRun === "true") return json(200, await planEvaluation(submitDeps(), body));
  const { run } = await submitEvaluation(submitDeps(), body, headers["idempotency-key"]);
  logRun(run.runId);
  return json(
    202,
    { runId: run.runId, status: run.status, links: { self: `/evaluations/${run.runId}` } },
    { location: `/evaluations/${run.runId}` },
  );
});
