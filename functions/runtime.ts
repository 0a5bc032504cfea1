// Configuration, read and validated once at cold start, and the dependencies built from it.
// The same handlers run in AWS and locally: only these variables differ.

import {
  InvalidToken,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import * as z from "zod/mini";
import { Artifacts } from "../core/artifacts.ts";
import { type KeyHash, parseKeyHashes } from "../core/auth.ts";
import { dynamoClient, ec2Client, eventBridgeClient, s3Client, sfnClient } from "../core/aws.ts";
import type { CallbackDeps } from "../core/callback.ts";
import { type CallbackPolicy, listSetting, systemResolve } from "../core/callback-target.ts";
import { Ec2SpotProvider } from "../core/capacity/ec2.ts";
import { DeviceSlot, LocalProcessProvider } from "../core/capacity/local-process.ts";
import type { CapacityProvider } from "../core/capacity/provider.ts";
import { vllmNeuronImage } from "../core/compiled-artifacts.ts";
import { hubConfig } from "../core/model-size.ts";
import { EventBridgeParityEvents } from "../core/parity-events.ts";
import type {
  ArtifactDeps,
  CapacityDeps,
  PipelineSettings,
  RecordDeps,
  StoreDeps,
} from "../core/pipeline.ts";
import { DEFAULT_ROOT_VOLUME_GIB } from "../core/root-volume.ts";
import { RunStore } from "../core/run-store.ts";
import { DEFAULT_MAX_INSTANCES } from "../core/shard-plan.ts";
import type { SubmitDeps } from "../core/submit.ts";
import { ReferenceStore } from "../core/uploaded-references.ts";
import type { TaskTokens, WakeDeps } from "../core/wake.ts";

const Env = z.object({
  SPOTEVAL_TABLE: z.string().check(z.minLength(1)),
  SPOTEVAL_BUCKET: z.string().check(z.minLength(1)),
  STATE_MACHINE_ARN: z.optional(z.string().check(z.minLength(1))),
  CAPACITY_PROVIDER: z._default(z.enum(["local", "ec2"]), "ec2"),
  /** JSON argv of the engine for the local provider, e.g. ["node","engine/main.ts"]. */
  LOCAL_ENGINE_COMMAND: z.optional(z.string()),
  /** JSON list of this machine's device slots for a real backend (npm start -- --engine): one run each. */
  LOCAL_DEVICE_SLOTS: z.optional(z.string()),
  /** Folder where local instances record their process groups (a stack with a data folder). */
  LOCAL_PROCESS_RECORDS: z.optional(z.string()),
  ENGINE_BACKEND: z._default(z.enum(["simulated", "neuronx", "hf", "vllm-neuron"]), "neuronx"),
  API_KEY_HASHES: z._default(z.string(), ""),
  /** SSM SecureString holding the API key hashes (`sha256:rw,sha256:ro`); wins over API_KEY_HASHES. */
  API_KEYS_PARAMETER: z.optional(z.string()),
  POLL_MIN_SECONDS: z._default(z.coerce.number().check(z.positive()), 30),
  /** 600 s bounds how late an interruption in mid-evaluation is seen (npm run bench, transitions). */
  POLL_MAX_SECONDS: z._default(z.coerce.number().check(z.positive()), 600),
  /** Launch to first heartbeat on inf2 (instance boot, image pull, engine start): the first check's aim. */
  BOOT_ESTIMATE_SECONDS: z._default(z.coerce.number().check(z.gte(0)), 240),
  /** CheckEngine watches an end due within this window itself (keep below the function's timeout). */
  POLL_WATCH_SECONDS: z._default(z.coerce.number().check(z.gte(0)), 20),
  POLL_WATCH_INTERVAL_MS: z._default(z.coerce.number().check(z.positive()), 1000),
  STALL_SECONDS: z._default(z.coerce.number().check(z.positive()), 900),
  BOOT_SECONDS: z._default(z.coerce.number().check(z.positive()), 1800),
  MAX_ATTEMPTS: z._default(z.coerce.number().check(z.int(), z.positive()), 4),
  MAX_RUN_HOURS: z._default(z.coerce.number().check(z.positive()), 24),
  /** Instances a run's shards may use in all when its request gives no capacity.maxInstances. */
  MAX_INSTANCES: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(64)), DEFAULT_MAX_INSTANCES),
  JANITOR_SILENT_SECONDS: z._default(z.coerce.number().check(z.positive()), 3600),
  /** EC2: the engine launch template, the subnets to launch in, the managed-by tag value. */
  LAUNCH_TEMPLATE_ID: z.optional(z.string()),
  SUBNET_IDS: z.optional(z.string()),
  MANAGED_BY: z._default(z.string(), "spoteval"),
  /** The launch template's root volume (deploy parameter rootVolumeGiB); a large model grows it. */
  ROOT_VOLUME_GIB: z._default(z.coerce.number().check(z.int(), z.positive()), DEFAULT_ROOT_VOLUME_GIB),
  /** The engine image of each backend; an instance is tagged with its backend's. */
  ENGINE_IMAGE_NEURONX: z.optional(z.string()),
  ENGINE_IMAGE_VLLM_NEURON: z.optional(z.string()),
  /** Registry triggers: webhook secrets, watched Hub repos, what to run when the event does not say. */
  HF_WEBHOOK_SECRET: z._default(z.string(), ""),
  REGISTRY_WEBHOOK_SECRET: z._default(z.string(), ""),
  WATCHED_MODELS: z._default(z.string(), ""),
  DEFAULT_SUITE: z._default(z.enum(["open-llm-leaderboard-v1"]), "open-llm-leaderboard-v1"),
  DEFAULT_TASKS: z._default(z.string(), ""),
  /** Callbacks: the schemes allowed ("https" in AWS; the local stack adds "http"), the hosts that may
   * receive them despite resolving to internal addresses (empty by default), the signing secret. */
  CALLBACK_SCHEMES: z._default(z.string(), "https"),
  CALLBACK_ALLOWED_HOSTS: z._default(z.string(), ""),
  CALLBACK_SECRET: z._default(z.string(), ""),
  /** The S3 buckets the engine may read s3:// models from (deploy parameter modelBuckets, comma separated);
   * unset where no role limits reads (the local stack): then any bucket its S3 holds. */
  MODEL_BUCKETS: z.optional(z.string()),
  /** Size models without a parameter count from their config.json on the Hub ("off" locally). */
  MODEL_CONFIG_LOOKUP: z._default(z.enum(["hub", "off"]), "hub"),
  /** Parity: |Δ| / combined stderr above this is drift, unless a request sets its own (core/parity.ts). */
  PARITY_Z: z._default(z.coerce.number().check(z.positive()), 1.96),
});
export type Env = z.infer<typeof Env>;

