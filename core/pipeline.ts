// The run lifecycle, one function per state machine step. Each is safe to run twice:
// Step Functions retries a Lambda whose side effect may already have happened.
import type { Artifacts } from "./artifacts.ts";
import type { CapacityProvider } from "./capacity/provider.ts";
import type { EngineRecord } from "./engine-record.ts";
import { CapacityUnavailable, EngineFailed, NotFound, ResultsInvalid, StaleTransition } from "./errors.ts";
import { recordOnLeaderboard, withdrawFromLeaderboard } from "./leaderboard.ts";
import { modelShape, planRun } from "./planner.ts";
import { parseResults, uniqueRows } from "./results.ts";
import { modelDiskGiB } from "./root-volume.ts";
import { checkRunParity, type ParityDeps, samplesBeside } from "./run-parity.ts";
import type { Attempt, Run, RunStore } from "./run-store.ts";
import { isFinal, type Progress, type RunStatus } from "./schemas.ts";
import { allAttempts, costOf, endUnfinishedShards, failureOf, shardRunsOf, startShards } from "./shards.ts";

export type PipelineSettings = {
  /** No heartbeat for this long means the engine hangs: the attempt is given up. */
  stallSeconds: number;
  /** Time an instance gets from launch to the engine's first heartbeat (boot, image pull, start). */
  bootSeconds: number;
  /** Bounds of the adaptive wait between CheckEngine polls. */
  minPollSeconds: number;
  maxPollSeconds: number;
  /** Typical time from launch to the engine's first heartbeat: the first check is aimed at it. */
  bootEstimateSeconds: number;
  /**
   * When the engine is expected to finish (or first report) within this many seconds, CheckEngine
   * watches the attempt itself, re-reading it every watchIntervalMs, instead of a Wait and another
   * poll: the end is seen within a second, not half a poll later. 0 turns watching off.
   */
  watchSeconds: number;
  watchIntervalMs: number;
};

/** What every step needs. Each step asks only for what it uses, so each Lambda bundles only that. */
export type StoreDeps = { store: RunStore; now?: () => Date; sleep?: (ms: number) => Promise<void> };
export type CapacityDeps = StoreDeps & { capacity: CapacityProvider; settings: PipelineSettings };
export type ArtifactDeps = StoreDeps & { artifacts: Artifacts };
export type PipelineDeps = CapacityDeps & ArtifactDeps;
/** RecordMetrics also checks parity: where drift is announced, uploaded references, the threshold. */
export type RecordDeps = ArtifactDeps & Partial<Pick<ParityDeps, "events" | "uploaded" | "zThreshold">>;

const now = (deps: StoreDeps) => (deps.now ? deps.now() : new Date());

/**
 * Plan: the run's plan (or its shards' plans, made at submit), and the Map's items: the run itself
 * when it is one shard, else one shard run per plan.
 */
export async function planStep(deps: StoreDeps, runId: string) {
  const run = await deps.store.transition(runId, "PLANNING");
  const plans = run.shardPlans ?? [run.plan ?? planRun(run.spec)];
  if (!run.plan && !run.shardPlans) await deps.store.updateRun(runId, { plan: plans[0] });
  const shards = await startShards(deps, run);
  return {
    shards,
    shardCount: shards.length,
    instanceTypes: [...new Set(plans.map((p) => p.candidates[0]?.instanceType))],
    expectedHours: Math.max(...plans.map((p) => p.candidates[0]?.expectedHours ?? 0)),
  };
}

export type Acquired = {
  attempt: number;
  instanceId: string;
  instanceType: string;
  market: string;
  waitSeconds: number;
};

/**
 * Launch attempt `previousAttempt + 1`. The attempt number comes from the state machine, not the store,
 * so a retried Lambda asks for the same attempt and reuses the client token: never two launches.
 */
