// The chaos suite: N runs through the local stack (real state machine, handlers, dynalite, s3rver,
// local instances, simulated engine) while faults are injected at random, reproducibly from a seed.
// Afterwards every invariant is checked and the figures are returned.
import { ExecutionDoesNotExist, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { Artifacts, artifactKeys } from "../../core/artifacts.ts";
import { dynamoClient, s3Client, sfnClient } from "../../core/aws.ts";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import type { CapacityProvider, LaunchRequest } from "../../core/capacity/provider.ts";
import { CapacityUnavailable, QuotaExceeded } from "../../core/errors.ts";
import type { PipelineDeps } from "../../core/pipeline.ts";
import { parseResults, uniqueRows } from "../../core/results.ts";
import type { Attempt } from "../../core/run-store.ts";
import { isFinal } from "../../core/schemas.ts";
import { createHandler as engineEventHandler } from "../../functions/events/engine-event.ts";
import { createHandler as instanceEventHandler } from "../../functions/events/instance-event.ts";
import { runStore } from "../../functions/runtime.ts";
import { createHandler as acquireHandler } from "../../functions/steps/acquire-capacity.ts";
import { createHandler as recordHandler } from "../../functions/steps/record-metrics.ts";
import { lambdaContext } from "../../local/gateway.ts";
import { type Stack, startStack } from "../../local/stack.ts";
import { faultFor } from "../support/faulty-backend.ts";
import { withEngineFault } from "../support/faulty-engine.ts";
import { apiClient, executionArnOf, localSfn, pipelineDeps, waitFor } from "../support/stack.ts";

/** mulberry32: a small seeded PRNG, so a seed replays the same faults. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Scenario = {
  noCapacityTries: number;
  quota: boolean;
  launchTimeout: boolean;
  reclaimAfterMs?: number;
  noticeAfterMs?: number;
  engineFault?: string;
  recordTimeout: boolean;
  cancelAfterMs?: number;
  abortAfterMs?: number;
  duplicateSubmit: boolean;
};

export type ChaosOptions = {
  runs: number;
  seed: number;
  /** Shards per run: > 1 runs mmlu split over this many instances, each shard with its own faults. */
  shards?: number;
  concurrency?: number;
  throttleRate?: number;
  /** false: no fault at all, for the load test (N concurrent runs, invariants still checked). */
  faults?: boolean;
  /** Share of EventBridge deliveries (EngineFinished, EC2 events) lost, and of those delivered twice. */
  lostEventRate?: number;
  duplicateEventRate?: number;
  log?: (line: string) => void;
};
export type ChaosFigures = {
  runs: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  stuck: number;
  leaked: number;
  lost: number;
  duplicated: number;
  p50_s: number;
  p99_s: number;
  wall_s: number;
  faults: Record<string, number>;
  problems: string[];
};

/** The faults that strike one shard's capacity and engine (the others are the run's own). */
const shardFaults = ["quota", "launchTimeout", "reclaimAfterMs", "noticeAfterMs", "engineFault"] as const;

function scenario(rng: () => number): Scenario {
  const pick = (p: number) => rng() < p;
  const engineFaults = ["crash@1", "hang@1", "fail", "bad-results"];
  return {
    noCapacityTries: pick(0.2) ? 1 + Math.floor(rng() * (pick(0.2) ? 7 : 3)) : 0,
    quota: pick(0.03),
    launchTimeout: pick(0.1),
    ...(pick(0.15) ? { reclaimAfterMs: 200 + Math.floor(rng() * 1500) } : {}),
    ...(pick(0.1) ? { noticeAfterMs: 200 + Math.floor(rng() * 1500) } : {}),
    ...(pick(0.12) ? { engineFault: engineFaults[Math.floor(rng() * engineFaults.length)] } : {}),
    recordTimeout: pick(0.1),
    ...(pick(0.08) ? { cancelAfterMs: Math.floor(rng() * 2500) } : {}),
    ...(pick(0.05) ? { abortAfterMs: 300 + Math.floor(rng() * 2000) } : {}),
    duplicateSubmit: pick(0.1),
  };
}

type Stackable = { add: (m: unknown, o: unknown) => void; remove: (name: string) => boolean };

/**
 * Throttling and 5xx from the AWS APIs the handlers call: the SDK's retries must absorb them. The
 * clients are shared by the process, so the fault replaces any earlier one and comes off at the end.
 */
