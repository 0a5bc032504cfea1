// EventBridge: a Spot interruption warning or a state change of an EC2 instance. For ours, mark the
// attempt interrupted at once, so the next CheckEngine does not wait for a stale heartbeat.
import * as z from "zod/mini";
import { instanceInterrupted } from "../../core/safety-nets.ts";
import { log, logRun } from "../log.ts";
import { task } from "../middleware.ts";
import { capacityDeps } from "../runtime.ts";

const InstanceEvent = z.object({
  "detail-type": z.enum(["EC2 Spot Instance Interruption Warning", "EC2 Instance State-change Notification"]),
  detail: z.looseObject({
    "instance-id": z.string().check(z.regex(/^i-[0-9a-z]+$/)),
    "instance-action": z.optional(z.string()),
    state: z.optional(z.string()),
  }),
});

export const createHandler = (deps = capacityDeps) =>
  task(InstanceEvent, async (event) => {
    const reason =
      event["detail-type"] === "EC2 Spot Instance Interruption Warning"
        ? `Spot interruption warning: instance ${event.detail["instance-action"] ?? "terminate"} in 2 minutes`
        : `instance ${event.detail.state ?? "changed state"}`;
    const result = await instanceInterrupted(deps(), event.detail["instance-id"], reason);
    if (result.runId) logRun(result.runId);
    log.info("instance event", { instanceId: event.detail["instance-id"], reason, ...result });
    return result;
  });
export const handler = createHandler();
