// GET /leaderboard?task=&metric=&filter=: the latest finished run per model, ranked by the metric.
import * as z from "zod";
import { negotiate, toCsv, toMarkdown } from "../../core/formats.ts";
import { leaderboard } from "../../core/queries.ts";
import { taskName } from "../../core/schemas.ts";
import { json, route, text } from "../middleware.ts";
import { runStore } from "../runtime.ts";

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);
const columns = ["rank", "model", "value", "stderr", "higherIsBetter", "runId", "finishedAt", "simulated"];

export const handler = route(
  {
    access: "read",
    query: z.object({
      task: taskName,
      metric: name,
      filter: name.default("none"),
      limit: z.coerce.number().int().min(1).max(100).default(50),
      format: z.enum(["json", "csv", "markdown"]).optional(),
    }),
  },
  async ({ query, headers }) => {
    const rows = await leaderboard(runStore(), query);
    const format = negotiate(query.format, headers.accept);
    if (format === "csv") return text("text/csv", toCsv(columns, rows));
    if (format === "markdown") return text("text/markdown", toMarkdown(columns, rows));
    return json(200, { task: query.task, metric: query.metric, filter: query.filter, rows });
  },
);
