// Sizing a model from its config.json when the request gives no parameter count.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { lookupParameters, ModelConfig, parametersFromConfig } from "../../core/model-size.ts";

const config = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/hub-configs/${name}`, import.meta.url), "utf8"));

describe("model size from config.json", () => {
  it("counts Mistral-7B-v0.1 as its published 7.24 B parameters", () => {
    const n = parametersFromConfig(ModelConfig.parse(config("mistral-7b-v0.1.json")));
    assert.ok(Math.abs(n - 7.24e9) / 7.24e9 < 0.005, String(n));
  });

  it("counts Llama-2-70B as about 69 B (grouped-query attention, gated MLP, untied embeddings)", () => {
    const n = parametersFromConfig(ModelConfig.parse(config("llama-2-70b-hf.json")));
    assert.ok(Math.abs(n - 68.98e9) / 68.98e9 < 0.005, String(n));
  });

  it("gives up quietly when the config cannot be had or read, and never looks up an S3 model", async () => {
    assert.equal(
      await lookupParameters(async () => Promise.reject(new Error("401 gated")), "org/m", "main"),
      undefined,
    );
    assert.equal(await lookupParameters(async () => ({ nonsense: true }), "org/m", "main"), undefined);
    let asked = false;
    await lookupParameters(
      async () => {
        asked = true;
        return {};
      },
      "s3://bucket/model",
      "main",
    );
    assert.equal(asked, false);
    assert.equal(
      (await lookupParameters(async () => config("mistral-7b-v0.1.json"), "org/m", "main")) !== undefined,
      true,
    );
  });
});

describe("submit sizes a model it is not told the size of", () => {
  it("plans a 70B model from its config onto 6 or 12 chips (neuronx), and refuses it on one chip at submit", async () => {
    const { testTable } = await import("../support/dynamo.ts");
    const { RunStore } = await import("../../core/run-store.ts");
    const { submitEvaluation } = await import("../../core/submit.ts");
    const { EvaluationRequest } = await import("../../core/schemas.ts");
    const { ModelDoesNotFit } = await import("../../core/errors.ts");
    const t = await testTable();
    const started: string[] = [];
    const deps = {
      store: new RunStore(t.db, t.table),
      maxAttempts: 3,
      maxRunHours: 24,
      fetchModelConfig: async () => config("llama-2-70b-hf.json"),
      startExecution: async (name: string) => {
        started.push(name);
        return `arn:aws:states:us-east-1:000000000000:execution:x:${name}`;
      },
    };
    const { run } = await submitEvaluation(
      deps,
      EvaluationRequest.parse({ model: { id: "meta-llama/Llama-2-70b-hf" }, tasks: ["hellaswag"] }),
    );
    assert.ok(Math.abs((run.spec.model.parameters ?? 0) - 68.98e9) < 0.5e9);
    assert.deepEqual(run.plan?.candidates.map((c) => c.instanceType).sort(), [
      "inf2.24xlarge",
      "inf2.48xlarge",
    ]);
    await assert.rejects(
      submitEvaluation(
        deps,
        EvaluationRequest.parse({
          model: { id: "meta-llama/Llama-2-70b-hf" },
          tasks: ["hellaswag"],
          capacity: { instanceTypes: ["inf2.xlarge"] },
        }),
      ),
      ModelDoesNotFit,
    );
    assert.equal(started.length, 1, "the refused request started nothing");
    await t.close();
  });
});
