// When CheckEngine looks again: from the engine's phase and ETA, and watching an end that is due.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CapacityProvider } from "../../core/capacity/provider.ts";
import { newRunId } from "../../core/ids.ts";
import { acquireStep, checkEngineStep, type PipelineSettings, pollDelay } from "../../core/pipeline.ts";
import type { Attempt } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { testStore } from "../support/dynamo.ts";

const store = testStore();
const settings: PipelineSettings = {
  stallSeconds: 900,
  bootSeconds: 1800,
  minPollSeconds: 30,
  maxPollSeconds: 900,
  bootEstimateSeconds: 240,
  watchSeconds: 20,
  watchIntervalMs: 1000,
};
const T0 = Date.parse("2026-11-28T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const attempt = (over: Partial<Attempt>): Attempt =>
  ({
    runId: "r",
    attempt: 1,
    status: "RUNNING",
    startedAt: at(0),
    launchedAt: at(0),
    clientToken: "t",
    launchTries: 1,
    ...over,
  }) as Attempt;
const evaluating = (heartbeat: number, eta: number) =>
  attempt({
    heartbeatAt: at(heartbeat),
    progress: { phase: "evaluate", done: 1, total: 2, etaSeconds: eta },
  });

describe("pollDelay", () => {
  it("doubles with the time since launch while there is no ETA (boot, download, compile)", () => {
    assert.equal(pollDelay(settings, attempt({}), T0 + 10_000), 30, "never below the minimum");
    assert.equal(pollDelay(settings, attempt({}), T0 + 240_000), 240);
    const compiling = attempt({ heartbeatAt: at(600), progress: { phase: "compile", done: 0, total: 0 } });
    assert.equal(pollDelay(settings, compiling, T0 + 600_000), 600);
    assert.equal(pollDelay(settings, compiling, T0 + 3_000_000), 900, "never above the maximum");
  });

  it("waits long in the middle and aims just before the expected end", () => {
    assert.equal(pollDelay(settings, evaluating(1000, 7200), T0 + 1000_000), 900);
    // 600 s left: 90% of it, less half the watch window, so the next check lands before the end.
    assert.equal(pollDelay(settings, evaluating(1000, 600), T0 + 1000_000), 530);
    // The ETA counts from the heartbeat that reported it, not from now.
    assert.equal(pollDelay(settings, evaluating(1000, 600), T0 + 1100_000), 440);
    assert.equal(pollDelay(settings, evaluating(1000, 40), T0 + 1000_000), 30);
  });
});

describe("CheckEngine watching a due end", () => {
  const capacity: CapacityProvider = {
    name: "test",
    launch: async () => ({
      instanceId: "i-1",
      instanceType: "inf2.xlarge",
      availabilityZone: "us-east-1a",
      market: "spot",
      pricePerHour: 0.2,
      launchedAt: at(0),
    }),
    describe: async (ids) => ids.map((instanceId) => ({ instanceId, state: "running" as const })),
    releaseRun: async () => [],
    listManaged: async () => [],
  };
  async function launchedRun() {
    const runId = newRunId();
    await store().createRun({
      runId,
      status: "PLANNING",
      version: 1,
      spec: toRunSpec(EvaluationRequest.parse({ model: { id: "org/m", parameters: 7e9 }, tasks: ["gsm8k"] })),
      createdAt: at(0),
      updatedAt: at(0),
      attempts: 0,
    });
    return runId;
  }
  /** A virtual clock: sleeping advances it, and `onTick` plays the engine at each new time. */
  const clock = (start: number, onTick: (s: number) => Promise<void>) => {
    let t = start;
    return {
      now: () => new Date(T0 + t * 1000),
      sleep: async (ms: number) => {
        t += ms / 1000;
        await onTick(t);
      },
      seconds: () => t,
    };
  };

  it("sees the end within one watch interval when the ETA says it is due", async () => {
    const runId = await launchedRun();
    const c = clock(0, async () => undefined);
    const deps = { store: store(), capacity, settings, now: c.now, sleep: c.sleep };
    const acquired = await acquireStep(deps, runId, 0);
    assert.equal(acquired.waitSeconds, 230, "the first check aims at the boot estimate");
    await store().updateAttempt(runId, 1, ["LAUNCHING"], {
      status: "RUNNING",
      heartbeatAt: at(3000),
      progress: { phase: "evaluate", done: 99, total: 100, etaSeconds: 12 },
    });
    let finishedAt = 0;
    const engine = clock(3005, async (s) => {
      if (s >= 3016 && !finishedAt) {
        finishedAt = s;
        await store().updateAttempt(runId, 1, ["RUNNING"], {
          status: "FINISHED",
          resultsKey: `runs/${runId}/1/r.json`,
        });
      }
    });
    const check = await checkEngineStep({ ...deps, now: engine.now, sleep: engine.sleep }, runId, 1);
    assert.equal(check.state, "finished");
    assert.equal(engine.seconds() - finishedAt, 0, "seen at the read right after the engine finished");
  });

  it("does not watch when the end is far, and gives up watching a late engine after the window", async () => {
    const runId = await launchedRun();
    const c = clock(0, async () => undefined);
    const deps = { store: store(), capacity, settings, now: c.now, sleep: c.sleep };
    await acquireStep(deps, runId, 0);
    await store().updateAttempt(runId, 1, ["LAUNCHING"], {
      status: "RUNNING",
      heartbeatAt: at(3000),
      progress: { phase: "evaluate", done: 10, total: 100, etaSeconds: 3600 },
    });
    const far = clock(3000, async () => undefined);
    const middle = await checkEngineStep({ ...deps, now: far.now, sleep: far.sleep }, runId, 1);
    assert.deepEqual([middle.state, middle.waitSeconds, far.seconds()], ["running", 900, 3000]);

    await store().updateAttempt(runId, 1, ["RUNNING"], {
      heartbeatAt: at(6600),
      progress: { phase: "evaluate", done: 99, total: 100, etaSeconds: 5 },
    });
    const late = clock(6600, async () => undefined);
    const stillRunning = await checkEngineStep({ ...deps, now: late.now, sleep: late.sleep }, runId, 1);
    assert.equal(stillRunning.state, "running");
    assert.equal(late.seconds(), 6620, "watched the whole window, no longer");
    assert.equal(stillRunning.waitSeconds, 30, "then polls again at the minimum");
  });
});
