// Every log line of an invocation is one JSON object carrying the request id, and the run id when the
// invocation concerns a run: task inputs, route paths, and runs learned midway (a submit).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import * as z from "zod/mini";
import { log, logRun } from "../../functions/log.ts";
import { task } from "../../functions/middleware.ts";
import { lambdaContext } from "../../local/gateway.ts";

let lines: Record<string, unknown>[];
beforeEach(() => {
  lines = [];
  for (const method of ["info", "warn", "error"] as const) {
    mock.method(console, method, (line: unknown) => {
      assert.equal(typeof line, "object", "an object, which Lambda's JSON format keeps as an object");
      lines.push(line as Record<string, unknown>);
    });
  }
});
afterEach(() => mock.restoreAll());

const RUN = "01m8gqqhta9dqa30s72mcrajz9";

describe("structured logs", () => {
  it("carry the request id and the run id of a task's input on every line, failures included", async () => {
    const handler = task(z.object({ runId: z.string() }), async () => {
      log.info("working");
      await new Promise((r) => setImmediate(r));
      log.warn("still working", { step: 2 });
      throw Object.assign(new Error("EC2 said no"), { name: "CapacityUnavailable" });
    });
    const context = lambdaContext("plan");
    await assert.rejects(handler({ runId: RUN }, context));
    assert.equal(lines.length, 3);
    for (const line of lines) {
      assert.equal(line.requestId, context.awsRequestId);
      assert.equal(line.runId, RUN);
    }
    assert.deepEqual(
      lines.map((l) => [l.level, l.message]),
      [
        ["INFO", "working"],
        ["WARN", "still working"],
        ["WARN", "task failed"],
      ],
    );
    assert.equal(lines[2].error, "CapacityUnavailable");
  });

  it("keeps concurrent invocations apart, and adds a run learned midway", async () => {
    const handler = task(z.object({ n: z.number() }), async ({ n }) => {
      await new Promise((r) => setTimeout(r, 5 * (3 - n)));
      logRun(`run${n}`.padEnd(26, "0"));
      log.info("learned", { n });
    });
    const contexts = [1, 2].map(() => lambdaContext("submitEvaluation"));
    await Promise.all([handler({ n: 1 }, contexts[0]), handler({ n: 2 }, contexts[1])]);
    for (const line of lines) {
      const n = line.n as number;
      assert.equal(line.requestId, contexts[n - 1].awsRequestId);
      assert.equal(line.runId, `run${n}`.padEnd(26, "0"));
    }
    assert.equal(lines.length, 2);
  });
});
