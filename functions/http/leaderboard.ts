// GET /leaderboard?task=&metric=&filter=: the latest finished run per model, ranked by the metric.
import * as z from "zod/mini";
import { negotiate, toCsv, toMarkdown } from "../../core/formats.ts";
import { leaderboard } from "../../core/queries.ts";
import { taskName } from "../../core/schemas.ts";
import { json, route, text } from "../middleware.ts";
import { runStore } from "../runtime.ts";

const name = z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/));
const columns = [
  "rank",
  "model",
  "value",
  "stderr",
  "higherIsBetter",
  "runId",
  "finishedAt",
  "simulated",
  "drift",
];

export const handler = route(
  {
    access: "read",
    query: z.object({
      task: taskName,
      metric: name,
      filter: z._default(name, "none"),
      limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 50),
      format: z.optional(z.enum(["json", "csv", "markdown"])),
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
