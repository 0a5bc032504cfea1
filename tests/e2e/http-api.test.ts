// The HTTP API over real HTTP against the local stack: what a client sees, and that bad input writes nothing.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { runStore } from "../../functions/runtime.ts";
import { apiClient, sampleRequest, testStack, waitFor } from "../support/stack.ts";

const stack = await testStack();
const api = stack.api;
after(() => stack.stop());

async function runCount() {
  return (await runStore().listRuns({ limit: 100 })).runs.length;
}

describe("HTTP API", () => {
  it("accepts an evaluation with 202, a run id and links, and finishes it", async () => {
    const res = await api("/evaluations", {
      method: "POST",
      json: sampleRequest("mistralai/Mistral-7B-v0.1"),
    });
    assert.equal(res.status, 202);
    assert.match(res.body.runId as string, /^[0-9a-z]{26}$/);
    assert.ok(
      ["QUEUED", "PLANNING", "ACQUIRING", "RUNNING"].includes(res.body.status as string),
      String(res.body.status),
    );
    assert.deepEqual(res.body.links, { self: `/evaluations/${res.body.runId}` });
    assert.equal(res.headers.get("location"), `/evaluations/${res.body.runId}`);

    const done = await waitFor("the run to succeed", async () => {
      const r = await api(`/evaluations/${res.body.runId}`);
      return ["SUCCEEDED", "FAILED"].includes(r.body.status as string) ? r.body : undefined;
    });
    assert.equal(done.status, "SUCCEEDED");
    assert.equal(done.simulated, true, "the run says its numbers are simulated");
    const metrics = done.metrics as { task: string; metric: string; filter: string; value: number }[];
    assert.equal(metrics.length, 2);
    assert.match(done.results as string, /^s3:\/\/spoteval-local-artifacts\/runs\/.+\/results_.+\.json$/);
    const attempts = done.attempts as { instanceType: string; market: string; endedAt: string }[];
    // The plan's cheapest-to-finish type: inf2.8xlarge for a 7B model on vllm-neuron (inf2.xlarge cannot compile it).
    assert.equal(attempts[0].instanceType, "inf2.8xlarge");
    assert.ok(attempts[0].endedAt);

    const table = await api(`/evaluations/${res.body.runId}?format=markdown`);
    assert.equal(table.status, 200);
    assert.match(table.headers.get("content-type") ?? "", /text\/markdown/);
    assert.match(table.body, /^SIMULATED:/);
    assert.match(
      table.body,
      /\|Tasks\|Version\| {5}Filter {5}\|n-shot\| {2}Metric {3}\| {3}\|Value ?\| {3}\|Stderr\|/,
    );
  });

  it("asks for an API key, and refuses a wrong one", async () => {
    const none = await fetch(`${stack.urls.API}/evaluations`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get("content-type") ?? "", /application\/problem\+json/);
    const wrong = await apiClient(stack.urls.API, "se_wrong")("/evaluations");
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.title, "Unauthorized");
  });

  it("answers bad requests with 4xx problem+json that says what to fix, and writes nothing", async () => {
    const before = await runCount();
    const cases: [string, RequestInit & { json?: unknown }, number, RegExp][] = [
      ["malformed JSON", { method: "POST", body: "{ nope" }, 400, /not valid JSON/],
      [
        "not JSON",
        { method: "POST", body: "model=x", headers: { "content-type": "text/plain" } },
        400,
        /application\/json/,
      ],
      ["unknown field", { method: "POST", json: { ...sampleRequest("org/m"), gpu: "a100" } }, 400, /gpu/],
      ["bad model id", { method: "POST", json: sampleRequest("no slash here") }, 400, /body\.model\.id/],
      [
        "wrong type",
        { method: "POST", json: { ...sampleRequest("org/m"), batchSize: "one" } },
        400,
        /batchSize/,
      ],
      ["no tasks", { method: "POST", json: { model: { id: "org/m" } } }, 400, /tasks or suite/],
      [
        "too big to fit",
        {
          method: "POST",
          json: { ...sampleRequest("org/huge"), model: { id: "org/huge", parameters: 9e11 } },
        },
        422,
        /GiB/,
      ],
      [
        "oversized body",
        { method: "POST", json: { ...sampleRequest("org/m"), labels: { a: "x".repeat(70_000) } } },
        400,
        /larger than/,
      ],
    ];
    for (const [what, init, status, detail] of cases) {
      const res = await api("/evaluations", init);
      assert.equal(res.status, status, what);
      assert.match(res.headers.get("content-type") ?? "", /application\/problem\+json/, what);
      assert.match(res.body.detail as string, detail, what);
    }
    assert.equal(await runCount(), before, "no run was written");
  });

  it("returns the same run for a repeated Idempotency-Key, and 409 for the same key with another body", async () => {
    const key = { "idempotency-key": `same-${Date.now()}` };
    const a = await api("/evaluations", { method: "POST", json: sampleRequest("org/idem"), headers: key });
    const b = await api("/evaluations", { method: "POST", json: sampleRequest("org/idem"), headers: key });
    assert.equal(a.status, 202);
    assert.equal(b.body.runId, a.body.runId);
    const c = await api("/evaluations", { method: "POST", json: sampleRequest("org/other"), headers: key });
    assert.equal(c.status, 409);
  });

  it("404s an unknown run and 400s a malformed run id", async () => {
    assert.equal((await api("/evaluations/0000000000aaaaaaaaaaaaaaaa")).status, 404);
    assert.equal((await api("/evaluations/..%2F..%2Fetc")).status, 400);
  });

  it("lists runs newest first, filtered and paginated by an opaque cursor", async () => {
    for (let i = 0; i < 3; i++)
      await api("/evaluations", { method: "POST", json: sampleRequest("org/paged") });
    const first = await api("/evaluations?model=org/paged&limit=2");
    assert.equal(first.status, 200);
    const items = first.body.items as unknown as { runId: string; createdAt: string }[];
    assert.equal(items.length, 2);
    assert.ok(items[0].runId > items[1].runId, "newest first");
    const second = await api(`/evaluations?model=org/paged&limit=2&cursor=${first.body.next}`);
    assert.equal((second.body.items as unknown[]).length, 1);
    assert.equal((await api("/evaluations?cursor=garbage")).status, 400);
    assert.equal((await api("/evaluations?status=NOPE")).status, 400);
  });
});
