// Benchmark 6: a thousand runs submitted within a minute, in virtual time, against AWS's published limits.
//
// Every run goes through the product's own submit (idempotency key, StartExecution), the real state
// machine definition under aws-local-stepfunctions, and the real steps of core/pipeline.ts with the real
// store (dynalite), results in S3 (s3rver) and the real Ec2SpotProvider. What is simulated (and says so)
// is AWS itself, in bench/aws-limits.ts: EC2 behind its SDK boundary with token buckets and Spot pools
// that run out, Lambda's concurrency quota, StartExecution's bucket, the state-transition bucket and
// DynamoDB's per-partition throughput; and the engine on each instance (boot, compile-cache load, the
// evaluation, heartbeats, a Spot reclaim for some). All runs share one virtual clock (bench/virtual-time.ts):
// Waits, Step Functions' retry backoffs, Lambda durations and the SDK's retry delays all take virtual
// time, so an hour of a thousand runs takes a minute or two here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import { Artifacts, artifactKeys } from "../core/artifacts.ts";
import { s3Client } from "../core/aws.ts";
import { Ec2SpotProvider } from "../core/capacity/ec2.ts";
import {
  acquireStep,
  checkEngineStep,
  finishStep,
  type PipelineDeps,
  planStep,
  recordMetricsStep,
  releaseStep,
} from "../core/pipeline.ts";
import { EvaluationRequest, finalStatuses } from "../core/schemas.ts";
import { collectShardsStep, endShardStep, type ShardOutcome } from "../core/shards.ts";
import { submitEvaluation } from "../core/submit.ts";
import { awaitEvent } from "../core/wake.ts";
import { deployedDefaults, runStore, wakeDeps } from "../functions/runtime.ts";
import { functionForResource } from "../local/serverless-config.ts";
import { projectRoot, type Stack } from "../local/stack.ts";
import { everyState, type LocalExecution, type TaskHandler } from "../local/stepfunctions.ts";
import {
  LambdaConcurrency,
  LIMITS,
  PartitionMeter,
  ServiceError,
  SimulatedEc2,
  type SpotPools,
  transitionBucket,
  withSdkRetries,
} from "./aws-limits.ts";
import { inProcessDynamo } from "./in-process-dynamo.ts";
import { percentile } from "./stats.ts";
import { TokenBucket, VirtualClock } from "./virtual-time.ts";

export type ConcurrentScenario = {
  runs: number;
  /** Runs are submitted at uniformly spread moments within this many seconds. */
  submitWithinSeconds: number;
  models: number;
  /** Evaluation length, each run drawn within +-25% of it. */
  evaluateMinutes: number;
  /** Share of runs whose first instance Spot reclaims mid-evaluation. */
  interruptedShare: number;
  zones: string[];
  /** Spot instances per type in each zone: fewer in all than the runs, so capacity runs out. */
  poolPerZone: SpotPools;
  /**
   * AWS's limits times this (1: as published). A small version of the scenario scales them with its
   * number of runs, so that 50 runs meet them as 1,000 would.
   */
  limitScale?: number;
};

export const thousandRuns: ConcurrentScenario = {
  runs: 1000,
  submitWithinSeconds: 60,
  models: 100,
  evaluateMinutes: 20,
  interruptedShare: 0.03,
  zones: ["us-east-1a", "us-east-1b", "us-east-1c"],
  poolPerZone: { "inf2.xlarge": 180, "inf2.8xlarge": 40, "inf2.24xlarge": 15, "inf2.48xlarge": 10 },
};

/** The thousand-run scenario at another size: pools and AWS's limits scale with the number of runs. */
export function scaledScenario(runs: number): ConcurrentScenario {
  const k = runs / thousandRuns.runs;
  return {
    ...thousandRuns,
    runs,
    models: Math.max(1, Math.round(thousandRuns.models * k)),
    poolPerZone: Object.fromEntries(
      Object.entries(thousandRuns.poolPerZone).map(([type, n]) => [type, Math.max(1, Math.round(n * k))]),
    ),
    limitScale: k,
  };
}

