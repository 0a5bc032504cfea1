// The planner: which backend scores each task, which instances fit, tensor parallelism and replicas,
// the compile rule for small hosts, and the estimates (with their sources).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { harnessRevisionFor, NEURONX_ARCHITECTURES } from "../../core/backends.ts";
import { InvalidRequest, ModelDoesNotFit } from "../../core/errors.ts";
import { EXPECTED_SPOT_FRACTION, GIB_PER_CORE, instanceShapes } from "../../core/instances.ts";
import { ModelConfig, shapeFromConfig } from "../../core/model-size.ts";
import { planDocument } from "../../core/plan-document.ts";
import {
  COMPILE_HOURS,
  GIB_PER_CHIP,
  planRun,
  planShardedRun,
  planShards,
  requiredMemoryGiB,
  vllmConfigFor,
} from "../../core/planner.ts";
import type { Plan } from "../../core/run-store.ts";
import { DEFAULT_HARNESS_REVISION, EvaluationRequest, instanceTypes, toRunSpec } from "../../core/schemas.ts";
import {
  servingMemoryGiB,
  VLLM_MAX_MODEL_LEN,
  visibleCores,
  vllmTensorParallel,
} from "../../core/serving.ts";
import { type BackendWork, chooseShards, lpt } from "../../core/shard-plan.ts";
import { mmluSubjectDocs, needsLogprobs, taskTable } from "../../core/tasks.ts";
import { neuronxSecondsPerDoc, throughputTable } from "../../core/throughput.ts";

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
  it("puts a generative task on vllm-neuron and a loglikelihood one on neuronx: two shards, never one instance", () => {
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
      refusal(/two backends, so two instances: hellaswag on neuronx; gsm8k on vllm-neuron/),
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

  it("gives a submit the vLLM configuration its plan will have, to look for its compiled artifacts first", () => {
    for (const request of [
      mistral(),
      mistral({ batchSize: 4 }),
      mistral({ capacity: { instanceTypes: ["inf2.xlarge"] } }),
    ]) {
      const cached = planRun(request, { artifactsCached: true });
      assert.deepEqual(vllmConfigFor(request), cached.vllm);
      assert.deepEqual(
        vllmConfigFor(request),
        planRun(mistral({ capacity: { instanceTypes: ["inf2.48xlarge"] }, batchSize: request.batchSize }))
          .vllm,
      );
    }
    assert.equal(
      planRun(mistral({ capacity: { instanceTypes: ["inf2.xlarge"] } }), { artifactsCached: true })
        .candidates[0].instanceType,
      "inf2.xlarge",
    );
    assert.equal(vllmConfigFor(mistral({ tasks: ["hellaswag"] })), undefined, "nothing on vllm-neuron");
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

describe("sharded plans", () => {
  const suite = (capacity: Record<string, unknown> = {}) =>
    toRunSpec(
      EvaluationRequest.parse({
        model: { id: "mistralai/Mistral-7B-v0.1" },
        suite: "open-llm-leaderboard-v1",
        capacity,
      }),
    );
  const neuronxTasks = ["hellaswag", "boolq", "arc_easy", "piqa", "winogrande", "arc_challenge"];
  const minutesOf = (p: Plan) => p.candidates[0].expectedHours * 60;
  const costOf = (ps: Plan[]) => ps.reduce((s, p) => s + p.candidates[0].expectedCostUsd, 0);
  const wallOf = (ps: Plan[]) => Math.max(...ps.map(minutesOf));

  it("assigns longest work first to the least-loaded shard: a case computed by hand", () => {
    // Documents 10042, 3270, 2376, 1838, 1267, 1172 onto 3 shards: 10042 | 3270 | 2376; 1838 -> the
    // third (2376 < 3270): 4214; 1267 -> the second (3270): 4537; 1172 -> the third (4214): 5386.
    const docs = neuronxTasks.map((t) => taskTable[t].docs);
    assert.deepEqual(docs, [10042, 3270, 2376, 1838, 1267, 1172]);
    assert.deepEqual(lpt(docs, 3), [[0], [1, 4], [2, 3, 5]]);
    assert.deepEqual(lpt(docs, 1), [[0, 1, 2, 3, 4, 5]]);
    assert.equal(lpt(docs, 10).length, 6, "never more shards than items");

    // Planned: six tasks on inf2.xlarge, at most 3 instances (hand LPT: 3270 | 2376 | 1838; 1267 -> the
    // third: 3105; 1172 -> the second: 3548; 817 -> the third: 3922).
    const six = ["boolq", "arc_easy", "piqa", "winogrande", "arc_challenge", "truthfulqa_mc2"];
    const shards = planShards(
      mistral({ tasks: six, capacity: { instanceTypes: ["inf2.xlarge"], maxInstances: 3 } }),
    );
    assert.deepEqual(
      shards.map((s) => s.tasks),
      [["boolq"], ["arc_easy", "arc_challenge"], ["piqa", "winogrande", "truthfulqa_mc2"]],
    );
    // Each shard: compiling (COMPILE_HOURS) plus its documents at neuronx's seconds per loglikelihood document on 2 cores.
    const perDoc = neuronxSecondsPerDoc(7.24e9, 2, false, 1);
    assert.deepEqual(
      shards.map((s) => s.candidates[0].expectedHours),
      [3270, 3548, 3922].map((d) => Math.round((COMPILE_HOURS + (d * perDoc) / 3600) * 1000) / 1000),
    );
    // With hellaswag (10042 documents) the run cannot end sooner than hellaswag alone: a third instance
    // would not shorten it, so the plan stops at two (the cheaper).
    const dominated = planShards(
      mistral({ tasks: neuronxTasks, capacity: { instanceTypes: ["inf2.xlarge"], maxInstances: 3 } }),
    );
    assert.deepEqual(
      dominated.map((s) => s.tasks),
      [["hellaswag"], ["boolq", "arc_easy", "piqa", "winogrande", "arc_challenge"]],
    );
  });

  it("spreads mmlu's 57 subjects across shards, never splits a task, and never mixes backends", () => {
    const shards = planShards(suite({ maxInstances: 4 }));
    assert.equal(shards.length, 4);
    const subjects = shards.flatMap((s) => (s.tasks ?? []).filter((t) => t.startsWith("mmlu_")));
    assert.equal(subjects.length, 57);
    assert.equal(new Set(subjects).size, 57, "each subject on exactly one shard");
    assert.ok(shards.filter((s) => s.tasks?.some((t) => t.startsWith("mmlu_"))).length >= 2);
    for (const task of ["arc_challenge", "hellaswag", "truthfulqa_mc2", "winogrande", "gsm8k"])
      assert.equal(shards.filter((s) => s.tasks?.includes(task)).length, 1, task);
    assert.deepEqual(
      shards.map((s) => s.backend),
      ["neuronx", "neuronx", "neuronx", "vllm-neuron"],
    );
    assert.deepEqual(shards[3].tasks, ["gsm8k"]);
    // One shard holding every subject names the group, as the request did.
    assert.deepEqual(planShards(mistral({ tasks: ["mmlu"], capacity: { maxInstances: 1 } }))[0].tasks, [
      "mmlu",
    ]);
    assert.deepEqual(planRun(mistral({ tasks: ["mmlu", "hellaswag"] })).tasks, ["mmlu", "hellaswag"]);
  });

  it("stays within maxInstances, and finishes no later with more of them", () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let max = 2; max <= 8; max++) {
      const shards = planShards(suite({ maxInstances: max }));
      assert.ok(shards.length <= max, `${shards.length} shards for maxInstances ${max}`);
      assert.ok(wallOf(shards) <= previous + 1e-9, `maxInstances ${max}`);
      previous = wallOf(shards);
    }
    assert.throws(
      () => planShards(suite({ maxInstances: 1 })),
      refusal(/need 2 backends.*maxInstances is 1/),
    );
    assert.equal(planShards(mistral({ tasks: ["hellaswag"], capacity: { maxInstances: 8 } })).length, 1);
    assert.equal(planShards(suite(), { maxInstances: 2 }).length, 2, "the deployment's default");
    assert.equal(planShards(suite({ maxInstances: 3 }), { maxInstances: 2 }).length, 3, "the request wins");
    assert.ok(
      !EvaluationRequest.safeParse({ model: { id: "a/b" }, tasks: ["x"], capacity: { maxInstances: 0 } })
        .success,
    );
    assert.ok(
      !EvaluationRequest.safeParse({ model: { id: "a/b" }, tasks: ["x"], capacity: { maxInstances: 65 } })
        .success,
    );
  });

  it("picks the cheapest shard count and instance type that meets a deadline: a case computed by hand", () => {
    const backend = (items: number[]): BackendWork => ({
      backend: "neuronx",
      options: [
        { instanceType: "slow", usdPerHour: 1, overheadHours: 0.5, itemSeconds: items.map((h) => h * 3600) },
        { instanceType: "fast", usdPerHour: 3, overheadHours: 0.5, itemSeconds: items.map((h) => h * 1800) },
      ],
    });
    const pick = (deadlineMinutes?: number) =>
      chooseShards([backend([2, 1, 1])], {
        maxInstances: 4,
        ...(deadlineMinutes ? { deadlineMinutes } : {}),
      }).map((a) => [a.option.instanceType, a.shards.length, a.wallHours, a.usd]);
    // Items of 2, 1 and 1 hours on "slow" ($1/h), half that on "fast" ($3/h), 0.5 h to compile per shard.
    // slow: 1 shard 4.5 h $4.5; 2 shards [2] [1,1] 2.5 h $5; 3 shards 2.5 h $5.5.
    // fast: 1 shard 2.5 h $7.5; 2 shards [1] [.5,.5] 1.5 h $9; 3 shards 1.5 h $10.5.
    assert.deepEqual(pick(270), [["slow", 1, 4.5, 4.5]]);
    assert.deepEqual(pick(150), [["slow", 2, 2.5, 5]]);
    assert.deepEqual(pick(90), [["fast", 2, 1.5, 9]]);
    assert.throws(
      () => pick(89),
      refusal(/within 89 minutes: the fastest, 2 x fast for neuronx, takes about 90 minutes/),
    );
    // Without a deadline: the cheapest type on one instance, on as many instances as shorten the run.
    assert.deepEqual(pick(), [["slow", 2, 2.5, 5]]);

    const deadline = 150;
    const shards = planShards(suite({ maxInstances: 8, deadlineMinutes: deadline }));
    assert.ok(wallOf(shards) <= deadline, `${wallOf(shards)} minutes`);
    let compared = 0;
    for (const type of instanceTypes)
      for (let max = 2; max <= 8; max++) {
        const other = (() => {
          try {
            return planShards(suite({ maxInstances: max, instanceTypes: [type], deadlineMinutes: deadline }));
          } catch {
            return undefined;
          }
        })();
        if (!other) continue;
        compared++;
        assert.ok(costOf(shards) <= costOf(other) + 0.001, `${type} x ${max}`);
      }
    assert.ok(compared >= 10, `${compared} alternatives compared`);
  });

  it("answers 400 for a deadline no plan can meet, naming the fastest", () => {
    assert.throws(
      () => planShards(suite({ deadlineMinutes: 20 })),
      refusal(
        /no plan of at most 4 instance\(s\) finishes within 20 minutes: the fastest, .* takes about \d+ minutes/,
      ),
    );
    assert.throws(
      () => planRun(mistral({ tasks: ["hellaswag"], capacity: { deadlineMinutes: 20 } })),
      InvalidRequest,
    );
  });

  it("plans a run on one instance (the baseline) whatever maxInstances says", () => {
    const one = planRun(mistral({ tasks: neuronxTasks, capacity: { maxInstances: 8 } }));
    assert.deepEqual(one.tasks, neuronxTasks);
    assert.equal(
      one.candidates[0].expectedCostUsd,
      Math.min(...one.candidates.map((c) => c.expectedCostUsd)),
      "cheapest to finish first",
    );
  });

  it("puts the baseline beside the shards: the same work on one instance per backend", () => {
    const run = planShardedRun(
      mistral({ tasks: neuronxTasks, capacity: { instanceTypes: ["inf2.xlarge"], maxInstances: 3 } }),
    );
    const work = run.shards.reduce((s, p) => s + minutesOf(p) - COMPILE_HOURS * 60, 0);
    assert.ok(
      Math.abs(run.baseline.minutes - COMPILE_HOURS * 60 - work) < 0.1,
      `${run.baseline.minutes} vs ${work}`,
    );
    const price = instanceShapes["inf2.xlarge"].onDemandPricePerHour * EXPECTED_SPOT_FRACTION;
    assert.ok(Math.abs(run.baseline.usd - (run.baseline.minutes / 60) * price) < 0.01);
    assert.ok(run.baseline.minutes > wallOf(run.shards));
    assert.ok(run.baseline.usd < costOf(run.shards), "each extra shard compiles again");

    const single = planShardedRun(mistral({ tasks: neuronxTasks, capacity: { maxInstances: 1 } }));
    assert.equal(single.baseline.minutes, Math.round(minutesOf(single.shards[0]) * 10) / 10);

    const doc = planDocument(suite(), planShardedRun(suite()));
    assert.deepEqual(Object.keys(doc.baseline), ["minutes", "usd"]);
    assert.ok(doc.baseline.minutes >= doc.estimate.minutes);
  });
});

describe("mmlu subjects in the task table", () => {
  it("match the n-samples of a real mmlu run and sum to mmlu's documents", () => {
    const real = JSON.parse(
      readFileSync(new URL("../fixtures/lm-eval/powerbot-8b-mmlu.json", import.meta.url), "utf8"),
    )["n-samples"] as Record<string, { original: number }>;
    assert.equal(Object.keys(real).length, 57);
    for (const [name, n] of Object.entries(real)) assert.equal(taskTable[name]?.docs, n.original, name);
    assert.equal(
      Object.values(mmluSubjectDocs).reduce((a, b) => a + b, 0),
      taskTable.mmlu.docs,
    );
  });
});