let env: Env | undefined;
export function config(): Env {
  if (!env) {
    const parsed = Env.safeParse(process.env);
    if (!parsed.success) {
      const names = parsed.error.issues.map((i) => i.path.join(".")).join(", ");
      throw new Error(`spoteval is misconfigured; check the environment variables: ${names}`);
    }
    env = parsed.data;
  }
  return env;
}

/** Variables the engine on a local "instance" needs to reach the same table, bucket and endpoints. */
const passedToLocalEngine = /^(AWS_|SPOTEVAL_TABLE$|SPOTEVAL_BUCKET$|ENGINE_|SIMULATED_|NODE_)/;

let capacity: CapacityProvider | undefined;
function capacityProvider(): CapacityProvider {
  if (capacity) return capacity;
  const c = config();
  if (c.CAPACITY_PROVIDER === "local") {
    const command = z
      .array(z.string())
      .check(z.minLength(1))
      .parse(JSON.parse(c.LOCAL_ENGINE_COMMAND ?? "null"));
    const engineEnv = Object.fromEntries(
      Object.entries(process.env).filter(([k, v]) => passedToLocalEngine.test(k) && v !== undefined),
    ) as Record<string, string>;
    const slots = c.LOCAL_DEVICE_SLOTS
      ? z.array(DeviceSlot).parse(JSON.parse(c.LOCAL_DEVICE_SLOTS))
      : undefined;
    // A real backend runs on this machine as a shell would, with the user's environment (Hugging Face
    // token and cache, the Python virtualenv, CUDA and Neuron variables); the simulated one needs none.
    const env = slots
      ? (Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<
          string,
          string
        >)
      : engineEnv;
    capacity = new LocalProcessProvider({
      command,
      env,
      ...(slots ? { slots } : {}),
      ...(c.LOCAL_PROCESS_RECORDS ? { recordsDir: c.LOCAL_PROCESS_RECORDS } : {}),
    });
  } else {
    if (!c.LAUNCH_TEMPLATE_ID || !c.SUBNET_IDS)
      throw new Error("CAPACITY_PROVIDER=ec2 needs LAUNCH_TEMPLATE_ID and SUBNET_IDS");
    capacity = new Ec2SpotProvider({
      ec2: ec2Client(),
      launchTemplateId: c.LAUNCH_TEMPLATE_ID,
      subnetIds: c.SUBNET_IDS.split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      managedBy: c.MANAGED_BY,
      rootVolumeFloorGiB: c.ROOT_VOLUME_GIB,
      engineImages: Object.fromEntries(
        Object.entries({ neuronx: c.ENGINE_IMAGE_NEURONX, "vllm-neuron": c.ENGINE_IMAGE_VLLM_NEURON }).filter(
          (e): e is [string, string] => Boolean(e[1]),
        ),
      ),
    });
  }
  return capacity;
}

