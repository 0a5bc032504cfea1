import { InvalidRequest } from "../../core/errors.ts";
import { decodeCursor, encodeCursor } from "../../core/paging.ts";
import { apiRoutes } from "../../core/routes.ts";
import { RunCursorSchema } from "../../core/run-store.ts";
import { runSummary } from "../../core/views.ts";
import { json, route } from "../middleware.ts";
import { runStore } from "../runtime.ts";

export const handler = route(apiRoutes.listEvaluations, async ({ query }) => {
  if (query.model && query.status) throw new InvalidRequest("filter by model or by status, not both");
  const page = await runStore().listRuns({
    ...(query.model ? { model: query.model } : {}),
    ...(query.status ? { status: query.status } : {}),
    limit: query.limit,
    ...(query.cursor ? { cursor: decodeCursor(query.cursor, RunCursorSchema) } : {}),
  });
  return json(200, {
    items: page.runs.map(runSummary),
    ...(page.cursor ? { next: encodeCursor(page.cursor) } : {}),
  });
});
