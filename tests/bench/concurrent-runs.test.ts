// A small version of benchmark 6: runs submitted at once against AWS's published limits (simulated, in
// virtual time) through the real definition, steps, store and EC2 provider. Spot capacity and the EC2
// CreateFleet bucket run out; every run must still succeed, and nothing may be left running.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type ConcurrentFigures,
  type ConcurrentScenario,
  Simulation,
  scaledScenario,
} from "../../bench/concurrent-runs.ts";
import { runStore } from "../../functions/runtime.ts";
import { type Stack, startStack } from "../../local/stack.ts";

// Benchmark 6's scenario at 50 runs: Spot pools (39 instances in all) and AWS's limits scaled with the
// number of runs, so that 50 runs meet them as 1,000 do; a tenth of the runs lose their first instance.
const scenario: ConcurrentScenario = { ...scaledScenario(50), interruptedShare: 0.1 };

describe("50 runs at once against AWS's limits, in virtual time (simulated)", () => {
  const sim = new Simulation(scenario);
  let stack: Stack;
  let figures: ConcurrentFigures;
  before(async () => {
    stack = await startStack({
      port: 0,
      waitMs: 0,
      retryMs: 0,
      janitorSeconds: 3600,
      handlers: sim.handlers(),
    });
    figures = await sim.run(stack);
  });
  after(() => stack?.stop());

  it("ends every run SUCCEEDED, with no instance left running and no attempt left open", () => {
    assert.equal(figures.runs, scenario.runs);
    assert.deepEqual(
      { succeeded: figures.succeeded, failed: figures.failed, stuck: figures.stuck },
      { succeeded: scenario.runs, failed: 0, stuck: 0 },
      JSON.stringify(figures.failedBecause),
    );
    assert.equal(figures.leaked, 0);
    assert.equal(figures.openAttempts, 0);
  });

  it("meets the limits it was built to meet, and absorbs them as retries with backoff", () => {
    const hit = figures.limitsHit.map((l) => l.limit);
    assert.ok(hit.includes("Spot capacity (pools empty)"), JSON.stringify(figures.limitsHit));
    assert.ok(hit.includes("EC2 CreateFleet"), JSON.stringify(figures.limitsHit));
    assert.ok((figures.retried.CapacityUnavailable ?? 0) > 0, JSON.stringify(figures.retried));
    assert.ok((figures.retried.Throttled ?? 0) > 0, JSON.stringify(figures.retried));
  });

  it("records each run's metrics and a leaderboard entry per model", async () => {
    const board = await import("../../core/leaderboard.ts").then((m) =>
      m.readLeaderboard(runStore(), {
        task: "gsm8k",
        metric: "exact_match",
        filter: "strict-match",
        limit: 100,
      }),
    );
    const ours = board.rows.filter((r) => r.model.startsWith("bench/concurrent-"));
    assert.equal(ours.length, scenario.models);
    assert.ok(ours.every((r) => r.simulated));
  });
});
