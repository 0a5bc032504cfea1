// Model registries that start runs: SageMaker Model Registry approvals, Hugging Face Hub pushes, and a
// documented ModelRegistered event. Each becomes the same evaluation request plus an idempotency key,
// so a redelivered event starts nothing new.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import * as z from "zod/mini";
import { InvalidRequest, Unauthorized } from "./errors.ts";
import { type EvaluationRequest, type SuiteName, suites } from "./schemas.ts";

export type Defaults = { suite?: SuiteName; tasks?: string[] };
export type Trigger = { request: EvaluationRequest; key: string } | { ignored: string };

const tasksOrSuite = (defaults: Defaults): Pick<EvaluationRequest, "tasks" | "suite"> =>
  defaults.tasks?.length ? { tasks: defaults.tasks } : { suite: defaults.suite ?? "open-llm-leaderboard-v1" };

// ---- SageMaker Model Registry (EventBridge "SageMaker Model Package State Change") ----

export const SageMakerPackageEvent = z.object({
  id: z.string(),
  "detail-type": z.literal("SageMaker Model Package State Change"),
  detail: z.looseObject({
    ModelPackageArn: z.string(),
    ModelPackageGroupName: z.optional(z.string()),
    ModelApprovalStatus: z.string(),
    InferenceSpecification: z.optional(
      z.looseObject({
        Containers: z.optional(z.array(z.looseObject({ ModelDataUrl: z.optional(z.string()) }))),
      }),
    ),
    CustomerMetadataProperties: z.optional(z.record(z.string(), z.string())),
  }),
});

/** Tasks and settings come from the package's customer metadata (spoteval:*), else the default suite. */
export function fromSageMaker(event: z.infer<typeof SageMakerPackageEvent>, defaults: Defaults): Trigger {
  const d = event.detail;
  if (d.ModelApprovalStatus !== "Approved")
    return { ignored: `package is ${d.ModelApprovalStatus}, not Approved` };
  const location = d.InferenceSpecification?.Containers?.find((c) => c.ModelDataUrl)?.ModelDataUrl;
  if (!location)
    throw new InvalidRequest(`model package ${d.ModelPackageArn} has no ModelDataUrl to evaluate`);
  const meta = d.CustomerMetadataProperties ?? {};
  const tasks = meta["spoteval:tasks"]
    ?.split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  const suite = meta["spoteval:suite"];
  const request: EvaluationRequest = {
    model: {
      // SageMaker's ModelDataUrl as it is: the engine unpacks a model.tar.gz itself.
      id: location,
      ...(meta["spoteval:parameters"] ? { parameters: Number(meta["spoteval:parameters"]) } : {}),
      ...(meta["spoteval:dtype"] ? { dtype: meta["spoteval:dtype"] as "bfloat16" } : {}),
    },
    ...(tasks?.length
      ? { tasks }
      : suite && suite in suites
        ? { suite: suite as SuiteName }
        : tasksOrSuite(defaults)),
    ...(meta["spoteval:numFewshot"] ? { numFewshot: Number(meta["spoteval:numFewshot"]) } : {}),
    labels: { trigger: "sagemaker", modelPackageGroup: (d.ModelPackageGroupName ?? "").slice(0, 256) },
  };
  // One run per approved package version, however often the event is delivered.
  return { request, key: triggerKey("sagemaker", d.ModelPackageArn) };
}

// ---- Hugging Face Hub webhook ----

export const HubWebhook = z.looseObject({
  event: z.looseObject({ action: z.string(), scope: z.string() }),
  repo: z.looseObject({ type: z.string(), name: z.string(), headSha: z.optional(z.string()) }),
  updatedRefs: z.optional(z.array(z.looseObject({ ref: z.string(), newSha: z.nullish(z.string()) }))),
});

/** A new commit on main of a watched model repo: evaluate that commit, pinned. */
export function fromHub(payload: z.infer<typeof HubWebhook>, watched: string[], defaults: Defaults): Trigger {
  if (payload.repo.type !== "model") return { ignored: `a ${payload.repo.type} repo, not a model` };
  if (payload.event.scope !== "repo.content") return { ignored: `scope ${payload.event.scope}` };
  if (watched.length && !watched.includes(payload.repo.name))
    return { ignored: `${payload.repo.name} is not watched` };
  const main = payload.updatedRefs?.find((r) => r.ref === "refs/heads/main" && r.newSha);
  const sha = main?.newSha ?? (payload.updatedRefs ? undefined : payload.repo.headSha);
  if (!sha) return { ignored: "no new commit on main" };
  return {
    request: {
      model: { id: payload.repo.name, revision: sha },
      ...tasksOrSuite(defaults),
      labels: { trigger: "huggingface" },
    },
    key: triggerKey("hf", `${payload.repo.name}@${sha}`),
  };
}

/** An idempotency key from what identifies a trigger (package version, repo commit, event id). */
export const triggerKey = (kind: string, identity: string) =>
  `${kind}:${createHash("sha256").update(identity).digest("hex").slice(0, 48)}`;

/** The Hub sends the secret configured on the webhook in X-Webhook-Secret. */
export function verifyHubSecret(presented: string | undefined, secret: string) {
  if (!secret || !presented || !equal(presented, secret))
    throw new Unauthorized("X-Webhook-Secret does not match");
}

// ---- generic registries: signed POST /webhooks/registry, or a ModelRegistered event on the bus ----

export const REPLAY_WINDOW_SECONDS = 300;

/** HMAC-SHA256 over "<timestamp>.<body>", hex, sent as `X-Spoteval-Signature: v1=<hex>`. */
export const sign = (secret: string, timestamp: string, body: string) =>
  `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;

export function verifySignature(
  headers: { timestamp?: string; signature?: string },
  body: string,
  secret: string,
  now = Date.now(),
) {
  if (!secret) throw new Unauthorized("this deployment accepts no registry webhooks");
  if (!headers.timestamp || !/^\d{1,12}$/.test(headers.timestamp) || !headers.signature) {
    throw new Unauthorized("send X-Spoteval-Timestamp (unix seconds) and X-Spoteval-Signature");
  }
  if (Math.abs(now / 1000 - Number(headers.timestamp)) > REPLAY_WINDOW_SECONDS) {
    throw new Unauthorized(`the timestamp is more than ${REPLAY_WINDOW_SECONDS} seconds away from now`);
  }
  if (!equal(headers.signature, sign(secret, headers.timestamp, body)))
    throw new Unauthorized("the signature does not match");
}

function equal(a: string, b: string) {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
