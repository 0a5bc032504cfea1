// Benchmark 2: what Step Functions charges for a run, against a fixed 30-second poll.
//
// The real state machine definition runs under aws-local-stepfunctions with the real step functions of
// core/pipeline.ts, the real store (dynalite) and results in S3 (s3rver). What cannot run here is
// simulated, in virtual time so hours take seconds: the inf2 instance (SimulatedCapacity) and the
// engine on it (EngineModel: boot, compile, then evaluation at a rate that drifts +-15%, heartbeats
// every 30 s with tqdm's ETA, the results file at the end). Every wait between polls advances the
// run's virtual clock by its timeout, or, with events on, only to the next event in it (the engine's
// end, a Spot warning, a cancel), which the real senders then deliver through the wait's task token;
// CheckEngine's watch sleeps advance it too. Transitions are counted from the execution history, as
// AWS bills them: every state entered, every retry.
import { Artifacts, artifactKeys } from "../core/artifacts.ts";
import { s3Client } from "../core/aws.ts";
import type { CapacityProvider, Instance, LaunchRequest } from "../core/capacity/provider.ts";
import { newRunId } from "../core/ids.ts";
import {
  acquireStep,
  type CapacityDeps,
  checkEngineStep,
  finishStep,
  type PipelineSettings,
  planStep,
  recordMetricsStep,
  releaseStep,
} from "../core/pipeline.ts";
import type { RunStore } from "../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../core/schemas.ts";
import { awaitEvent, type WakeCause, wakeRun } from "../core/wake.ts";
import { runStore, wakeDeps } from "../functions/runtime.ts";
import type { Stack } from "../local/stack.ts";
import type { LocalExecution, TaskHandler } from "../local/stepfunctions.ts";

/** The baseline: the same state machine polling every 30 s, no aim, no watch. */
export const fixedPolling = (deployed: PipelineSettings): PipelineSettings => ({
  ...deployed,
  minPollSeconds: 30,
  maxPollSeconds: 30,
  bootEstimateSeconds: 30,
  watchSeconds: 0,
});

/** What the simulated inf2 attempt does, in seconds from its launch. */
export type EngineTimeline = {
  /** Instance boot, image pull, engine start: no heartbeat yet. */
  bootSeconds: number;
  /** Model download and Neuron compile (a compile-cache hit): heartbeats, no ETA. */
  prepareSeconds: number;
  /** Evaluation at the nominal rate; the real rate drifts +-15% over 30-minute periods. */
  evaluateSeconds: number;
  /** Seconds into the evaluation when the Spot warning for the first attempt arrives (it marks it at once). */
  interruptAfterSeconds?: number;
  /** Seconds into the (first attempt's) evaluation when the user cancels the run. */
  cancelAfterSeconds?: number;
};

/**
 * EventBridge delivery, the sender Lambda and SendTaskSuccess, assumed in virtual time (the local
 * stack measures the real path: npm run bench, figure 2).
 */
export const EVENT_DELIVERY_SECONDS = 1;

const HEARTBEAT_SECONDS = 30;
const DRIFT = 0.15;
const OMEGA = (2 * Math.PI) / 1800;
const ITEMS = 1319;

/** Items done after `s` seconds of evaluation at rate r0 (1 + DRIFT sin(OMEGA s)). */
const itemsDone = (r0: number, s: number) => r0 * (s + (DRIFT * (1 - Math.cos(OMEGA * s))) / OMEGA);
const rateAt = (r0: number, s: number) => r0 * (1 + DRIFT * Math.sin(OMEGA * s));

/** Seconds of evaluation to get through `items`, by bisection (itemsDone is increasing). */
function secondsFor(r0: number, items: number) {
  let lo = 0;
  let hi = (items / r0) * 2 + 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (itemsDone(r0, mid) < items) lo = mid;
    else hi = mid;
  }
  return hi;
}

type AttemptPlan = { launchedAt: number; carried: number; ends: number; interruptsAt?: number };

