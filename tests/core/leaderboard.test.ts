// The stored leaderboard and paged listings on a real DynamoDB (dynalite): conditional writes in run
// order, withdrawal when a run fails after recording or is deleted, and cursors that visit every run once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newRunId } from "../../core/ids.ts";
import { readLeaderboard, recordOnLeaderboard, withdrawFromLeaderboard } from "../../core/leaderboard.ts";
import { deleteRun, modelResults } from "../../core/queries.ts";
import type { MetricRow } from "../../core/results.ts";
import { RUN_SHARDS, type Run, type RunCursor } from "../../core/run-store.ts";
import { EvaluationRequest, type RunStatus, toRunSpec } from "../../core/schemas.ts";
import { testStore } from "../support/dynamo.ts";

const store = testStore();
const board = { task: "gsm8k", metric: "exact_match", filter: "strict-match" };

const row = (value: number, extra: Partial<MetricRow> = {}): MetricRow => ({
  task: "gsm8k",
  displayName: "gsm8k",
  isGroup: false,
  table: "results",
  order: 0,
  version: 3,
  filter: "strict-match",
  numFewshot: 5,
  metric: "exact_match",
  value,
  stderr: 0.01,
  higherIsBetter: true,
  nSamples: null,
  ...extra,
});

let clock = Date.parse("2026-01-01T00:00:00Z");
/** A run stored in `status`, created a second after the previous one (so creation order is known). */
async function storedRun(model: string, status: RunStatus = "SUCCEEDED"): Promise<Run> {
  clock += 1000;
  const at = new Date(clock).toISOString();
  const run: Run = {
    runId: newRunId(),
    status: "QUEUED",
    version: 1,
    spec: toRunSpec(EvaluationRequest.parse({ model: { id: model }, tasks: ["gsm8k"] })),
    createdAt: at,
    updatedAt: at,
    attempts: 0,
  };
  await store().createRun(run);
  const path: RunStatus[] = ["PLANNING", "ACQUIRING", "RUNNING", "RECORDING"];
  for (const s of path) if (status !== "QUEUED") await store().transition(run.runId, s);
  if (status !== "QUEUED") await store().updateRun(run.runId, { resultsKey: `runs/${run.runId}/r.json` });
  if (status !== "QUEUED" && status !== "RECORDING") await store().transition(run.runId, status);
  return store().mustGetRun(run.runId);
}

/** What RecordMetrics does for a run: its metric items, then its leaderboard entries. */
async function record(run: Run, rows: MetricRow[]) {
  await store().putMetrics(run.runId, run.spec.model.id, rows);
  return recordOnLeaderboard(store(), run, rows, { finishedAt: run.updatedAt, simulated: true });
}

const boardOf = async (model: string, q = board) =>
  (await readLeaderboard(store(), { ...q, limit: 100 })).rows.find((r) => r.model === model);

