// POST /evaluations?dryRun=true answers the plan and starts nothing; a real submit that needs two
// backends runs as those shards, one per backend, merged into one run.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { testStack, waitFor } from "../support/stack.ts";

const stack = await testStack();
after(() => stack.stop());

const mixed = { model: { id: "mistralai/Mistral-7B-v0.1" }, tasks: ["gsm8k", "hellaswag"], numFewshot: 0 };

describe("POST /evaluations?dryRun=true", () => {
  it("answers the shards with their backends, commands and estimates, and writes nothing", async () => {
    const res = await stack.api("/evaluations?dryRun=true", { method: "POST", json: mixed });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const shards = res.body.shards as { backend: string; tasks: string[]; commands: { harness: string } }[];
    assert.deepEqual(
      shards.map((s) => [s.backend, s.tasks]),
      [
        ["neuronx", ["hellaswag"]],
        ["vllm-neuron", ["gsm8k"]],
      ],
    );
    assert.match(shards[1].commands.harness, /--num_fewshot 0/);
    const listed = await stack.api("/evaluations");
    assert.deepEqual((listed.body as unknown as { items: unknown[] }).items, []);
  });

  it("runs the real submit as those shards, one per backend, into one run's metrics", async () => {
    const res = await stack.api("/evaluations", { method: "POST", json: { ...mixed, limit: 5 } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const runId = res.body.runId as string;
    const run = await waitFor("the run to end", async () => {
      const r = await stack.api(`/evaluations/${runId}`);
      return ["SUCCEEDED", "FAILED", "CANCELLED"].includes(r.body.status as string) ? r.body : undefined;
    });
    assert.equal(run.status, "SUCCEEDED", String(run.reason));
    const shards = run.shards as unknown as { backend: string; tasks: string[]; status: string }[];
    assert.deepEqual(
      shards.map((s) => [s.backend, s.tasks, s.status]),
      [
        ["neuronx", ["hellaswag"], "SUCCEEDED"],
        ["vllm-neuron", ["gsm8k"], "SUCCEEDED"],
      ],
    );
    const tasks = new Set((run.metrics as unknown as { task: string }[]).map((m) => m.task));
    assert.deepEqual([...tasks].sort(), ["gsm8k", "hellaswag"]);
  });

  it("answers 400 for a deadline no plan can meet, dry run or not", async () => {
    const hurried = { ...mixed, capacity: { deadlineMinutes: 5 } };
    for (const path of ["/evaluations?dryRun=true", "/evaluations"]) {
      const res = await stack.api(path, { method: "POST", json: hurried });
      assert.equal(res.status, 400, path);
      assert.match(String(res.body.detail), /finishes within 5 minutes/, path);
    }
  });

  it("refuses a bad dryRun value like any bad query", async () => {
    const res = await stack.api("/evaluations?dryRun=yes", { method: "POST", json: mixed });
    assert.equal(res.status, 400);
  });
});