let store: RunStore | undefined;
export const runStore = () => {
  store ??= new RunStore(dynamoClient(), config().SPOTEVAL_TABLE);
  return store;
};

// One builder per kind of step, so a handler's bundle holds only the clients that step calls:
// the EC2 client alone is half a megabyte, and only the steps that launch or watch instances need it.
export const storeDeps = (): StoreDeps => ({ store: runStore() });

export const artifactDeps = (): ArtifactDeps => ({
  store: runStore(),
  artifacts: new Artifacts(s3Client(), config().SPOTEVAL_BUCKET),
});

/** Uploaded references (POST /references): items in the table, files in the bucket. */
export const referenceStore = () =>
  new ReferenceStore(
    dynamoClient(),
    config().SPOTEVAL_TABLE,
    new Artifacts(s3Client(), config().SPOTEVAL_BUCKET),
  );

/** RecordMetrics: artifacts, and what the parity check needs (bus for ParityDrift, uploads, threshold). */
export const recordDeps = (): RecordDeps => ({
  ...artifactDeps(),
  events: new EventBridgeParityEvents(eventBridgeClient()),
  uploaded: referenceStore(),
  zThreshold: config().PARITY_Z,
});

/** How CheckEngine polls and watches, from the environment (deployed: the defaults above). */
export const pipelineSettings = (c: Env = config()): PipelineSettings => ({
  stallSeconds: c.STALL_SECONDS,
  bootSeconds: c.BOOT_SECONDS,
  minPollSeconds: c.POLL_MIN_SECONDS,
  maxPollSeconds: c.POLL_MAX_SECONDS,
  bootEstimateSeconds: c.BOOT_ESTIMATE_SECONDS,
  watchSeconds: c.POLL_WATCH_SECONDS,
  watchIntervalMs: c.POLL_WATCH_INTERVAL_MS,
});

/** The settings a deployment gets when it sets none of them (npm run bench compares against these). */
export const deployedDefaults = (): PipelineSettings =>
  pipelineSettings(Env.parse({ SPOTEVAL_TABLE: "-", SPOTEVAL_BUCKET: "-" }));