/** Virtual seconds each Lambda invocation lasts, beyond the work it waits for (assumed, not measured). */
const LAMBDA_SECONDS: Record<string, number> = {
  plan: 0.4,
  acquireCapacity: 2.5,
  checkEngine: 0.3,
  releaseCapacity: 1.5,
  recordMetrics: 0.8,
  endShard: 0.3,
  collectShards: 0.3,
  finishRun: 0.3,
};
const BOOT_SECONDS = 270;
const PREPARE_SECONDS = 360;
const HEARTBEAT_SECONDS = 30;
const ITEMS = 1319;

type Plan = {
  instanceId: string;
  launchedAt: number;
  carried: number;
  evalStart: number;
  ends: number;
  interruptsAt?: number;
};

/** The engine of one run across its attempts, written into the store as the virtual clock passes. */
class RunEngine {
  readonly attempts = new Map<number, Plan>();
  /** The last heartbeat written per attempt: the engine beats every 30 s, not at every look. */
  private readonly beats = new Map<number, number>();
  readonly runId: string;
  readonly evaluateSeconds: number;
  readonly interruptAfter: number | undefined;
  constructor(runId: string, evaluateSeconds: number, interruptAfter: number | undefined) {
    this.runId = runId;
    this.evaluateSeconds = evaluateSeconds;
    this.interruptAfter = interruptAfter;
  }

  launched(attempt: number, instanceId: string, t: number) {
    const previous = this.attempts.get(attempt - 1);
    const carried = previous?.interruptsAt !== undefined ? this.doneAt(previous, previous.interruptsAt) : 0;
    const evalStart = t + BOOT_SECONDS + PREPARE_SECONDS;
    const plan: Plan = {
      instanceId,
      launchedAt: t,
      carried,
      evalStart,
      ends: evalStart + ((ITEMS - carried) / ITEMS) * this.evaluateSeconds,
    };
    if (attempt === 1 && this.interruptAfter !== undefined)
      plan.interruptsAt = evalStart + this.interruptAfter;
    this.attempts.set(attempt, plan);
  }

  private doneAt = (a: Plan, t: number) =>
    Math.min(ITEMS, a.carried + (Math.max(0, t - a.evalStart) / this.evaluateSeconds) * ITEMS);

  async playUntil(attempt: number, t: number, sim: Simulation) {
    const a = this.attempts.get(attempt);
    if (!a) return;
    const store = runStore();
    const iso = (s: number) => new Date(s * 1000).toISOString();
    if (a.interruptsAt !== undefined && t >= a.interruptsAt) {
      sim.ec2.reclaim(a.instanceId);
      await store.updateAttempt(this.runId, attempt, ["LAUNCHING", "RUNNING"], {
        status: "INTERRUPTED",
        endReason: "Spot interruption warning (simulated)",
      });
      return;
    }
    if (t >= a.ends) {
      const resultsKey = artifactKeys.results(this.runId, attempt, "results.json");
      if (!sim.resultsWritten.has(resultsKey)) {
        sim.resultsWritten.add(resultsKey);
        await sim.artifacts.putText(resultsKey, simulatedResults(this.runId));
      }
      await store.updateAttempt(this.runId, attempt, ["LAUNCHING", "RUNNING"], {
        status: "FINISHED",
        resultsKey,
        heartbeatAt: iso(a.ends),
        progress: { phase: "done", done: ITEMS, total: ITEMS },
      });
      return;
    }
    const booted = a.launchedAt + BOOT_SECONDS;
    if (t < booted) return;
    const beat = booted + Math.floor((t - booted) / HEARTBEAT_SECONDS) * HEARTBEAT_SECONDS;
    if (this.beats.get(attempt) === beat) return;
    this.beats.set(attempt, beat);
    const done = this.doneAt(a, beat);
    const rate = ITEMS / this.evaluateSeconds;
    await store.updateAttempt(this.runId, attempt, ["LAUNCHING", "RUNNING"], {
      status: "RUNNING",
      heartbeatAt: iso(beat),
      progress:
        beat < a.evalStart
          ? { phase: "compile", done: 0, total: 0 }
          : {
              phase: "evaluate",
              done: Math.floor(done),
              total: ITEMS,
              ratePerSecond: rate,
              etaSeconds: Math.round((ITEMS - done) / rate),
            },
    });
  }
}

