// GET /evaluations/{runId}: status, progress, attempts, cost, and metrics when done.
import * as z from "zod/mini";
import { s3Uri } from "../../core/artifacts.ts";
import { NotFound } from "../../core/errors.ts";
import { metricsCsv, negotiate } from "../../core/formats.ts";
import { runId } from "../../core/schemas.ts";
import { metricsMarkdown, runDetail } from "../../core/views.ts";
import { json, route, text } from "../middleware.ts";
import { config, runStore } from "../runtime.ts";

export const handler = route(
  {
    access: "read",
    path: z.object({ runId }),
    query: z.object({ format: z.optional(z.enum(["json", "csv", "markdown"])) }),
  },
  async ({ path, query, headers }) => {
    const store = runStore();
    const run = await store.getRun(path.runId);
    if (!run) throw new NotFound(`no run ${path.runId}`);
    const [attempts, metrics] = await Promise.all([
      store.listAttempts(run.runId),
      store.listMetrics(run.runId),
    ]);
    const format = negotiate(query.format, headers.accept);
    if (format === "markdown")
      return text("text/markdown", metricsMarkdown(metrics, Boolean(run.simulated), run.engine));
    if (format === "csv") return text("text/csv", metricsCsv(metrics));
    const uri = run.resultsKey ? s3Uri(config().SPOTEVAL_BUCKET, run.resultsKey) : undefined;
    return json(200, runDetail(run, attempts, metrics, uri));
  },
);
