// Sharded runs through the real definition (its Map), the real handlers, dynalite, s3rver and local
// instances running the simulated engine: every shard its own attempt chain and release, the results
// merged into one file, a failed shard's siblings kept (partial), a cancel stopping every shard.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import type { CapacityProvider } from "../../core/capacity/provider.ts";
import { weightedMean } from "../../core/merge.ts";
import { parseResults } from "../../core/results.ts";
import type { Run } from "../../core/run-store.ts";
import { artifactDeps, runStore } from "../../functions/runtime.ts";
import { createHandler as acquireHandler } from "../../functions/steps/acquire-capacity.ts";
import { lambdaContext } from "../../local/gateway.ts";
import { withEngineFault } from "../support/faulty-engine.ts";
import { pipelineDeps, testStack, waitFor } from "../support/stack.ts";

/** Engine faults per model and shard: what goes wrong on which shard's instance (ids name a family the
 * neuronx backend loads, so the planner routes loglikelihood tasks there). */
const faults: Record<string, (shard: number) => string | undefined> = {
  "test/llama-shard-fails": (shard) => (shard === 1 ? "fail" : undefined),
  "test/llama-shards-cancelled": () => "hang",
};

const stack = await testStack({
  env: { STALL_SECONDS: "30", BOOT_SECONDS: "120", MAX_ATTEMPTS: "2", MAX_INSTANCES: "4" },
  handlers: {
    acquireCapacity: async (input) => {
      const run = await runStore().mustGetRun((input as { runId: string }).runId);
      const fault = faults[run.spec.model.id]?.(run.shard ?? 0);
      const handler = acquireHandler(() => {
        const deps = pipelineDeps();
        if (!fault) return deps;
        const capacity: CapacityProvider = {
          name: deps.capacity.name,
          launch: async (request) =>
            (await withEngineFault(deps.capacity as LocalProcessProvider, fault)).launch(request),
          describe: (ids) => deps.capacity.describe(ids),
          releaseRun: (id, options) => deps.capacity.releaseRun(id, options),
          listManaged: () => deps.capacity.listManaged(),
        };
        return { ...deps, capacity };
      });
      return handler(input, lambdaContext("acquireCapacity"));
    },
  },
});

