// The layers under the state machine that make sure no instance outlives its run: an interruption
// noticed at once, an execution that died without releasing, and a janitor for anything left over.
import type { CapacityDeps } from "./pipeline.ts";
import { releaseStep } from "./pipeline.ts";
import type { Attempt } from "./run-store.ts";
import { isFinal } from "./schemas.ts";
import { allAttempts, costOf, endUnfinishedShards } from "./shards.ts";

/** A Spot interruption warning or a state change of one of our instances: mark its attempt at once. */
export async function instanceInterrupted(
  deps: CapacityDeps,
  instanceId: string,
  reason: string,
  set: Partial<Attempt> = {},
) {
  const [instance] = await deps.capacity.describe([instanceId]);
  if (!instance?.runId || !instance.attempt) return { marked: false, why: "not an instance of spoteval" };
  const marked = await deps.store.updateAttempt(instance.runId, instance.attempt, ["LAUNCHING", "RUNNING"], {
    ...set,
    status: "INTERRUPTED",
    endReason: reason,
  });
  return { marked, runId: instance.runId, attempt: instance.attempt };
}

const executionErrors: Record<string, string> = {
  ABORTED: "ExecutionAborted",
  TIMED_OUT: "ExecutionTimedOut",
  FAILED: "ExecutionFailed",
};

/**
 * An execution ended ABORTED, TIMED_OUT or FAILED: it may never have reached its own ReleaseCapacity.
 * Release everything of the run, and fail the run if nothing else recorded an end.
 */
export async function executionEnded(deps: CapacityDeps, runId: string, status: string, cause?: string) {
  const run = await deps.store.getRun(runId);
  if (!run) return { released: [] as string[], failed: false };
  const reason = `execution ${status}${cause ? `: ${cause}` : ""}`;
  const { terminated } = await releaseStep(deps, runId, "failed", reason);
  const error = { name: executionErrors[status] ?? "ExecutionEnded", message: reason };
  // Its shards end with it: a shard left unfinished would look alive to the janitor and the API.
  await endUnfinishedShards(deps.store, run, "FAILED", reason, error);
  if (!isFinal(run.status)) {
    const costUsd = costOf(await allAttempts(deps.store, run));
    await deps.store.transition(runId, "FAILED", { reason, error, costUsd });
  }
  // A launch that was in flight when the execution died may have opened its attempt after the
  // release above listed them, and read its run as live before the FAILED write: released now. (A
  // launch that reads the run after that write releases what it launched itself.)
  const late = await releaseStep(deps, runId, "failed", reason);
  const released = [...terminated, ...late.terminated];
  if (isFinal(run.status)) return { released, failed: false };
  return { released, failed: true };
}

export type Reclaimed = { instanceId: string; runId: string; why: string };

/**
 * Terminate every managed instance whose run is finished or unknown, or whose attempt has been silent
 * past the limit (its orchestration must be gone: CheckEngine would have given it up long before).
 */
export async function sweep(deps: CapacityDeps, silentSeconds: number): Promise<Reclaimed[]> {
  const now = (deps.now?.() ?? new Date()).getTime();
  const reclaimed: Reclaimed[] = [];
  const live = (await deps.capacity.listManaged()).filter(
    (i) => !["terminated", "shutting-down"].includes(i.state),
  );
  const byRun = Map.groupBy(live, (i) => i.runId);
  for (const [runId, instances] of byRun) {
    const run = runId ? await deps.store.getRun(runId) : undefined;
    let why: string | undefined;
    if (!run) why = "its run is unknown";
    else if (isFinal(run.status)) why = `its run is ${run.status}`;
    else {
      const attempts = await deps.store.listAttempts(runId);
      const lastSign = Math.max(
        ...instances.map((i) => {
          // A local instance waiting in its machine's queue for a device is not silent: it has not started.
          if (i.queue) return now;
          const a = attempts.find((x) => x.attempt === i.attempt);
          return Date.parse(a?.heartbeatAt ?? i.bootingSince ?? a?.launchedAt ?? i.launchedAt);
        }),
      );
      if (now - lastSign > silentSeconds * 1000) why = `silent for ${Math.round((now - lastSign) / 1000)} s`;
    }
    if (!why) continue;
    // Through the release step even for an ended run: an attempt a late launch left open is closed too.
    const { terminated } = await releaseStep(deps, runId, "failed", `janitor: ${why}`);
    for (const instanceId of terminated.length ? terminated : instances.map((i) => i.instanceId)) {
      reclaimed.push({ instanceId, runId, why });
    }
  }
  return reclaimed;
}
