// GET /leaderboard?task=&metric=&filter=: the latest finished run per model, ranked by the metric.
import * as z from "zod/mini";
import { negotiate, toCsv, toMarkdown } from "../../core/formats.ts";
import { readLeaderboard } from "../../core/leaderboard.ts";
import { decodeCursor, encodeCursor } from "../../core/paging.ts";
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
  "numFewshot",
  "drift",
];
const Offset = z.object({ rank: z.int().check(z.gte(0)) });

export const handler = route(apiRoutes.leaderboard, async ({ query, headers }) => {
  const { cursor, format: asked, ...board } = query;
  const page = await readLeaderboard(runStore(), {
    ...board,
    ...(cursor ? { offset: decodeCursor(cursor, Offset).rank } : {}),
  });
  const next = page.next !== undefined ? encodeCursor({ rank: page.next }) : undefined;
  const format = negotiate(asked, headers.accept);
  if (format === "csv") return text("text/csv", toCsv(columns, page.rows));
  if (format === "markdown") return text("text/markdown", toMarkdown(columns, page.rows));
  return json(200, {
    task: query.task,
    metric: query.metric,
    filter: query.filter,
    ...(query.numFewshot !== undefined ? { numFewshot: query.numFewshot } : {}),
    rows: page.rows,
    ...(next ? { next } : {}),
  });
});
