// The real state machine definition, run by aws-local-stepfunctions with the real handlers, dynalite,
// s3rver and local "instances", through every path it has. After each: final status and reason stored,
// every attempt closed, no instance left running.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import type { CapacityProvider, LaunchRequest } from "../../core/capacity/provider.ts";
import { AwsUnavailable, CapacityUnavailable } from "../../core/errors.ts";
import type { Run } from "../../core/run-store.ts";
import { runStore } from "../../functions/runtime.ts";
import { createHandler as acquireHandler } from "../../functions/steps/acquire-capacity.ts";
import { lambdaContext } from "../../local/gateway.ts";
import { everyState } from "../../local/stepfunctions.ts";
import { withEngineFault } from "../support/faulty-engine.ts";
import { pipelineDeps, sampleRequest, testStack, waitFor } from "../support/stack.ts";

const throttledTokens: string[] = [];
/** AcquireCapacity's Retry for CapacityUnavailable, as the definition has it. */
const capacityRetrier = () => {
  const definition = JSON.parse(
    readFileSync(new URL("../../statemachine/evaluation.asl.json", import.meta.url), "utf8"),
  );
  const [, acquire] = everyState(definition).find(([name]) => name === "AcquireCapacity") as [
    string,
    { Retry: { ErrorEquals: string[]; MaxAttempts: number }[] },
  ];
  return acquire.Retry.find((r) => r.ErrorEquals.includes("CapacityUnavailable")) as { MaxAttempts: number };
};

/** Capacity behaviour per model id: what EC2 would do for that run (the one thing mocked). */
const scenarios: Record<string, (base: CapacityProvider) => CapacityProvider> = {
  "test/no-capacity": (base) => ({
    ...bind(base),
    launch: async () => {
      throw new CapacityUnavailable("InsufficientInstanceCapacity: no inf2 Spot capacity in us-east-1a");
    },
  }),
  "test/ec2-throttled": (base) => ({
    ...bind(base),
    launch: async (request) => {
      throttledTokens.push(request.clientToken);
      if (throttledTokens.length <= 2)
        throw new AwsUnavailable("RequestLimitExceeded: Request limit exceeded.");
      return base.launch(request);
    },
  }),
  "test/engine-fails": (base) => withFault(base, "fail"),
  "test/engine-hangs-once": (base) => withFault(base, "hang@1"),
  "test/interrupted-once": (base) => reclaiming(base, (attempt) => attempt === 1),
  "test/always-interrupted": (base) => reclaiming(base, () => true),
};

function bind(p: CapacityProvider): CapacityProvider {
  return {
    name: p.name,
    launch: (r) => p.launch(r),
    describe: (ids) => p.describe(ids),
    releaseRun: (id, options) => p.releaseRun(id, options),
    listManaged: () => p.listManaged(),
  };
}
/** Instances that run the engine with a fault wrapped around its backend (tests/support/faulty-backend.ts). */
function withFault(base: CapacityProvider, fault: string): CapacityProvider {
  return {
    ...bind(base),
    launch: async (request) => (await withEngineFault(base as LocalProcessProvider, fault)).launch(request),
  };
}
/** Spot takes the instance back shortly after launch, like a reclaim with no notice. */
function reclaiming(base: CapacityProvider, when: (attempt: number) => boolean): CapacityProvider {
  return {
    ...bind(base),
    launch: async (request: LaunchRequest) => {
      const instance = await base.launch(request);
      if (when(request.attempt))
        setTimeout(() => void LocalProcessProvider.reclaim(instance.instanceId), 300);
      return instance;
    },
  };
}

const stack = await testStack({
  env: { STALL_SECONDS: "4", BOOT_SECONDS: "120", MAX_ATTEMPTS: "3" },
  handlers: {
    acquireCapacity: async (input) => {
      const run = await runStore().mustGetRun((input as { runId: string }).runId);
      const scenario = scenarios[run.spec.model.id];
      const handler = acquireHandler(() => {
        const deps = pipelineDeps();
        return scenario ? { ...deps, capacity: scenario(deps.capacity) } : deps;
      });
      return handler(input, lambdaContext("acquireCapacity"));
    },
  },
});

async function submit(modelId: string): Promise<string> {
  const res = await stack.api("/evaluations", { method: "POST", json: sampleRequest(modelId) });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.runId as string;
}

async function finished(runId: string): Promise<Run> {
  return waitFor(`run ${runId} to end`, async () => {
    const run = await runStore().getRun(runId);
    return run && ["SUCCEEDED", "FAILED", "CANCELLED"].includes(run.status) ? run : undefined;
  });
}

async function assertNothingLeft(runId: string) {
  // The execution has ended too: nothing will launch after this point.
  const execution = await waitFor("the execution to stop", async () => {
    const e = [...stack.stepFunctions.executions.values()].find((x) => x.name === runId);
    return e && e.status !== "RUNNING" ? e : undefined;
  });
  assert.notEqual(execution.status, "RUNNING");
  // Released means shutting down at once (as TerminateInstances answers), and gone soon after.
  const left = LocalProcessProvider.alive().filter((i) => i.runId === runId);
  assert.ok(
    left.every((i) => i.state === "shutting-down"),
    "nothing of the run is still running",
  );
  await waitFor("the run's instances to exit", async () =>
    LocalProcessProvider.alive().some((i) => i.runId === runId) ? undefined : true,
  );
  for (const attempt of await runStore().listAttempts(runId)) {
    assert.ok(attempt.endedAt, `attempt ${attempt.attempt} is closed`);
    assert.ok(["FINISHED", "FAILED", "INTERRUPTED", "RELEASED"].includes(attempt.status), attempt.status);
  }
  return execution;
}

