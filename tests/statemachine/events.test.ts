// Events end the waits between polls: with every poll a minute or more away, an engine's end, a
// cancel and a Spot warning are acted on within seconds, through the task token stored with the
// attempt. The real definition, handlers, local Step Functions (callback tasks), event bus and engines.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import { isFinal } from "../../core/schemas.ts";
import { runStore } from "../../functions/runtime.ts";
import { sampleRequest, testStack, waitFor } from "../support/stack.ts";

// No Wait override, and polls no sooner than a minute: only an event can act within these tests' time.
const stack = await testStack({
  waitMs: undefined,
  simulatedSeconds: 6,
  env: {
    POLL_MIN_SECONDS: "60",
    POLL_MAX_SECONDS: "600",
    BOOT_ESTIMATE_SECONDS: "120",
    POLL_WATCH_SECONDS: "0",
  },
});
after(() => stack.stop());
/** Well inside the first poll (60 s): whatever happens by then, an event made happen. */
const WITHIN_MS = 40_000;

async function submit(model: string, extra: Record<string, unknown> = {}) {
  const res = await stack.api("/evaluations", { method: "POST", json: sampleRequest(model, extra) });
  assert.equal(res.status, 202);
  return res.body.runId as string;
}
const final = (runId: string) =>
  waitFor(
    `run ${runId} to end`,
    async () => {
      const run = await runStore().getRun(runId);
      return run && isFinal(run.status) ? run : undefined;
    },
    WITHIN_MS,
  );
/** What woke each wait of the run's execution, in order (the wait task's output at $.wake). */
function wakes(runId: string) {
  const execution = [...stack.stepFunctions.executions.values()].find((e) => e.name === runId);
  return (execution?.history ?? [])
    .filter((e) => (e.stateEnteredEventDetails as { name?: string } | undefined)?.name === "CheckEngine")
    .map((e) => {
      const input = JSON.parse((e.stateEnteredEventDetails as { input: string }).input);
      return input.wake?.woken ?? input.wake?.Error;
    });
}

describe("events end the wait between polls", { concurrency: true }, () => {
  it("sees the engine's end through its EngineFinished event, not a poll", async () => {
    const runId = await submit("test/events-end");
    const run = await final(runId);
    assert.equal(run.status, "SUCCEEDED");
    assert.deepEqual(wakes(runId), ["engine"], "one wait, ended by the engine's event");
  });

  it("releases and ends a cancelled run within seconds, and never shows the wait's token", async () => {
    const runId = await submit("test/events-cancel");
    const attempt = await waitFor("the wait's token to be stored", async () => {
      const a = await runStore().getAttempt(runId, 1);
      return a?.waitToken ? a : undefined;
    });
    const seen = await stack.api(`/evaluations/${runId}`);
    assert.ok(!JSON.stringify(seen.body).includes(attempt.waitToken as string), "no token in the API");
    const cancelled = await stack.api(`/evaluations/${runId}`, { method: "DELETE" });
    assert.equal(cancelled.status, 202);
    const run = await final(runId);
    assert.equal(run.status, "CANCELLED");
    assert.deepEqual(wakes(runId), ["cancel"]);
    await waitFor("its instance to be gone", async () =>
      LocalProcessProvider.alive().some((i) => i.runId === runId) ? undefined : true,
    );
  });

  it("on a Spot warning, requests the replacement at once, lets the old engine save its cache, and resumes from it", async () => {
    const runId = await submit("test/events-spot");
    const first = await waitFor("the first engine's heartbeat", async () => {
      const a = await runStore().getAttempt(runId, 1);
      return a?.heartbeatAt && a.instanceId ? a : undefined;
    });
    const warnedAt = Date.now();
    stack.events.put([
      {
        Source: "aws.ec2",
        DetailType: "EC2 Spot Instance Interruption Warning",
        Detail: JSON.stringify({ "instance-id": first.instanceId, "instance-action": "terminate" }),
      },
    ]);
    const second = await waitFor(
      "the replacement attempt",
      async () => {
        const a = await runStore().getAttempt(runId, 2);
        return a?.instanceId ? a : undefined;
      },
      WITHIN_MS,
    );
    assert.ok(Date.parse(second.startedAt) - warnedAt < 15_000, "requested within seconds of the warning");
    const old = await waitFor("the old engine to save its cache", async () => {
      const a = await runStore().getAttempt(runId, 1);
      return a?.cacheSavedAt ? a : undefined;
    });
    assert.equal(old.status, "INTERRUPTED");
    assert.match(old.endReason ?? "", /Spot interruption warning/);
    assert.ok(old.warnedAt);
    const provider = new LocalProcessProvider({ command: ["true"], env: {} });
    const log = await waitFor("the new engine to restore the cache", async () => {
      const lines = provider.output(second.instanceId ?? "");
      return lines.some((l) => /resuming: restored/.test(l)) ? lines : undefined;
    });
    const saved = log.findIndex((l) => /attempt 1's request cache: saved/.test(l));
    const restored = log.findIndex((l) => /resuming: restored/.test(l));
    assert.ok(saved >= 0 && saved < restored, `waited for the save before restoring:\n${log.join("\n")}`);
    const run = await final(runId);
    assert.equal(run.status, "SUCCEEDED");
    assert.equal(wakes(runId)[0], "instance", "the warning woke the first wait");
  });
});