/** The engine of one run across its attempts, played into the store at each virtual time asked. */
class EngineModel {
  readonly attempts = new Map<number, AttemptPlan>();
  readonly r0: number;
  /** Virtual times of what the state machine must notice: the end, an interruption, a cancel. */
  endedAt?: number;
  interruptedAt?: number;
  cancelledAt?: number;
  private readonly timeline: EngineTimeline;
  private readonly store: RunStore;
  private readonly artifacts: Artifacts;
  private readonly runId: string;

  constructor(runId: string, timeline: EngineTimeline, store: RunStore, artifacts: Artifacts) {
    this.runId = runId;
    this.timeline = timeline;
    this.store = store;
    this.artifacts = artifacts;
    this.r0 = ITEMS / timeline.evaluateSeconds;
  }

  launched(attempt: number, at: number) {
    const previous = this.attempts.get(attempt - 1);
    // A resumed attempt keeps what the --use_cache file already holds.
    const carried = previous?.interruptsAt !== undefined ? this.doneAt(previous, previous.interruptsAt) : 0;
    const start = at + this.timeline.bootSeconds + this.timeline.prepareSeconds;
    const plan: AttemptPlan = { launchedAt: at, carried, ends: start + secondsFor(this.r0, ITEMS - carried) };
    if (attempt === 1 && this.timeline.interruptAfterSeconds !== undefined)
      plan.interruptsAt = start + this.timeline.interruptAfterSeconds;
    this.attempts.set(attempt, plan);
  }

  private evalStart = (a: AttemptPlan) =>
    a.launchedAt + this.timeline.bootSeconds + this.timeline.prepareSeconds;
  private doneAt = (a: AttemptPlan, t: number) =>
    Math.min(ITEMS, a.carried + itemsDone(this.r0, Math.max(0, t - this.evalStart(a))));

  /** The first thing the state machine acts on in (from, to]: the engine's end, a Spot warning, a cancel. */
  nextEvent(attempt: number, from: number, to: number): { at: number; cause: WakeCause } | undefined {
    const a = this.attempts.get(attempt);
    if (!a) return undefined;
    const cancel = this.timeline.cancelAfterSeconds;
    const first = this.attempts.get(1);
    const candidates: { at: number; cause: WakeCause }[] = [
      { at: a.interruptsAt ?? Number.POSITIVE_INFINITY, cause: "instance" },
      { at: a.interruptsAt === undefined ? a.ends : Number.POSITIVE_INFINITY, cause: "engine" },
      {
        at: cancel !== undefined && first ? this.evalStart(first) + cancel : Number.POSITIVE_INFINITY,
        cause: "cancel",
      },
    ];
    const next = candidates.filter((c) => c.at > from && c.at <= to).sort((x, y) => x.at - y.at)[0];
    return next;
  }

  /** Write into the attempt item what the engine (or the Spot warning rule, or a user) would have by time t. */
  async playUntil(attempt: number, t: number) {
    const a = this.attempts.get(attempt);
    if (!a) return;
    const iso = (s: number) => new Date(s * 1000).toISOString();
    const first = this.attempts.get(1);
    const cancel = this.timeline.cancelAfterSeconds;
    if (
      this.cancelledAt === undefined &&
      cancel !== undefined &&
      first &&
      t >= this.evalStart(first) + cancel
    ) {
      this.cancelledAt = this.evalStart(first) + cancel;
      await this.store.updateRun(this.runId, { cancelRequested: true });
    }
    if (a.interruptsAt !== undefined && t >= a.interruptsAt) {
      this.interruptedAt ??= a.interruptsAt;
      await this.store.updateAttempt(this.runId, attempt, ["LAUNCHING", "RUNNING"], {
        status: "INTERRUPTED",
        endReason: "Spot interruption warning (simulated)",
        warnedAt: iso(a.interruptsAt),
        cacheSavedAt: iso(a.interruptsAt),
      });
      return;
    }
    if (t >= a.ends) {
      const resultsKey = artifactKeys.results(this.runId, attempt, "results.json");
      if (this.endedAt === undefined) {
        this.endedAt = a.ends;
        await this.artifacts.putText(resultsKey, simulatedResults());
      }
      await this.store.updateAttempt(this.runId, attempt, ["LAUNCHING", "RUNNING"], {
        status: "FINISHED",
        resultsKey,
        heartbeatAt: iso(a.ends),
        progress: { phase: "done", done: ITEMS, total: ITEMS },
      });
      return;
    }
    const booted = a.launchedAt + this.timeline.bootSeconds;
    if (t < booted) return;
    const beat = booted + Math.floor((t - booted) / HEARTBEAT_SECONDS) * HEARTBEAT_SECONDS;
    const start = this.evalStart(a);
    const progress =
      beat < start
        ? { phase: "compile" as const, done: 0, total: 0 }
        : {
            phase: "evaluate" as const,
            done: Math.floor(this.doneAt(a, beat)),
            total: ITEMS,
            ratePerSecond: rateAt(this.r0, beat - start),
            etaSeconds: Math.round((ITEMS - this.doneAt(a, beat)) / rateAt(this.r0, beat - start)),
          };
    await this.store.updateAttempt(this.runId, attempt, ["LAUNCHING", "RUNNING"], {
      status: "RUNNING",
      heartbeatAt: iso(beat),
      progress,
    });
  }
}