export async function acquireStep(
  deps: CapacityDeps,
  runId: string,
  previousAttempt: number,
): Promise<Acquired> {
  const n = previousAttempt + 1;
  const done = await deps.store.getAttempt(runId, n);
  if (done?.instanceId) {
    // A retry of a launch that succeeded: report it again, launch nothing.
    if ((await deps.store.mustGetRun(runId)).status === "ACQUIRING")
      await deps.store.transition(runId, "RUNNING");
    return acquired(deps, done);
  }
  let run = await deps.store.mustGetRun(runId);
  if (run.status !== "ACQUIRING") run = await deps.store.transition(runId, "ACQUIRING", { attempts: n });
  const plan = run.plan ?? planRun(run.spec);
  let attempt = await deps.store.openAttempt({
    runId,
    attempt: n,
    status: "LAUNCHING",
    clientToken: `${runId}-${n}-1`,
    launchTries: 1,
    startedAt: now(deps).toISOString(),
  });
  if (attempt.instanceId) return acquired(deps, attempt);

  try {
    const instance = await deps.capacity.launch({
      runId,
      attempt: n,
      clientToken: attempt.clientToken,
      launchTry: attempt.launchTries,
      candidates: plan.candidates.map((c) => ({ instanceType: c.instanceType, tpDegree: c.tpDegree })),
      allowOnDemand: run.spec.capacity.allowOnDemand,
      ...(run.spec.capacity.maxSpotPrice !== undefined
        ? { maxSpotPrice: run.spec.capacity.maxSpotPrice }
        : {}),
      ...(run.spec.capacity.availabilityZones
        ? { availabilityZones: run.spec.capacity.availabilityZones }
        : {}),
      backend: plan.backend ?? "neuronx",
      modelDiskGiB: modelDiskGiB({
        parameters: modelShape(run.spec).parameters,
        dtype: run.spec.model.dtype,
      }),
      engineEnv: { RUN_ID: runId, ATTEMPT: String(n) },
    });
    await deps.store.updateAttempt(runId, n, ["LAUNCHING"], {
      instanceId: instance.instanceId,
      instanceType: instance.instanceType,
      availabilityZone: instance.availabilityZone,
      market: instance.market,
      pricePerHour: instance.pricePerHour,
      launchedAt: instance.launchedAt,
    });
    attempt = (await deps.store.getAttempt(runId, n)) as Attempt;
  } catch (error) {
    if (error instanceof CapacityUnavailable) {
      // That launch definitively found nothing: the next try may use a fresh token.
      await deps.store.updateAttempt(runId, n, ["LAUNCHING"], {
        launchTries: attempt.launchTries + 1,
        clientToken: `${runId}-${n}-${attempt.launchTries + 1}`,
        endReason: error.message,
      });
    }
    await releaseIfEnded(deps, runId);
    throw error;
  }
  // The run may have ended while this launch was in flight (an aborted execution does not stop a
  // running Lambda): then nothing may be left behind, neither the instance nor an open attempt.
  const ended = await releaseIfEnded(deps, runId);
  if (ended) throw new StaleTransition(`run ${runId} is ${ended}; the instance launched for it was released`);
  await deps.store.transition(runId, "RUNNING");
  return acquired(deps, attempt);
}

/** If the run ended meanwhile, release what this step launched and close its attempt; says how it ended. */
async function releaseIfEnded(deps: CapacityDeps, runId: string): Promise<RunStatus | undefined> {
  const latest = await deps.store.mustGetRun(runId);
  if (!isFinal(latest.status)) return undefined;
  await releaseStep(
    deps,
    runId,
    "failed",
    `run ended (${latest.status}) while its capacity was being acquired`,
  );
  return latest.status;
}

const acquired = (deps: CapacityDeps, a: Attempt): Acquired => ({
  attempt: a.attempt,
  instanceId: a.instanceId as string,
  instanceType: a.instanceType as string,
  market: a.market as string,
  // The first check lands when the engine should be up, with the watch window around that moment.
  waitSeconds: waitTimeout(
    clamp(
      deps.settings.bootEstimateSeconds - deps.settings.watchSeconds / 2,
      0,
      deps.settings.maxPollSeconds,
    ),
  ),
});

/**
 * Each wait between polls is a task-token wait whose TimeoutSecondsPath this is: Step Functions takes
 * a whole number of seconds, at least 1, there.
 */
const waitTimeout = (seconds: number) => Math.max(1, Math.round(seconds));

export type EngineState = "running" | "finished" | "failed" | "interrupted" | "cancelled";
export type EngineCheck = {
  state: EngineState;
  waitSeconds: number;
  reason?: string;
  resultsKey?: string;
  progress?: Progress;
};

/**
 * One poll of the engine. When its end (or first report) is due within the watch window, keep reading
 * the attempt until it ends or the window closes, then answer as one poll would.
 */
