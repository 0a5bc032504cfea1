// The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with.
import * as z from "zod/mini";
import { EvaluationRequest, RunStatus, runId } from "./schemas.ts";

const problem = {
  description: "Problem details (RFC 9457)",
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
};
const tabular = (description: string) => ({
  description,
  content: { "application/json": {}, "text/csv": {}, "text/markdown": {} },
});
const param = (
  name: string,
  where: "path" | "query",
  schema: z.ZodMiniType,
  required = where === "path",
) => ({
  name,
  in: where,
  required,
  schema: z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }),
});
const format = param("format", "query", z.enum(["json", "csv", "markdown"]));

export function openApiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "spoteval",
      version: "0.1.0",
      description: "LLM evaluations with lm-evaluation-harness on Spot Inferentia2",
    },
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "an API key (read-only or read-write)" },
      },
      schemas: {
        EvaluationRequest: z.toJSONSchema(EvaluationRequest, { io: "input", unrepresentable: "any" }),
        Problem: {
          type: "object",
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            errors: { type: "array" },
          },
        },
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      "/evaluations": {
        post: {
          summary: "Submit an evaluation",
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              schema: { type: "string", maxLength: 128 },
            },
            param("dryRun", "query", z.enum(["true", "false"])),
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/EvaluationRequest" } } },
          },
          responses: {
            "200": {
              description: "dryRun=true: the plan (shards, backends, commands, estimate); nothing is started",
            },
            "202": { description: "Accepted: { runId, status, links }" },
            "400": problem,
            "401": problem,
            "409": problem,
            "422": problem,
          },
        },
        get: {
          summary: "List runs, newest first",
          parameters: [
            param("model", "query", z.string()),
            param("status", "query", RunStatus),
            param("limit", "query", z.int()),
            param("cursor", "query", z.string()),
          ],
          responses: { "200": { description: "{ items, next }" }, "400": problem },
        },
      },
      "/evaluations/{runId}": {
        get: {
          summary: "A run: status, progress, attempts, cost, metrics",
          parameters: [param("runId", "path", runId), format],
          responses: { "200": tabular("the run"), "404": problem },
        },
        delete: {
          summary: "Cancel a run",
          parameters: [param("runId", "path", runId)],
          responses: { "202": { description: "cancel requested" }, "404": problem, "409": problem },
        },
      },
      "/models/{modelId}/results": {
        get: {
          summary: "Every metric of every finished run of a model (modelId URL-encoded)",
          parameters: [param("modelId", "path", z.string()), format],
          responses: { "200": tabular("results"), "400": problem },
        },
      },
      "/leaderboard": {
        get: {
          summary: "Latest finished run per model, ranked by a metric",
          parameters: [
            param("task", "query", z.string(), true),
            param("metric", "query", z.string(), true),
            param("filter", "query", z.string()),
            format,
          ],
          responses: { "200": tabular("leaderboard"), "400": problem },
        },
      },
      "/openapi.json": {
        get: { summary: "This document", security: [], responses: { "200": { description: "OpenAPI 3.1" } } },
      },
    },
  };
}
