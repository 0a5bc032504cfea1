// The planner: which backend scores each task, which instances fit, tensor parallelism and replicas,
// the compile rule for small hosts, and the estimates (with their sources).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { harnessRevisionFor, NEURONX_ARCHITECTURES } from "../../core/backends.ts";
import { InvalidRequest, ModelDoesNotFit } from "../../core/errors.ts";
import { GIB_PER_CORE } from "../../core/instances.ts";
import { ModelConfig, shapeFromConfig } from "../../core/model-size.ts";
import { GIB_PER_CHIP, planRun, planShards, requiredMemoryGiB } from "../../core/planner.ts";
import { DEFAULT_HARNESS_REVISION, EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import {
  servingMemoryGiB,
  VLLM_MAX_MODEL_LEN,
  visibleCores,
  vllmTensorParallel,
} from "../../core/serving.ts";
import { needsLogprobs, taskTable } from "../../core/tasks.ts";
import { throughputTable } from "../../core/throughput.ts";

const spec = (model: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  toRunSpec(EvaluationRequest.parse({ model: { id: "org/model", ...model }, tasks: ["gsm8k"], ...extra }));
const mistral = (extra: Record<string, unknown> = {}) => spec({ id: "mistralai/Mistral-7B-v0.1" }, extra);
const shapeOf = (name: string) =>
  shapeFromConfig(
    ModelConfig.parse(
      JSON.parse(readFileSync(new URL(`../fixtures/hub-configs/${name}`, import.meta.url), "utf8")),
    ),
  );
const refusal = (pattern: RegExp) => (error: Error) =>
  error instanceof InvalidRequest && pattern.test(error.message);

describe("task table", () => {
  it("names each task's harness YAML and output type; a generative variant is itself generative and in the table", () => {
    assert.equal(taskTable.gsm8k.outputType, "generate_until");
    assert.equal(taskTable.hellaswag.outputType, "multiple_choice");
    assert.equal(taskTable.wikitext.outputType, "loglikelihood_rolling");
    for (const [name, facts] of Object.entries(taskTable)) {
      assert.match(facts.source, /^lm_eval\/tasks\//, name);
      assert.ok(facts.docs > 0, name);
      if (facts.generativeVariant) {
        assert.ok(needsLogprobs(facts.outputType), `${name} has a variant only if it needs logprobs`);
        assert.equal(taskTable[facts.generativeVariant]?.outputType, "generate_until", name);
      }
      if (!needsLogprobs(facts.outputType)) assert.ok((facts.outputTokens ?? 0) > 0, `${name} output tokens`);
    }
  });
});

describe("routing tasks to backends", () => {
  it("puts a generative task on vllm-neuron and a loglikelihood one on neuronx, and refuses the mixed submit naming the split", () => {
    const shards = planShards(mistral({ tasks: ["gsm8k", "hellaswag"] }));
    assert.deepEqual(
      shards.map((s) => [s.backend, s.tasks]),
      [
        ["neuronx", ["hellaswag"]],
        ["vllm-neuron", ["gsm8k"]],
      ],
    );
    assert.throws(
      () => planRun(mistral({ tasks: ["gsm8k", "hellaswag"] })),
      refusal(/two backends: hellaswag on neuronx; gsm8k on vllm-neuron/),
    );
    assert.equal(planRun(mistral()).backend, "vllm-neuron");
  });

  it("refuses a loglikelihood task for an architecture neuronx cannot load, naming the generative variant", () => {
    const qwen = (tasks: string[]) => spec({ id: "Qwen/Qwen2.5-7B" }, { tasks });
    assert.throws(
      () => planShards(qwen(["mmlu"])),
      refusal(
        /mmlu \(multiple_choice\) needs prompt logprobs.*qwen2.*use its generative variant mmlu_flan_n_shot_generative/,
      ),
    );
    assert.throws(() => planShards(qwen(["arc_challenge"])), refusal(/arc_challenge_chat/));
    assert.throws(() => planShards(qwen(["winogrande"])), refusal(/offers no generative variant/));
    assert.equal(planRun(qwen(["mmlu_flan_n_shot_generative"])).backend, "vllm-neuron");
    assert.ok(!(NEURONX_ARCHITECTURES as readonly string[]).includes("qwen2"));
  });

  it("reads the architecture from config.json when it has one, whatever the id says", () => {
    const llama = shapeOf("llama-2-70b-hf.json");
    assert.equal(llama.architecture, "llama");
    const plan = planRun(spec({ id: "org/renamed" }, { tasks: ["hellaswag"] }), { shape: llama });
    assert.equal(plan.backend, "neuronx");
    assert.ok(!plan.notes?.some((n) => /assumed/.test(n)));
  });

  it("sends a task outside the table to vllm-neuron, saying the instance's registry decides", () => {
    const plan = planRun(mistral({ tasks: ["my_private_task"] }));
    assert.equal(plan.backend, "vllm-neuron");
    assert.ok(plan.notes?.some((n) => /my_private_task: output type not in spoteval's table/.test(n)));
  });

  it("runs the published recipe (harness 756eeb6) on neuronx, generative tasks too", () => {
    const plan = planRun(mistral({ harness: { revision: "756eeb6" } }));
    assert.equal(plan.backend, "neuronx");
    assert.equal(plan.harnessRevision, DEFAULT_HARNESS_REVISION);
  });
});

describe("harness revisions per backend", () => {
  it("defaults each backend to its own and refuses what it cannot run, naming what it runs", () => {
    assert.equal(harnessRevisionFor("neuronx", undefined), DEFAULT_HARNESS_REVISION);
    assert.equal(harnessRevisionFor("vllm-neuron", undefined), "v0.4.8");
    assert.equal(harnessRevisionFor("vllm-neuron", "0.4.9"), "0.4.9");
    assert.equal(
      harnessRevisionFor("vllm-neuron", "4f8a2c1"),
      "4f8a2c1",
      "a commit is checked on the instance",
    );
    assert.throws(
      () => harnessRevisionFor("neuronx", "v0.4.8"),
      refusal(/runs only lm-evaluation-harness 756eeb6/),
    );
    assert.throws(() => harnessRevisionFor("vllm-neuron", "0.4.3"), refusal(/from 0\.4\.4 on/));
    assert.throws(
      () => planRun(mistral({ tasks: ["hellaswag"], harness: { revision: "0.4.8" } })),
      refusal(/neuronx backend runs only/),
    );
  });
});

describe("vllm-neuron: tensor parallelism and replicas", () => {
  it("takes the smallest power-of-two TP dividing the heads whose device memory holds weights and KV cache", () => {
    const shape = shapeOf("mistral-7b-v0.1.json");
    const tp = vllmTensorParallel(shape, "bfloat16", 8, VLLM_MAX_MODEL_LEN, 24);
    assert.equal(tp, 2);
    assert.ok(
      servingMemoryGiB(shape, "bfloat16", 8, VLLM_MAX_MODEL_LEN, 1) > GIB_PER_CORE,
      "TP 1 does not fit",
    );
    assert.ok(servingMemoryGiB(shape, "bfloat16", 8, VLLM_MAX_MODEL_LEN, 2) <= 2 * GIB_PER_CORE);
    assert.equal(
      vllmTensorParallel(shape, "bfloat16", 64, VLLM_MAX_MODEL_LEN, 24),
      4,
      "a bigger batch needs more KV cache",
    );
    assert.equal(vllmTensorParallel(shape, "bfloat16", 8, VLLM_MAX_MODEL_LEN, 1), undefined);
  });

  it("gives every replica its own slice of cores: 2, 8 and 24 cores", () => {
    assert.deepEqual(visibleCores(2, 2), ["0-1"]);
    assert.deepEqual(visibleCores(8, 2), ["0-1", "2-3", "4-5", "6-7"]);
    assert.deepEqual(visibleCores(24, 8), ["0-7", "8-15", "16-23"]);
    assert.deepEqual(visibleCores(2, 1), ["0", "1"]);
    const plan = planRun(mistral({ capacity: { instanceTypes: ["inf2.48xlarge"] } }), {
      shape: shapeOf("mistral-7b-v0.1.json"),
    });
    assert.deepEqual([plan.candidates[0].tpDegree, plan.candidates[0].replicas], [2, 12]);
    assert.deepEqual(plan.vllm, {
      tensorParallel: 2,
      maxNumSeqs: 8,
      maxModelLen: 4096,
      overrideNeuronConfig: {},
    });
  });

  it("replicates KV heads for a model that needs more cores than it has KV heads (Llama-2-70B)", () => {
    const plan = planRun(spec({ id: "meta-llama/Llama-2-70b-hf" }), {
      shape: shapeOf("llama-2-70b-hf.json"),
    });
    assert.deepEqual(
      plan.candidates.map((c) => [c.instanceType, c.tpDegree, c.replicas]),
      [["inf2.48xlarge", 16, 1]],
    );
  });

  it("does not compile a 7B model on inf2.xlarge (16 GiB of host memory) unless the artifacts are already in S3", () => {
    const types = (artifactsCached: boolean) =>
      planRun(mistral(), { artifactsCached }).candidates.map((c) => c.instanceType);
    assert.ok(!types(false).includes("inf2.xlarge"));
    assert.ok(types(true).includes("inf2.xlarge"));
    assert.ok(
      planRun(mistral()).notes?.some((n) => /inf2\.xlarge left out: compiling needs about 34 GiB/.test(n)),
    );
    assert.throws(
      () => planRun(mistral({ capacity: { instanceTypes: ["inf2.xlarge"] } })),
      (e: Error) => e instanceof ModelDoesNotFit && /inf2\.8xlarge or larger/.test(e.message),
    );
    const small = planRun(spec({ parameters: 1.1e9 }, { capacity: { instanceTypes: ["inf2.xlarge"] } }));
    assert.equal(small.candidates[0].instanceType, "inf2.xlarge");
  });
});

describe("neuronx sizing and estimates", () => {
  it("fits a 7B bf16 model on one Inferentia2 chip, with the written-down margin", () => {
    const needed = requiredMemoryGiB(7.24e9, "bfloat16");
    const weights = (7.24e9 * 2) / 2 ** 30;
    assert.equal(needed, weights * 1.2 + 2);
    assert.ok(needed < GIB_PER_CHIP);
    const plan = planRun(spec({ parameters: 7.24e9, id: "org/llama-7b" }, { tasks: ["hellaswag"] }));
    assert.equal(plan.backend, "neuronx");
    assert.equal(plan.candidates.find((c) => c.instanceType === "inf2.xlarge")?.tpDegree, 2);
  });

  it("puts a 70B model only on inf2.24xlarge or inf2.48xlarge, ranked by expected cost to finish", () => {
    const plan = planRun(spec({ parameters: 70e9, id: "org/llama-70b" }, { tasks: ["hellaswag"] }));
    assert.deepEqual(plan.candidates.map((c) => c.instanceType).sort(), ["inf2.24xlarge", "inf2.48xlarge"]);
    const costs = plan.candidates.map((c) => c.expectedCostUsd);
    assert.deepEqual(
      costs,
      [...costs].sort((a, b) => a - b),
    );
    assert.equal(plan.candidates.find((c) => c.instanceType === "inf2.48xlarge")?.tpDegree, 24);
  });

  it("refuses a model that fits nothing allowed, saying what to change", () => {
    assert.throws(
      () =>
        planRun(
          spec(
            { parameters: 70e9, id: "org/llama-70b" },
            { tasks: ["hellaswag"], capacity: { instanceTypes: ["inf2.xlarge", "inf2.8xlarge"] } },
          ),
        ),
      (error: Error) =>
        error instanceof ModelDoesNotFit && /inf2\.24xlarge/.test(error.message) && /GiB/.test(error.message),
    );
    assert.throws(() => planRun(spec({ parameters: 400e9, dtype: "float32" })), ModelDoesNotFit);
  });

  it("estimates from published figures with their sources: more replicas finish sooner", () => {
    for (const row of throughputTable) assert.match(row.source, /\w/);
    const plan = planRun(mistral({ capacity: { instanceTypes: ["inf2.8xlarge", "inf2.48xlarge"] } }));
    const [small, big] = ["inf2.8xlarge", "inf2.48xlarge"].map((t) =>
      plan.candidates.find((c) => c.instanceType === t),
    );
    assert.ok(small && big);
    assert.ok(big.replicas && small.replicas && big.replicas > small.replicas);
    assert.ok(big.expectedHours < small.expectedHours);
    assert.ok(plan.notes?.some((n) => /guesses carried from published figures/.test(n)));
  });
});
