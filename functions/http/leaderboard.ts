// GET /leaderboard?task=&metric=&filter=: the latest finished run per model, ranked by the metric.
import * as z from "zod/mini";
import { negotiate, toCsv, toMarkdown } from "../../core/formats.ts";
import { readLeaderboard } from "../../core/leaderboard.ts";
import { cursorParam, decodeCursor, encodeCursor, pageLimit } from "../../core/paging.ts";
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
  "numFewshot",
];
const Offset = z.object({ rank: z.int().check(z.gte(0)) });

export const handler = route(
  {
    access: "read",
    query: z.object({
      task: taskName,
      metric: name,
      filter: z._default(name, "none"),
      numFewshot: z.optional(z.coerce.number().check(z.int(), z.gte(0), z.lte(64))),
      limit: pageLimit(50),
      cursor: cursorParam,
      format: z.optional(z.enum(["json", "csv", "markdown"])),
    }),
  },
  async ({ query, headers }) => {
    const { cursor, ...board } = query;
    const page = await readLeaderboard(runStore(), {
      ...board,
      ...(cursor ? { offset: decodeCursor(cursor, Offset).rank } : {}),
    });
    const next = page.next !== undefined ? encodeCursor({ rank: page.next }) : undefined;
    const format = negotiate(query.format, headers.accept);
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
  },
);
