// The engine's start: configuration from the environment that user-data (or the local provider) sets,
// then one run of the runner, then exit. engine/main.ts calls it as is; tests wrap the backend or the
// store from the outside through `hooks` (tests/support/faulty-engine.ts), the product has no faults.
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import { Artifacts } from "../core/artifacts.ts";
import { dynamoClient, eventBridgeClient, s3Client } from "../core/aws.ts";
import { backendStacks } from "../core/backends.ts";
import { vllmNeuronImage } from "../core/compiled-artifacts.ts";
import { engineFinishedEntry } from "../core/engine-events.ts";
import { RunStore } from "../core/run-store.ts";
import { ON_INSTANCE, PORT_BASE } from "../core/serving.ts";
import type { Backend } from "./backends/backend.ts";
import { HarnessBackend } from "./backends/harness.ts";
import { SimulatedBackend } from "./backends/simulated.ts";
import { VllmNeuronBackend } from "./backends/vllm-neuron.ts";
import { Imds } from "./imds.ts";
import { fetchModel } from "./model-source.ts";
import { detectNeuronCores, tensorParallelDegree } from "./neuron.ts";
import { runEngine } from "./runner.ts";

const Env = z.object({
  RUN_ID: z.string().check(z.regex(/^[0-9a-z]{26}$/)),
  ATTEMPT: z.coerce.number().check(z.int(), z.gte(1)),
  SPOTEVAL_TABLE: z.string().check(z.minLength(1)),
  SPOTEVAL_BUCKET: z.string().check(z.minLength(1)),
  /** Unset on an instance: the backend comes from the run's plan (the attempt's), else neuronx. */
  ENGINE_BACKEND: z.optional(z.enum(["simulated", "neuronx", "vllm-neuron", "hf"])),
  ENGINE_HEARTBEAT_SECONDS: z._default(z.coerce.number().check(z.positive()), 30),
  /** argv of the harness as JSON; default the backend's (backendStacks). */
  LM_EVAL_COMMAND: z.optional(z.string()),
  /** vllm-neuron: argv of pip and of python in the harness's virtualenv as JSON; default the backend's. */
  HARNESS_PIP_COMMAND: z.optional(z.string()),
  HARNESS_PYTHON_COMMAND: z.optional(z.string()),
  /** vllm-neuron: argv of vLLM, the proxy's port (servers above it), readiness time, artifacts folder. */
  VLLM_COMMAND: z._default(z.string(), '["vllm"]'),
  VLLM_PORT_BASE: z._default(z.coerce.number().check(z.int(), z.gte(1024), z.lte(65000)), PORT_BASE),
  VLLM_READY_SECONDS: z._default(z.coerce.number().check(z.positive()), 3600),
  NEURON_COMPILED_ARTIFACTS: z._default(z.string(), ON_INSTANCE.compiledArtifacts),
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
});

export type EngineEnv = z.infer<typeof Env>;
type BackendName = NonNullable<EngineEnv["ENGINE_BACKEND"]>;
type Log = (line: string) => void;

const argv = (json: string) => z.array(z.string()).check(z.minLength(1)).parse(JSON.parse(json));

