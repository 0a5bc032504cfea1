// A run split across instances. Each shard is a run of its own (its tasks, its plan, its attempts,
// its instances tagged with its id), created by the Plan step and driven by one iteration of the
// state machine's Map; the run itself holds the shards' ids, and once every iteration has ended,
// their results merge into the one file lm_eval would have written for the whole request.
import type { Artifacts } from "./artifacts.ts";
import type { EngineRecord } from "./engine-record.ts";
import { newRunId } from "./ids.ts";
import { mergeShards, type Shard } from "./merge.ts";
import { shardTaskSpecs } from "./planner.ts";
import { parseResults } from "./results.ts";
import type { Attempt, Plan, Run, RunStore } from "./run-store.ts";
import { documentsFromSamples } from "./samples.ts";
import { isFinal } from "./schemas.ts";

type Deps = { store: RunStore; now?: () => Date };

/** One iteration of the Map: the run (or shard run) it drives. */
export type ShardItem = { runId: string; shard: number };

/** How an iteration ended, as the Map collects it. */
export type ShardOutcome = {
  runId: string;
  shard: number;
  outcome: "finished" | "failed" | "cancelled";
  resultsKey?: string;
  error?: { Error: string; Cause: string };
};

/**
 * The Map's items. A run of one shard is its own shard (its attempts are its own, as they always
 * were); a run of several gets one shard run per plan, created once (ids kept on the run by a
 * conditional write, so a retried Plan step creates the same ones), and is RUNNING from then on.
 */
export async function startShards(deps: Deps, run: Run): Promise<ShardItem[]> {
  const plans = run.shardPlans;
  if (!plans || plans.length < 2) return [{ runId: run.runId, shard: 0 }];
  const named = await deps.store.assignShards(
    run.runId,
    plans.map(() => newRunId()),
  );
  const ids = named.shards as string[];
  const at = (deps.now?.() ?? new Date()).toISOString();
  for (const [k, plan] of plans.entries()) {
    await deps.store.createRunOnce(shardRun(named, plan, ids[k], k, at));
  }
  if (named.status === "PLANNING") await deps.store.transition(run.runId, "RUNNING");
  return ids.map((runId, shard) => ({ runId, shard }));
}

/** A shard's run: the request narrowed to the shard's tasks and backend; no callback of its own. */
function shardRun(parent: Run, plan: Plan, runId: string, shard: number, at: string): Run {
  const { callbackUrl: _callback, ...spec } = parent.spec;
  return {
    runId,
    status: "PLANNING",
    version: 1,
    spec: {
      ...spec,
      tasks: shardTaskSpecs(parent.spec, plan.tasks),
      ...(plan.harnessRevision ? { harnessRevision: plan.harnessRevision } : {}),
    },
    plan,
    createdAt: at,
    updatedAt: at,
    attempts: 0,
    ...(parent.deadline ? { deadline: parent.deadline } : {}),
    ...(parent.cancelRequested ? { cancelRequested: true } : {}),
    parentRunId: parent.runId,
    shard,
  };
}

/** The shard runs of a run (none for a run of one shard), in shard order. */
export async function shardRunsOf(store: RunStore, run: Run): Promise<Run[]> {
  const runs = await Promise.all((run.shards ?? []).map((id) => store.getRun(id)));
  return runs.filter((r): r is Run => r !== undefined);
}

/** Every attempt a run paid for: its own and its shards'. */
export async function allAttempts(store: RunStore, run: Run): Promise<Attempt[]> {
  const lists = await Promise.all(
    [run, ...(await shardRunsOf(store, run))].map((r) => store.listAttempts(r.runId)),
  );
  return lists.flat();
}

/**
 * End every shard of a run that has not ended (the run ends otherwise than through its Map: its
 * execution died, or the Map itself failed), so none looks alive to the janitor or the API.
 */
export async function endUnfinishedShards(
  store: RunStore,
  run: Run,
  status: "FAILED" | "CANCELLED",
  reason: string,
  error?: { name: string; message: string },
): Promise<void> {
  for (const shard of await shardRunsOf(store, run)) {
    if (isFinal(shard.status)) continue;
    const costUsd = costOf(await store.listAttempts(shard.runId));
    await store.transition(shard.runId, status, { reason, costUsd, ...(error ? { error } : {}) });
  }
}

export const costOf = (attempts: Attempt[]) =>
  Math.round(attempts.reduce((sum, a) => sum + (a.costUsd ?? 0), 0) * 1e6) / 1e6;

/**
 * The end of one Map iteration, after its release. A shard run records it (SUCCEEDED with its results,
 * FAILED with why, CANCELLED) with its cost; a run of one shard records nothing here, its own steps
 * after the Map do. A shard that something else ended already (the execution died) keeps that end.
 */
export async function endShardStep(
  deps: Deps,
  runId: string,
  outcome: ShardOutcome["outcome"],
  detail: { resultsKey?: string; error?: { Error?: string; Cause?: string } } = {},
): Promise<ShardOutcome> {
  const run = await deps.store.mustGetRun(runId);
  const error = outcome === "failed" ? failureOf(detail.error) : undefined;
  const ended = (o: ShardOutcome["outcome"]): ShardOutcome => ({
    runId,
    shard: run.shard ?? 0,
    outcome: o,
    ...(o === "finished" && detail.resultsKey ? { resultsKey: detail.resultsKey } : {}),
    ...(o === "failed"
      ? { error: error ?? failureOf(run.error && { Error: run.error.name, Cause: run.error.message }) }
      : {}),
  });
  if (!run.parentRunId) return ended(outcome);
  if (isFinal(run.status)) {
    const kept =
      run.status === "SUCCEEDED" ? "finished" : run.status === "CANCELLED" ? "cancelled" : "failed";
    return {
      ...ended(kept),
      ...(kept === "finished" && run.resultsKey ? { resultsKey: run.resultsKey } : {}),
    };
  }
  const costUsd = costOf(await deps.store.listAttempts(runId));
  if (outcome === "finished") {
    await deps.store.transition(runId, "RECORDING", { resultsKey: detail.resultsKey as string });
    await deps.store.transition(runId, "SUCCEEDED", { reason: "shard finished", costUsd });
  } else if (outcome === "cancelled") {
    await deps.store.transition(runId, "CANCELLED", { reason: "cancelled by user", costUsd });
  } else {
    const e = error as { Error: string; Cause: string };
    await deps.store.transition(runId, "FAILED", {
      reason: e.Cause,
      error: { name: e.Error, message: e.Cause },
      costUsd,
    });
  }
  return ended(outcome);
}

