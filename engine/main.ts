// Entry point of the engine container (and of a local "instance"): configuration from the environment
// that user-data (or the local provider) sets, then one run of the runner, then exit. On EC2 the
// user-data shuts the instance down when this exits (instance-initiated shutdown = terminate).
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import { Artifacts } from "../core/artifacts.ts";
import { dynamoClient, eventBridgeClient, s3Client } from "../core/aws.ts";
import { engineFinishedEntry } from "../core/engine-events.ts";
import { RunStore } from "../core/run-store.ts";
import type { Backend } from "./backends/backend.ts";
import { HarnessBackend } from "./backends/harness.ts";
import { SimulatedBackend } from "./backends/simulated.ts";
import { Imds } from "./imds.ts";
import { detectNeuronCores, tensorParallelDegree } from "./neuron.ts";
import { runEngine } from "./runner.ts";

const Env = z.object({
  RUN_ID: z.string().check(z.regex(/^[0-9a-z]{26}$/)),
  ATTEMPT: z.coerce.number().check(z.int(), z.gte(1)),
  SPOTEVAL_TABLE: z.string().check(z.minLength(1)),
  SPOTEVAL_BUCKET: z.string().check(z.minLength(1)),
  ENGINE_BACKEND: z._default(z.enum(["simulated", "neuronx", "hf"]), "neuronx"),
  ENGINE_HEARTBEAT_SECONDS: z._default(z.coerce.number().check(z.positive()), 30),
  /** argv of the harness as JSON, default python -m lm_eval. */
  LM_EVAL_COMMAND: z._default(z.string(), '["python","-m","lm_eval"]'),
  NEURON_LS: z._default(z.string(), "neuron-ls"),
  HF_DEVICE: z._default(z.string(), "cpu"),
  HF_TOKEN_SECRET_ARN: z.optional(z.string()),
  /** The SDK's own variable for the instance metadata endpoint. */
  AWS_EC2_METADATA_SERVICE_ENDPOINT: z.optional(z.string()),
  NOTICE_POLL_SECONDS: z._default(z.coerce.number().check(z.positive()), 5),
  /** How long a resumed attempt waits for the interrupted one to finish saving its request cache. */
  ENGINE_CACHE_WAIT_SECONDS: z._default(z.coerce.number().check(z.gte(0)), 150),
  SIMULATED_SECONDS: z._default(z.coerce.number().check(z.gte(0)), 8),
  /** Set by the image: what it was built from. */
  SPOTEVAL_HARNESS_REVISION: z.optional(z.string()),
  SPOTEVAL_OPTIMUM_NEURON_VERSION: z.optional(z.string()),
  ENGINE_IMAGE: z.optional(z.string()),
  /** fault[@attempt], e.g. "fail@1": only for the simulated backend, to test the pipeline around it. */
  SIMULATED_FAULT: z.optional(z.string().check(z.regex(/^(fail|crash|hang|bad-results)(@\d+)?$/))),
});

const env = Env.parse(process.env);
const log = (line: string) => process.stderr.write(`${line}\n`);

function backend(): Backend {
  if (env.ENGINE_BACKEND === "simulated") return new SimulatedBackend({ seconds: env.SIMULATED_SECONDS });
  const command = z.array(z.string()).check(z.minLength(1)).parse(JSON.parse(env.LM_EVAL_COMMAND));
  return new HarnessBackend({
    model: env.ENGINE_BACKEND,
    command,
    device: env.HF_DEVICE,
    tpDegree: async () => {
      const { cores, source } = await detectNeuronCores({ neuronLs: env.NEURON_LS });
      const degree = tensorParallelDegree(cores);
      log(`NeuronCores: ${cores} (from ${source}); tensor-parallel degree ${degree}`);
      return degree;
    },
  });
}

/** The Hugging Face token for gated models, from Secrets Manager: never in user-data, never logged. */
async function harnessEnv(): Promise<Record<string, string>> {
  if (!env.HF_TOKEN_SECRET_ARN) return {};
  const out = await new SecretsManagerClient({}).send(
    new GetSecretValueCommand({ SecretId: env.HF_TOKEN_SECRET_ARN }),
  );
  return out.SecretString ? { HF_TOKEN: out.SecretString } : {};
}

const [fault, onlyAttempt] = (env.SIMULATED_FAULT ?? "").split("@");
const onInstance = env.ENGINE_BACKEND !== "simulated" || env.AWS_EC2_METADATA_SERVICE_ENDPOINT !== undefined;
const imds = new Imds(env.AWS_EC2_METADATA_SERVICE_ENDPOINT);

const outcome = await runEngine(
  {
    store: new RunStore(dynamoClient(), env.SPOTEVAL_TABLE),
    artifacts: new Artifacts(s3Client(), env.SPOTEVAL_BUCKET),
    backend: backend(),
    heartbeatSeconds: env.ENGINE_HEARTBEAT_SECONDS,
    cacheWaitSeconds: env.ENGINE_CACHE_WAIT_SECONDS,
    log,
    harnessEnv: await harnessEnv(),
    provenance: Object.fromEntries(
      Object.entries({
        imageHarnessRevision: env.SPOTEVAL_HARNESS_REVISION,
        optimumNeuron: env.SPOTEVAL_OPTIMUM_NEURON_VERSION,
        image: env.ENGINE_IMAGE,
      }).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    ...(onInstance ? { notices: { poll: () => imds.notice(), everySeconds: env.NOTICE_POLL_SECONDS } } : {}),
    ...(fault && env.ENGINE_BACKEND === "simulated" && (!onlyAttempt || Number(onlyAttempt) === env.ATTEMPT)
      ? { fault: fault as "fail" | "crash" | "hang" | "bad-results" }
      : {}),
  },
  env.RUN_ID,
  env.ATTEMPT,
);
log(`engine ${outcome.status}: ${outcome.reason}`);
// Tell the state machine now instead of at its next poll (a lost event costs that poll, nothing more).
if (outcome.status !== "STOPPED") {
  await eventBridgeClient()
    .send(new PutEventsCommand({ Entries: [engineFinishedEntry(env.RUN_ID, env.ATTEMPT, outcome.status)] }))
    .then((out) => {
      if (out.FailedEntryCount) log(`EngineFinished not put: ${out.Entries?.[0]?.ErrorMessage ?? "failed"}`);
    })
    .catch((e) => log(`EngineFinished not put: ${(e as Error).message}`));
}
process.exit(outcome.status === "FAILED" ? 1 : 0);
