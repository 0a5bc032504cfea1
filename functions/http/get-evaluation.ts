// GET /evaluations/{runId}: status, progress, attempts, cost, and metrics when done.
import { s3Uri } from "../../core/artifacts.ts";
import { NotFound } from "../../core/errors.ts";
import { metricsCsv, negotiate } from "../../core/formats.ts";
import { apiRoutes } from "../../core/routes.ts";
import { shardRunsOf } from "../../core/shards.ts";
import { metricsMarkdown, runDetail } from "../../core/views.ts";
import { json, route, text } from "../middleware.ts";
import { config, runStore } from "../runtime.ts";

export const handler = route(apiRoutes.getEvaluation, async ({ path, query, headers }) => {
  const store = runStore();
  const run = await store.getRun(path.runId);
  if (!run) throw new NotFound(`no run ${path.runId}`);
  const [attempts, metrics, shards] = await Promise.all([
    store.listAttempts(run.runId),
    store.listMetrics(run.runId),
    Promise.all(
      (await shardRunsOf(store, run)).map(async (shard) => ({
        run: shard,
        attempts: await store.listAttempts(shard.runId),
      })),
    ),
  ]);
  const format = negotiate(query.format, headers.accept);
  if (format === "markdown")
    return text(
      "text/markdown",
      metricsMarkdown(metrics, Boolean(run.simulated), {
        engine: run.engine,
        parity: run.parity,
        partial: run.partial,
      }),
    );
  if (format === "csv") return text("text/csv", metricsCsv(metrics, false, run.parity?.rows));
  const uri = run.resultsKey ? s3Uri(config().SPOTEVAL_BUCKET, run.resultsKey) : undefined;
  return json(200, runDetail(run, attempts, metrics, uri, shards));
});
