import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ModelDoesNotFit } from "../../core/errors.ts";
import { GIB_PER_CHIP, planRun, requiredMemoryGiB } from "../../core/planner.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";

const spec = (model: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  toRunSpec(EvaluationRequest.parse({ model: { id: "org/model", ...model }, tasks: ["gsm8k"], ...extra }));

describe("planner", () => {
  it("fits a 7B bf16 model on one Inferentia2 chip, with the written-down margin", () => {
    const needed = requiredMemoryGiB(7.24e9, "bfloat16");
    const weights = (7.24e9 * 2) / 2 ** 30;
    assert.equal(needed, weights * 1.2 + 2);
    assert.ok(needed < GIB_PER_CHIP);
    const plan = planRun(spec({ parameters: 7.24e9 }));
    assert.equal(plan.candidates[0].instanceType, "inf2.xlarge", "cheapest to finish, not just per hour");
    assert.equal(plan.candidates[0].tpDegree, 2);
  });

  it("puts a 70B model only on inf2.24xlarge or inf2.48xlarge, ranked by expected cost to finish", () => {
    const plan = planRun(spec({ parameters: 70e9 }));
    assert.deepEqual(plan.candidates.map((c) => c.instanceType).sort(), ["inf2.24xlarge", "inf2.48xlarge"]);
    const costs = plan.candidates.map((c) => c.expectedCostUsd);
    assert.deepEqual(
      costs,
      [...costs].sort((a, b) => a - b),
    );
    assert.equal(plan.candidates.find((c) => c.instanceType === "inf2.48xlarge")?.tpDegree, 24);
  });

  it("ranks by expected cost, so a faster but dearer instance can lose to a slower, cheaper one", () => {
    const plan = planRun(spec({ parameters: 7.24e9 }));
    const [xl, big] = ["inf2.xlarge", "inf2.48xlarge"].map((t) =>
      plan.candidates.find((c) => c.instanceType === t),
    );
    assert.ok(big && xl && big.expectedHours < xl.expectedHours, "more chips finish sooner");
    assert.ok(xl.expectedCostUsd < big.expectedCostUsd, "but one chip is cheaper to finish");
  });

  it("refuses a model that fits nothing allowed, saying what to change", () => {
    assert.throws(
      () =>
        planRun(spec({ parameters: 70e9 }, { capacity: { instanceTypes: ["inf2.xlarge", "inf2.8xlarge"] } })),
      (error: Error) =>
        error instanceof ModelDoesNotFit && /inf2\.24xlarge/.test(error.message) && /GiB/.test(error.message),
    );
    assert.throws(() => planRun(spec({ parameters: 400e9, dtype: "float32" })), ModelDoesNotFit);
  });
});
