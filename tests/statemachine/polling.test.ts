// Adaptive polling through the real definition, in virtual time (bench/transitions.ts): the same
// simulated inf2 run polled by spoteval's schedule and by a fixed 30 s poll. Counts, not timings.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fixedPolling, type Sim, simulateRun, simulationHandlers } from "../../bench/transitions.ts";
import { deployedDefaults } from "../../functions/runtime.ts";
import { type Stack, startStack } from "../../local/stack.ts";

const sims = new Map<string, Sim>();
let stack: Stack;
before(async () => {
  stack = await startStack({ port: 0, waitMs: 0, retryMs: 0, handlers: simulationHandlers(sims) });
});
after(() => stack.stop());

const hour = { bootSeconds: 270, prepareSeconds: 360, evaluateSeconds: 3600 };

describe("polling from the engine's ETA", () => {
  it("takes a fraction of a fixed poll's transitions for a 1-hour evaluation and sees the end as soon", async () => {
    const deployed = deployedDefaults();
    const own = await simulateRun(stack, sims, hour, deployed);
    const fixed = await simulateRun(stack, sims, hour, fixedPolling(deployed));
    assert.ok(own.transitions < 40, `${own.transitions} transitions`);
    assert.ok(fixed.transitions >= 5 * own.transitions, `${fixed.transitions} vs ${own.transitions}`);
    assert.ok(own.watchSeconds > 0, "the end was watched");
    assert.ok(own.endSeenAfterSeconds <= fixed.endSeenAfterSeconds + deployed.minPollSeconds);
    assert.ok(own.endSeenAfterSeconds <= 1, `end seen ${own.endSeenAfterSeconds} s late`);
  });

  it("sees a Spot interruption within one long poll, then resumes and finishes on a new attempt", async () => {
    const deployed = deployedDefaults();
    const own = await simulateRun(stack, sims, { ...hour, interruptAfterSeconds: 1187 }, deployed);
    assert.ok(own.interruptionSeenAfterSeconds !== undefined);
    assert.ok(own.interruptionSeenAfterSeconds <= deployed.maxPollSeconds);
    assert.ok(Number.isFinite(own.endSeenAfterSeconds), "the second attempt finished and was seen");
  });
});

describe("events on top of polling", () => {
  it("act on a Spot warning and a cancel within seconds, for no more transitions than polling alone", async () => {
    const deployed = deployedDefaults();
    for (const extra of [{ interruptAfterSeconds: 1187 }, { cancelAfterSeconds: 1500 }]) {
      const timeline = { ...hour, ...extra };
      const events = await simulateRun(stack, sims, timeline, deployed);
      const polling = await simulateRun(stack, sims, timeline, deployed, { events: false });
      assert.ok(events.wokenWaits >= 1, "an event ended a wait");
      assert.equal(polling.wokenWaits, 0);
      assert.ok(events.transitions <= polling.transitions, `${events.transitions} vs ${polling.transitions}`);
      if (extra.interruptAfterSeconds) {
        assert.ok((events.replacementAfterSeconds ?? Number.NaN) <= 5, `${events.replacementAfterSeconds} s`);
        assert.ok((polling.replacementAfterSeconds ?? 0) > 30, "polling alone waits for its next poll");
      } else {
        assert.ok((events.cancelReleasedAfterSeconds ?? Number.NaN) <= 5);
        assert.ok((polling.cancelReleasedAfterSeconds ?? 0) > 30);
      }
    }
  });
});
