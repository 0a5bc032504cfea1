// The layers below the state machine: an aborted execution still releases its instance and ends its
// run; the janitor reclaims instances whose run is finished, unknown or silent; an interruption
// event marks the attempt at once.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { StopExecutionCommand } from "@aws-sdk/client-sfn";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import { newRunId } from "../../core/ids.ts";
import { executionEnded, sweep } from "../../core/safety-nets.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { createHandler as instanceEvent } from "../../functions/events/instance-event.ts";
import { runStore } from "../../functions/runtime.ts";
import { lambdaContext } from "../../local/gateway.ts";
import { executionArnOf, pipelineDeps, sampleRequest, testStack, waitFor } from "../support/stack.ts";

const stack = await testStack({ simulatedSeconds: 60, janitorSeconds: 3600 });
const sfn = stack.sfn;
after(() => stack.stop());

async function runningRun(model: string) {
  const { body } = await stack.api("/evaluations", { method: "POST", json: sampleRequest(model) });
  const runId = body.runId as string;
  const attempt = await waitFor("the engine's first heartbeat", async () => {
    const [a] = await runStore().listAttempts(runId);
    return a?.heartbeatAt && a.instanceId ? a : undefined;
  });
  return { runId, attempt };
}

describe("safety nets", () => {
  it("releases the instance of an execution aborted mid-run, and fails the run with the reason", async () => {
    const { runId } = await runningRun("test/aborted");
    const executionArn = executionArnOf(stack, runId);
    await sfn.send(new StopExecutionCommand({ executionArn, cause: "operator stopped it" }));
    const run = await waitFor("the run to be failed", async () => {
      const r = await runStore().getRun(runId);
      return r?.status === "FAILED" ? r : undefined;
    });
    assert.equal(run.error?.name, "ExecutionAborted");
    assert.match(run.reason ?? "", /operator stopped it/);
    await waitFor("no instance of the run alive", async () =>
      LocalProcessProvider.alive().some((i) => i.runId === runId) ? undefined : true,
    );
    const [attempt] = await runStore().listAttempts(runId);
    assert.ok(attempt.endedAt);
  });

  it("releases a launch that landed while its execution was being ended, and closes its attempt", async () => {
    // An aborted execution does not stop a running Lambda: AcquireCapacity may open its attempt after
    // the release listed the run's attempts, and read the run as live just before it is failed.
    const deps = pipelineDeps();
    const runId = newRunId();
    const now = new Date().toISOString();
    await deps.store.createRun({
      runId,
      status: "ACQUIRING",
      version: 1,
      spec: toRunSpec(EvaluationRequest.parse(sampleRequest("test/late-launch"))),
      createdAt: now,
      updatedAt: now,
      attempts: 1,
    });
    let launched: string | undefined;
    const launchLate = async () => {
      await deps.store.openAttempt({
        runId,
        attempt: 1,
        status: "LAUNCHING",
        clientToken: `${runId}-1-1`,
        launchTries: 1,
        startedAt: new Date().toISOString(),
      });
      const instance = await deps.capacity.launch({
        runId,
        attempt: 1,
        clientToken: `${runId}-1-1`,
        candidates: [{ instanceType: "inf2.xlarge", tpDegree: 2 }],
        allowOnDemand: false,
        engineEnv: { RUN_ID: runId, ATTEMPT: "1" },
      });
      launched = instance.instanceId;
      await deps.store.updateAttempt(runId, 1, ["LAUNCHING"], {
        instanceId: instance.instanceId,
        launchedAt: instance.launchedAt,
      });
    };
    // The launch lands between the release and the FAILED write.
    const store = new Proxy(deps.store, {
      get(target, key) {
        if (key === "transition")
          return async (...args: Parameters<typeof target.transition>) => {
            if (args[1] === "FAILED" && args[0] === runId && !launched) await launchLate();
            return target.transition(...args);
          };
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const out = await executionEnded({ ...deps, store }, runId, "ABORTED", "operator stopped it");
    assert.ok(launched, "the late launch happened");
    assert.ok(out.released.includes(launched as string), "and was released");
    const [attempt] = await deps.store.listAttempts(runId);
    assert.ok(attempt.endedAt, "its attempt is closed");
    await waitFor("the late instance to exit", async () =>
      LocalProcessProvider.alive().some((i) => i.instanceId === launched) ? undefined : true,
    );
  });

  it("reclaims an instance whose run is unknown, and leaves an active, heartbeating run alone", async () => {
    const { runId } = await runningRun("test/janitor-keeps");
    const provider = new LocalProcessProvider((pipelineDeps().capacity as LocalProcessProvider).options);
    const orphanRun = newRunId();
    const orphan = await provider.launch({
      runId: orphanRun,
      attempt: 1,
      clientToken: `${orphanRun}-1-1`,
      candidates: [{ instanceType: "inf2.xlarge", tpDegree: 2 }],
      allowOnDemand: false,
      engineEnv: { RUN_ID: orphanRun, ATTEMPT: "1" },
    });
    const reclaimed = await sweep({ ...pipelineDeps(), capacity: provider }, 3600);
    assert.deepEqual(reclaimed, [
      { instanceId: orphan.instanceId, runId: orphanRun, why: "its run is unknown" },
    ]);
    assert.ok(
      LocalProcessProvider.alive().some((i) => i.runId === runId),
      "the active run keeps its instance",
    );
    await waitFor("the orphan to exit", async () =>
      LocalProcessProvider.alive().some((i) => i.runId === orphanRun) ? undefined : true,
    );
  });

  it("reclaims the instance of a run silent past the limit, closing its attempt", async () => {
    const { runId, attempt } = await runningRun("test/janitor-silent");
    const later = new Date(Date.now() + 2 * 3600 * 1000);
    const reclaimed = await sweep({ ...pipelineDeps(), now: () => later }, 3600);
    assert.deepEqual(
      reclaimed.filter((r) => r.runId === runId).map((r) => [r.instanceId, /silent/.test(r.why)]),
      [[attempt.instanceId, true]],
    );
    assert.ok((await runStore().getAttempt(runId, 1))?.endedAt, "its attempt is closed");
    // The run's execution is alive here, so it may go on with a new attempt: only this one must go.
    await waitFor("the silent instance to exit", async () =>
      LocalProcessProvider.alive().some((i) => i.instanceId === attempt.instanceId) ? undefined : true,
    );
  });

  it("leaves alone a local instance waiting in its machine's queue, however long it has waited", async () => {
    const oneGpu = new LocalProcessProvider({
      ...(pipelineDeps().capacity as LocalProcessProvider).options,
      command: [process.execPath, "-e", "setTimeout(() => {}, 60000)"],
      slots: [{ id: "gpu0", label: "GPU 0", env: {} }],
    });
    const [holding, waiting] = [newRunId(), newRunId()];
    const instances = [];
    for (const runId of [holding, waiting]) {
      const now = new Date().toISOString();
      await runStore().createRun({
        runId,
        status: "QUEUED",
        version: 1,
        spec: toRunSpec(EvaluationRequest.parse(sampleRequest(`test/${runId}`))),
        createdAt: now,
        updatedAt: now,
        attempts: 1,
      });
      instances.push(
        await oneGpu.launch({
          runId,
          attempt: 1,
          clientToken: `${runId}-1-1`,
          candidates: [{ instanceType: "inf2.xlarge", tpDegree: 2 }],
          allowOnDemand: false,
          engineEnv: {},
        }),
      );
    }
    const later = new Date(Date.now() + 2 * 3600 * 1000);
    const reclaimed = await sweep({ ...pipelineDeps(), capacity: oneGpu, now: () => later }, 3600);
    const mine = reclaimed.filter((r) => r.runId === holding || r.runId === waiting);
    assert.deepEqual(
      mine.map((r) => [r.instanceId, /silent/.test(r.why)]),
      [[instances[0]?.instanceId, true]],
      "the silent holder is reclaimed, the queued one is not",
    );
    await oneGpu.releaseRun(waiting);
  });

  it("marks the attempt interrupted as soon as a Spot warning arrives", async () => {
    const { runId, attempt } = await runningRun("test/spot-warning");
    const handler = instanceEvent();
    const out = await handler(
      {
        "detail-type": "EC2 Spot Instance Interruption Warning",
        source: "aws.ec2",
        detail: { "instance-id": attempt.instanceId, "instance-action": "terminate" },
      },
      lambdaContext("onInstanceEvent"),
    );
    const { woken: _, ...marked } = out as { woken?: boolean };
    assert.deepEqual(marked, { marked: true, runId, attempt: 1 });
    const run = await waitFor("the run to move on to a second attempt", async () => {
      const attempts = await runStore().listAttempts(runId);
      return attempts.length === 2 ? attempts : undefined;
    });
    assert.equal(run[0].status, "INTERRUPTED");
    assert.match(run[0].endReason ?? "", /Spot interruption warning/);
  });
});