const simulatedResults = () =>
  JSON.stringify({
    results: {
      gsm8k: { alias: "gsm8k", "exact_match,strict-match": 0.38, "exact_match_stderr,strict-match": 0.0134 },
    },
    versions: { gsm8k: 3 },
    "n-shot": { gsm8k: 5 },
    spoteval: {
      simulated: true,
      note: "SIMULATED by npm run bench: transitions benchmark, no model was run",
    },
  });

/** inf2 capacity in virtual time: launches succeed, instances run until released or reclaimed. */
class SimulatedCapacity implements CapacityProvider {
  readonly name = "simulated-inf2";
  private readonly live = new Map<string, { runId: string; attempt: number; launchedAt: string }>();
  private readonly sims: Map<string, Sim>;
  constructor(sims: Map<string, Sim>) {
    this.sims = sims;
  }
  async launch(request: LaunchRequest): Promise<Instance> {
    const sim = this.sims.get(request.runId) as Sim;
    const instanceId = `i-${request.runId.slice(-8)}${request.attempt}`;
    const launchedAt = new Date(sim.t * 1000).toISOString();
    this.live.set(instanceId, { runId: request.runId, attempt: request.attempt, launchedAt });
    sim.engine.launched(request.attempt, sim.t);
    return {
      instanceId,
      instanceType: "inf2.48xlarge",
      availabilityZone: "us-east-1a",
      market: "spot",
      pricePerHour: 0,
      launchedAt,
    };
  }
  async describe(ids: string[]) {
    return ids.map((instanceId) => ({
      instanceId,
      state: this.live.has(instanceId) ? ("running" as const) : ("terminated" as const),
    }));
  }
  async releaseRun(runId: string) {
    const ids = [...this.live].filter(([, i]) => i.runId === runId).map(([id]) => id);
    for (const id of ids) this.live.delete(id);
    return ids;
  }
  async listManaged() {
    return [...this.live].map(([instanceId, i]) => ({ instanceId, state: "running" as const, ...i }));
  }
}

type Sim = {
  /** The run's virtual clock, seconds since the epoch. */
  t: number;
  engine: EngineModel;
  artifacts: Artifacts;
  settings: PipelineSettings;
  /** Events end waits at once (the deployment); false: every wait lasts its timeout (polling only). */
  events: boolean;
  /** The timeout of the wait in progress (what AcquireCapacity or CheckEngine answered). */
  waitSeconds: number;
  /** Virtual time CheckEngine first answered something other than "running". */
  decidedAt?: number;
  interruptionSeenAt?: number;
  /** Virtual time the replacement attempt was requested (AcquireCapacity for attempt 2). */
  replacementRequestedAt?: number;
  /** Virtual time a cancelled run's capacity was released. */
  cancelReleasedAt?: number;
  /** Waits ended by an event, by a timeout. */
  woken: number;
  lambdaInvocations: number;
  watchSeconds: number;
  checks: number;
};

