// The run store on a real DynamoDB (dynalite): forward-only, conditional transitions and idempotent writes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Conflict, StaleTransition } from "../../core/errors.ts";
import { newRunId } from "../../core/ids.ts";
import type { Run } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { testStore } from "../support/dynamo.ts";

const store = testStore();

const newRun = (model = "org/model"): Run => {
  const now = new Date().toISOString();
  return {
    runId: newRunId(),
    status: "QUEUED",
    version: 1,
    spec: toRunSpec(EvaluationRequest.parse({ model: { id: model }, tasks: ["gsm8k"] })),
    createdAt: now,
    updatedAt: now,
    attempts: 0,
  };
};

describe("run store", () => {
  it("moves a run forward through its statuses, bumping the version each time", async () => {
    const run = await store().createRun(newRun());
    for (const status of ["PLANNING", "ACQUIRING", "RUNNING", "RECORDING", "SUCCEEDED"] as const) {
      await store().transition(run.runId, status);
    }
    const done = await store().mustGetRun(run.runId);
    assert.equal(done.status, "SUCCEEDED");
    assert.equal(done.version, 6);
  });

  it("never moves a run backwards, and never out of a final state", async () => {
    const run = await store().createRun(newRun());
    await store().transition(run.runId, "PLANNING");
    await store().transition(run.runId, "ACQUIRING");
    await assert.rejects(store().transition(run.runId, "PLANNING"), StaleTransition);
    await store().transition(run.runId, "FAILED", { reason: "test" });
    await assert.rejects(store().transition(run.runId, "SUCCEEDED"), StaleTransition);
    await assert.rejects(store().updateRun(run.runId, { costUsd: 1 }), Conflict);
    assert.equal((await store().mustGetRun(run.runId)).status, "FAILED");
  });

  it("treats a repeated transition as done (a retried Lambda), without another write", async () => {
    const run = await store().createRun(newRun());
    const first = await store().transition(run.runId, "PLANNING");
    const again = await store().transition(run.runId, "PLANNING");
    assert.equal(again.version, first.version);
  });

  it("lets exactly one of two racing writers win each version, losing no update", async () => {
    const run = await store().createRun(newRun());
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => store().updateRun(run.runId, { labelsSeen: i } as Partial<Run>)),
    );
    assert.equal((await store().mustGetRun(run.runId)).version, 9, "eight updates, eight versions");
  });

  it("returns the same run for the same idempotency key and body, 409 for another body", async () => {
    const key = { key: `k-${newRunId()}`, bodyHash: "a", ttlSeconds: 60 };
    const first = await store().createRun(newRun(), key);
    const second = await store().createRun(newRun(), key);
    assert.equal(second.runId, first.runId);
    await assert.rejects(store().createRun(newRun(), { ...key, bodyHash: "b" }), Conflict);
  });

  it("opens an attempt once and only updates it from the states given", async () => {
    const run = await store().createRun(newRun());
    const attempt = {
      runId: run.runId,
      attempt: 1,
      status: "LAUNCHING" as const,
      clientToken: "t",
      launchTries: 1,
      startedAt: new Date().toISOString(),
    };
    await store().openAttempt(attempt);
    const again = await store().openAttempt({ ...attempt, clientToken: "other" });
    assert.equal(again.clientToken, "t", "a retried open returns the first attempt");
    assert.equal(await store().updateAttempt(run.runId, 1, ["LAUNCHING"], { status: "RUNNING" }), true);
    assert.equal(await store().updateAttempt(run.runId, 1, ["LAUNCHING"], { status: "FAILED" }), false);
    assert.equal((await store().getAttempt(run.runId, 1))?.status, "RUNNING");
  });

  it("lists runs newest first by model and by status, page by page", async () => {
    const model = `org/list-${newRunId().slice(-6)}`;
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await store().createRun(newRun(model))).runId);
    const first = await store().listRuns({ model, limit: 3 });
    assert.equal(first.runs.length, 3);
    const second = await store().listRuns({ model, limit: 3, cursor: first.cursor });
    assert.deepEqual(
      [...first.runs, ...second.runs].map((r) => r.runId),
      [...ids].reverse(),
    );
    const queued = await store().listRuns({ status: "QUEUED", limit: 100 });
    assert.ok(ids.every((id) => queued.runs.some((r) => r.runId === id)));
  });
});
