// GET /evaluations: newest first, filtered by model or status, paginated by an opaque cursor.
import * as z from "zod/mini";
import { InvalidRequest } from "../../core/errors.ts";
import { apiRoutes } from "../../core/routes.ts";
import { runSummary } from "../../core/views.ts";
import { json, route } from "../middleware.ts";
import { runStore } from "../runtime.ts";

const Cursor = z.record(z.string(), z.string());
const encode = (key: Record<string, unknown>) => Buffer.from(JSON.stringify(key)).toString("base64url");
function decode(cursor: string): Record<string, string> {
  try {
    return Cursor.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    throw new InvalidRequest("the cursor is not one this API returned");
  }
}

export const handler = route(apiRoutes.listEvaluations, async ({ query }) => {
  if (query.model && query.status) throw new InvalidRequest("filter by model or by status, not both");
  const page = await runStore().listRuns({
    ...(query.model ? { model: query.model } : {}),
    ...(query.status ? { status: query.status } : {}),
    limit: query.limit,
    ...(query.cursor ? { cursor: decode(query.cursor) } : {}),
  });
  return json(200, {
    items: page.runs.map(runSummary),
    ...(page.cursor ? { next: encode(page.cursor) } : {}),
  });
});
