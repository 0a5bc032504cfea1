// Accepting a run: regression tests named after what the chaos suite found.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { Conflict } from "../../core/errors.ts";
import { IDEMPOTENCY_GRACE_SECONDS } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { hashOf, type SubmitDeps, submitEvaluation } from "../../core/submit.ts";
import { testStore } from "../support/dynamo.ts";

const store = testStore();

describe("submit", () => {
  it("answers with the run when its execution fails it before the submit records the execution (was a 409)", async () => {
    const deps = {
      store: store(),
      maxAttempts: 3,
      maxRunHours: 24,
      // The execution runs at once and fails the run (quota exhausted) before StartExecution returns.
      startExecution: async (name: string) => {
        await store().transition(name, "FAILED", { reason: "QuotaExceeded: chaos" });
        return `arn:aws:states:us-east-1:000000000000:execution:x:${name}`;
      },
    };
    const { run, created } = await submitEvaluation(
      deps,
      EvaluationRequest.parse({ model: { id: "org/fast-fail" }, tasks: ["gsm8k"] }),
    );
    assert.equal(created, true);
    assert.equal(run.status, "FAILED");
    assert.equal(run.executionArn, `arn:aws:states:us-east-1:000000000000:execution:x:${run.runId}`);
  });
});

describe("idempotency keys", () => {
  const started: string[] = [];
  const deps = (): SubmitDeps => ({
    store: store(),
    maxAttempts: 3,
    maxRunHours: 24,
    startExecution: async (name) => {
      started.push(name);
      return `arn:aws:states:us-east-1:000000000000:execution:x:${name}`;
    },
  });
  const request = (model: string) => EvaluationRequest.parse({ model: { id: model }, tasks: ["gsm8k"] });
  /** A key as a request leaves it when it dies between writing the key and writing its run. */
  async function orphanKey(key: string, model: string, ageSeconds: number, expiresIn = 3600) {
    const now = Date.now();
    await store().db.send(
      new PutCommand({
        TableName: store().table,
        Item: {
          PK: `IDEMPOTENCY#${key}`,
          SK: "IDEMPOTENCY",
          kind: "idempotency",
          runId: "0000000000deadrunneverwrit",
          bodyHash: hashOf(toRunSpec(request(model))),
          acceptedAt: now - ageSeconds * 1000,
          expires: Math.floor(now / 1000) + expiresIn,
        },
      }),
    );
  }

  it("answers 409 for a key whose run is still being written, within the grace period", async () => {
    await orphanKey("k-young", "org/young", 1);
    await assert.rejects(submitEvaluation(deps(), request("org/young"), "k-young"), Conflict);
  });

  it("starts the run on a retry once a key without a run is older than the grace period", async () => {
    await orphanKey("k-stuck", "org/stuck", IDEMPOTENCY_GRACE_SECONDS + 1);
    const { run, created } = await submitEvaluation(deps(), request("org/stuck"), "k-stuck");
    assert.equal(created, true);
    assert.ok(started.includes(run.runId), "its execution started");
    const again = await submitEvaluation(deps(), request("org/stuck"), "k-stuck");
    assert.equal(again.run.runId, run.runId, "the key now answers with that run");
    assert.equal(again.created, false);
  });

  it("lets only one of two concurrent retries take over a stuck key", async () => {
    await orphanKey("k-race", "org/race", IDEMPOTENCY_GRACE_SECONDS + 1);
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => submitEvaluation(deps(), request("org/race"), "k-race")),
    );
    const runs = new Set(results.flatMap((r) => (r.status === "fulfilled" ? [r.value.run.runId] : [])));
    assert.equal(runs.size, 1, "one run for the key");
    for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof Conflict);
    const created = results.filter((r) => r.status === "fulfilled" && r.value.created);
    assert.equal(created.length, 1);
  });

  it("ignores an expired key that TTL has not deleted yet, even with another body", async () => {
    await orphanKey("k-expired", "org/other-body", IDEMPOTENCY_GRACE_SECONDS + 1, -60);
    const { run, created } = await submitEvaluation(deps(), request("org/expired"), "k-expired");
    assert.equal(created, true);
    assert.equal(run.spec.model.id, "org/expired");
  });

  it("still answers 409 for the same live key with a different body", async () => {
    await submitEvaluation(deps(), request("org/body-a"), "k-body");
    await assert.rejects(submitEvaluation(deps(), request("org/body-b"), "k-body"), Conflict);
  });
});
