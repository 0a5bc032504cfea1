// ParityDrift on EventBridge's default bus, so teams can alarm on it (a rule on detail-type
// "ParityDrift", source "spoteval"). Locally the same call reaches the local bus (local/eventbridge.ts).
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { ParityEvents } from "./run-parity.ts";

export const EVENT_SOURCE = "spoteval";

export class EventBridgeParityEvents implements ParityEvents {
  readonly client: EventBridgeClient;
  constructor(client: EventBridgeClient) {
    this.client = client;
  }

  async publish(detailType: "ParityDrift", detail: Record<string, unknown>): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: "default",
            Source: EVENT_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    if (out.FailedEntryCount) {
      const entry = out.Entries?.find((e) => e.ErrorCode);
      throw new Error(
        `EventBridge refused the ${detailType} event: ${entry?.ErrorCode} ${entry?.ErrorMessage ?? ""}`,
      );
    }
  }
}
