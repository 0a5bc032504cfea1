// The local HTTP API: serves the httpApi routes of serverless.yml with API Gateway v2 (payload 2.0)
// events, so the same handlers answer here and behind API Gateway.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { Route } from "./serverless-config.ts";

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** API Gateway's own limit on a request body. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export function lambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function matcher(path: string) {
  const names: string[] = [];
  const pattern = path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  const re = new RegExp(`^${pattern}$`);
  return (actual: string) => {
    const m = re.exec(actual);
    if (!m) return undefined;
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
  };
}

export class LocalGateway {
  private server?: Server;
  private readonly routes: {
    route: Route;
    match: (p: string) => Record<string, string> | undefined;
    handler: HttpHandler;
  }[];

  constructor(routes: { route: Route; handler: HttpHandler }[]) {
    this.routes = routes.map((r) => ({ ...r, match: matcher(r.route.path) }));
  }

  listen(port: number, host = "127.0.0.1"): Promise<string> {
    this.server = createServer(async (req, res) => {
      const send = (status: number, headers: Record<string, string>, body: string | Buffer) => {
        res.writeHead(status, headers);
        res.end(body);
      };
      try {
        const url = new URL(req.url ?? "/", "http://local");
        const method = (req.method ?? "GET").toUpperCase();
        let params: Record<string, string> | undefined;
        let found: (typeof this.routes)[number] | undefined;
        for (const r of this.routes) {
          if (r.route.method !== method) continue;
          params = r.match(url.pathname);
          if (params) {
            found = r;
            break;
          }
        }
        if (!found)
          return send(404, { "content-type": "application/json" }, JSON.stringify({ message: "Not Found" }));
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of req) {
          size += (chunk as Buffer).length;
          if (size > MAX_PAYLOAD_BYTES)
            return send(
              413,
              { "content-type": "application/json" },
              JSON.stringify({ message: "Request Entity Too Large" }),
            );
          chunks.push(chunk as Buffer);
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(",") : v;
        const query: Record<string, string> = {};
        for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
        const body = Buffer.concat(chunks);
        const event: APIGatewayProxyEventV2 = {
          version: "2.0",
          routeKey: `${found.route.method} ${found.route.path}`,
          rawPath: url.pathname,
          rawQueryString: url.search.slice(1),
          headers,
          ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
          ...(params && Object.keys(params).length ? { pathParameters: params } : {}),
          ...(body.length ? { body: body.toString("utf8") } : {}),
          isBase64Encoded: false,
          requestContext: {
            accountId: "000000000000",
            apiId: "local",
            domainName: headers.host ?? "localhost",
            domainPrefix: "local",
            http: {
              method,
              path: url.pathname,
              protocol: "HTTP/1.1",
              sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
              userAgent: headers["user-agent"] ?? "",
            },
            requestId: randomUUID(),
            routeKey: `${found.route.method} ${found.route.path}`,
            stage: "$default",
            time: new Date().toUTCString(),
            timeEpoch: Date.now(),
          },
        };
        const result = await found.handler(event, lambdaContext(found.route.functionName));
        const outHeaders: Record<string, string> = {};
        for (const [k, v] of Object.entries(result.headers ?? {})) outHeaders[k] = String(v);
        send(
          result.statusCode ?? 200,
          outHeaders,
          result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : (result.body ?? ""),
        );
      } catch (error) {
        // What API Gateway answers when the integration itself fails.
        console.error(error);
        send(
          500,
          { "content-type": "application/json" },
          JSON.stringify({ message: "Internal Server Error" }),
        );
      }
    });
    return new Promise((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(port, host, () => {
        const address = this.server?.address();
        resolve(`http://${host}:${typeof address === "object" && address ? address.port : port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
