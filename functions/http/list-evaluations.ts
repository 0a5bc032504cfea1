// GET /evaluations: newest first, filtered by model or status, paginated by an opaque cursor.
import * as z from "zod/mini";
import { InvalidRequest } from "../../core/errors.ts";
import { cursorParam, decodeCursor, encodeCursor, pageLimit } from "../../core/paging.ts";
import { RunCursorSchema } from "../../core/run-store.ts";
import { modelIdSchema, RunStatus } from "../../core/schemas.ts";
import { runSummary } from "../../core/views.ts";
import { json, route } from "../middleware.ts";
import { runStore } from "../runtime.ts";

const Query = z.object({
  model: z.optional(modelIdSchema),
  status: z.optional(RunStatus),
  limit: pageLimit(20),
  cursor: cursorParam,
});

export const handler = route({ access: "read", query: Query }, async ({ query }) => {
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
