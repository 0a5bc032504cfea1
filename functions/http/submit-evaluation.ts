// POST /evaluations: accept an evaluation request and start its run.
import { z } from "zod";
import { EvaluationRequest } from "../../core/schemas.ts";
import { submitEvaluation } from "../../core/submit.ts";
import { json, route } from "../middleware.ts";
import { submitDeps } from "../runtime.ts";

const idempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "1-128 letters, digits, _ . : -");

export const handler = route({ access: "write", body: EvaluationRequest }, async ({ body, headers }) => {
  const key =
    headers["idempotency-key"] === undefined ? undefined : idempotencyKey.parse(headers["idempotency-key"]);
  const { run } = await submitEvaluation(submitDeps(), body, key);
  return json(
    202,
    { runId: run.runId, status: run.status, links: { self: `/evaluations/${run.runId}` } },
    { location: `/evaluations/${run.runId}` },
  );
});