function injectThrottling(rng: () => number, rate: number, counter: { n: number }): () => void {
  const clients = [dynamoClient(), s3Client(), sfnClient()];
  const stacks = clients.map((client) => client.middlewareStack as unknown as Stackable);
  for (const stack of stacks) {
    stack.remove("chaosThrottle");
    stack.add(
      (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
        if (rng() < rate) {
          counter.n++;
          const throttled = rng() < 0.5;
          throw Object.assign(new Error(throttled ? "Rate exceeded" : "We encountered an internal error"), {
            name: throttled ? "ThrottlingException" : "InternalServerError",
            $fault: throttled ? "client" : "server",
            $metadata: { httpStatusCode: throttled ? 400 : 500 },
          });
        }
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "chaosThrottle" },
    );
  }
  return () => {
    for (const stack of stacks) stack.remove("chaosThrottle");
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const log = options.log ?? (() => undefined);
  // Scenarios are drawn up front from the seed, so the same seed injects the same faults however the
  // runs interleave; throttling draws from its own stream.
  const draw = prng(options.seed);
  const none: Scenario = {
    noCapacityTries: 0,
    quota: false,
    launchTimeout: false,
    recordTimeout: false,
    duplicateSubmit: false,
  };
  const shardCount = options.shards ?? 1;
  // Per run, a scenario per shard: the first also holds the run's own faults (cancel, abort, a
  // duplicate submit, a recording that times out); capacity and engine faults strike each shard.
  const planned = Array.from({ length: options.runs }, () =>
    Array.from({ length: shardCount }, () => (options.faults === false ? none : scenario(draw))),
  );
  const rng = prng(options.seed * 7919 + 1);
  const scenarios = new Map<string, Scenario[]>();
  const launches = new Map<string, number>(); // runId#attempt -> instances launched
  const faults: Record<string, number> = {};
  const count = (f: string) => {
    faults[f] = (faults[f] ?? 0) + 1;
  };
  const timedOutOnce = new Set<string>();
  let bus: Stack["events"] | undefined;
  /** Put an EC2 event on the local bus, as AWS would for one of our instances. */
  const ec2Event = (instanceId: string, detailType: string, detail: Record<string, string>) =>
    bus?.put([
      {
        Source: "aws.ec2",
        DetailType: detailType,
        Detail: JSON.stringify({ "instance-id": instanceId, ...detail }),
      },
    ]);

  const capacityFor = (base: CapacityProvider, runId: string, s: Scenario): CapacityProvider => ({
    name: base.name,
    describe: (ids) => base.describe(ids),
    releaseRun: (id, options) => base.releaseRun(id, options),
    listManaged: () => base.listManaged(),
    launch: async (request: LaunchRequest) => {
      if (s.quota) throw new QuotaExceeded("VcpuLimitExceeded: chaos quota (All Inf Spot Instance Requests)");
      if ((request.launchTry ?? 1) <= s.noCapacityTries)
        throw new CapacityUnavailable("InsufficientInstanceCapacity: chaos");
      const local = base as LocalProcessProvider;
      // The engine's faults wrap its backend from the outside (tests/support/faulty-backend.ts).
      const fault = faultFor(s.engineFault, request.attempt);
      const provider = fault ? await withEngineFault(local, fault) : local;
      const instance = await provider.launch(request);
      const key = `${runId}#${request.attempt}`;
      const fresh = !launches.has(`${key}@${instance.instanceId}`);
      if (fresh) {
        launches.set(`${key}@${instance.instanceId}`, 1);
        launches.set(key, (launches.get(key) ?? 0) + 1);
      }
      if (fresh && request.attempt === 1 && s.reclaimAfterMs !== undefined) {
        setTimeout(async () => {
          await LocalProcessProvider.reclaim(instance.instanceId);
          ec2Event(instance.instanceId, "EC2 Instance State-change Notification", { state: "terminated" });
        }, s.reclaimAfterMs).unref();
      }
      if (fresh && request.attempt === 1 && s.noticeAfterMs !== undefined) {
        // The Spot warning reaches the pipeline through the bus, as EventBridge delivers it.
        setTimeout(
          () =>
            ec2Event(instance.instanceId, "EC2 Spot Instance Interruption Warning", {
              "instance-action": "terminate",
            }),
          s.noticeAfterMs,
        ).unref();
      }
      if (s.launchTimeout && !timedOutOnce.has(`launch:${runId}`)) {
        // The launch succeeded but the Lambda timed out: Step Functions retries the same attempt.
        timedOutOnce.add(`launch:${runId}`);
        throw Object.assign(new Error("Task timed out after 60.00 seconds (chaos)"), {
          name: "Lambda.Unknown",
        });
      }
      return instance;
    },
  });

  const withScenario = async (
    input: unknown,
    make: (s: Scenario, runId: string, deps: PipelineDeps) => PipelineDeps,
  ) => {
    const runId = (input as { runId: string }).runId;
    const run = await runStore().mustGetRun(runId);
    const s = scenarios.get(run.spec.model.id)?.[run.shard ?? 0];
    const deps = pipelineDeps();
    return s ? make(s, runId, deps) : deps;
  };

  // EventBridge delivers at least once and, rarely, not at all: lose some events, deliver some twice.
  const eventRng = prng(options.seed * 104729 + 3);
  const lossy =
    (name: string) =>
    async (event: unknown): Promise<unknown> => {
      const handler = (e: unknown) =>
        (name === "onEngineEvent" ? engineEventHandler : instanceEventHandler)()(e, lambdaContext(name));
      const roll = eventRng();
      if (options.faults !== false && roll < (options.lostEventRate ?? 0.15)) {
        count("lost events");
        return { lost: true };
      }
      if (
        options.faults !== false &&
        roll < (options.lostEventRate ?? 0.15) + (options.duplicateEventRate ?? 0.15)
      ) {
        count("duplicated events");
        const [first] = await Promise.all([handler(event), handler(event)]);
        return first;
      }
      return handler(event);
    };

  const stack: Stack = await startStack({
    port: 0,
    simulatedSeconds: 1,
    // Waits keep their own timeouts (the poll, 1-2 s here), so events, lost or not, decide how soon a
    // run moves on; a lost one costs that poll.
    retryMs: 0,
    janitorSeconds: 2,
    // Chaos wants hangs noticed fast; the load test runs 100 engines on this machine's cores, where a
    // heartbeat can be late by tens of seconds without anything being wrong.
    env:
      options.faults === false
        ? {
            STALL_SECONDS: "120",
            BOOT_SECONDS: "600",
            MAX_ATTEMPTS: "3",
            JANITOR_SILENT_SECONDS: "900",
            // One event loop serves dynalite, s3rver and every handler here: 100 engines beating twice a
            // second would be 400 DynamoDB requests a second into it. AWS's default is 30 s.
            ENGINE_HEARTBEAT_SECONDS: "5",
            // and 100 executions polling every second would be a few hundred more: dynalite, one JS
            // thread, answers each request in seconds at that rate (AWS's minimum poll is 30 s).
            POLL_MIN_SECONDS: "4",
            POLL_MAX_SECONDS: "10",
          }
        : { STALL_SECONDS: "3", BOOT_SECONDS: "60", MAX_ATTEMPTS: "3", JANITOR_SILENT_SECONDS: "20" },
    handlers: {
      onEngineEvent: lossy("onEngineEvent"),
      onInstanceEvent: lossy("onInstanceEvent"),
      acquireCapacity: async (input) => {
        const deps = await withScenario(input, (s, runId, d) => ({
          ...d,
          capacity: capacityFor(d.capacity, runId, s),
        }));
        return acquireHandler(() => deps)(input, lambdaContext("acquireCapacity"));
      },
      recordMetrics: async (input) => {
        const runId = (input as { runId: string }).runId;
        const out = await recordHandler()(input, lambdaContext("recordMetrics"));
        const run = await runStore().mustGetRun(runId);
        if (scenarios.get(run.spec.model.id)?.[0].recordTimeout && !timedOutOnce.has(`record:${runId}`)) {
          timedOutOnce.add(`record:${runId}`);
          throw Object.assign(new Error("Task timed out after its metrics were written (chaos)"), {
            name: "Lambda.Unknown",
          });
        }
        return out;
      },
    },
  });
  bus = stack.events;
  const throttles = { n: 0 };
  const undoThrottling = injectThrottling(
    rng,
    options.faults === false ? 0 : (options.throttleRate ?? 0.02),
    throttles,
  );
  const api = apiClient(stack.urls.API, stack.apiKey);
  const sfn = localSfn(stack.urls.StepFunctions);
  const started = Date.now();
  const submitted: { runId: string; model: string; duplicateOf?: string }[] = [];
  const problems: string[] = [];

  const one = async (i: number) => {
    // A sharded run evaluates mmlu (a model id naming a family the neuronx backend loads) on
    // shardCount instances; a run of one shard, gsm8k.
    const model = shardCount > 1 ? `chaos/llama-run-${options.seed}-${i}` : `chaos/run-${options.seed}-${i}`;
    const shardScenarios = planned[i];
    const s = shardScenarios[0];
    scenarios.set(model, shardScenarios);
    for (const [k, v] of Object.entries(s)) if (v && k !== "noCapacityTries") count(k);
    for (const x of shardScenarios) {
      if (x !== s) for (const k of shardFaults) if (x[k]) count(k);
      if (x.noCapacityTries) count(x.noCapacityTries > 5 ? "noCapacityExhausted" : "noCapacity");
    }
    const body =
      shardCount > 1
        ? {
            model: { id: model, parameters: 7e9 },
            tasks: ["mmlu"],
            numFewshot: 5,
            limit: 2,
            capacity: { maxInstances: shardCount },
          }
        : { model: { id: model, parameters: 7e9 }, tasks: ["gsm8k"], limit: 20 };
    const key = `chaos-${options.seed}-${i}`;
    const res = await api("/evaluations", {
      method: "POST",
      json: body,
      headers: { "idempotency-key": key },
    });
    if (res.status !== 202) {
      problems.push(`submit ${model}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return;
    }
    const runId = res.body.runId as string;
    submitted.push({ runId, model });
    if (s.duplicateSubmit) {
      const again = await api("/evaluations", {
        method: "POST",
        json: body,
        headers: { "idempotency-key": key },
      });
      submitted.push({ runId: again.body.runId as string, model, duplicateOf: runId });
    }
    const timers: Promise<void>[] = [];
    if (s.cancelAfterMs !== undefined) {
      timers.push(
        new Promise((r) => setTimeout(r, s.cancelAfterMs)).then(async () => {
          await api(`/evaluations/${runId}`, { method: "DELETE" }); // 202, or 409 if it already ended
        }),
      );
    }
    if (s.abortAfterMs !== undefined) {
      timers.push(
        new Promise((r) => setTimeout(r, s.abortAfterMs)).then(async () => {
          const arn = executionArnOf(stack, runId);
          await sfn
            .send(new StopExecutionCommand({ executionArn: arn, cause: "chaos: orchestrator aborted" }))
            .catch((e) => {
              if (!(e instanceof ExecutionDoesNotExist)) throw e;
            });
        }),
      );
    }
    await Promise.all(timers);
    await waitFor(
      `run ${runId} to end`,
      async () => {
        const run = await runStore().getRun(runId);
        return run && isFinal(run.status) ? true : undefined;
      },
      180_000,
    ).catch(() => problems.push(`run ${runId} did not end in time`));
    log(`run ${i + 1}/${options.runs} ${runId} done ${JSON.stringify(s)}`);
  };

  // A bounded pool of concurrent runs.
  let next = 0;
  const workers = Array.from({ length: options.concurrency ?? 8 }, async () => {
    while (next < options.runs) await one(next++);
  });
  await Promise.all(workers);
  const wall = (Date.now() - started) / 1000;

  // Let the last releases, execution-ended deliveries and local processes settle, as a janitor would.
  await waitFor("executions to stop", async () =>
    [...stack.stepFunctions.executions.values()].some((e) => e.status === "RUNNING") ? undefined : true,
  ).catch(() => problems.push("executions still running"));
  await waitFor(
    "instances of finished runs to be gone",
    async () => (LocalProcessProvider.alive().length ? undefined : true),
    30_000,
  ).catch(() => undefined);

  // ---- invariants ----
  const store = runStore();
  const artifacts = new Artifacts(s3Client(), stack.bucket);
  let succeeded = 0;
  let failed = 0;
  let cancelled = 0;
  let stuck = 0;
  let lost = 0;
  let duplicated = 0;
  const durations: number[] = [];
  const unique = [...new Map(submitted.map((s) => [s.runId, s])).values()];
  for (const d of submitted.filter((s) => s.duplicateOf)) {
    if (d.runId !== d.duplicateOf) {
      duplicated++;
      problems.push(`idempotency key gave two runs: ${d.duplicateOf} and ${d.runId}`);
    }
  }
  for (const { runId } of unique) {
    const run = await store.getRun(runId);
    if (!run) {
      lost++;
      problems.push(`run ${runId} has no record`);
      continue;
    }
    if (run.status === "FAILED")
      log(
        `run ${runId} FAILED: ${run.reason} (attempts: ${(await store.listAttempts(runId)).map((a) => a.endReason).join("; ")})`,
      );
    if (!isFinal(run.status) || !run.reason) {
      stuck++;
      problems.push(`run ${runId} is ${run.status} (reason: ${run.reason ?? "none"})`);
      continue;
    }
    durations.push((Date.parse(run.updatedAt) - Date.parse(run.createdAt)) / 1000);
    if (run.status === "SUCCEEDED") succeeded++;
    else if (run.status === "FAILED") failed++;
    else cancelled++;
    // Every shard ended too, and each attempt of the run and of every shard is closed, priced once
    // and launched at most once.
    const shardRuns = await Promise.all((run.shards ?? []).map((id) => store.getRun(id)));
    if (shardCount > 1 && shardRuns.length !== shardCount && run.status === "SUCCEEDED")
      problems.push(`run ${runId}: ${shardRuns.length} shards, not ${shardCount}`);
    for (const [k, shard] of shardRuns.entries()) {
      if (!shard) {
        lost++;
        problems.push(`run ${runId}: shard ${k + 1} has no record`);
      } else if (!isFinal(shard.status)) {
        stuck++;
        problems.push(`run ${runId}: shard ${k + 1} is ${shard.status} after the run ended ${run.status}`);
      } else if (run.status === "SUCCEEDED" && shard.status !== "SUCCEEDED") {
        problems.push(`run ${runId} SUCCEEDED with shard ${k + 1} ${shard.status}`);
      }
    }
    const attempts: Attempt[] = [];
    for (const id of [runId, ...(run.shards ?? [])]) {
      const own = await store.listAttempts(id);
      attempts.push(...own);
      const open = own.filter((a) => !a.endedAt);
      if (open.length)
        problems.push(
          `run ${id} (of ${runId}, ${run.status}): attempt(s) ${open.map((a) => `${a.attempt} ${a.status} ${a.endReason ?? ""}`).join(", ")} never closed`,
        );
      for (const a of own) {
        const n = launches.get(`${id}#${a.attempt}`) ?? 0;
        if (n > 1) {
          duplicated++;
          problems.push(`run ${id} attempt ${a.attempt}: ${n} instances launched`);
        }
      }
    }
    const cost = attempts.reduce((sum, a) => sum + (a.costUsd ?? 0), 0);
    if (Math.abs((run.costUsd ?? 0) - cost) > 1e-6 && run.status !== "FAILED")
      problems.push(`run ${runId}: cost ${run.costUsd} is not the sum ${cost}`);
    // A SUCCEEDED run, or a failed one that kept its finished shards' metrics (partial): every row
    // of its results file is stored, no more, no fewer.
    if (run.status === "SUCCEEDED" || run.partial) {
      const metrics = await store.listMetrics(runId);
      const expected = run.resultsKey
        ? uniqueRows(parseResults(await artifacts.getText(run.resultsKey)))
        : [];
      if (!expected.length || metrics.length !== expected.length) {
        lost++;
        problems.push(
          `run ${runId}: ${metrics.length} metric items for ${expected.length} in ${run.resultsKey ?? artifactKeys.cache(runId)}`,
        );
      }
    }
  }
  const leakedInstances = LocalProcessProvider.alive();
  for (const i of leakedInstances) problems.push(`instance ${i.instanceId} of run ${i.runId} still alive`);
  count("throttled AWS calls");
  faults["throttled AWS calls"] = throttles.n;
  sfn.destroy();
  await stack.stop();
  undoThrottling();
  durations.sort((a, b) => a - b);
  const pct = (p: number) =>
    durations.length ? durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] : 0;
  return {
    runs: unique.length,
    succeeded,
    failed,
    cancelled,
    stuck,
    leaked: leakedInstances.length,
    lost,
    duplicated,
    p50_s: Math.round(pct(0.5) * 10) / 10,
    p99_s: Math.round(pct(0.99) * 10) / 10,
    wall_s: Math.round(wall),
    faults,
    problems,
  };
}

export const figuresLine = (f: ChaosFigures) =>
  `runs=${f.runs} succeeded=${f.succeeded} failed=${f.failed} cancelled=${f.cancelled} stuck=${f.stuck} leaked=${f.leaked} lost=${f.lost} duplicated=${f.duplicated} p50_s=${f.p50_s} p99_s=${f.p99_s}`;