async function submit(modelId: string, tasks: string[], maxInstances: number): Promise<string> {
  const res = await stack.api("/evaluations", {
    method: "POST",
    json: {
      model: { id: modelId, parameters: 7.24e9 },
      tasks,
      numFewshot: 5,
      limit: 3,
      capacity: { maxInstances },
    },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.runId as string;
}

const finished = (runId: string) =>
  waitFor(
    `run ${runId} to end`,
    async () => {
      const run = await runStore().getRun(runId);
      return run && ["SUCCEEDED", "FAILED", "CANCELLED"].includes(run.status) ? run : undefined;
    },
    120_000,
  );

const shardsOf = async (run: Run) => Promise.all((run.shards ?? []).map((id) => runStore().mustGetRun(id)));

/** The execution has stopped, and nothing any shard launched is alive; every attempt is closed. */
async function assertNothingLeft(run: Run) {
  const execution = await waitFor("the execution to stop", async () => {
    const e = [...stack.stepFunctions.executions.values()].find((x) => x.name === run.runId);
    return e && e.status !== "RUNNING" ? e : undefined;
  });
  for (const id of [run.runId, ...(run.shards ?? [])]) {
    await waitFor(`the instances of ${id} to exit`, async () =>
      LocalProcessProvider.alive().some((i) => i.runId === id) ? undefined : true,
    );
    for (const attempt of await runStore().listAttempts(id))
      assert.ok(attempt.endedAt, `${id} attempt closed`);
  }
  return execution;
}

describe("sharded runs", { concurrency: true }, () => {
  after(() => stack.stop());
  const runs: Record<string, string> = {};
  before(async () => {
    runs.mmlu = await submit("test/llama-shards-mmlu", ["mmlu"], 3);
    runs.partial = await submit("test/llama-shard-fails", ["arc_easy", "hellaswag", "winogrande"], 3);
    runs.cancelled = await submit("test/llama-shards-cancelled", ["arc_easy", "hellaswag"], 2);
  });

  it("runs mmlu on three instances and merges the groups by the harness's rules", async () => {
    const run = await finished(runs.mmlu);
    assert.equal(run.status, "SUCCEEDED", run.reason);
    const shards = await shardsOf(run);
    assert.equal(shards.length, 3);
    assert.deepEqual(
      shards.map((s) => s.status),
      ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"],
    );
    assert.equal(
      new Set(shards.flatMap((s) => s.plan?.tasks ?? [])).size,
      57,
      "every subject on exactly one shard",
    );
    // One results file, as lm_eval --tasks mmlu writes it: the group over all 57 subjects.
    const merged = parseResults(await artifactDeps().artifacts.getText(run.resultsKey as string));
    const subjects = Object.keys(merged.results).filter((t) => t.startsWith("mmlu_"));
    assert.equal(subjects.length, 57 + 4, "57 subjects and 4 categories");
    const leaves = shards.flatMap((s) => s.plan?.tasks ?? []);
    const nSamples = merged["n-samples"] as Record<string, { effective: number }>;
    const sizes = leaves.map((t) => nSamples[t].effective);
    const values = leaves.map((t) => merged.results[t]["acc,none"] as number);
    assert.ok(
      Math.abs((merged.results.mmlu["acc,none"] as number) - weightedMean(values, sizes)) < 1e-12,
      "mmlu is the size-weighted mean over its 57 subjects",
    );
    const metrics = await runStore().listMetrics(run.runId);
    assert.ok(metrics.some((m) => m.task === "mmlu" && m.isGroup));
    assert.equal(run.simulated, true, "simulated shards make a simulated run");
    // The API shows each shard; the cost is the sum over every shard's attempts.
    const res = await stack.api(`/evaluations/${run.runId}`);
    const view = res.body as unknown as {
      shards: { status: string; attempts: unknown[]; costSoFarUsd: number }[];
    };
    assert.equal(view.shards.length, 3);
    assert.ok(view.shards.every((s) => s.status === "SUCCEEDED" && s.attempts.length === 1));
    const shardCosts = shards.reduce((sum, s) => sum + (s.costUsd ?? 0), 0);
    assert.ok(Math.abs((run.costUsd ?? 0) - shardCosts) < 1e-6, "run cost = the shards' costs");
    const execution = await assertNothingLeft(run);
    assert.equal(execution.status, "SUCCEEDED");
    // Listings show the run, never its shards.
    const list = await stack.api("/evaluations?limit=100");
    const ids = (list.body as unknown as { items: { runId: string }[] }).items.map((r) => r.runId);
    assert.ok(ids.includes(run.runId));
    assert.ok(!shards.some((s) => ids.includes(s.runId)));
  });

  it("fails a run whose shard fails, keeping the other shards' metrics marked partial", async () => {
    const run = await finished(runs.partial);
    assert.equal(run.status, "FAILED");
    assert.equal(run.error?.name, "EngineFailed");
    assert.match(run.reason ?? "", /shard 2 of 3 failed: .*simulated harness error/);
    const shards = await shardsOf(run);
    assert.deepEqual(
      shards.map((s) => s.status),
      ["SUCCEEDED", "FAILED", "SUCCEEDED"],
      "the siblings of a failed shard finish",
    );
    const failedTasks = shards[1].plan?.tasks ?? [];
    assert.deepEqual(run.partial?.missing, failedTasks);
    const tasks = new Set((await runStore().listMetrics(run.runId)).map((m) => m.task));
    for (const s of [shards[0], shards[2]]) for (const t of s.plan?.tasks ?? []) assert.ok(tasks.has(t), t);
    for (const t of failedTasks) assert.ok(!tasks.has(t), `${t} has no metrics`);
    const markdown = await stack.api(`/evaluations/${run.runId}?format=markdown`);
    assert.match(markdown.body, /PARTIAL: .*Missing: /);
    await assertNothingLeft(run);
  });

  it("stops and releases every shard on a cancel", async () => {
    const runId = runs.cancelled;
    const running = await waitFor("both shards' engines to report", async () => {
      const run = await runStore().getRun(runId);
      if (!run?.shards) return undefined;
      const attempts = await Promise.all(run.shards.map((id) => runStore().listAttempts(id)));
      return attempts.every((a) => a.at(-1)?.heartbeatAt) ? run : undefined;
    });
    assert.equal(running.status, "RUNNING");
    const res = await stack.api(`/evaluations/${runId}`, { method: "DELETE" });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const run = await finished(runId);
    assert.equal(run.status, "CANCELLED");
    assert.deepEqual(
      (await shardsOf(run)).map((s) => s.status),
      ["CANCELLED", "CANCELLED"],
    );
    await assertNothingLeft(run);
  });
});
