// GET /models/{modelId}/results: a page of a model's finished runs with every metric, newest first.
import { metricsCsv, negotiate } from "../../core/formats.ts";
import { decodeCursor, encodeCursor } from "../../core/paging.ts";
import { modelResults } from "../../core/queries.ts";
import { apiRoutes } from "../../core/routes.ts";
import { RunCursorSchema } from "../../core/run-store.ts";
import { metricsMarkdown, publicMetric } from "../../core/views.ts";
import { json, route, text } from "../middleware.ts";
import { runStore } from "../runtime.ts";

export const handler = route(apiRoutes.modelResults, async ({ path, query, headers }) => {
  const page = await modelResults(runStore(), path.modelId, {
    limit: query.limit,
    ...(query.cursor ? { cursor: decodeCursor(query.cursor, RunCursorSchema) } : {}),
  });
  const results = page.results;
  const format = negotiate(query.format, headers.accept);
  if (format === "csv")
    return text(
      "text/csv",
      metricsCsv(
        results.flatMap((r) => r.metrics.map((m) => ({ ...m, runId: r.run.runId }))),
        true,
      ),
    );
  if (format === "markdown") {
    return text(
      "text/markdown",
      results
        .map(
          (r) =>
            `## ${r.run.runId} (${r.run.updatedAt})\n\n${metricsMarkdown(r.metrics, Boolean(r.run.simulated), { engine: r.run.engine, parity: r.run.parity })}`,
        )
        .join("\n\n"),
    );
  }
  return json(200, {
    model: path.modelId,
    runs: results.map((r) => ({
      runId: r.run.runId,
      finishedAt: r.run.updatedAt,
      simulated: Boolean(r.run.simulated),
      spec: r.run.spec,
      metrics: r.metrics.map(publicMetric),
    })),
    ...(page.cursor ? { next: encodeCursor(page.cursor) } : {}),
  });
});
