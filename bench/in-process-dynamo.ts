// The benchmarks' own road to the local stack's DynamoDB, for the figures that count things in virtual
// time (6, 2's transitions) and for seeding (5), never for a figure that times a request.
//
// The SDK client stays the product's (the same commands, serializers, error types and retries); what
// changes is the last hop: each request is handed to dynalite's own request handler in this process
// instead of a socket, and it is not signed (dynalite checks that an Authorization header is there, never
// the signature; a placeholder stands in). The store, the requests it receives and its answers are the
// same; what is saved is CPU: HTTP on both ends and SigV4's hashing were about two thirds of each call's
// here (1.2-1.9 ms of CPU a call over HTTP, 0.5-0.7 ms in process; 2,000 calls of each kind measured).
import { EventEmitter } from "node:events";
import type { Server } from "node:http";

type Request = {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
};
type Response = { statusCode: number; headers: Record<string, string>; body: Uint8Array };
type RequestListener = (req: unknown, res: unknown) => void;

/** A client as the SDK builds it: its config's requestHandler is what sends each request. */
type SdkClient = {
  config: { requestHandler: unknown };
  middlewareStack: { clone(): SdkClient["middlewareStack"]; remove(name: string): boolean };
};

/** SigV4's shape, which dynalite requires to be present; nothing checks the values. */
const UNSIGNED = {
  authorization:
    "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=unsigned",
  "x-amz-date": "20260101T000000Z",
};

/** dynalite's request handler, called with a request and a response of just the parts it uses. */
function handlerOf(server: Server) {
  const listener = server.listeners("request")[0] as RequestListener | undefined;
  if (!listener) throw new Error("the DynamoDB server has no request handler");
  return {
    handle(request: Request): Promise<{ response: Response }> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { ...UNSIGNED };
        for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
        const req = Object.assign(new EventEmitter(), { method: request.method, url: request.path, headers });
        const answer: Record<string, string> = {};
        const res = {
          statusCode: 200,
          contentType: "",
          setHeader(name: string, value: unknown) {
            answer[name.toLowerCase()] = String(value);
          },
          end(body?: string) {
            resolve({
              response: { statusCode: res.statusCode, headers: answer, body: Buffer.from(body ?? "") },
            });
          },
        };
        try {
          listener(req, res);
          const body = request.body;
          // A view of the SDK's bytes, not Buffer.from(body): that asks the SDK's body for its string.
          if (body?.length)
            req.emit(
              "data",
              typeof body === "string"
                ? Buffer.from(body)
                : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
            );
          req.emit("end");
        } catch (error) {
          reject(error);
        }
      });
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}

/**
 * Send `client`'s requests (a DynamoDBClient or a DynamoDBDocumentClient) straight to `server` (a
 * dynalite server in this process), unsigned. Returns the undo: the client's own handler and middleware.
 */
export function inProcessDynamo(client: unknown, server: Server): () => void {
  const c = client as SdkClient;
  const handler = c.config.requestHandler;
  const stack = c.middlewareStack;
  const unsigned = stack.clone();
  unsigned.remove("httpSigningMiddleware");
  c.config.requestHandler = handlerOf(server);
  c.middlewareStack = unsigned;
  return () => {
    c.config.requestHandler = handler;
    c.middlewareStack = stack;
  };
}
