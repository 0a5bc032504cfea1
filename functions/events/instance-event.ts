// EventBridge: a Spot interruption warning or a state change of an EC2 instance. For ours, mark the
// attempt interrupted and end the run's wait at once: the replacement is requested before the reclaim.
import * as z from "zod/mini";
import { instanceChanged } from "../../core/wake.ts";
import { log, logRun } from "../log.ts";
import { task } from "../middleware.ts";
import { instanceEventDeps } from "../runtime.ts";

const InstanceEvent = z.object({
  "detail-type": z.enum(["EC2 Spot Instance Interruption Warning", "EC2 Instance State-change Notification"]),
  detail: z.looseObject({
    "instance-id": z.string().check(z.regex(/^i-[0-9a-z]+$/)),
    "instance-action": z.optional(z.string()),
    state: z.optional(z.string()),
  }),
});

export const createHandler = (deps = instanceEventDeps) =>
  task(InstanceEvent, async (event) => {
    const warning = event["detail-type"] === "EC2 Spot Instance Interruption Warning";
    const reason = warning
      ? `Spot interruption warning: instance ${event.detail["instance-action"] ?? "terminate"} in 2 minutes`
      : `instance ${event.detail.state ?? "changed state"}`;
    const result = await instanceChanged(deps(), {
      instanceId: event.detail["instance-id"],
      reason,
      warning,
      gone: ["shutting-down", "terminated"].includes(event.detail.state ?? ""),
    });
    if (result.runId) logRun(result.runId);
    log.info("instance event", { instanceId: event.detail["instance-id"], reason, ...result });
    return result;
  });
export const handler = createHandler();
