// The OpenAPI 3.1 document, generated from the route specs the handlers validate with (core/routes.ts):
// every path, query and header parameter is what the handler's zod schema accepts, nothing else.
import * as z from "zod/mini";
import pkg from "../package.json" with { type: "json" };
import { apiRoutes, type RouteSpec } from "./routes.ts";
import { EvaluationRequest } from "./schemas.ts";

const jsonSchema = (schema: z.ZodMiniType) => {
  const { $schema, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
};

/** Named request bodies, referenced instead of inlined. */
const components: Record<string, z.ZodMiniType> = { EvaluationRequest };

type Parameter = { name: string; in: "path" | "query" | "header"; required: boolean; schema: unknown };

/** One parameter per property of an object schema, required unless it is optional or defaulted. */
function parametersOf(where: Parameter["in"], schema: z.ZodMiniObject | undefined): Parameter[] {
  if (!schema) return [];
  const object = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name: where === "header" ? name.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase()) : name,
    in: where,
    required: where === "path" || (object.required ?? []).includes(name),
    schema: property,
  }));
}

const problem = {
  description: "Problem details (RFC 9457)",
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
};

function operation(spec: RouteSpec) {
  const bodyName = Object.entries(components).find(([, schema]) => schema === spec.body)?.[0];
  return {
    summary: spec.summary,
    parameters: [
      ...parametersOf("path", spec.path),
      ...parametersOf("query", spec.query),
      ...parametersOf("header", spec.headers),
    ],
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: bodyName ? { $ref: `#/components/schemas/${bodyName}` } : jsonSchema(spec.body),
              },
            },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(spec.responses).map(([status, description]) => [
        status,
        Number(status) >= 400
          ? problem
          : spec.tabular
            ? { description, content: { "application/json": {}, "text/csv": {}, "text/markdown": {} } }
            : { description },
      ]),
    ),
  };
}

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of Object.values(apiRoutes) as RouteSpec[]) {
    paths[spec.url] = { ...paths[spec.url], [spec.method.toLowerCase()]: operation(spec) };
  }
  paths["/openapi.json"] = {
    get: { summary: "This document", security: [], responses: { "200": { description: "OpenAPI 3.1" } } },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "spoteval",
      version: pkg.version,
      description: "LLM evaluations with lm-evaluation-harness on Spot Inferentia2",
    },
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "an API key (read-only or read-write)" },
      },
      schemas: {
        ...Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, jsonSchema(schema)])),
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
    paths,
  };
}