describe("the stored leaderboard", () => {
  it("keeps the newest run's value whichever run records last", async () => {
    const model = `org/order-${newRunId().slice(-6)}`;
    const older = await storedRun(model);
    const newer = await storedRun(model);
    assert.equal(await record(newer, [row(0.6)]), 1);
    assert.equal(await record(older, [row(0.4)]), 0, "an older run never overwrites a newer one");
    assert.equal((await boardOf(model))?.runId, newer.runId);
    assert.equal((await boardOf(model))?.value, 0.6);
    const newest = await storedRun(model);
    assert.equal(await record(newest, [row(0.7)]), 1);
    assert.equal(await record(newest, [row(0.7)]), 1, "a retried recording rewrites its own entry");
    assert.equal((await boardOf(model))?.runId, newest.runId);
  });

  it("ranks by the metric's direction and pages with an offset, every model once", async () => {
    const q = { task: "paging_task", metric: "acc", filter: "none" };
    const models = Array.from({ length: 7 }, (_, i) => `org/page-${i}`);
    for (const [i, model] of models.entries())
      await record(await storedRun(model), [
        row(i / 10, { task: q.task, metric: q.metric, filter: q.filter }),
      ]);
    const seen: string[] = [];
    let offset: number | undefined;
    let pages = 0;
    do {
      const page = await readLeaderboard(store(), {
        ...q,
        limit: 3,
        ...(offset !== undefined ? { offset } : {}),
      });
      assert.ok(page.rows.length <= 3);
      seen.push(...page.rows.map((r) => r.model));
      offset = page.next;
      pages++;
    } while (offset !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...models].reverse(), "higher is better: best first, no model twice");
    const lower = { task: "perplexity_task", metric: "ppl", filter: "none" };
    for (const [i, model] of ["org/ppl-a", "org/ppl-b"].entries())
      await record(await storedRun(model), [
        row(10 - i, { task: lower.task, metric: lower.metric, filter: lower.filter, higherIsBetter: false }),
      ]);
    const ranked = await readLeaderboard(store(), { ...lower, limit: 10 });
    assert.deepEqual(
      ranked.rows.map((r) => [r.rank, r.model]),
      [
        [1, "org/ppl-b"],
        [2, "org/ppl-a"],
      ],
    );
  });

  it("keeps an entry per n-shot, and answers one n-shot when asked", async () => {
    const model = `org/shots-${newRunId().slice(-6)}`;
    await record(await storedRun(model), [row(0.3, { numFewshot: 0 })]);
    await record(await storedRun(model), [row(0.5, { numFewshot: 5 })]);
    assert.equal((await boardOf(model))?.value, 0.5, "no n-shot asked: the latest entry");
    const zero = await readLeaderboard(store(), { ...board, numFewshot: 0, limit: 100 });
    assert.equal(zero.rows.find((r) => r.model === model)?.value, 0.3);
  });

  it("gives an entry back to the previous run when its run is withdrawn, and removes it when none is left", async () => {
    const model = `org/withdraw-${newRunId().slice(-6)}`;
    const first = await storedRun(model);
    await record(first, [row(0.41)]);
    const second = await storedRun(model, "RECORDING");
    await record(second, [row(0.52)]);
    // Recorded, then failed after all (what finishStep does for such a run).
    await store().transition(second.runId, "FAILED");
    const failed = await store().mustGetRun(second.runId);
    assert.deepEqual(await withdrawFromLeaderboard(store(), failed), { replaced: 1, removed: 0 });
    assert.equal((await boardOf(model))?.runId, first.runId);
    await deleteRun(store(), first.runId);
    assert.equal(await store().getRun(first.runId), undefined);
    assert.deepEqual(await store().listMetrics(first.runId), []);
    assert.equal(await boardOf(model), undefined, "no run of the model counts any more");
  });

  it("leaves a newer run's entry alone when an older run is withdrawn", async () => {
    const model = `org/keep-${newRunId().slice(-6)}`;
    const older = await storedRun(model);
    await record(older, [row(0.2)]);
    const newer = await storedRun(model);
    await record(newer, [row(0.3)]);
    assert.deepEqual(await withdrawFromLeaderboard(store(), older), { replaced: 0, removed: 0 });
    assert.equal((await boardOf(model))?.runId, newer.runId);
  });
});

describe("paged listings", () => {
  it(`visits every run once, newest first, across the ${RUN_SHARDS} shards of the status and all-runs indexes`, async () => {
    const model = `org/shards-${newRunId().slice(-6)}`;
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) ids.push((await storedRun(model, "QUEUED")).runId);
    for (const filter of [{ model }, { status: "QUEUED" as const }, {}]) {
      const seen: string[] = [];
      let cursor: RunCursor | undefined;
      do {
        const page = await store().listRuns({ ...filter, limit: 5, ...(cursor ? { cursor } : {}) });
        assert.ok(page.runs.length <= 5);
        seen.push(...page.runs.map((r) => r.runId));
        cursor = page.cursor;
      } while (cursor);
      const ours = seen.filter((id) => ids.includes(id));
      assert.deepEqual(ours, [...ids].reverse(), JSON.stringify(filter));
      assert.equal(new Set(seen).size, seen.length, "no run twice");
    }
  });

  it("pages a model's results over its SUCCEEDED runs only", async () => {
    const model = `org/results-${newRunId().slice(-6)}`;
    const ok: string[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await storedRun(model, i % 2 ? "FAILED" : "SUCCEEDED");
      await store().putMetrics(run.runId, model, [row(i)]);
      if (run.status === "SUCCEEDED") ok.push(run.runId);
    }
    const first = await modelResults(store(), model, { limit: 2 });
    assert.equal(first.results.length, 2);
    assert.ok(first.cursor);
    const second = await modelResults(store(), model, { limit: 2, cursor: first.cursor });
    assert.equal(second.cursor, undefined);
    assert.deepEqual(
      [...first.results, ...second.results].map((r) => r.run.runId),
      [...ok].reverse(),
    );
    assert.ok(second.results.every((r) => r.metrics.length === 1));
  });
});
