// What users ask of runs: cancel one, delete one, a page of a model's results. (The leaderboard: leaderboard.ts.)
import { Conflict, NotFound } from "./errors.ts";
import { countsOnLeaderboard, withdrawFromLeaderboard } from "./leaderboard.ts";
import type { Run, RunCursor, RunStore, StoredMetric } from "./run-store.ts";
import { isFinal } from "./schemas.ts";
import { shardRunsOf } from "./shards.ts";

/**
 * Mark the run cancelled, and each of its shards, so every shard's engine stops on its own; each
 * shard's next CheckEngine routes through its release, then the run's to CANCELLED.
 */
export async function cancelRun(store: RunStore, runId: string): Promise<Run> {
  const run = await store.getRun(runId);
  if (!run) throw new NotFound(`no run ${runId}`);
  if (isFinal(run.status))
    throw new Conflict(`run ${runId} is already ${run.status}; there is nothing to cancel`);
  let cancelled = run;
  if (!run.cancelRequested) {
    try {
      cancelled = await store.updateRun(runId, { cancelRequested: true });
    } catch (error) {
      if (error instanceof Conflict) throw new Conflict(`run ${runId} finished before it could be cancelled`);
      throw error;
    }
  }
  for (const shard of await shardRunsOf(store, cancelled)) {
    if (isFinal(shard.status) || shard.cancelRequested) continue;
    // A shard that ended meanwhile has nothing left to cancel.
    await store.updateRun(shard.runId, { cancelRequested: true }).catch((error) => {
      if (!(error instanceof Conflict)) throw error;
    });
  }
  return cancelled;
}

export type ModelResult = { run: Run; metrics: StoredMetric[] };

/**
 * One page of a model's SUCCEEDED runs with their metrics, newest first: one query on the model's
 * results index and one per run returned, whatever else the model's history holds.
 */
export async function modelResults(
  store: RunStore,
  modelId: string,
  page: { limit: number; cursor?: RunCursor },
): Promise<{ results: ModelResult[]; cursor?: RunCursor }> {
  const runs = await store.listRuns({
    results: modelId,
    limit: page.limit,
    ...(page.cursor ? { cursor: page.cursor } : {}),
  });
  const results = await Promise.all(
    runs.runs.map(async (run) => ({ run, metrics: await store.listMetrics(run.runId) })),
  );
  return { results, ...(runs.cursor ? { cursor: runs.cursor } : {}) };
}

/**
 * Delete a run and everything stored under it. Its leaderboard entries go to the model's next
 * latest run first, so the board never points at a run that is gone.
 */
export async function deleteRun(store: RunStore, runId: string): Promise<void> {
  const run = await store.getRun(runId);
  if (!run) throw new NotFound(`no run ${runId}`);
  if (!isFinal(run.status)) throw new Conflict(`run ${runId} is ${run.status}; cancel it before deleting it`);
  await withdrawFromLeaderboard(store, run, (other) => other.runId !== runId && countsOnLeaderboard(other));
  for (const shard of run.shards ?? []) await store.deleteRunItems(shard);
  await store.deleteRunItems(runId);
}
