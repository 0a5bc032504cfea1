// Scheduled: terminate any instance of ours whose run is finished, unknown, or silent too long.
import * as z from "zod/mini";
import { sweep } from "../../core/safety-nets.ts";
import { log } from "../log.ts";
import { task } from "../middleware.ts";
import { capacityDeps, config } from "../runtime.ts";

export const createHandler = (deps = capacityDeps) =>
  task(z.unknown(), async () => {
    const reclaimed = await sweep(deps(), config().JANITOR_SILENT_SECONDS);
    for (const r of reclaimed) {
      log.warn("janitor reclaimed an instance", { ...r });
    }
    return { reclaimed: reclaimed.length };
  });
export const handler = createHandler();
