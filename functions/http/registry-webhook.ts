// POST /webhooks/registry: any registry, signed with HMAC-SHA256 over "<timestamp>.<body>" and a
// 5-minute replay window. The body is an evaluation request (the ModelRegistered schema).
import { createHash } from "node:crypto";
import { InvalidRequest } from "../../core/errors.ts";
import { triggerKey, verifySignature } from "../../core/registry.ts";
import { submitTrigger } from "../../core/submit.ts";
import { headersOf, json, publicRoute, rawBody } from "../middleware.ts";
import { config, submitDeps } from "../runtime.ts";

export const handler = publicRoute(async (event) => {
  const headers = headersOf(event);
  const body = rawBody(event);
  verifySignature(
    { timestamp: headers["x-spoteval-timestamp"], signature: headers["x-spoteval-signature"] },
    body,
    config().REGISTRY_WEBHOOK_SECRET,
  );
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    throw new InvalidRequest("the body is not JSON");
  }
  const identity = headers["idempotency-key"] ?? createHash("sha256").update(body).digest("hex");
  const { run, created } = await submitTrigger(
    submitDeps(),
    request as never,
    triggerKey("registry", identity),
  );
  return json(created ? 202 : 200, {
    runId: run.runId,
    status: run.status,
    created,
    links: { self: `/evaluations/${run.runId}` },
  });
});
