// Events end the state machine's wait between polls at once. Each wait is a task-token wait whose
// token is stored with its attempt; whatever happens to a run (its engine ended, its instance was
// warned or changed state, a cancel) wakes it, and CheckEngine then polls as it always does. A sender
// decides from what DynamoDB says, never from an event's content; a wake that is lost or never sent
// costs one poll, because the wait times out after the poll interval anyway.
import type { CapacityDeps, StoreDeps } from "./pipeline.ts";
import { cancelRun } from "./queries.ts";
import type { Run } from "./run-store.ts";
import { instanceInterrupted } from "./safety-nets.ts";
import { attemptStatuses, isFinal } from "./schemas.ts";

/** Step Functions' callback API, as the senders use it. */
export interface TaskTokens {
  /** SendTaskSuccess; "ended" when that wait is over already (answered, timed out, or unknown). */
  succeed(token: string, output: Record<string, string>): Promise<"sent" | "ended">;
}
export type WakeDeps = StoreDeps & { tokens: TaskTokens };

/** What woke a wait (the task's output: for the history, never for a decision). */
export type WakeCause = "engine" | "instance" | "cancel" | "before-the-wait";

export type Wake = { woken: boolean; why: string; runId?: string; attempt?: number };

/**
 * The Lambda a wait invokes with its token: store the token with the attempt, then look once more,
 * because what the wait is for may have happened between the last poll and now.
 */
export async function awaitEvent(deps: WakeDeps, runId: string, n: number, token: string): Promise<Wake> {
  const stored = await deps.store.updateAttempt(runId, n, ["LAUNCHING", "RUNNING"], { waitToken: token });
  if (!stored) {
    await deps.tokens.succeed(token, { woken: "before-the-wait" });
    return { woken: true, why: `attempt ${n} ended before the wait began`, runId, attempt: n };
  }
  return wakeRun(deps, runId, "before-the-wait", n);
}

/**
 * End the run's current wait if DynamoDB says there is something to act on: its attempt ended
 * (finished, failed, interrupted), or the run is cancelled or over. Anything else wakes nothing.
 */
export async function wakeRun(deps: WakeDeps, runId: string, cause: WakeCause, n?: number): Promise<Wake> {
  const run = await deps.store.getRun(runId);
  if (!run) return { woken: false, why: "no such run" };
  const attempt = await deps.store.getAttempt(runId, n ?? run.attempts);
  const token = attempt?.waitToken;
  if (!attempt || !token) return { woken: false, why: "no wait in progress", runId };
  const ended = !["LAUNCHING", "RUNNING"].includes(attempt.status);
  if (!ended && !run.cancelRequested && !isFinal(run.status))
    return { woken: false, why: "nothing to act on", runId, attempt: attempt.attempt };
  const sent = await deps.tokens.succeed(token, { woken: cause });
  await deps.store.clearWaitToken(runId, attempt.attempt, token);
  return {
    woken: sent === "sent",
    why: sent === "sent" ? `woken by ${cause}` : "the wait had already ended",
    runId,
    attempt: attempt.attempt,
  };
}

/**
 * DELETE /evaluations/{id}: mark the run (and its shards) cancelled and end every wait, so release
 * follows in seconds.
 */
export async function cancelAndWake(deps: WakeDeps, runId: string): Promise<Run> {
  const run = await cancelRun(deps.store, runId);
  // The cancel is recorded: if a wake fails, the next poll (at most one interval later) sees it.
  await Promise.all(
    [runId, ...(run.shards ?? [])].map((id) => wakeRun(deps, id, "cancel").catch(() => undefined)),
  );
  return run;
}

export type InstanceChange = {
  instanceId: string;
  reason: string;
  /** A Spot interruption warning: the reclaim follows in two minutes. */
  warning: boolean;
  /** The instance is shutting down or terminated. */
  gone: boolean;
};

/**
 * A Spot warning or a state change of one of our instances: mark its attempt interrupted (and when
 * the warning came, or that the instance is gone, which the next attempt's engine waits on), then
 * wake the run, so the replacement is requested at once instead of at the next poll.
 */
export async function instanceChanged(deps: CapacityDeps & WakeDeps, change: InstanceChange) {
  const at = (deps.now?.() ?? new Date()).toISOString();
  const result = await instanceInterrupted(
    deps,
    change.instanceId,
    change.reason,
    change.warning ? { warnedAt: at } : {},
  );
  if (!result.runId || !result.attempt) return result;
  if (change.gone)
    await deps.store.updateAttempt(result.runId, result.attempt, [...attemptStatuses], {
      instanceGoneAt: at,
    });
  const wake = await wakeRun(deps, result.runId, "instance");
  return { ...result, woken: wake.woken };
}
