// What users ask of finished runs: cancel one, every result of a model, a leaderboard for a metric.
import { Conflict, NotFound } from "./errors.ts";
import type { Verdict } from "./parity.ts";
import type { Run, RunStore, StoredMetric } from "./run-store.ts";
import { isFinal } from "./schemas.ts";

/** Mark the run cancelled; its next CheckEngine routes through ReleaseCapacity to CANCELLED. */
export async function cancelRun(store: RunStore, runId: string): Promise<Run> {
  const run = await store.getRun(runId);
  if (!run) throw new NotFound(`no run ${runId}`);
  if (isFinal(run.status))
    throw new Conflict(`run ${runId} is already ${run.status}; there is nothing to cancel`);
  if (run.cancelRequested) return run;
  try {
    return await store.updateRun(runId, { cancelRequested: true });
  } catch (error) {
    if (error instanceof Conflict) throw new Conflict(`run ${runId} finished before it could be cancelled`);
    throw error;
  }
}

export type ModelResult = { run: Run; metrics: StoredMetric[] };

/** Every metric of every finished (SUCCEEDED) run of a model, newest first. */
export async function modelResults(store: RunStore, modelId: string, limit = 50): Promise<ModelResult[]> {
  const out: ModelResult[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await store.listRuns({ model: modelId, limit: 100, ...(cursor ? { cursor } : {}) });
    for (const run of page.runs) {
      if (run.status === "SUCCEEDED" && out.length < limit)
        out.push({ run, metrics: await store.listMetrics(run.runId) });
    }
    cursor = page.cursor;
  } while (cursor && out.length < limit);
  return out;
}

export type LeaderboardRow = {
  rank: number;
  model: string;
  value: number;
  stderr: number | string | null;
  higherIsBetter: boolean;
  runId: string;
  finishedAt: string;
  simulated: boolean;
  /** This score's parity verdict in its run, and whether it drifted from its reference. */
  parity?: Verdict;
  drift: boolean;
};

/** The latest finished run of each model, ranked by the metric in the direction higher_is_better says. */
export async function leaderboard(
  store: RunStore,
  q: { task: string; metric: string; filter: string; limit?: number },
): Promise<LeaderboardRow[]> {
  const latest = new Map<string, Run>();
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await store.listRuns({ status: "SUCCEEDED", limit: 100, ...(cursor ? { cursor } : {}) });
    for (const run of page.runs) if (!latest.has(run.spec.model.id)) latest.set(run.spec.model.id, run);
    cursor = page.cursor;
  } while (cursor);
  const rows: Omit<LeaderboardRow, "rank">[] = [];
  for (const [model, run] of latest) {
    const m = await store.getMetric(run.runId, q.task, q.metric, q.filter);
    if (!m || typeof m.value !== "number") continue;
    const verdict = run.parity?.rows.find(
      (r) => r.task === q.task && r.metric === q.metric && r.filter === q.filter,
    )?.verdict;
    rows.push({
      model,
      value: m.value,
      stderr: m.stderr,
      higherIsBetter: m.higherIsBetter ?? true,
      runId: run.runId,
      finishedAt: run.updatedAt,
      simulated: Boolean(run.simulated),
      ...(verdict ? { parity: verdict } : {}),
      drift: verdict === "drift",
    });
  }
  const higher = rows[0]?.higherIsBetter ?? true;
  rows.sort((a, b) => (higher ? b.value - a.value : a.value - b.value) || a.model.localeCompare(b.model));
  return rows.slice(0, q.limit ?? 100).map((r, i) => ({ rank: i + 1, ...r }));
}
