// GET /models/{modelId}/results: every metric of every finished run of a model, newest first.
import { metricsCsv, negotiate } from "../../core/formats.ts";
import { modelResults } from "../../core/queries.ts";
import { apiRoutes } from "../../core/routes.ts";
import { metricsMarkdown, publicMetric } from "../../core/views.ts";
import { json, route, text } from "../middleware.ts";
import { runStore } from "../runtime.ts";

export const handler = route(apiRoutes.modelResults, async ({ path, query, headers }) => {
  const results = await modelResults(runStore(), path.modelId, query.limit);
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
            `## ${r.run.runId} (${r.run.updatedAt})\n\n${metricsMarkdown(r.metrics, Boolean(r.run.simulated))}`,
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
  });
});
