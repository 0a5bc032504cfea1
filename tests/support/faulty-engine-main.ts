// The engine as the product starts it (engine/boot.ts), with a fault from ENGINE_FAULT ("fault" or
// "fault@attempt") wrapped around its backend and store. Test-only: local "instances" of the chaos suite
// and the state machine path tests run this instead of engine/main.ts.
import { boot } from "../../engine/boot.ts";
import { FaultyBackend, faultFor, silentHeartbeats } from "./faulty-backend.ts";

const fault = faultFor(process.env.ENGINE_FAULT, Number(process.env.ATTEMPT));
process.exit(
  await boot(
    fault
      ? {
          wrapBackend: (backend, env) => new FaultyBackend(backend, fault, env.ENGINE_HEARTBEAT_SECONDS),
          ...(fault === "hang" ? { wrapStore: silentHeartbeats } : {}),
        }
      : {},
  ),
);