/** Step Functions passes a Lambda error's Cause as a JSON string in AWS, as plain text locally. */
export function failureOf(error?: { Error?: string; Cause?: string }): { Error: string; Cause: string } {
  let message = error?.Cause ?? "";
  try {
    const parsed = JSON.parse(message) as { errorMessage?: string };
    if (parsed.errorMessage) message = parsed.errorMessage;
  } catch {
    // plain text cause
  }
  const name = error?.Error ?? "Error";
  return { Error: name, Cause: message || name || "failed" };
}

export type Collected =
  | { outcome: "finished"; resultsKey: string }
  | { outcome: "partial"; resultsKey: string; error: { Error: string; Cause: string } }
  | { outcome: "failed"; error: { Error: string; Cause: string } }
  | { outcome: "cancelled" };

/** Where the merged results of a run of several shards are written. */
export const mergedResultsKey = (runId: string) => `runs/${runId}/merged/results.json`;

/**
 * After the Map: what the run's end is. Every shard finished: their results merged into one file (a
 * run of one shard: its own file). Some failed: the finished shards' results merged all the same, for
 * their tasks only, and the run fails with them kept (partial). A cancel wins over both.
 */
export async function collectShardsStep(
  deps: Deps & { artifacts: Artifacts },
  runId: string,
  outcomes: ShardOutcome[],
): Promise<Collected> {
  const run = await deps.store.mustGetRun(runId);
  if (run.cancelRequested || outcomes.some((o) => o.outcome === "cancelled")) return { outcome: "cancelled" };
  const finished = outcomes.filter((o) => o.outcome === "finished" && o.resultsKey);
  const failed = outcomes.filter((o) => o.outcome !== "finished" || !o.resultsKey);
  const failure = failed.length ? shardsFailure(outcomes.length, failed) : undefined;
  if (failure && !finished.length) return { outcome: "failed", error: failure };
  if (outcomes.length === 1) return { outcome: "finished", resultsKey: finished[0].resultsKey as string };
  const shardRuns = await shardRunsOf(deps.store, run);
  const runOf = (o: ShardOutcome) => shardRuns.find((s) => s.runId === o.runId);
  const tasksOf = (o: ShardOutcome) => runOf(o)?.plan?.tasks ?? [];
  // A partial merge covers the finished shards' tasks only: a group some of whose subtasks failed
  // has no value, so only its finished subtasks are shown.
  const request = failure ? finished.flatMap(tasksOf) : run.spec.tasks.map((t) => t.name);
  const read = await Promise.all(finished.map((o) => readShard(deps.artifacts, o, runOf(o))));
  const file = {
    ...mergeShards(
      request,
      read.map((r) => r.shard),
    ),
    spoteval: {
      simulated: read.some((r) => r.simulated),
      shards: outcomes.map((o) => ({ shard: o.shard, runId: o.runId, outcome: o.outcome })),
      ...(failure ? { partial: true, missing: failed.flatMap(tasksOf) } : {}),
    },
  };
  const resultsKey = await deps.artifacts.putText(
    mergedResultsKey(runId),
    `${JSON.stringify(file, null, 2)}\n`,
  );
  return failure ? { outcome: "partial", resultsKey, error: failure } : { outcome: "finished", resultsKey };
}

function shardsFailure(total: number, failed: ShardOutcome[]) {
  const first = failed[0];
  const cause = failed
    .map((o) => `shard ${o.shard + 1} of ${total} failed: ${o.error?.Cause ?? "no results"}`)
    .join("; ");
  return { Error: first.error?.Error ?? "ShardFailed", Cause: cause };
}

/** One shard's results file, with document counts from its samples where its release writes no n-samples. */
async function readShard(
  artifacts: Artifacts,
  o: ShardOutcome,
  run: Run | undefined,
): Promise<{ shard: Shard; simulated: boolean }> {
  const key = o.resultsKey as string;
  const file = parseResults(await artifacts.getText(key));
  const prefix = key.slice(0, key.lastIndexOf("/") + 1);
  const missing = Object.keys(file.results).some((task) => !file["n-samples"]?.[task]);
  const names = missing ? (await artifacts.list(prefix)).map((k) => k.slice(prefix.length)) : [];
  const documents = await documentsFromSamples(file, names, (name) => artifacts.getText(prefix + name));
  const engine = file.config?.spoteval_engine as EngineRecord | undefined;
  const origin = {
    name: `shard ${o.shard + 1} (${o.runId})`,
    backend: engine?.backend ?? run?.plan?.backend ?? null,
    harness: engine?.harness ?? run?.spec.harnessRevision ?? null,
    image: engine?.image ?? run?.plan?.stack?.baseImage ?? null,
  };
  return { shard: { file, documents, origin }, simulated: Boolean(file.spoteval?.simulated) };
}