export async function checkEngineStep(deps: CapacityDeps, runId: string, n: number): Promise<EngineCheck> {
  const { check: first, attempt: seen } = await inspectEngine(deps, runId, n);
  const { watchSeconds, watchIntervalMs } = deps.settings;
  if (first.state !== "running" || watchSeconds <= 0) return first;
  const until = now(deps).getTime() + watchSeconds * 1000;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let attempt: Attempt | undefined = seen;
  let watched = false;
  while (attempt && endDueWithin(deps.settings, attempt, now(deps).getTime(), watchSeconds)) {
    if (now(deps).getTime() >= until) break;
    watched = true;
    await sleep(watchIntervalMs);
    attempt = await deps.store.getAttempt(runId, n);
    if (attempt && attempt.status !== "RUNNING" && attempt.status !== "LAUNCHING") break;
  }
  // After a watch, answer from what the attempt says now (ended, or a fresh wait from its progress).
  return watched ? (await inspectEngine(deps, runId, n)).check : first;
}

/** One look at the run, its attempt and its instance; the attempt it read comes back for the watch. */
async function inspectEngine(
  deps: CapacityDeps,
  runId: string,
  n: number,
): Promise<{ check: EngineCheck; attempt?: Attempt }> {
  const wait = waitTimeout(deps.settings.minPollSeconds);
  const run = await deps.store.mustGetRun(runId);
  // A shard is cancelled with its run (the cancel marks the shards too, unless it came first).
  if (run.cancelRequested || (run.parentRunId && (await deps.store.getRun(run.parentRunId))?.cancelRequested))
    return { check: { state: "cancelled", waitSeconds: wait, reason: "cancelled by user" } };
  let attempt = await deps.store.getAttempt(runId, n);
  if (!attempt?.instanceId) throw new NotFound(`run ${runId} has no attempt ${n} with an instance`);
  const fromAttempt = engineReported(attempt, wait);
  if (fromAttempt) return { check: fromAttempt, attempt };

  const [instance] = await deps.capacity.describe([attempt.instanceId]);
  if (!instance || ["terminated", "shutting-down", "stopped", "unknown"].includes(instance.state)) {
    // The engine may have finished and shut its instance down between the two reads.
    attempt = (await deps.store.getAttempt(runId, n)) as Attempt;
    const check = engineReported(attempt, wait) ?? {
      state: "interrupted" as const,
      waitSeconds: wait,
      reason: `instance ${attempt.instanceId} is ${instance?.state ?? "gone"}${instance?.reason ? `: ${instance.reason}` : ""}`,
    };
    return { check, attempt };
  }
  const t = now(deps).getTime();
  if (run.deadline && t > Date.parse(run.deadline)) {
    return {
      check: { state: "failed", waitSeconds: wait, reason: `run deadline ${run.deadline} passed` },
      attempt,
    };
  }
  if (instance.queue) {
    // Waiting for a device of this machine (the local provider's queue): not booting yet, so no boot
    // clock runs; the attempt says it is queued until its engine claims it.
    const progress: Progress = { phase: "queued", done: 0, total: 0, waitingFor: instance.queue.waitingFor };
    if (attempt.progress?.waitingFor !== progress.waitingFor)
      await deps.store.updateAttempt(runId, n, ["LAUNCHING"], { progress });
    return { check: { state: "running", waitSeconds: wait, progress }, attempt };
  }
  const silentMs =
    t - Date.parse(attempt.heartbeatAt ?? instance.bootingSince ?? attempt.launchedAt ?? attempt.startedAt);
  const limitSeconds = attempt.heartbeatAt ? deps.settings.stallSeconds : deps.settings.bootSeconds;
  if (silentMs > limitSeconds * 1000) {
    const reason = attempt.heartbeatAt
      ? `engine stalled: no heartbeat for ${Math.round(silentMs / 1000)} s`
      : `engine never started: no heartbeat ${Math.round(silentMs / 1000)} s after launch`;
    return { check: { state: "interrupted", waitSeconds: wait, reason }, attempt };
  }
  const check: EngineCheck = {
    state: "running",
    waitSeconds: pollDelay(deps.settings, attempt, t),
    ...(attempt.progress ? { progress: attempt.progress } : {}),
  };
  return { check, attempt };
}

function engineReported(attempt: Attempt, wait: number): EngineCheck | undefined {
  if (attempt.status === "FINISHED" && attempt.resultsKey) {
    return { state: "finished", waitSeconds: wait, resultsKey: attempt.resultsKey };
  }
  if (attempt.status === "FAILED") {
    return { state: "failed", waitSeconds: wait, reason: attempt.endReason ?? "engine failed" };
  }
  if (attempt.status === "INTERRUPTED") {
    return {
      state: "interrupted",
      waitSeconds: wait,
      reason: attempt.endReason ?? "Spot interruption notice",
    };
  }
  return undefined;
}