export type RunFigures = {
  transitions: number;
  /** History events as AWS writes them (each Lambda task adds Scheduled, Started, Succeeded/Failed). */
  historyEvents: number;
  checks: number;
  lambdaInvocations: number;
  watchSeconds: number;
  /** Seconds from the engine's last heartbeat (its end) to CheckEngine answering "finished". */
  endSeenAfterSeconds: number;
  /** Seconds from the Spot interruption to CheckEngine answering "interrupted" (when there was one). */
  interruptionSeenAfterSeconds?: number;
  /** Seconds from the Spot warning to the replacement attempt's launch request (when there was one). */
  replacementAfterSeconds?: number;
  /** Seconds from a cancel to the release of the run's capacity (when there was one). */
  cancelReleasedAfterSeconds?: number;
  /** Waits ended by an event rather than their timeout. */
  wokenWaits: number;
  /** Virtual seconds from launch to the run's end. */
  instanceSeconds: number;
};

/** Play one run through the real definition in virtual time; the stack must use `simulationHandlers(sims)`. */
export async function simulateRun(
  stack: Stack,
  sims: Map<string, Sim>,
  timeline: EngineTimeline,
  settings: PipelineSettings,
  options: { events?: boolean } = {},
): Promise<RunFigures> {
  const store = runStore();
  const artifacts = new Artifacts(s3Client(), stack.bucket);
  const runId = newRunId();
  const start = Date.parse("2026-11-28T00:00:00.000Z") / 1000;
  const sim: Sim = {
    t: start,
    engine: new EngineModel(runId, timeline, store, artifacts),
    artifacts,
    settings,
    events: options.events ?? true,
    waitSeconds: 0,
    woken: 0,
    lambdaInvocations: 0,
    watchSeconds: 0,
    checks: 0,
  };
  sims.set(runId, sim);
  const iso = new Date(start * 1000).toISOString();
  await store.createRun({
    runId,
    status: "QUEUED",
    version: 1,
    spec: toRunSpec(
      EvaluationRequest.parse({
        model: { id: "mistralai/Mistral-7B-v0.1", parameters: 7.24e9 },
        tasks: ["gsm8k"],
      }),
    ),
    createdAt: iso,
    updatedAt: iso,
    attempts: 0,
  });
  const execution = stack.stepFunctions.startExecution(
    stack.stateMachineArn,
    runId,
    JSON.stringify({ runId, maxAttempts: 3, capacity: { attempt: 0 } }),
  );
  await execution.done;
  const cancelled = timeline.cancelAfterSeconds !== undefined;
  if (execution.status !== "SUCCEEDED" || (!cancelled && !execution.output?.includes('"SUCCEEDED"')))
    throw new Error(
      `simulated run ${runId} ended ${execution.status}: ${execution.cause ?? execution.output}`,
    );
  const f = historyFigures(execution);
  const engine = sim.engine;
  return {
    ...f,
    checks: sim.checks,
    lambdaInvocations: sim.lambdaInvocations,
    watchSeconds: sim.watchSeconds,
    endSeenAfterSeconds: (sim.decidedAt ?? Number.NaN) - (engine.endedAt ?? Number.NaN),
    ...(engine.interruptedAt !== undefined
      ? {
          interruptionSeenAfterSeconds: (sim.interruptionSeenAt ?? Number.NaN) - engine.interruptedAt,
          replacementAfterSeconds: (sim.replacementRequestedAt ?? Number.NaN) - engine.interruptedAt,
        }
      : {}),
    ...(engine.cancelledAt !== undefined
      ? { cancelReleasedAfterSeconds: (sim.cancelReleasedAt ?? Number.NaN) - engine.cancelledAt }
      : {}),
    wokenWaits: sim.woken,
    instanceSeconds: (engine.endedAt ?? sim.t) - start,
  };
}

/** Transitions as billed (states entered + retries) and history events as AWS would write them. */
export function historyFigures(execution: LocalExecution) {
  const entered = execution.history.filter((e) => e.type.endsWith("StateEntered"));
  const retries = execution.history.filter((e) => e.type === "TaskRetried").length;
  const lambdaCalls = entered.filter((e) => e.type === "TaskStateEntered").length + retries;
  const local = execution.history.filter((e) => e.type !== "TaskRetried").length;
  return { transitions: entered.length + retries, historyEvents: local + 3 * lambdaCalls };
}