const simulatedResults = (runId: string) =>
  JSON.stringify({
    results: {
      gsm8k: {
        alias: "gsm8k",
        "exact_match,strict-match": 0.3 + (Number.parseInt(runId.slice(-3), 36) % 100) / 1000,
        "exact_match_stderr,strict-match": 0.0134,
      },
    },
    versions: { gsm8k: 3 },
    "n-shot": { gsm8k: 5 },
    spoteval: {
      simulated: true,
      note: "SIMULATED by npm run bench: 1,000 concurrent runs, no model was run",
    },
  });

type RunState = {
  engine: RunEngine;
  /** Virtual time the next step may start: the end of the Wait before it. */
  due: number;
  /**
   * The last step's failure, while Step Functions retries it: its error, and the retries so far per
   * retrier of the state (as Step Functions counts them: one count per retrier for the whole state visit,
   * kept when another error comes in between).
   */
  failure?: { fn: string; error: string; retries: number[] };
  /** Virtual time of each Lambda invocation, in order (to place history events in virtual time). */
  invoked: number[];
  stages: Record<string, { first: number; last: number }>;
  /** Virtual seconds each step took, its retries and their backoff included (Waits before it not). */
  spent: Record<string, number>;
  submittedAt?: number;
};

type Retrier = {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
};

/** The definition with every Task's real-time TimeoutSeconds out of reach (see Simulation.run). */
function withVirtualTimeouts<D extends { States: Record<string, unknown> }>(definition: D): D {
  const copy = structuredClone(definition);
  for (const [, state] of everyState(copy as never) as unknown as [
    string,
    { Type?: string; Resource?: string; TimeoutSeconds?: number },
  ][])
    if (state.Type === "Task" && !state.Resource?.endsWith(".waitForTaskToken"))
      state.TimeoutSeconds = 2_000_000; // 23 days: its timer in ms must fit 2^31
  return copy;
}

/** The Retry blocks of the current definition, per function (the first Task state that calls it). */
function retriersByFunction(): Record<string, { retry: Retrier[]; timeoutSeconds: number }> {
  const definition = JSON.parse(
    readFileSync(join(projectRoot, "statemachine/evaluation.asl.json"), "utf8"),
  ) as {
    States: Record<string, { Type: string; Resource?: string; Retry?: Retrier[]; TimeoutSeconds?: number }>;
  };
  const out: Record<string, { retry: Retrier[]; timeoutSeconds: number }> = {};
  for (const [, state] of everyState(definition as never) as unknown as [
    string,
    { Type: string; Resource?: string; Retry?: Retrier[]; TimeoutSeconds?: number },
  ][]) {
    const fn = state.Type === "Task" && state.Resource ? functionForResource(state.Resource) : undefined;
    if (fn && !out[fn]) out[fn] = { retry: state.Retry ?? [], timeoutSeconds: state.TimeoutSeconds ?? 60 };
  }
  return out;
}

/** The retrier of a state that takes `error` (-1: none). */
const retrierOf = (retriers: Retrier[], error: string) =>
  retriers.findIndex((x) => x.ErrorEquals.includes(error) || x.ErrorEquals.includes("States.ALL"));

/**
 * Step Functions' delay before the next retry of a step that failed with `error`, `retries` being the
 * retries so far per retrier, this failure counted (0: not retried).
 */
