// POST /evaluations?dryRun=true answers the plan and starts nothing; a real submit that needs two
// backends is refused with the split named.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { testStack } from "../support/stack.ts";

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
    assert.equal(res.body.submittable, false);
    const listed = await stack.api("/evaluations");
    assert.deepEqual((listed.body as unknown as { items: unknown[] }).items, []);
  });

  it("refuses the real submit with a 400 that names the split, and starts nothing", async () => {
    const res = await stack.api("/evaluations", { method: "POST", json: mixed });
    assert.equal(res.status, 400);
    assert.match(String(res.body.detail), /two backends: hellaswag on neuronx; gsm8k on vllm-neuron/);
    const listed = await stack.api("/evaluations");
    assert.deepEqual((listed.body as unknown as { items: unknown[] }).items, []);
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
