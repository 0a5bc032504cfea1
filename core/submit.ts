// Accepting an evaluation: validate what can be known now (does the model fit anything?),
// record the run, start its execution. Idempotent by key, so a retried request starts nothing new.
import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import * as z from "zod/mini";
import { type CallbackPolicy, CallbackRefused, checkCallbackTarget } from "./callback-target.ts";
import {
  compiledArtifactsFields,
  compiledArtifactsMarker,
  compiledArtifactsPrefix,
} from "./compiled-artifacts.ts";
import { InvalidRequest } from "./errors.ts";
import { newRunId } from "./ids.ts";
import { checkModelLocation } from "./model-location.ts";
import { type FetchConfig, lookupShape, type ModelShape } from "./model-size.ts";
import { type PlanDocument, planDocument } from "./plan-document.ts";
import { planShardedRun, vllmConfigFor } from "./planner.ts";
import type { Run, RunStore } from "./run-store.ts";
import {
  type EvaluationRequest,
  EvaluationRequest as EvaluationRequestSchema,
  type RunSpec,
  toRunSpec,
} from "./schemas.ts";

/** Starts the state machine execution named `name`; Step Functions itself dedups by name. */
export type StartExecution = (name: string, input: ExecutionInput) => Promise<string>;

/** The state machine's input: only ids and limits; the spec stays in DynamoDB (no secrets in history). */
export type ExecutionInput = { runId: string; maxAttempts: number; capacity: { attempt: number } };

export type SubmitDeps = {
  store: RunStore;
  startExecution: StartExecution;
  maxAttempts: number;
  maxRunHours: number;
  /** Reads a model's config.json (the Hub) to size it when the request gives no parameter count. */
  fetchModelConfig?: FetchConfig;
  /** Instances a run may use in all when its request does not say (a deployment parameter). */
  maxInstances?: number;
  /** Where callbacks may go; without it (or without a signing secret) a callbackUrl is refused. */
  callbacks?: { policy: CallbackPolicy; secret: string };
  /** Where vllm-neuron's compiled artifacts are and which image compiles them (part of their key). */
  compiledArtifacts?: { exists: (key: string) => Promise<boolean>; image: string };
  /** Checks an s3:// model at submit (core/model-location.ts): `buckets` are the ones the engine may read. */
  models?: { s3: S3Client; buckets?: string[] };
};

export async function submitEvaluation(
  deps: SubmitDeps,
  request: z.output<typeof EvaluationRequestSchema>,
  idempotencyKey?: string,
): Promise<{ run: Run; created: boolean }> {
  const spec = toRunSpec(request);
  // The key guards the request as sent, before the planner fills in sizes and the backend's harness.
  const bodyHash = hashOf(spec);
  if (spec.callbackUrl) {
    if (!deps.callbacks?.secret)
      throw new CallbackRefused("this deployment sends no callbacks: it has no callbackSecret to sign them");
    await checkCallbackTarget(spec.callbackUrl, deps.callbacks.policy);
  }
  await checkModel(deps, spec);
  const shape = await shapeOf(deps, spec);
  if (spec.model.parameters === undefined && shape) spec.model.parameters = shape.parameters;
  // A model that fits nothing, a task no backend can score, a deadline no shard count meets: a 4xx
  // now, not a failed run later. Several shards (capacity.maxInstances, or two backends) run at once.
  const { shards } = planShardedRun(spec, {
    ...(shape ? { shape } : {}),
    ...(deps.maxInstances !== undefined ? { maxInstances: deps.maxInstances } : {}),
    artifactsCached: await artifactsCached(deps, spec, shape),
  });
  if (shards.length === 1) spec.harnessRevision = shards[0].harnessRevision;
  const createdAt = new Date();
  const candidate: Run = {
    runId: newRunId(createdAt.getTime()),
    status: "QUEUED",
    version: 1,
    spec,
    ...(shards.length === 1 ? { plan: shards[0] } : { shardPlans: shards }),
    createdAt: createdAt.toISOString(),
    updatedAt: createdAt.toISOString(),
    attempts: 0,
    deadline: new Date(createdAt.getTime() + deps.maxRunHours * 3_600_000).toISOString(),
  };
  const run = await deps.store.createRun(
    candidate,
    idempotencyKey ? { key: idempotencyKey, bodyHash, ttlSeconds: 24 * 3600 } : undefined,
  );
  const created = run.runId === candidate.runId;
  if (run.executionArn) return { run, created };
  // New, or accepted earlier but its execution never started (the request died in between).
  const executionArn = await deps.startExecution(run.runId, {
    runId: run.runId,
    maxAttempts: deps.maxAttempts,
    capacity: { attempt: 0 },
  });
  await deps.store.recordExecution(run.runId, executionArn);
  return { run: await deps.store.mustGetRun(run.runId), created };
}

/** An s3:// model this deployment cannot read is a 4xx now, not an attempt failing on an instance. */
const checkModel = (deps: Pick<SubmitDeps, "models">, spec: RunSpec) =>
  deps.models ? checkModelLocation(deps.models.s3, spec.model.id, deps.models.buckets) : Promise.resolve();

/**
 * One listing of a key: were this run's vLLM servers compiled before (core/compiled-artifacts.ts)? Then a
 * 7-8B model may be planned onto inf2.xlarge, which has too little host memory to compile it.
 */
async function artifactsCached(
  deps: Pick<SubmitDeps, "compiledArtifacts">,
  spec: RunSpec,
  shape?: ModelShape,
) {
  const vllm = deps.compiledArtifacts && vllmConfigFor(spec, shape ? { shape } : {});
  if (!deps.compiledArtifacts || !vllm) return false;
  const fields = compiledArtifactsFields(spec, deps.compiledArtifacts.image, vllm);
  return deps.compiledArtifacts.exists(compiledArtifactsMarker(compiledArtifactsPrefix(fields)));
}

const shapeOf = async (
  deps: Pick<SubmitDeps, "fetchModelConfig">,
  spec: RunSpec,
): Promise<ModelShape | undefined> =>
  deps.fetchModelConfig ? lookupShape(deps.fetchModelConfig, spec.model.id, spec.model.revision) : undefined;

/** What a submit would do, before it spends money (POST /evaluations?dryRun=true): nothing is written. */
export async function planEvaluation(
  deps: Pick<SubmitDeps, "fetchModelConfig" | "maxInstances" | "models" | "compiledArtifacts">,
  request: z.output<typeof EvaluationRequestSchema>,
): Promise<PlanDocument> {
  const spec = toRunSpec(request);
  await checkModel(deps, spec);
  const shape = await shapeOf(deps, spec);
  const options = {
    ...(shape ? { shape } : {}),
    ...(deps.maxInstances !== undefined ? { maxInstances: deps.maxInstances } : {}),
    artifactsCached: await artifactsCached(deps, spec, shape),
  };
  return planDocument(spec, planShardedRun(spec, options), shape);
}

/** A registry trigger: validated like an HTTP request (4xx on bad input), idempotent by its key. */
export async function submitTrigger(deps: SubmitDeps, request: EvaluationRequest, key: string) {
  const parsed = EvaluationRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new InvalidRequest(
      `the registry event does not describe a valid evaluation: ${z.prettifyError(parsed.error)}`,
    );
  }
  return submitEvaluation(deps, parsed.data, key);
}

export const hashOf = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");
