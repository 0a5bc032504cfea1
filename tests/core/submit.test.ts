// Accepting a run: regression tests named after what the chaos suite found.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RunStore } from "../../core/run-store.ts";
import { EvaluationRequest } from "../../core/schemas.ts";
import { submitEvaluation } from "../../core/submit.ts";
import { testTable } from "../support/dynamo.ts";

let store: RunStore;
let close: () => Promise<void>;
before(async () => {
  const t = await testTable();
  store = new RunStore(t.db, t.table);
  close = t.close;
});
after(() => close());

describe("submit", () => {
  it("answers with the run when its execution fails it before the submit records the execution (was a 409)", async () => {
    const deps = {
      store,
      maxAttempts: 3,
      maxRunHours: 24,
      // The execution runs at once and fails the run (quota exhausted) before StartExecution returns.
      startExecution: async (name: string) => {
        await store.transition(name, "FAILED", { reason: "QuotaExceeded: chaos" });
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
