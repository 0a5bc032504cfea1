// What produced a run's numbers reaches the run (RecordMetrics copies it from the results file's
// config block) and the line above the table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineRecord } from "../../core/engine-record.ts";
import { recordMetricsStep } from "../../core/pipeline.ts";
import { RunStore } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { metricsMarkdown } from "../../core/views.ts";
import { testTable } from "../support/dynamo.ts";

const engine: EngineRecord = {
  backend: "vllm-neuron",
  image: "spoteval:vllm",
  neuronSdk: "2.31.1",
  vllm: "0.16.0",
  vllmNeuron: "0.5",
  harness: "v0.4.8",
  tensorParallel: 2,
  replicas: 12,
  batch: 8,
  maxModelLen: 4096,
  modelArgs: "model=org/m,revision=main,dtype=bfloat16",
};

describe("engine record", () => {
  it("is copied from the results file's config block onto the run, and printed above the table", async () => {
    const t = await testTable();
    const store = new RunStore(t.db, t.table);
    const now = new Date().toISOString();
    await store.createRun({
      runId: "01m8mmm0jrpf73a86gv7g7mf3t",
      status: "RUNNING",
      version: 1,
      spec: toRunSpec(EvaluationRequest.parse({ model: { id: "org/m" }, tasks: ["gsm8k"] })),
      createdAt: now,
      updatedAt: now,
      attempts: 1,
    });
    const file = {
      results: {
        gsm8k: { alias: "gsm8k", "exact_match,strict-match": 0.5, "exact_match_stderr,strict-match": 0.1 },
      },
      config: { model: "local-completions", spoteval_engine: engine },
    };
    const artifacts = { getText: async () => JSON.stringify(file) } as never;
    await recordMetricsStep({ store, artifacts }, "01m8mmm0jrpf73a86gv7g7mf3t", "runs/x/results.json");
    const run = await store.mustGetRun("01m8mmm0jrpf73a86gv7g7mf3t");
    assert.deepEqual(run.engine, engine);
    const table = metricsMarkdown(await store.listMetrics(run.runId), false, { engine: run.engine });
    assert.equal(
      table.split("\n")[0],
      "vllm-neuron (model=org/m,revision=main,dtype=bfloat16), tensor_parallel: 2, replicas: 12, batch_size: 8, max_model_len: 4096, lm_eval: v0.4.8, vllm: 0.16.0, vllm-neuron: 0.5, neuron_sdk: 2.31.1, image: spoteval:vllm",
    );
    assert.match(table, /\|gsm8k/);
    await t.close();
  });
});
