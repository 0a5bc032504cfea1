import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_HARNESS_REVISION, EvaluationRequest, toRunSpec } from "../../core/schemas.ts";

describe("the evaluation request", () => {
  it("needs only model.id and tasks, and fills every default but the harness revision (the backend's, at submit)", () => {
    const spec = toRunSpec(
      EvaluationRequest.parse({ model: { id: "mistralai/Mistral-7B-v0.1" }, tasks: ["gsm8k"] }),
    );
    assert.deepEqual(spec, {
      model: { id: "mistralai/Mistral-7B-v0.1", revision: "main", dtype: "bfloat16" },
      tasks: [{ name: "gsm8k", numFewshot: null }],
      batchSize: 1,
      capacity: { allowOnDemand: false },
      labels: {},
    });
    const pinned = (revision: string) =>
      toRunSpec(EvaluationRequest.parse({ model: { id: "org/m" }, tasks: ["gsm8k"], harness: { revision } }))
        .harnessRevision;
    assert.equal(pinned(DEFAULT_HARNESS_REVISION), DEFAULT_HARNESS_REVISION);
    assert.equal(pinned("0.4.8"), "0.4.8", "a release, for the vllm-neuron backend");
  });

  it("expands a suite into its tasks with their n-shot", () => {
    const spec = toRunSpec(
      EvaluationRequest.parse({ model: { id: "s3://bucket/models/m1" }, suite: "open-llm-leaderboard-v1" }),
    );
    assert.deepEqual(
      spec.tasks.map((t) => `${t.name}:${t.numFewshot}`),
      ["arc_challenge:25", "hellaswag:10", "mmlu:5", "truthfulqa_mc2:0", "winogrande:5", "gsm8k:5"],
    );
  });

  it("rejects unknown fields, bad ids and tasks together with a suite", () => {
    const bad = [
      { model: { id: "org/m" }, tasks: ["gsm8k"], extra: 1 },
      { model: { id: "org/m", secret: "x" }, tasks: ["gsm8k"] },
      { model: { id: "not a model" }, tasks: ["gsm8k"] },
      { model: { id: "../etc/passwd" }, tasks: ["gsm8k"] },
      { model: { id: "org/m" }, tasks: ["gsm8k; rm -rf /"] },
      { model: { id: "org/m" }, tasks: ["gsm8k"], suite: "open-llm-leaderboard-v1" },
      { model: { id: "org/m" } },
      { model: { id: "org/m" }, tasks: [] },
      { model: { id: "org/m" }, tasks: ["gsm8k"], batchSize: 0 },
      { model: { id: "org/m" }, tasks: ["gsm8k"], capacity: { instanceTypes: ["p4d.24xlarge"] } },
      { model: { id: "org/m" }, tasks: ["gsm8k"], harness: { revision: "main; curl" } },
    ];
    for (const body of bad)
      assert.equal(EvaluationRequest.safeParse(body).success, false, JSON.stringify(body));
  });
});