export const capacityDeps = (): CapacityDeps => ({
  store: runStore(),
  capacity: capacityProvider(),
  settings: pipelineSettings(),
});

/** Where callbacks may go, from the deployment's (or the local stack's) configuration. */
export const callbackPolicy = (c: Env = config()): CallbackPolicy => ({
  schemes: listSetting(c.CALLBACK_SCHEMES),
  allowedHosts: listSetting(c.CALLBACK_ALLOWED_HOSTS),
  resolve: systemResolve,
});

export const callbackDeps = (): CallbackDeps => ({
  store: runStore(),
  policy: callbackPolicy(),
  secret: config().CALLBACK_SECRET,
});
/** SendTaskSuccess; a token whose wait is over (answered, timed out, never issued) is no error here. */
const taskTokens: TaskTokens = {
  succeed: async (token, output) => {
    try {
      await sfnClient().send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }),
      );
      return "sent";
    } catch (error) {
      if (error instanceof TaskTimedOut || error instanceof TaskDoesNotExist || error instanceof InvalidToken)
        return "ended";
      throw error;
    }
  },
};

/** What a wait's Lambda and the cancel route need to end a wait: the store and the callback API. */
export const wakeDeps = (): WakeDeps => ({ store: runStore(), tokens: taskTokens });

/** What the instance-event rule needs: the instance's tags (capacity) and the callback API. */
export const instanceEventDeps = (): CapacityDeps & WakeDeps => ({ ...capacityDeps(), tokens: taskTokens });

export const submitDeps = (): SubmitDeps => {
  const c = config();
  return {
    store: runStore(),
    callbacks: { policy: callbackPolicy(c), secret: c.CALLBACK_SECRET },
    maxAttempts: c.MAX_ATTEMPTS,
    maxRunHours: c.MAX_RUN_HOURS,
    maxInstances: c.MAX_INSTANCES,
    ...(c.MODEL_CONFIG_LOOKUP === "hub" ? { fetchModelConfig: hubConfig } : {}),
    compiledArtifacts: {
      exists: (key) => new Artifacts(s3Client(), c.SPOTEVAL_BUCKET).exists(key),
      image: vllmNeuronImage(c.ENGINE_IMAGE_VLLM_NEURON),
    },
    models: {
      s3: s3Client(),
      ...(c.MODEL_BUCKETS !== undefined ? { buckets: listSetting(c.MODEL_BUCKETS) } : {}),
    },
    startExecution: async (name, input) => {
      if (!c.STATE_MACHINE_ARN) throw new Error("STATE_MACHINE_ARN is not set");
      const out = await sfnClient().send(
        new StartExecutionCommand({
          stateMachineArn: c.STATE_MACHINE_ARN,
          name,
          input: JSON.stringify(input),
        }),
      );
      return out.executionArn as string;
    },
  };
};

let keys: { hashes: Promise<KeyHash[]>; at: number } | undefined;
/**
 * The API key hashes: from the SSM SecureString API_KEYS_PARAMETER (re-read every 5 minutes, so a
 * revoked key stops working without a deploy), or from API_KEY_HASHES (the local stack).
 */
export function apiKeys(): Promise<KeyHash[]> {
  const c = config();
  if (!c.API_KEYS_PARAMETER) return Promise.resolve(parseKeyHashes(c.API_KEY_HASHES));
  if (!keys || Date.now() - keys.at > 300_000) {
    const hashes = new SSMClient({})
      .send(new GetParameterCommand({ Name: c.API_KEYS_PARAMETER, WithDecryption: true }))
      .then((out) => parseKeyHashes(out.Parameter?.Value ?? ""));
    keys = { hashes, at: Date.now() };
    hashes.catch(() => {
      keys = undefined;
    });
  }
  return keys.hashes;
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
export const triggerDefaults = () => {
  const c = config();
  return { suite: c.DEFAULT_SUITE, tasks: list(c.DEFAULT_TASKS), watched: list(c.WATCHED_MODELS) };
};
