// EventBridge's default bus, locally: PutEvents on its JSON API (what the SDK sends when
// AWS_ENDPOINT_URL_EVENTBRIDGE points here), keeping every event so a person or a test can see
// what a deployment would have put on the bus (GET /_local/events on the local API).
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";

export type BusEvent = {
  id: string;
  time: string;
  source: string;
  "detail-type": string;
  detail: unknown;
};

export class LocalEventBus {
  readonly events: BusEvent[] = [];
  private server?: Server;

  listen(port: number, host = "127.0.0.1"): Promise<string> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        const target = String(req.headers["x-amz-target"] ?? "");
        if (req.method !== "POST" || target !== "AWSEvents.PutEvents") {
          res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
          res.end(
            JSON.stringify({ __type: "UnknownOperationException", message: `not served here: ${target}` }),
          );
          return;
        }
        const { Entries = [] } = JSON.parse(body || "{}") as {
          Entries?: { Source?: string; DetailType?: string; Detail?: string }[];
        };
        const ids = Entries.map((e) => {
          const id = randomUUID();
          this.events.push({
            id,
            time: new Date().toISOString(),
            source: e.Source ?? "",
            "detail-type": e.DetailType ?? "",
            detail: JSON.parse(e.Detail ?? "{}"),
          });
          return { EventId: id };
        });
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ FailedEntryCount: 0, Entries: ids }));
      });
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
