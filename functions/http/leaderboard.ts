// GET /leaderboard?task=&metric=&filter=: the latest finished run per model, ranked by the metric.
import { negotiate, toCsv, toMarkdown } from "../../core/formats.ts";
import { leaderboard } from "../../core/queries.ts";
import { apiRoutes } from "../../core/routes.ts";
import { json, route, text } from "../middleware.ts";
import { runStore } from "../runtime.ts";

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

export const handler = route(apiRoutes.leaderboard, async ({ query, headers }) => {
  const rows = await leaderboard(runStore(), query);
  const format = negotiate(query.format, headers.accept);
  if (format === "csv") return text("text/csv", toCsv(columns, rows));
  if (format === "markdown") return text("text/markdown", toMarkdown(columns, rows));
  return json(200, { task: query.task, metric: query.metric, filter: query.filter, rows });
});
