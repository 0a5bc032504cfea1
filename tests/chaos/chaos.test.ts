// A small chaos run in every `npm test`: faults at random (fixed seed), and afterwards no run stuck,
// lost or duplicated, and no instance alive (sharded runs: chaos-shards.test.ts). `npm run chaos --
// --runs 200 --seed S [--shards K]` is the full suite.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { figuresLine, runChaos } from "./chaos.ts";

describe("chaos", () => {
  it("ends every run in a final state with a reason, leaks nothing, loses nothing, duplicates nothing", async () => {
    const figures = await runChaos({ runs: 12, seed: 7, concurrency: 6 });
    assert.deepEqual(figures.problems, []);
    assert.equal(figures.runs, 12);
    assert.equal(figures.succeeded + figures.failed + figures.cancelled, 12);
    assert.deepEqual(
      [figures.stuck, figures.leaked, figures.lost, figures.duplicated],
      [0, 0, 0, 0],
      figuresLine(figures),
    );
    assert.ok(
      Object.keys(figures.faults).length >= 4,
      `faults were injected: ${JSON.stringify(figures.faults)}`,
    );
    assert.ok(figures.faults["throttled AWS calls"] > 0, "AWS calls were throttled and absorbed");
  });
});