/** Task handlers for the stack: the real steps with each run's virtual clock and simulated capacity. */
export function simulationHandlers(sims: Map<string, Sim>): Record<string, TaskHandler> {
  const capacity = new SimulatedCapacity(sims);
  const simOf = (input: unknown) => {
    const runId = (input as { runId: string }).runId;
    const sim = sims.get(runId);
    if (!sim) throw new Error(`no simulation for run ${runId}`);
    sim.lambdaInvocations++;
    return { runId, sim };
  };
  const deps = (sim: Sim): CapacityDeps => ({
    store: runStore(),
    capacity,
    settings: sim.settings,
    now: () => new Date(sim.t * 1000),
    sleep: async (ms) => {
      sim.t += ms / 1000;
      sim.watchSeconds += ms / 1000;
      await sim.engine.playUntil(currentAttempt(sim), sim.t);
    },
  });
  const currentAttempt = (sim: Sim) => Math.max(0, ...sim.engine.attempts.keys());
  return {
    plan: async (input: unknown) => {
      const { runId, sim } = simOf(input);
      return planStep(deps(sim), runId);
    },
    acquireCapacity: async (input: unknown) => {
      const { runId, sim } = simOf(input);
      const previous = (input as { previousAttempt: number }).previousAttempt;
      if (previous >= 1) sim.replacementRequestedAt ??= sim.t;
      const out = await acquireStep(deps(sim), runId, previous);
      sim.waitSeconds = out.waitSeconds; // the WaitForBoot that follows
      return out;
    },
    // WaitForBoot and WaitForEngine: the real step stores the token; the wait then lasts its timeout,
    // or (events on) until the next event in it, which the real sender delivers through the token.
    awaitEvent: async (input: unknown) => {
      const { runId, sim } = simOf(input);
      const { attempt, taskToken } = input as { attempt: number; taskToken: string };
      const stored = await awaitEvent(wakeDeps(), runId, attempt, taskToken);
      if (stored.woken) return stored;
      const next = sim.events ? sim.engine.nextEvent(attempt, sim.t, sim.t + sim.waitSeconds) : undefined;
      if (!next) {
        sim.t += sim.waitSeconds; // the timeout ends the wait (0 ms later here: waitMs 0)
        return stored;
      }
      sim.t = next.at;
      await sim.engine.playUntil(attempt, sim.t);
      sim.t += EVENT_DELIVERY_SECONDS;
      const woken = await wakeRun(wakeDeps(), runId, next.cause, attempt);
      if (woken.woken) sim.woken++;
      return woken;
    },
    checkEngine: async (input: unknown) => {
      const { runId, sim } = simOf(input);
      const attempt = (input as { attempt: number }).attempt;
      sim.checks++;
      await sim.engine.playUntil(attempt, sim.t);
      const out = await checkEngineStep(deps(sim), runId, attempt);
      if (out.state === "running")
        sim.waitSeconds = out.waitSeconds; // the WaitForEngine that follows
      else if (out.state === "interrupted") sim.interruptionSeenAt ??= sim.t;
      else sim.decidedAt ??= sim.t;
      return out;
    },
    releaseCapacity: async (input: unknown) => {
      const { runId, sim } = simOf(input);
      const i = input as { outcome: "interrupted" | "finished" | "failed" | "cancelled"; reason?: string };
      if (i.outcome === "cancelled") sim.cancelReleasedAt ??= sim.t;
      return releaseStep(deps(sim), runId, i.outcome, i.reason);
    },
    recordMetrics: async (input: unknown) => {
      const { runId, sim } = simOf(input);
      return recordMetricsStep(
        { ...deps(sim), artifacts: sim.artifacts },
        runId,
        (input as { resultsKey: string }).resultsKey,
      );
    },
    finishRun: async (input: unknown) => {
      const { runId, sim } = simOf(input);
      const i = input as {
        outcome: "SUCCEEDED" | "FAILED" | "CANCELLED";
        error?: { Error?: string; Cause?: string };
      };
      return finishStep(deps(sim), runId, i.outcome, i.error);
    },
  };
}

export type { Sim };
