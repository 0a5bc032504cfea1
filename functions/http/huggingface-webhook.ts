// POST /webhooks/huggingface: a Hub webhook. Verified by X-Webhook-Secret; a new commit on main of a
// watched model starts one run pinned to that commit (the commit is the idempotency key).
import { InvalidRequest } from "../../core/errors.ts";
import { fromHub, HubWebhook, verifyHubSecret } from "../../core/registry.ts";
import { submitTrigger } from "../../core/submit.ts";
import { headersOf, json, publicRoute, rawBody } from "../middleware.ts";
import { config, submitDeps, triggerDefaults } from "../runtime.ts";

export const handler = publicRoute(async (event) => {
  verifyHubSecret(headersOf(event)["x-webhook-secret"], config().HF_WEBHOOK_SECRET);
  let body: unknown;
  try {
    body = JSON.parse(rawBody(event));
  } catch {
    throw new InvalidRequest("the webhook body is not JSON");
  }
  const parsed = HubWebhook.safeParse(body);
  if (!parsed.success) throw new InvalidRequest("not a Hugging Face Hub webhook payload");
  const { watched, ...defaults } = triggerDefaults();
  const trigger = fromHub(parsed.data, watched, defaults);
  if ("ignored" in trigger) return json(200, { ignored: trigger.ignored });
  const { run, created } = await submitTrigger(submitDeps(), trigger.request, trigger.key);
  return json(created ? 202 : 200, {
    runId: run.runId,
    status: run.status,
    created,
    links: { self: `/evaluations/${run.runId}` },
  });
});
