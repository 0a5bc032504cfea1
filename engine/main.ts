// Entry point of the engine container (and of a local "instance"): configuration from the environment
// that user-data (or the local provider) sets, then one run of the runner, then exit.
import { z } from "zod";
import { Artifacts } from "../core/artifacts.ts";
import { awsClients } from "../core/aws.ts";
import { RunStore } from "../core/run-store.ts";
import { SimulatedBackend } from "./backends/simulated.ts";
import { runEngine } from "./runner.ts";

const Env = z.object({
  RUN_ID: z.string().regex(/^[0-9a-z]{26}$/),
  ATTEMPT: z.coerce.number().int().min(1),
  SPOTEVAL_TABLE: z.string().min(1),
  SPOTEVAL_BUCKET: z.string().min(1),
  ENGINE_BACKEND: z.enum(["simulated"]).default("simulated"),
  ENGINE_HEARTBEAT_SECONDS: z.coerce.number().positive().default(30),
  SIMULATED_SECONDS: z.coerce.number().positive().default(8),
  /** fault[@attempt], e.g. "fail@1": only for the simulated backend, to test the pipeline around it. */
  SIMULATED_FAULT: z
    .string()
    .regex(/^(fail|crash|hang|bad-results)(@\d+)?$/)
    .optional(),
});

const env = Env.parse(process.env);
const [fault, onlyAttempt] = (env.SIMULATED_FAULT ?? "").split("@");
const log = (line: string) => process.stderr.write(`${line}\n`);

const outcome = await runEngine(
  {
    store: new RunStore(awsClients.dynamo(), env.SPOTEVAL_TABLE),
    artifacts: new Artifacts(awsClients.s3(), env.SPOTEVAL_BUCKET),
    backend: new SimulatedBackend({ seconds: env.SIMULATED_SECONDS }),
    heartbeatSeconds: env.ENGINE_HEARTBEAT_SECONDS,
    log,
    ...(fault && (!onlyAttempt || Number(onlyAttempt) === env.ATTEMPT)
      ? { fault: fault as "fail" | "crash" | "hang" | "bad-results" }
      : {}),
  },
  env.RUN_ID,
  env.ATTEMPT,
);
log(`engine ${outcome.status}: ${outcome.reason}`);
process.exit(outcome.status === "FAILED" ? 1 : 0);
