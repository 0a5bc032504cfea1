// EventBridge's default bus on a laptop: PutEvents over the service's JSON API (so the engine's
// @aws-sdk/client-eventbridge works unchanged), each event delivered, asynchronously as EventBridge
// does, to every function whose rule in serverless.yml matches it.
import { randomUUID } from "node:crypto";
import type { HttpHandler } from "./gateway.ts";
import type { EventRule } from "./serverless-config.ts";

export type BusEvent = {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
};

export type PutEntry = { Source: string; DetailType: string; Detail: string; Resources?: string[] };

/**
 * EventBridge's matching for the patterns serverless.yml uses: a list matches a value equal to one of
 * its literals (or any element of an array value); a nested object matches field by field. A list
 * element that is not a literal (a CloudFormation reference such as the state machine's Ref) matches
 * any value, since only the deployment knows what it resolves to.
 */
export function matches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(value) ? value : [value];
    return pattern.some((p) =>
      p !== null && typeof p === "object" ? value !== undefined : values.some((v) => v === p),
    );
  }
  if (pattern && typeof pattern === "object") {
    if (!value || typeof value !== "object") return false;
    return Object.entries(pattern).every(([k, p]) => matches(p, (value as Record<string, unknown>)[k]));
  }
  return pattern === value;
}

export class LocalEventBus {
  private readonly rules: EventRule[];
  private readonly deliver: (functionName: string, event: BusEvent) => Promise<unknown>;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Every event put on the bus, in order (GET /_local/events shows them). */
  readonly seen: BusEvent[] = [];

  constructor(rules: EventRule[], deliver: (functionName: string, event: BusEvent) => Promise<unknown>) {
    this.rules = rules;
    this.deliver = deliver;
  }

  /** Put events on the bus as PutEvents does; delivery happens after this returns. */
  put(entries: PutEntry[]): string[] {
    return entries.map((entry) => {
      const event: BusEvent = {
        version: "0",
        id: randomUUID(),
        "detail-type": entry.DetailType,
        source: entry.Source,
        account: "000000000000",
        time: new Date().toISOString(),
        region: "us-east-1",
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail) as Record<string, unknown>,
      };
      this.seen.push(event);
      for (const rule of this.rules.filter((r) => matches(r.pattern, event))) {
        const delivery = Promise.resolve()
          .then(() => this.deliver(rule.functionName, event))
          .catch((error) =>
            console.error(`${event["detail-type"]} -> ${rule.functionName} failed: ${String(error)}`),
          );
        this.inFlight.add(delivery);
        void delivery.finally(() => this.inFlight.delete(delivery));
      }
      return event.id;
    });
  }

  /** Deliveries still running (the stack waits for them before it stops). */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * POST / with X-Amz-Target AWSEvents.PutEvents, signed with the stack's access key (the one the
   * stack gives its handlers and engines), answered as EventBridge answers.
   */
  readonly putEventsRoute: HttpHandler = async (request) => {
    const reply = (statusCode: number, body: unknown) => ({
      statusCode,
      headers: { "content-type": "application/x-amz-json-1.1" },
      body: JSON.stringify(body),
    });
    if (request.headers["x-amz-target"] !== "AWSEvents.PutEvents")
      return reply(400, { __type: "UnknownOperationException", message: "only PutEvents is served" });
    const key = process.env.AWS_ACCESS_KEY_ID ?? "";
    if (!(request.headers.authorization ?? "").includes(`Credential=${key}/`))
      return reply(400, { __type: "UnrecognizedClientException", message: "sign with the stack's key" });
    let entries: PutEntry[];
    try {
      entries = (JSON.parse(request.body ?? "") as { Entries: PutEntry[] }).Entries;
      JSON.stringify(entries.map((e) => JSON.parse(e.Detail)));
    } catch {
      return reply(400, { __type: "ValidationException", message: "Entries with JSON Detail are required" });
    }
    const ids = this.put(entries);
    return reply(200, { FailedEntryCount: 0, Entries: ids.map((EventId) => ({ EventId })) });
  };
}
