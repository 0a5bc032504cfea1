// The API's routes as the handlers parse them: one spec per route (who may call it, the zod schemas of
// its path, query, headers and body) that the handler validates with and the OpenAPI document is
// generated from, so a parameter added to a handler's schema is documented by that alone.
import * as z from "zod/mini";
import type { Access } from "./auth.ts";
import { cursorParam, pageLimit } from "./paging.ts";
import { EvaluationRequest, modelIdSchema, RunStatus, runId, taskName } from "./schemas.ts";

export type RouteSpec = {
  method: "GET" | "POST" | "DELETE";
  /** The path as serverless.yml routes it, with {parameters}. */
  url: string;
  summary: string;
  access: Access;
  path?: z.ZodMiniObject;
  query?: z.ZodMiniObject;
  /** Header names in lower case, as the handlers read them. */
  headers?: z.ZodMiniObject;
  body?: z.ZodMiniType;
  /** Status -> what the answer is; errors are problem+json. */
  responses: Record<string, string>;
  /** Answered as JSON, CSV or markdown (?format= or Accept). */
  tabular?: boolean;
};

const format = z.optional(z.enum(["json", "csv", "markdown"]));
const metricName = z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/));

/** POST /references: a results file as the harness wrote it, its samples per task, a label. */
export const AddReference = z.strictObject({
  label: z.string().check(z.minLength(1), z.maxLength(128)),
  /** The results JSON as the harness wrote it. */
  results: z.looseObject({ results: z.record(z.string(), z.unknown()) }),
  /** Per task, its samples file's text (JSON Lines, or the 0.4.0-0.4.2 JSON array). */
  samples: z.optional(z.record(z.string(), z.string())),
  /** The model, when the file's model_args do not name it. */
  model: z.optional(modelIdSchema),
});

export const idempotencyKey = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_.:-]{1,128}$/, "1-128 letters, digits, _ . : -"));

/** Keyed by the serverless.yml function that serves the route. */
export const apiRoutes = {
  submitEvaluation: {
    method: "POST",
    url: "/evaluations",
    summary: "Submit an evaluation",
    access: "write",
    headers: z.object({ "idempotency-key": z.optional(idempotencyKey) }),
    query: z.object({ dryRun: z.optional(z.enum(["true", "false"])) }),
    body: EvaluationRequest,
    responses: {
      "200": "dryRun=true: the plan (shards, backends, commands, estimate); nothing is started",
      "202": "Accepted: { runId, status, links }",
      "400": "",
      "401": "",
      "409": "",
      "422": "",
    },
  },
  listEvaluations: {
    method: "GET",
    url: "/evaluations",
    summary: "List runs, newest first",
    access: "read",
    query: z.object({
      model: z.optional(modelIdSchema),
      status: z.optional(RunStatus),
      limit: pageLimit(20),
      cursor: cursorParam,
    }),
    responses: { "200": "{ items, next }: next is the cursor of the following page", "400": "", "401": "" },
  },
  getEvaluation: {
    method: "GET",
    url: "/evaluations/{runId}",
    summary:
      "A run: status, progress, attempts, cost, metrics, callback deliveries; each shard of a sharded run",
    access: "read",
    path: z.object({ runId }),
    query: z.object({ format }),
    responses: { "200": "the run", "400": "", "401": "", "404": "" },
    tabular: true,
  },
  cancelEvaluation: {
    method: "DELETE",
    url: "/evaluations/{runId}",
    summary: "Cancel a run",
    access: "write",
    path: z.object({ runId }),
    responses: { "202": "cancel requested", "400": "", "401": "", "404": "", "409": "" },
  },
  modelResults: {
    method: "GET",
    url: "/models/{modelId}/results",
    summary: "Every metric of the latest finished runs of a model (modelId URL-encoded)",
    access: "read",
    path: z.object({ modelId: modelIdSchema }),
    query: z.object({ format, limit: pageLimit(20), cursor: cursorParam }),
    responses: { "200": "results", "400": "", "401": "" },
    tabular: true,
  },
  leaderboard: {
    method: "GET",
    url: "/leaderboard",
    summary: "Latest finished run per model, ranked by a metric",
    access: "read",
    query: z.object({
      task: taskName,
      metric: metricName,
      filter: z._default(metricName, "none"),
      numFewshot: z.optional(z.coerce.number().check(z.int(), z.gte(0), z.lte(64))),
      limit: pageLimit(50),
      cursor: cursorParam,
      format,
    }),
    responses: { "200": "leaderboard", "400": "", "401": "" },
    tabular: true,
  },
  addReference: {
    method: "POST",
    url: "/references",
    summary: "Keep a harness results file (and its samples per task) as a parity reference for its model",
    access: "write",
    body: AddReference,
    responses: { "201": "kept: { referenceId, ... }", "400": "", "401": "" },
  },
} as const satisfies Record<string, RouteSpec>;
