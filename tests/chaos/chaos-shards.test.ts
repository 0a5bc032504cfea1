// A small sharded chaos run in every `npm test`: runs split over three instances, faults at random
// on each shard (fixed seed), and afterwards the same invariants per shard. Its own file, so its own
// process: the handlers' clients, configuration and API keys are per process, like a Lambda's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { figuresLine, runChaos } from "./chaos.ts";

describe("chaos, sharded", () => {
  it("holds the same invariants for runs split over three instances, faults striking each shard", async () => {
    const figures = await runChaos({ runs: 6, seed: 11, concurrency: 3, shards: 3 });
    assert.deepEqual(figures.problems, []);
    assert.equal(figures.succeeded + figures.failed + figures.cancelled, 6);
    assert.deepEqual(
      [figures.stuck, figures.leaked, figures.lost, figures.duplicated],
      [0, 0, 0, 0],
      figuresLine(figures),
    );
    assert.ok(figures.succeeded > 0, `some sharded runs succeeded: ${figuresLine(figures)}`);
    assert.ok(Object.keys(figures.faults).length >= 4, JSON.stringify(figures.faults));
  });
});