function backend(name: BackendName, env: EngineEnv, log: Log): Backend {
  if (name === "simulated") return new SimulatedBackend({ seconds: env.SIMULATED_SECONDS });
  const command = env.LM_EVAL_COMMAND
    ? argv(env.LM_EVAL_COMMAND)
    : backendStacks[name === "hf" ? "neuronx" : name].harnessCommand;
  if (name === "vllm-neuron") {
    return new VllmNeuronBackend({
      vllmCommand: argv(env.VLLM_COMMAND),
      harnessCommand: command,
      harnessPip: env.HARNESS_PIP_COMMAND
        ? argv(env.HARNESS_PIP_COMMAND)
        : (backendStacks["vllm-neuron"].harnessPip ?? ["pip"]),
      harnessPython: env.HARNESS_PYTHON_COMMAND
        ? argv(env.HARNESS_PYTHON_COMMAND)
        : (backendStacks["vllm-neuron"].harnessPython ?? ["python3"]),
      imageHarnessRevision: env.SPOTEVAL_HARNESS_REVISION ?? backendStacks["vllm-neuron"].harness.revision,
      detectCores: async () => (await detectNeuronCores({ neuronLs: env.NEURON_LS })).cores,
      artifacts: new Artifacts(s3Client(), env.SPOTEVAL_BUCKET),
      image: vllmNeuronImage(env.ENGINE_IMAGE),
      compiledDir: env.NEURON_COMPILED_ARTIFACTS,
      portBase: env.VLLM_PORT_BASE,
      readySeconds: env.VLLM_READY_SECONDS,
    });
  }
  return new HarnessBackend({
    model: name,
    command,
    device: env.HF_DEVICE,
    ...(env.ENGINE_IMAGE ? { image: env.ENGINE_IMAGE } : {}),
    tpDegree: async () => {
      const { cores, source } = await detectNeuronCores({ neuronLs: env.NEURON_LS });
      const degree = tensorParallelDegree(cores);
      log(`NeuronCores: ${cores} (from ${source}); tensor-parallel degree ${degree}`);
      return degree;
    },
  });
}

/** The Hugging Face token for gated models, from Secrets Manager: never in user-data, never logged. */
async function harnessEnv(env: EngineEnv): Promise<Record<string, string>> {
  if (!env.HF_TOKEN_SECRET_ARN) return {};
  const out = await new SecretsManagerClient({}).send(
    new GetSecretValueCommand({ SecretId: env.HF_TOKEN_SECRET_ARN }),
  );
  return out.SecretString ? { HF_TOKEN: out.SecretString } : {};
}

/** Ways a test changes the engine from the outside (the product passes none). */
export type BootHooks = {
  wrapBackend?: (backend: Backend, env: EngineEnv) => Backend;
  wrapStore?: (store: RunStore, env: EngineEnv) => RunStore;
};

/** One run of the engine, configured from the environment; returns the process exit code. */
export async function boot(hooks: BootHooks = {}): Promise<number> {
  const env = Env.parse(process.env);
  const log: Log = (line) => process.stderr.write(`${line}\n`);
  const onInstance =
    env.ENGINE_BACKEND !== "simulated" || env.AWS_EC2_METADATA_SERVICE_ENDPOINT !== undefined;
  const imds = new Imds(env.AWS_EC2_METADATA_SERVICE_ENDPOINT);
  const store = new RunStore(dynamoClient(), env.SPOTEVAL_TABLE);
  // The instance learns its backend from its run's plan; a local stack or a test may fix it instead.
  const name = env.ENGINE_BACKEND ?? (await store.getRun(env.RUN_ID))?.plan?.backend ?? "neuronx";
  const engineBackend = backend(name, env, log);
  const outcome = await runEngine(
    {
      store: hooks.wrapStore ? hooks.wrapStore(store, env) : store,
      artifacts: new Artifacts(s3Client(), env.SPOTEVAL_BUCKET),
      backend: hooks.wrapBackend ? hooks.wrapBackend(engineBackend, env) : engineBackend,
      heartbeatSeconds: env.ENGINE_HEARTBEAT_SECONDS,
      cacheWaitSeconds: env.ENGINE_CACHE_WAIT_SECONDS,
      log,
      harnessEnv: await harnessEnv(env),
      fetchModel: (uri, dir) => fetchModel(s3Client(), uri, dir),
      provenance: Object.fromEntries(
        Object.entries({
          imageHarnessRevision: env.SPOTEVAL_HARNESS_REVISION,
          optimumNeuron: env.SPOTEVAL_OPTIMUM_NEURON_VERSION,
          image: env.ENGINE_IMAGE,
        }).filter((e): e is [string, string] => e[1] !== undefined),
      ),
      ...(onInstance
        ? { notices: { poll: () => imds.notice(), everySeconds: env.NOTICE_POLL_SECONDS } }
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
        if (out.FailedEntryCount)
          log(`EngineFinished not put: ${out.Entries?.[0]?.ErrorMessage ?? "failed"}`);
      })
      .catch((e) => log(`EngineFinished not put: ${(e as Error).message}`));
  }
  return outcome.status === "FAILED" ? 1 : 0;
}
