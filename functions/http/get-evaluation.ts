// GET /evaluations/{runId}: status, progress, attempts, cost, and metrics when done.
import { z } from "zod";
import { Artifacts } from "../../core/artifacts.ts";
import { awsClients } from "../../core/aws.ts";
import { NotFound } from "../../core/errors.ts";
import { runId } from "../../core/schemas.ts";
import { metricsMarkdown, runDetail } from "../../core/views.ts";
import { json, route } from "../middleware.ts";
import { config, runStore } from "../runtime.ts";

export const handler = route(
  {
    access: "read",
    path: z.object({ runId }),
    query: z.object({ format: z.enum(["json", "markdown"]).default("json") }),
  },
  async ({ path, query }) => {
    const store = runStore();
    const run = await store.getRun(path.runId);
    if (!run) throw new NotFound(`no run ${path.runId}`);
    const [attempts, metrics] = await Promise.all([
      store.listAttempts(run.runId),
      store.listMetrics(run.runId),
    ]);
    if (query.format === "markdown") {
      return {
        statusCode: 200,
        headers: { "content-type": "text/markdown; charset=utf-8" },
        body: metricsMarkdown(metrics, Boolean(run.simulated)),
      };
    }
    const uri = run.resultsKey
      ? new Artifacts(awsClients.s3(), config().SPOTEVAL_BUCKET).uri(run.resultsKey)
      : undefined;
    return json(200, runDetail(run, attempts, metrics, uri));
  },
);
