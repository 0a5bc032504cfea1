// The short, visible middleware chains every handler is built from.
import middy, { type MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { type Access, authorize } from "../core/auth.ts";
import { InvalidRequest, SpotevalError } from "../core/errors.ts";
import { log, withLogScope } from "./log.ts";
import { apiKeys } from "./runtime.ts";

// English messages in every problem+json, whichever schemas a handler loads first.
z.config(en());

// ---- Step Functions tasks: parse the input, throw on failure (Step Functions matches the error name) ----

export function task<S extends z.ZodMiniType, R>(schema: S, fn: (input: z.output<S>) => Promise<R>) {
  return middy<unknown, R>().handler((event: unknown, context: Context) =>
    withLogScope({ requestId: context?.awsRequestId, ...runOf(event) }, async () => {
      const parsed = schema.safeParse(event);
      if (!parsed.success) throw new InvalidRequest(`bad task input: ${z.prettifyError(parsed.error)}`);
      try {
        return await fn(parsed.data);
      } catch (error) {
        log.warn("task failed", { error: (error as Error).name, detail: (error as Error).message });
        throw error;
      }
    }),
  );
}

/** The run a task input or a route's path names, for the log lines of its invocation. */
function runOf(value: unknown): { runId?: string } {
  const runId = (value as { runId?: unknown } | null)?.runId;
  return typeof runId === "string" && /^[0-9a-z]{26}$/.test(runId) ? { runId } : {};
}

// ---- HTTP routes ----

export type HttpResult = APIGatewayProxyStructuredResultV2;
export type Request<B, P, Q, H = Record<string, string | undefined>> = {
  body: B;
  path: P;
  query: Q;
  /** All headers, lower-cased; those the route's `headers` schema names, parsed. */
  headers: Record<string, string | undefined> & H;
  access: Access;
};

const MAX_BODY_BYTES = 64 * 1024;

export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): HttpResult {
  return {
    statusCode: status,
    headers: { "content-type": "application/problem+json" },
    body: JSON.stringify({ type: "about:blank", title, status, detail, ...extra }),
  };
}

/** One error handler for every route: typed errors below 500 become problem+json; nothing internal leaks. */
const problemJson = (): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => ({
  onError: async (request) => {
    const error = request.error;
    if (error instanceof SpotevalError && error.statusCode < 500) {
      request.response = problem(
        error.statusCode,
        error.name,
        error.message,
        error.details !== undefined ? { errors: error.details } : {},
      );
      return;
    }
    await withLogScope(
      { requestId: request.context?.awsRequestId, ...runOf(request.event?.pathParameters) },
      async () => log.error("unhandled error", { error: String(error) }),
    );
    request.response = problem(500, "InternalError", "the request failed; it has been logged");
  },
});

function parse<S extends z.ZodMiniType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidRequest(
      `invalid ${where}: ${parsed.error.issues.map((i) => `${[where, ...i.path].join(".")}: ${i.message}`).join("; ")}`,
      parsed.error.issues.map((i) => ({
        path: [where, ...i.path].join("."),
        message: i.message,
        code: i.code,
      })),
    );
  }
  return parsed.data;
}

/** Header names as API Gateway v2 may not have lowercased them (local tools, tests). */
export const headersOf = (event: APIGatewayProxyEventV2): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));

/** The body as text, decoded when API Gateway base64-encoded it. */
export const rawBody = (event: APIGatewayProxyEventV2): string =>
  event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString("utf8") : (event.body ?? "");

function readBody(event: APIGatewayProxyEventV2, maxBytes = MAX_BODY_BYTES): unknown {
  if (!event.body) return undefined;
  const text = rawBody(event);
  if (Buffer.byteLength(text) > maxBytes)
    throw new InvalidRequest(`the body is larger than ${maxBytes} bytes`);
  const type = event.headers?.["content-type"] ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new InvalidRequest("send the body as JSON with 'Content-Type: application/json'");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequest(`the body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * A route with an API key, built from its spec (core/routes.ts): the schemas it parses are the ones
 * the OpenAPI document shows, and the spec stays on the handler so a test can compare the two.
 */
export function route<
  B extends z.ZodMiniType,
  P extends z.ZodMiniType,
  Q extends z.ZodMiniType,
  H extends z.ZodMiniType = z.ZodMiniType<Record<string, never>>,
>(
  /** maxBodyBytes: for the few routes that take files (POST /references), within Lambda's 6 MB. */
  spec: { access: Access; body?: B; path?: P; query?: Q; headers?: H; maxBodyBytes?: number },
  fn: (
    request: Request<z.output<B>, z.output<P>, z.output<Q>, z.output<H>>,
    context: Context,
  ) => Promise<HttpResult>,
) {
  const handler = middy<APIGatewayProxyEventV2, HttpResult>()
    .use(problemJson())
    .handler((event, context) =>
      withLogScope({ requestId: context?.awsRequestId, ...runOf(event.pathParameters) }, async () => {
        const headers = headersOf(event);
        const access = authorize(headers.authorization, await apiKeys(), spec.access);
        const parsedHeaders = spec.headers ? parse(spec.headers, headers, "header") : {};
        const body = spec.body
          ? parse(spec.body, readBody({ ...event, headers }, spec.maxBodyBytes), "body")
          : undefined;
        const path = spec.path ? parse(spec.path, event.pathParameters ?? {}, "path") : undefined;
        const query = spec.query ? parse(spec.query, event.queryStringParameters ?? {}, "query") : undefined;
        const result = await fn(
          {
            body: body as z.output<B>,
            path: path as z.output<P>,
            query: query as z.output<Q>,
            headers: { ...headers, ...(parsedHeaders as object) } as Request<B, P, Q, z.output<H>>["headers"],
            access,
          },
          context,
        );
        // What the key may do, so a client (the dashboard) can offer only what it will be allowed.
        return { ...result, headers: { ...result.headers, "spoteval-access": access } };
      }),
    );
  return Object.assign(handler, { spec });
}

export const text = (contentType: string, body: string): HttpResult => ({
  statusCode: 200,
  headers: { "content-type": `${contentType}; charset=utf-8` },
  body,
});

/** A route with no API key (webhooks verify their sender themselves; the OpenAPI document is public). */
export function publicRoute(fn: (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>) {
  return middy<APIGatewayProxyEventV2, HttpResult>()
    .use(problemJson())
    .handler((event, context) =>
      withLogScope({ requestId: context?.awsRequestId }, () => fn(event, context)),
    );
}

export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
