// Accepting a run: regression tests named after what the chaos suite found.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EvaluationRequest } from "../../core/schemas.ts";
import { submitEvaluation } from "../../core/submit.ts";
import { testStore } from "../support/dynamo.ts";

const store = testStore();

describe("submit", () => {
  it("answers with the run when its execution fails it before the submit records the execution (was a 409)", async () => {
    const deps = {
      store: store(),
      maxAttempts: 3,
      maxRunHours: 24,
      // The execution runs at once and fails the run (quota exhausted) before StartExecution returns.
      startExecution: async (name: string) => {
        await store().transition(name, "FAILED", { reason: "QuotaExceeded: chaos" });
        return `arn:aws:states:us-east-1:000000000000:execution:x:${name}`;
      },
    };
    const { run, created } = await submitEvaluation(
      deps,
      EvaluationRequest.parse({ model: { id: "org/fast-fail" }, tasks: ["gsm8k"] }),
    );
    assert.equal(created, true);
    assert.equal(run.status, "FAILED");
    assert.equal(run.executionArn, `arn:aws:states:us-east-1:000000000000:execution:x:${run.runId}`);
  });
});
