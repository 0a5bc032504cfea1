// `spoteval plan`, offline (no stack, no network): the done-when command of the vLLM issue, the text a
// person reads, and the exit code of a request the API would refuse.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import type { PlanDocument } from "../../core/plan-document.ts";
import { projectRoot } from "../../local/stack.ts";

const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [`${projectRoot}/bin/spoteval.js`, "plan", ...args], {
    env: { PATH: process.env.PATH ?? "" },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe("spoteval plan", () => {
  it("puts gsm8k on vllm-neuron and hellaswag on neuronx (Mistral-7B on inf2.48xlarge), with the commands", async () => {
    const out = await cli([
      "--model",
      "mistralai/Mistral-7B-v0.1",
      "--tasks",
      "gsm8k,hellaswag",
      "--instance-type",
      "inf2.48xlarge",
      "--format",
      "json",
    ]);
    assert.equal(out.code, 0, out.stderr);
    const plan = JSON.parse(out.stdout) as PlanDocument;
    const shard = (backend: string) => plan.shards.find((s) => s.backend === backend) ?? assert.fail(backend);
    const vllm = shard("vllm-neuron");
    const neuronx = shard("neuronx");
    assert.deepEqual(vllm.tasks, ["gsm8k"]);
    assert.deepEqual(neuronx.tasks, ["hellaswag"]);
    assert.equal(vllm.instanceType, "inf2.48xlarge");
    assert.equal(vllm.tensorParallel * vllm.replicas, 24);
    assert.equal(vllm.visibleCores.length, vllm.replicas);
    assert.equal(vllm.commands.servers.length, vllm.replicas);
    assert.match(
      vllm.commands.servers[0],
      /^NEURON_RT_VISIBLE_CORES=0-1 .*vllm serve mistralai\/Mistral-7B-v0.1 /,
    );
    assert.match(vllm.commands.servers[0], /--no-enable-prefix-caching --num-gpu-blocks-override 8 /);
    assert.match(
      vllm.commands.harness,
      /--model local-completions --model_args model=mistralai\/Mistral-7B-v0.1,base_url=http:\/\/127\.0\.0\.1:8000\/v1\/completions,.*num_concurrent=96/,
    );
    assert.deepEqual(neuronx.commands.servers, []);
    assert.match(neuronx.commands.harness, /--model neuronx --model_args .*tp_degree=24 --tasks hellaswag/);
    assert.ok(
      plan.estimate.usd > 0 &&
        plan.estimate.minutes >= Math.max(vllm.estimate.minutes, neuronx.estimate.minutes),
    );
  });

  it("says the same to a person, and exits 3 for a request the API would refuse", async () => {
    const text = await cli(["--model", "mistralai/Mistral-7B-v0.1", "--tasks", "gsm8k", "--format", "text"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /Shard 1 of 1: gsm8k on vllm-neuron, inf2\.\w+: \d+ vLLM server\(s\) of \d+ NeuronCore/,
    );
    assert.match(text.stdout, /assumed: no config\.json read/);
    const refused = await cli(["--model", "Qwen/Qwen2.5-7B", "--tasks", "hellaswag"]);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /hellaswag \(multiple_choice\) needs prompt logprobs/);
    assert.equal((await cli(["--tasks", "gsm8k"])).code, 2, "no model: usage");
  });

  it("splits open-llm-leaderboard-v1 across --max-instances 4, beside the one-instance baseline", async () => {
    const out = await cli([
      "--model",
      "mistralai/Mistral-7B-v0.1",
      "--suite",
      "open-llm-leaderboard-v1",
      "--max-instances",
      "4",
      "--format",
      "json",
    ]);
    assert.equal(out.code, 0, out.stderr);
    const plan = JSON.parse(out.stdout) as PlanDocument;
    assert.equal(plan.shards.length, 4);
    assert.equal(plan.estimate.minutes, Math.max(...plan.shards.map((s) => s.estimate.minutes)));
    assert.ok(plan.baseline.minutes > plan.estimate.minutes, JSON.stringify(plan.baseline));
    const mmluShards = plan.shards.filter((s) => s.tasks.some((t) => t.startsWith("mmlu_")));
    assert.ok(mmluShards.length >= 2);
    for (const s of mmluShards) {
      assert.equal(s.backend, "neuronx");
      assert.match(s.commands.harness, /--tasks (\S*,)?mmlu_\w+.* --num_fewshot 5 /);
    }
    const text = await cli([
      "--model",
      "mistralai/Mistral-7B-v0.1",
      "--suite",
      "open-llm-leaderboard-v1",
      "--max-instances",
      "4",
    ]);
    assert.match(text.stdout, /Shard 4 of 4: gsm8k on vllm-neuron/);
    assert.match(text.stdout, /Baseline: about [\d.]+ min, \$[\d.]+ for the same tasks one after the other/);
  });

  it("meets --deadline-minutes with the cheapest plan, and exits 3 when nothing can", async () => {
    const args = ["--model", "mistralai/Mistral-7B-v0.1", "--tasks", "hellaswag,mmlu", "--format", "json"];
    const met = await cli([...args, "--max-instances", "8", "--deadline-minutes", "120"]);
    assert.equal(met.code, 0, met.stderr);
    const plan = JSON.parse(met.stdout) as PlanDocument;
    assert.ok(plan.estimate.minutes <= 120, `${plan.estimate.minutes}`);
    const refused = await cli([...args, "--deadline-minutes", "15"]);
    assert.equal(refused.code, 3);
    assert.match(
      refused.stderr,
      /InvalidRequest: no plan of at most 4 instance\(s\) finishes within 15 minutes/,
    );
    assert.equal((await cli([...args, "--max-instances", "0"])).code, 2, "a bad count: usage");
  });
});