function retryDelay(retriers: Retrier[], error: string, retries: number[]): number {
  const i = retrierOf(retriers, error);
  const r = retriers[i];
  const n = retries[i] ?? 0;
  if (!r || n > (r.MaxAttempts ?? 3)) return 0;
  const base = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** (n - 1);
  const capped = Math.min(base, r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
  return r.JitterStrategy === "FULL" ? Math.random() * capped : capped;
}

export class Simulation {
  readonly clock: VirtualClock;
  readonly ec2: SimulatedEc2;
  readonly lambda: LambdaConcurrency;
  readonly startExecutionBucket: TokenBucket;
  readonly partitions: PartitionMeter;
  readonly runs = new Map<string, RunState>();
  readonly executions = new Map<string, LocalExecution>();
  readonly resultsWritten = new Set<string>();
  readonly failures: Record<string, number> = {};
  readonly invocations: Record<string, number> = {};
  submitRetries = 0;
  artifacts!: Artifacts;
  private readonly scenario: ConcurrentScenario;
  private readonly retriers = retriersByFunction();
  private readonly provider: Ec2SpotProvider;
  private index = 0;

  constructor(scenario: ConcurrentScenario) {
    this.scenario = scenario;
    this.clock = new VirtualClock(Math.floor(Date.now() / 1000));
    const scale = scenario.limitScale ?? 1;
    this.ec2 = new SimulatedEc2(this.clock, {
      scale,
      zones: scenario.zones,
      poolPerZone: scenario.poolPerZone,
      onLaunch: (runId, attempt, instanceId) =>
        this.stateOf(runId).engine.launched(attempt, instanceId, this.clock.now),
    });
    this.lambda = new LambdaConcurrency(
      this.clock,
      Math.max(1, Math.round(LIMITS.lambdaConcurrency * scale)),
    );
    const [size, rate] = LIMITS.stepFunctions.StartExecution;
    this.startExecutionBucket = new TokenBucket(
      this.clock,
      "Step Functions StartExecution",
      Math.max(1, size * scale),
      rate * scale,
    );
    this.partitions = new PartitionMeter(this.clock);
    this.provider = new Ec2SpotProvider({
      // A real client whose send is the simulation's: the SDK's paginators accept only an EC2Client.
      ec2: Object.assign(new EC2Client({ region: "us-east-1" }), {
        send: (command: unknown) => this.ec2.send(command as never),
      }) as unknown as EC2Client,
      launchTemplateId: "lt-simulated",
      subnetIds: this.ec2.subnetIds,
      managedBy: "spoteval",
      // Each backend's image, as a deployment names them (the launch refuses a backend without one).
      engineImages: { neuronx: "engine:neuronx-simulated", "vllm-neuron": "engine:vllm-neuron-simulated" },
      now: () => new Date(this.clock.now * 1000),
    });
  }

  /** A run's simulation state, made on first sight (its first step may start before submit returns). */
  private stateOf(runId: string): RunState {
    let state = this.runs.get(runId);
    if (!state) {
      const i = this.index++;
      const spread = 0.75 + ((i * 7919) % 1000) / 2000;
      const interrupted = (i * 104729) % 1000 < this.scenario.interruptedShare * 1000;
      const evaluate = this.scenario.evaluateMinutes * 60 * spread;
      state = {
        engine: new RunEngine(runId, evaluate, interrupted ? evaluate * 0.4 : undefined),
        due: 0,
        invoked: [],
        stages: {},
        spent: {},
      };
      this.runs.set(runId, state);
    }
    return state;
  }

  private deps(state: RunState): PipelineDeps {
    const settings = deployedDefaults();
    return {
      store: runStore(),
      capacity: this.provider,
      artifacts: this.artifacts,
      settings,
      now: () => new Date(this.clock.now * 1000),
      sleep: async (ms) => {
        await this.clock.sleep(ms / 1000);
        await state.engine.playUntil(Math.max(0, ...state.engine.attempts.keys()), this.clock.now, this);
      },
    };
  }

  /** A step as Lambda runs it: after its Wait or retry backoff, within the concurrency quota, for its duration. */
  private step(
    fn: string,
    body: (state: RunState, input: Record<string, unknown>) => Promise<{ out: unknown; wait?: number }>,
  ): TaskHandler {
    return async (raw) => {
      const input = raw as Record<string, unknown>;
      const state = this.stateOf(input.runId as string);
      const failure = state.failure?.fn === fn ? state.failure : undefined;
      const retriers = this.retriers[fn]?.retry ?? [];
      const backoff = failure ? retryDelay(retriers, failure.error, failure.retries) : 0;
      const ready = Math.max(state.due, this.clock.now);
      await this.clock.until(Math.max(state.due, this.clock.now + backoff));
      state.due = 0;
      state.invoked.push(this.clock.now);
      this.invocations[fn] = (this.invocations[fn] ?? 0) + 1;
      state.stages[fn] ??= { first: this.clock.now, last: this.clock.now };
      const stage = state.stages[fn];
      try {
        const started = this.clock.now;
        const { out, wait } = await this.lambda.invoke(LAMBDA_SECONDS[fn] ?? 0.3, () => body(state, input));
        if (this.clock.now - started > (this.retriers[fn]?.timeoutSeconds ?? 60))
          throw new ServiceError("States.Timeout", `${fn} ran longer than its TimeoutSeconds (virtual time)`);
        state.failure = undefined;
        if (wait !== undefined) state.due = this.clock.now + wait;
        return out;
      } catch (error) {
        const name = (error as Error).name;
        this.failures[name] = (this.failures[name] ?? 0) + 1;
        const retries = failure?.retries ?? [];
        const i = retrierOf(retriers, name);
        if (i >= 0) retries[i] = (retries[i] ?? 0) + 1;
        state.failure = { fn, error: name, retries };
        throw error;
      } finally {
        stage.last = this.clock.now;
        state.spent[fn] = (state.spent[fn] ?? 0) + (this.clock.now - ready);
      }
    };
  }

  /** The task handlers for startStack: the real steps, in virtual time, against simulated AWS. */
  handlers(): Record<string, TaskHandler> {
    const runId = (input: Record<string, unknown>) => input.runId as string;
    return {
      plan: this.step("plan", async (s, input) => ({ out: await planStep(this.deps(s), runId(input)) })),
      acquireCapacity: this.step("acquireCapacity", async (s, input) => {
        const out = await acquireStep(this.deps(s), runId(input), input.previousAttempt as number);
        return { out, wait: out.waitSeconds };
      }),
      // WaitForBoot and WaitForEngine: the wait itself is the previous step's `wait` (played in virtual
      // time before this step runs); the real step stores the token, and the local timeout (waitMs 0)
      // ends the wait at once. No events here: every run is seen by its polls, today's backstop.
      awaitEvent: this.step("awaitEvent", async (_s, input) => ({
        out: await awaitEvent(wakeDeps(), runId(input), input.attempt as number, input.taskToken as string),
      })),
      checkEngine: this.step("checkEngine", async (s, input) => {
        await s.engine.playUntil(input.attempt as number, this.clock.now, this);
        const out = await checkEngineStep(this.deps(s), runId(input), input.attempt as number);
        return { out, ...(out.state === "running" ? { wait: out.waitSeconds } : {}) };
      }),
      releaseCapacity: this.step("releaseCapacity", async (s, input) => ({
        out: await releaseStep(
          this.deps(s),
          runId(input),
          input.outcome as "interrupted" | "finished" | "failed" | "cancelled",
          input.reason as string | undefined,
        ),
      })),
      endShard: this.step("endShard", async (s, input) => ({
        out: await endShardStep(
          this.deps(s),
          runId(input),
          input.outcome as "finished" | "failed" | "cancelled",
          {
            ...(input.resultsKey ? { resultsKey: input.resultsKey as string } : {}),
            ...(input.error ? { error: input.error as { Error?: string; Cause?: string } } : {}),
          },
        ),
      })),
      collectShards: this.step("collectShards", async (s, input) => ({
        out: await collectShardsStep(this.deps(s), runId(input), input.shards as ShardOutcome[]),
      })),
      recordMetrics: this.step("recordMetrics", async (s, input) => ({
        out: await recordMetricsStep(this.deps(s), runId(input), input.resultsKey as string),
      })),
      finishRun: this.step("finishRun", async (s, input) => ({
        out: await finishStep(
          this.deps(s),
          runId(input),
          input.outcome as "SUCCEEDED" | "FAILED" | "CANCELLED",
          input.error as { Error?: string; Cause?: string } | undefined,
        ),
      })),
    };
  }

  /** Submit every run within the minute and play them all to their end. */
  async run(stack: Stack, onProgress?: (line: string) => void): Promise<ConcurrentFigures> {
    this.artifacts = new Artifacts(s3Client(), stack.bucket);
    // A Task's TimeoutSeconds is a real-time timer in aws-local-stepfunctions, and a step parked in
    // virtual time waits on every other run: the definition runs with those timers lifted, and step()
    // holds each step to its TimeoutSeconds in virtual time instead.
    const machine = stack.stepFunctions.machines.get(stack.stateMachineArn);
    if (!machine) throw new Error("the stack has no state machine");
    stack.stepFunctions.register({
      ...machine.options,
      definition: withVirtualTimeouts(machine.options.definition),
    });
    const db = runStore().db;
    // Counted, not timed: every step's store calls go to dynalite without HTTP (bench/in-process-dynamo.ts).
    const direct = inProcessDynamo(db, stack.dynamo);
    const send = db.send.bind(db);
    (db as { send: unknown }).send = (command: never, ...rest: never[]) => {
      this.partitions.write(command);
      return send(command, ...rest);
    };
    const t0 = this.clock.now;
    const { runs, submitWithinSeconds, models } = this.scenario;
    const submitDeps = {
      store: runStore(),
      maxAttempts: 3,
      maxRunHours: 24,
      startExecution: (name: string, input: unknown) =>
        withSdkRetries(this.clock, [this.startExecutionBucket], "ThrottlingException", () => {
          const execution = stack.stepFunctions.startExecution(
            stack.stateMachineArn,
            name,
            JSON.stringify(input),
          );
          if (!this.executions.has(name)) {
            this.executions.set(name, execution);
            this.stateOf(name).submittedAt = this.clock.now;
            this.clock.join();
            void execution.done.finally(() => this.clock.leave());
          }
          return execution.executionArn;
        }),
    };
    const clients = Array.from({ length: runs }, (_, i) => {
      this.clock.join();
      return (async () => {
        try {
          await this.clock.until(t0 + (i / runs) * submitWithinSeconds);
          // A 1B model: vLLM on Neuron compiles it on inf2.xlarge, the pool the scenario's Spot capacity
          // is sized for (a 7-8B model compiles on inf2.8xlarge or larger: core/serving.ts).
          const request = EvaluationRequest.parse({
            model: { id: `bench/concurrent-${i % models}`, parameters: 1.24e9 },
            tasks: ["gsm8k"],
            labels: { bench: "concurrent" },
          });
          for (let tries = 1; ; tries++) {
            try {
              await submitEvaluation(submitDeps, request, `bench-concurrent-${t0}-${i}`);
              return;
            } catch (error) {
              // The client's own retry of a refused POST: same Idempotency-Key, so never a second run.
              if (tries >= 8) throw error;
              this.submitRetries++;
              await this.clock.sleep(Math.random() * 2 ** tries);
            }
          }
        } finally {
          this.clock.leave();
        }
      })();
    });
    let reported = 0;
    const progress = setInterval(() => {
      const done = [...this.executions.values()].filter((e) => e.status !== "RUNNING").length;
      if (done !== reported)
        onProgress?.(`${done}/${runs} runs ended, ${Math.round((this.clock.now - t0) / 60)} virtual min`);
      reported = done;
    }, 10_000);
    try {
      await Promise.all(clients);
      await Promise.all([...this.executions.values()].map((e) => e.done));
    } finally {
      clearInterval(progress);
      (db as { send: unknown }).send = send;
    }
    try {
      return await this.figures(t0);
    } finally {
      direct();
    }
  }

  private async figures(t0: number): Promise<ConcurrentFigures> {
    const store = runStore();
    let succeeded = 0;
    let failed = 0;
    let stuck = 0;
    let openAttempts = 0;
    const reasons: Record<string, number> = {};
    for (const runId of this.executions.keys()) {
      const run = await store.mustGetRun(runId);
      if (run.status === "SUCCEEDED") succeeded++;
      else if (finalStatuses.includes(run.status)) {
        failed++;
        const why = run.error?.name ?? run.status;
        reasons[why] = (reasons[why] ?? 0) + 1;
      } else stuck++;
      for (const a of await store.listAttempts(runId)) if (!a.endedAt) openAttempts++;
    }
    // Billed state transitions, placed in virtual time: each Task entry or retry is one invocation.
    const perSecond = new Map<number, number>();
    for (const [runId, execution] of this.executions) {
      const times = this.runs.get(runId)?.invoked ?? [];
      let k = 0;
      let t = times[0] ?? t0;
      for (const e of execution.history) {
        if (e.type === "TaskStateEntered" || e.type === "TaskRetried") t = times[k++] ?? t;
        if (e.type.endsWith("StateEntered") || e.type === "TaskRetried")
          perSecond.set(Math.floor(t), (perSecond.get(Math.floor(t)) ?? 0) + 1);
      }
    }
    const transitions = transitionBucket(perSecond);
    const partitions = this.partitions.peaks();
    const limits = [
      ...Object.values(this.ec2.buckets).map((b) => ({
        limit: b.name,
        hits: b.throttled,
        firstAt: b.firstThrottledAt,
      })),
      {
        limit: "Spot capacity (pools empty)",
        hits: this.ec2.capacityRefusals,
        firstAt: this.ec2.firstCapacityRefusalAt,
      },
      { limit: "Lambda concurrency", hits: this.lambda.throttled, firstAt: this.lambda.firstThrottledAt },
      {
        limit: this.startExecutionBucket.name,
        hits: this.startExecutionBucket.throttled,
        firstAt: this.startExecutionBucket.firstThrottledAt,
      },
      {
        limit: "Step Functions StateTransition",
        hits: transitions.firstThrottledAt === undefined ? 0 : 1,
        firstAt: transitions.firstThrottledAt,
      },
      {
        limit: "DynamoDB partition write units",
        hits: partitions.top.units > LIMITS.dynamoPartitionWcu ? 1 : 0,
        firstAt: undefined,
      },
    ]
      .filter((l) => l.hits > 0)
      .map((l) => ({
        ...l,
        firstAfterSeconds: l.firstAt === undefined ? undefined : Math.round(l.firstAt - t0),
      }))
      .sort((a, b) => (a.firstAfterSeconds ?? 1e12) - (b.firstAfterSeconds ?? 1e12));
    const stage = (name: string, of: (s: RunState) => number | undefined) => {
      const xs = [...this.runs.values()].map(of).filter((x): x is number => x !== undefined);
      return {
        stage: name,
        p50Seconds: Math.round(percentile(xs, 50)),
        p99Seconds: Math.round(percentile(xs, 99)),
      };
    };
    const span = (fn: string) => (s: RunState) =>
      s.stages[fn]
        ? (s.stages[fn] as { first: number; last: number }).last - (s.stages[fn] as { first: number }).first
        : undefined;
    const stages = [
      stage("submit -> Plan", (s) =>
        s.stages.plan && s.submittedAt !== undefined ? s.stages.plan.first - s.submittedAt : undefined,
      ),
      stage("AcquireCapacity (throttling and queueing for Spot included)", (s) => s.spent.acquireCapacity),
      stage("engine: boot, evaluation, end seen (all attempts)", span("checkEngine")),
      stage("ReleaseCapacity", (s) => s.spent.releaseCapacity),
      stage("RecordMetrics", (s) => s.spent.recordMetrics),
    ].sort((a, b) => b.p99Seconds - a.p99Seconds);
    const ends = [...this.runs.values()].map((s) => Math.max(...Object.values(s.stages).map((x) => x.last)));
    return {
      simulated:
        "AWS limits, EC2, Spot capacity and the engine are simulated in virtual time (bench/aws-limits.ts)",
      runs: this.executions.size,
      succeeded,
      failed,
      failedBecause: reasons,
      stuck,
      leaked: this.ec2.running().length,
      openAttempts,
      virtualMinutes: Math.round((Math.max(...ends) - t0) / 60),
      limitsHit: limits,
      firstLimit: limits[0]?.limit ?? "none",
      retried: this.failures,
      invocations: this.invocations,
      submitRetries: this.submitRetries,
      lambdaPeakConcurrency: this.lambda.peak,
      startExecutionLowestTokens: Math.floor(this.startExecutionBucket.lowest),
      transitionsPeakPerSecond: transitions.peakPerSecond,
      transitionsLowestTokens: Math.floor(transitions.lowest),
      dynamoTopPartition: partitions.top,
      dynamoAllRunsUnshardedPeak: partitions.allRunsUnsharded,
      stages,
    };
  }
}

export type ConcurrentFigures = {
  simulated: string;
  runs: number;
  succeeded: number;
  failed: number;
  failedBecause: Record<string, number>;
  stuck: number;
  leaked: number;
  openAttempts: number;
  virtualMinutes: number;
  limitsHit: { limit: string; hits: number; firstAfterSeconds?: number }[];
  firstLimit: string;
  invocations: Record<string, number>;
  /** Step failures Step Functions retried (or caught), by error name. */
  retried: Record<string, number>;
  submitRetries: number;
  lambdaPeakConcurrency: number;
  startExecutionLowestTokens: number;
  transitionsPeakPerSecond: number;
  transitionsLowestTokens: number;
  dynamoTopPartition: { partition: string; units: number };
  /** Write units in the busiest second had the all-runs index been one partition (before sharding). */
  dynamoAllRunsUnshardedPeak: number;
  stages: { stage: string; p50Seconds: number; p99Seconds: number }[];
};
