// POST /evaluations: accept an evaluation request and start its run.
import * as z from "zod/mini";
import { InvalidRequest } from "../../core/errors.ts";
import { EvaluationRequest } from "../../core/schemas.ts";
import { planEvaluation, submitEvaluation } from "../../core/submit.ts";
import { json, route } from "../middleware.ts";
import { submitDeps } from "../runtime.ts";

const idempotencyKey = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_.:-]{1,128}$/, "1-128 letters, digits, _ . : -"));

const query = z.object({ dryRun: z.optional(z.enum(["true", "false"])) });

export const handler = route(
  { access: "write", body: EvaluationRequest, query },
  async ({ body, headers, query }) => {
    if (query.dryRun === "true") return json(200, await planEvaluation(submitDeps(), body));
    const given = headers["idempotency-key"];
    const key = given === undefined ? undefined : idempotencyKey.safeParse(given);
    if (key && !key.success)
      throw new InvalidRequest("the Idempotency-Key header must be 1-128 letters, digits, _ . : -");
    const { run } = await submitEvaluation(submitDeps(), body, key?.data);
    return json(
      202,
      { runId: run.runId, status: run.status, links: { self: `/evaluations/${run.runId}` } },
      { location: `/evaluations/${run.runId}` },
    );
  },
);