describe("the evaluation state machine", { concurrency: true }, () => {
  after(() => stack.stop());
  const runs: Record<string, string> = {};
  before(async () => {
    for (const model of ["test/success", ...Object.keys(scenarios), "test/cancelled"])
      runs[model] = await submit(model);
  });

  it("succeeds: metrics recorded, capacity released, run SUCCEEDED", async () => {
    const run = await finished(runs["test/success"]);
    assert.equal(run.status, "SUCCEEDED");
    assert.equal(run.reason, "evaluation finished and metrics recorded");
    assert.equal(run.simulated, true);
    const metrics = await runStore().listMetrics(run.runId);
    assert.deepEqual(
      metrics.map((m) => `${m.task} ${m.metric},${m.filter}`),
      ["gsm8k exact_match,flexible-extract", "gsm8k exact_match,strict-match"],
    );
    for (const m of metrics) assert.ok(typeof m.value === "number" && m.value >= 0 && m.value <= 1);
    const execution = await assertNothingLeft(run.runId);
    assert.equal(execution.status, "SUCCEEDED");
    assert.equal(run.attempts, 1);
  });

  it("fails with CapacityUnavailable after its retries, having released everything", async () => {
    const run = await finished(runs["test/no-capacity"]);
    assert.equal(run.status, "FAILED");
    assert.equal(run.error?.name, "CapacityUnavailable");
    assert.match(run.reason ?? "", /InsufficientInstanceCapacity/);
    const execution = await assertNothingLeft(run.runId);
    assert.equal(execution.status, "FAILED");
    assert.equal(execution.error, "CapacityUnavailable");
    const retries = execution.history.filter((e) => e.type === "TaskRetried" && e.name === "AcquireCapacity");
    const { MaxAttempts } = capacityRetrier();
    assert.equal(retries.length, MaxAttempts, `the Retry of AcquireCapacity ran its ${MaxAttempts} attempts`);
    const [attempt] = await runStore().listAttempts(run.runId);
    assert.equal(attempt.launchTries, MaxAttempts + 2, "each retry launched with a fresh client token");
  });

  it("retries a launch EC2 throttled with the same client token, and succeeds", async () => {
    const run = await finished(runs["test/ec2-throttled"]);
    assert.equal(run.status, "SUCCEEDED", run.reason);
    assert.equal(throttledTokens.length, 3, "two throttled launches, then one that landed");
    assert.equal(
      new Set(throttledTokens).size,
      1,
      "one client token: a throttled launch is not a new launch",
    );
    assert.equal((await runStore().listAttempts(run.runId)).length, 1);
    await assertNothingLeft(run.runId);
  });

  it("fails with EngineFailed when the harness errors, and releases the instance", async () => {
    const run = await finished(runs["test/engine-fails"]);
    assert.equal(run.status, "FAILED");
    assert.equal(run.error?.name, "EngineFailed");
    assert.match(run.reason ?? "", /simulated harness error/);
    await assertNothingLeft(run.runId);
    const [attempt] = await runStore().listAttempts(run.runId);
    assert.equal(attempt.status, "FAILED");
  });

  it("gives up on an engine that stops its heartbeat, and succeeds on a new attempt", async () => {
    const run = await finished(runs["test/engine-hangs-once"]);
    assert.equal(run.status, "SUCCEEDED");
    const attempts = await runStore().listAttempts(run.runId);
    assert.equal(attempts.length, 2);
    assert.equal(attempts[0].status, "INTERRUPTED");
    assert.match(attempts[0].endReason ?? "", /stalled/);
    await assertNothingLeft(run.runId);
  });

  it("re-acquires after a Spot interruption and succeeds on the second attempt", async () => {
    const run = await finished(runs["test/interrupted-once"]);
    assert.equal(run.status, "SUCCEEDED");
    const attempts = await runStore().listAttempts(run.runId);
    assert.deepEqual(
      attempts.map((a) => a.status),
      ["INTERRUPTED", "FINISHED"],
    );
    assert.match(attempts[0].endReason ?? "", /Spot/);
    assert.equal((await runStore().listMetrics(run.runId)).length, 2, "metrics recorded once");
    await assertNothingLeft(run.runId);
  });

  it("fails with AttemptsExhausted when every attempt is interrupted", async () => {
    const run = await finished(runs["test/always-interrupted"]);
    assert.equal(run.status, "FAILED");
    assert.equal(run.error?.name, "AttemptsExhausted");
    const attempts = await runStore().listAttempts(run.runId);
    assert.equal(attempts.length, 3, "bounded by MAX_ATTEMPTS");
    assert.ok(attempts.every((a) => a.status === "INTERRUPTED"));
    await assertNothingLeft(run.runId);
  });

  it("ends CANCELLED through ReleaseCapacity when the run is marked cancelled", async () => {
    const runId = runs["test/cancelled"];
    await waitFor("the engine to report progress", async () => {
      const [attempt] = await runStore().listAttempts(runId);
      return attempt?.heartbeatAt ? attempt : undefined;
    });
    await runStore().updateRun(runId, { cancelRequested: true });
    const run = await finished(runId);
    assert.equal(run.status, "CANCELLED");
    assert.equal(run.reason, "cancelled by user");
    const execution = await assertNothingLeft(runId);
    assert.ok(
      execution.history.some(
        (e) =>
          e.type === "TaskStateEntered" &&
          (e.stateEnteredEventDetails as { name: string }).name === "ReleaseCancelled",
      ),
    );
  });
});