const clamp = (x: number, min: number, max: number) => Math.min(max, Math.max(min, x));

/** Seconds until the engine's reported end, by its ETA at its last heartbeat; undefined without one. */
function remainingSeconds(attempt: Attempt, t: number): number | undefined {
  const p = attempt.progress;
  if (!attempt.heartbeatAt || !p) return undefined;
  if (p.phase === "upload" || p.phase === "done") return 0;
  if (p.phase !== "evaluate" || p.etaSeconds === undefined) return undefined;
  return p.etaSeconds - (t - Date.parse(attempt.heartbeatAt)) / 1000;
}

const sinceLaunch = (attempt: Attempt, t: number) =>
  (t - Date.parse(attempt.launchedAt ?? attempt.startedAt)) / 1000;

/**
 * Is something the state machine acts on due within `window` seconds? By the engine's ETA when it
 * has one; without one, only around the boot estimate (a short job can end right after it starts).
 */
function endDueWithin(settings: PipelineSettings, attempt: Attempt, t: number, window: number): boolean {
  const left = remainingSeconds(attempt, t);
  if (left !== undefined) return left <= window;
  const up = sinceLaunch(attempt, t);
  return up + window >= settings.bootEstimateSeconds && up <= settings.bootEstimateSeconds + window;
}

/**
 * The wait before the next poll, from the engine's own phase and ETA: short while booting, long in
 * the middle, and aimed just before the expected end (with 10% of the time left as margin for a
 * wrong ETA, and half the watch window), where CheckEngine watches the end itself. Without an ETA
 * (boot, download, compile) the wait doubles with the time since launch. An 8-hour evaluation costs a
 * few dozen polls, not one every 30 seconds.
 */
export function pollDelay(settings: PipelineSettings, attempt: Attempt, t: number): number {
  const { minPollSeconds: min, maxPollSeconds: max, watchSeconds } = settings;
  const left = remainingSeconds(attempt, t);
  const wait = left === undefined ? sinceLaunch(attempt, t) : left * 0.9 - watchSeconds / 2;
  return waitTimeout(clamp(wait, min, max));
}

export type ReleaseOutcome = "interrupted" | "finished" | "failed" | "cancelled";

/**
 * Terminate everything the run holds, close its open attempts, and price them; for a run of several
 * shards, everything each shard holds too (each shard releases its own as it ends; this is the net
 * under them when the run ends otherwise).
 */
export async function releaseStep(
  deps: CapacityDeps,
  runId: string,
  outcome: ReleaseOutcome,
  reason?: string,
): Promise<{ terminated: string[] }> {
  const run = await deps.store.getRun(runId);
  const fromShards: string[] = [];
  for (const shard of run ? await shardRunsOf(deps.store, run) : []) {
    fromShards.push(...(await releaseStep(deps, shard.runId, outcome, reason)).terminated);
  }
  const except = outcome === "interrupted" ? savingBeforeReclaim(await deps.store.listAttempts(runId)) : [];
  const terminated = await deps.capacity.releaseRun(runId, { except });
  const ended = now(deps);
  const endStatus = outcome === "interrupted" ? "INTERRUPTED" : "RELEASED";
  // Listed after the release: an attempt opened meanwhile (a launch racing an abort) is closed too.
  for (const attempt of await deps.store.listAttempts(runId)) {
    if (attempt.endedAt) continue;
    const hours = attempt.launchedAt ? (ended.getTime() - Date.parse(attempt.launchedAt)) / 3_600_000 : 0;
    await deps.store.updateAttempt(
      runId,
      attempt.attempt,
      ["LAUNCHING", "RUNNING", "FINISHED", "FAILED", "INTERRUPTED"],
      {
        ...(["LAUNCHING", "RUNNING"].includes(attempt.status) ? { status: endStatus } : {}),
        endedAt: ended.toISOString(),
        endReason: attempt.endReason ?? reason ?? outcome,
        costUsd: round((attempt.pricePerHour ?? 0) * Math.max(0, hours), 6),
      },
    );
  }
  if (outcome === "interrupted") {
    const run = await deps.store.mustGetRun(runId);
    if (run.status === "RUNNING" || run.status === "ACQUIRING")
      await deps.store.transition(runId, "INTERRUPTED");
  }
  return { terminated: [...fromShards, ...terminated] };
}

