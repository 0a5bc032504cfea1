// The run lifecycle steps: regression tests named after what the chaos suite found.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Artifacts } from "../../core/artifacts.ts";
import type { CapacityProvider } from "../../core/capacity/provider.ts";
import { StaleTransition, Throttled } from "../../core/errors.ts";
import { newRunId } from "../../core/ids.ts";
import { acquireStep } from "../../core/pipeline.ts";
import { modelDiskGiB } from "../../core/root-volume.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { testStore } from "../support/dynamo.ts";

const store = testStore();

/** A 7B gsm8k run as Plan leaves it, about to acquire capacity. */
async function planningRun(): Promise<string> {
  const runId = newRunId();
  const now = new Date().toISOString();
  await store().createRun({
    runId,
    status: "PLANNING",
    version: 1,
    spec: toRunSpec(EvaluationRequest.parse({ model: { id: "org/m", parameters: 7e9 }, tasks: ["gsm8k"] })),
    createdAt: now,
    updatedAt: now,
    attempts: 0,
  });
  return runId;
}

/** Polling settings for steps that never poll here (each test asks only AcquireCapacity). */
const settings = {
  stallSeconds: 60,
  bootSeconds: 60,
  minPollSeconds: 1,
  maxPollSeconds: 2,
  bootEstimateSeconds: 0,
  watchSeconds: 0,
  watchIntervalMs: 25,
};

describe("AcquireCapacity", () => {
  it("leaves no instance and no open attempt when the execution is aborted while it launches", async () => {
    const runId = await planningRun();
    const released: string[] = [];
    const capacity: CapacityProvider = {
      name: "test",
      // While the launch is in flight, the execution is aborted and the run failed by the safety net.
      launch: async () => {
        await store().transition(runId, "FAILED", { reason: "execution ABORTED" });
        return {
          instanceId: "i-late",
          instanceType: "inf2.xlarge",
          availabilityZone: "us-east-1a",
          market: "spot",
          pricePerHour: 0.2,
          launchedAt: new Date().toISOString(),
        };
      },
      describe: async () => [],
      releaseRun: async (id) => {
        released.push(id);
        return ["i-late"];
      },
      listManaged: async () => [],
    };
    const deps = {
      store: store(),
      capacity,
      artifacts: {} as Artifacts,
      settings,
    };
    await assert.rejects(acquireStep(deps, runId, 0), StaleTransition);
    assert.deepEqual(released, [runId], "the late instance was released");
    const [attempt] = await store().listAttempts(runId);
    assert.ok(attempt.endedAt, "the attempt is closed");
    assert.equal((await store().mustGetRun(runId)).status, "FAILED");
  });

  it("keeps its launch try and client token when EC2 throttles the launch (no climb down the ladder)", async () => {
    const runId = await planningRun();
    const tries: { launchTry?: number; clientToken: string }[] = [];
    const capacity: CapacityProvider = {
      name: "test",
      launch: async (request) => {
        tries.push({ launchTry: request.launchTry, clientToken: request.clientToken });
        throw new Throttled("EC2 CreateFleet: RequestLimitExceeded, retried later");
      },
      describe: async () => [],
      releaseRun: async () => [],
      listManaged: async () => [],
    };
    const deps = {
      store: store(),
      capacity,
      settings,
    };
    await assert.rejects(acquireStep(deps, runId, 0), Throttled);
    await assert.rejects(acquireStep(deps, runId, 0), Throttled);
    assert.deepEqual(tries[0], tries[1], "the retry asks for the same rung with the same token");
    assert.equal((await store().getAttempt(runId, 1))?.launchTries, 1);
  });

  it("asks for a root volume sized from the run's model (core/root-volume.ts)", async () => {
    const runId = await planningRun();
    let asked: number | undefined;
    const capacity: CapacityProvider = {
      name: "test",
      launch: async (request) => {
        asked = request.modelDiskGiB;
        throw new Throttled("EC2 CreateFleet: RequestLimitExceeded, retried later");
      },
      describe: async () => [],
      releaseRun: async () => [],
      listManaged: async () => [],
    };
    await assert.rejects(acquireStep({ store: store(), capacity, settings }, runId, 0), Throttled);
    assert.equal(asked, modelDiskGiB({ parameters: 7e9, dtype: "bfloat16" }));
    assert.ok(asked !== undefined && asked > 31 && asked < 32, "2 copies of 13 GiB of weights, +20%");
  });
});