/**
 * Replace before the reclaim: a Spot-warned instance has two minutes, and its engine uses them to save
 * the request cache the next attempt resumes from. Releasing for a new attempt spares it until it has
 * saved (it then shuts itself down) or is gone; Spot reclaims it at the deadline in any case, and the
 * run's final release, whatever the outcome, spares nothing.
 */
function savingBeforeReclaim(attempts: Attempt[]): string[] {
  return attempts
    .filter((a) => a.instanceId && a.warnedAt && !a.cacheSavedAt && !a.instanceGoneAt)
    .map((a) => a.instanceId as string);
}

/**
 * Record the run's metrics from its results file. `partial`: the merged results of the shards that
 * finished when others failed; kept and shown, marked partial, never on the leaderboard.
 */
export async function recordMetricsStep(
  deps: RecordDeps,
  runId: string,
  resultsKey: string,
  options: { partial?: boolean } = {},
) {
  const run = await deps.store.transition(runId, "RECORDING", { resultsKey });
  let text: string;
  try {
    text = await deps.artifacts.getText(resultsKey);
  } catch (error) {
    if (error instanceof NotFound)
      throw new EngineFailed(`the engine reported results at ${resultsKey}, but there are none`);
    throw error;
  }
  const file = parseResults(text);
  const rows = uniqueRows(file);
  if (!rows.length) throw new ResultsInvalid(`results file ${resultsKey} has no metrics`);
  const written = await deps.store.putMetrics(runId, run.spec.model.id, rows);
  const simulated = Boolean(file.spoteval?.simulated);
  const engine = file.config?.spoteval_engine as EngineRecord | undefined;
  // What produced the numbers, in one write (each updateRun is a versioned read and write).
  const partial = options.partial ? partialOf(file) : undefined;
  const about = {
    ...(simulated ? { simulated: true } : {}),
    ...(engine ? { engine } : {}),
    ...(partial ? { partial } : {}),
  };
  const recorded = Object.keys(about).length ? await deps.store.updateRun(runId, about) : run;
  const parity = await checkRunParity(deps, recorded, rows, (tasks) =>
    samplesBeside(deps.artifacts, resultsKey, file, tasks),
  );
  // Each entry carries its parity verdict, so the board marks drift without another read.
  if (!partial)
    await recordOnLeaderboard(deps.store, { ...recorded, parity }, rows, {
      finishedAt: now(deps).toISOString(),
      simulated,
    });
  return { metrics: written, simulated, parity: parity.overall, ...(partial ? { partial: true } : {}) };
}

/** Which requested tasks a partial results file covers, and which it lacks. */
function partialOf(file: ReturnType<typeof parseResults>): NonNullable<Run["partial"]> {
  const missing = (file.spoteval as { missing?: string[] } | undefined)?.missing ?? [];
  return { tasks: Object.keys(file.results).filter((t) => !missing.includes(t)), missing };
}

export type FinishOutcome = "SUCCEEDED" | "FAILED" | "CANCELLED";

/** Record the final state, why, and what the run cost (the sum over its attempts). */
export async function finishStep(
  deps: StoreDeps,
  runId: string,
  outcome: FinishOutcome,
  error?: { Error?: string; Cause?: string },
): Promise<{ status: RunStatus; reason: string }> {
  const failure = error ? describeFailure(error) : undefined;
  const before = await deps.store.mustGetRun(runId);
  if (outcome !== "SUCCEEDED")
    await endUnfinishedShards(deps.store, before, outcome, failure?.message ?? "cancelled by user", failure);
  const costUsd = costOf(await allAttempts(deps.store, before));
  const reason =
    outcome === "SUCCEEDED"
      ? "evaluation finished and metrics recorded"
      : outcome === "CANCELLED"
        ? "cancelled by user"
        : (failure?.message ?? "failed");
  const run: Run = await deps.store.transition(runId, outcome, {
    reason,
    costUsd,
    ...(failure ? { error: failure } : {}),
  });
  // Recorded, then failed or cancelled after all: its values leave the leaderboard.
  if (run.status !== "SUCCEEDED" && run.resultsKey) await withdrawFromLeaderboard(deps.store, run);
  return { status: run.status, reason: run.reason ?? reason };
}

function describeFailure(error: { Error?: string; Cause?: string }) {
  const f = failureOf(error);
  return { name: f.Error, message: f.Cause };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
