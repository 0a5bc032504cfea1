// The shapes every boundary agrees on: the API request, the normalized run spec, run and attempt states.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini: the same validation as zod with a fraction of its size and import time in every Lambda
// bundle (npm run bench, cold start). English messages, as the full package has by default.
z.config(en());

export const DEFAULT_HARNESS_REVISION = "756eeb6f0aee59fc624c81dcb0e334c1263d80e3";

const hubId = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const s3Location = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9!_.*'()/-]*)?$/;
export const taskName = z
  .string()
  .check(
    z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "a harness task or group name: letters, digits, _ . -"),
  );
export const runId = z.string().check(z.regex(/^[0-9a-z]{26}$/, "a run id: 26 lowercase letters and digits"));

export const modelIdSchema = z
  .string()
  .check(
    z.refine(
      (v) => hubId.test(v) || s3Location.test(v),
      "a Hub id (org/name) or an s3://bucket/prefix location",
    ),
  );

export const dtypes = ["bfloat16", "float16", "float32"] as const;

export const ModelRef = z.strictObject({
  id: modelIdSchema,
  revision: z._default(
    z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, "a branch, tag or commit")),
    "main",
  ),
  dtype: z._default(z.enum(dtypes), "bfloat16"),
  parameters: z.optional(z.number().check(z.positive(), z.lte(2e12))),
});

export const instanceTypes = ["inf2.xlarge", "inf2.8xlarge", "inf2.24xlarge", "inf2.48xlarge"] as const;
export const InstanceType = z.enum(instanceTypes);
export type InstanceType = z.infer<typeof InstanceType>;

export const CapacityPreferences = z.strictObject({
  instanceTypes: z.optional(z.array(InstanceType).check(z.minLength(1), z.maxLength(4))),
  allowOnDemand: z._default(z.boolean(), false),
  maxSpotPrice: z.optional(z.number().check(z.positive(), z.lte(100))),
  availabilityZones: z.optional(
    z
      .array(
        z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, "an availability zone such as us-east-1a")),
      )
      .check(z.minLength(1), z.maxLength(12)),
  ),
  /** Instances the run's shards may use in all (absent: the deployment's default). */
  maxInstances: z.optional(z.int().check(z.gte(1), z.lte(64))),
  /** Plan the cheapest shards whose slowest ends within this many minutes (estimated), or answer 400. */
  deadlineMinutes: z.optional(z.number().check(z.positive(), z.lte(10080))),
});

export const suites = {
  "open-llm-leaderboard-v1": [
    { name: "arc_challenge", numFewshot: 25 },
    { name: "hellaswag", numFewshot: 10 },
    { name: "mmlu", numFewshot: 5 },
    { name: "truthfulqa_mc2", numFewshot: 0 },
    { name: "winogrande", numFewshot: 5 },
    { name: "gsm8k", numFewshot: 5 },
  ],
} as const;
export type SuiteName = keyof typeof suites;

export const EvaluationRequest = z
  .strictObject({
    model: ModelRef,
    tasks: z.optional(z.array(taskName).check(z.minLength(1), z.maxLength(64))),
    suite: z.optional(z.enum(Object.keys(suites) as [SuiteName])),
    numFewshot: z.optional(z.int().check(z.gte(0), z.lte(64))),
    limit: z.optional(z.number().check(z.positive(), z.lte(1e6))),
    batchSize: z._default(z.int().check(z.gte(1), z.lte(64)), 1),
    harness: z.optional(
      z.strictObject({
        /** Absent: the backend's own (neuronx: DEFAULT_HARNESS_REVISION; vllm-neuron: its image's release). */
        revision: z.optional(
          z
            .string()
            .check(
              z.regex(
                /^([0-9a-f]{7,40}|v?\d+\.\d+\.\d+)$/,
                "a git commit or a release (0.4.8) of lm-evaluation-harness",
              ),
            ),
        ),
      }),
    ),
    capacity: z._default(CapacityPreferences, { allowOnDemand: false }),
    callbackUrl: z.optional(z.url({ protocol: /^https?$/ }).check(z.maxLength(2048))),
    /** Earlier runs to check this run's scores against (core/run-parity.ts); else the latest comparable one. */
    references: z.optional(z.array(z.strictObject({ runId })).check(z.minLength(1), z.maxLength(5))),
    /** The parity threshold: |Δ| / combined stderr above this is drift (default 1.96). */
    parity: z.optional(z.strictObject({ z: z.number().check(z.positive(), z.lte(10)) })),
    labels: z.optional(
      z
        .record(z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,63}$/)), z.string().check(z.maxLength(256)))
        .check(z.refine((l) => Object.keys(l).length <= 20, "at most 20 labels")),
    ),
  })
  .check(
    z.refine((r) => (r.tasks === undefined) !== (r.suite === undefined), {
      message: "give either tasks or suite, not both and not neither",
      path: ["tasks"],
    }),
  );
export type EvaluationRequest = z.input<typeof EvaluationRequest>;

export const TaskSpec = z.object({ name: taskName, numFewshot: z.nullable(z.int().check(z.gte(0))) });
export type TaskSpec = z.infer<typeof TaskSpec>;

/** What a run evaluates, with every default filled in: the one shape the pipeline and the engine read. */
export const RunSpec = z.object({
  model: z.object({
    id: modelIdSchema,
    revision: z.string(),
    dtype: z.enum(dtypes),
    parameters: z.optional(z.number().check(z.positive())),
  }),
  tasks: z.array(TaskSpec).check(z.minLength(1)),
  suite: z.optional(z.string()),
  limit: z.optional(z.number().check(z.positive())),
  batchSize: z.int().check(z.gte(1)),
  /** Set at submit to the revision the planned backend runs; absent only before planning. */
  harnessRevision: z.optional(z.string()),
  capacity: z.object({
    instanceTypes: z.optional(z.array(InstanceType)),
    allowOnDemand: z.boolean(),
    maxSpotPrice: z.optional(z.number()),
    availabilityZones: z.optional(z.array(z.string())),
    maxInstances: z.optional(z.int()),
    deadlineMinutes: z.optional(z.number()),
  }),
  callbackUrl: z.optional(z.string()),
  references: z.optional(z.array(z.object({ runId: z.string() }))),
  parityZ: z.optional(z.number()),
  labels: z._default(z.record(z.string(), z.string()), {}),
});
export type RunSpec = z.infer<typeof RunSpec>;

export function toRunSpec(request: z.output<typeof EvaluationRequest>): RunSpec {
  const tasks: TaskSpec[] = request.suite
    ? suites[request.suite].map((t) => ({ name: t.name, numFewshot: request.numFewshot ?? t.numFewshot }))
    : (request.tasks ?? []).map((name) => ({ name, numFewshot: request.numFewshot ?? null }));
  return {
    model: request.model,
    tasks,
    ...(request.suite ? { suite: request.suite } : {}),
    ...(request.limit !== undefined ? { limit: request.limit } : {}),
    batchSize: request.batchSize,
    ...(request.harness?.revision ? { harnessRevision: request.harness.revision } : {}),
    capacity: request.capacity,
    ...(request.callbackUrl ? { callbackUrl: request.callbackUrl } : {}),
    ...(request.references ? { references: request.references } : {}),
    ...(request.parity ? { parityZ: request.parity.z } : {}),
    labels: request.labels ?? {},
  };
}

/** Run status only moves forward along this order (INTERRUPTED loops back to ACQUIRING by design). */
export const runStatuses = [
  "QUEUED",
  "PLANNING",
  "ACQUIRING",
  "RUNNING",
  "INTERRUPTED",
  "RECORDING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
] as const;
export const RunStatus = z.enum(runStatuses);
export type RunStatus = z.infer<typeof RunStatus>;
export const finalStatuses: readonly RunStatus[] = ["SUCCEEDED", "FAILED", "CANCELLED"];
export const isFinal = (s: RunStatus) => finalStatuses.includes(s);

export const attemptStatuses = [
  "LAUNCHING",
  "RUNNING",
  "FINISHED",
  "FAILED",
  "INTERRUPTED",
  "RELEASED",
] as const;
export type AttemptStatus = (typeof attemptStatuses)[number];

export const Progress = z.object({
  phase: z.enum(["queued", "boot", "download", "compile", "load", "evaluate", "upload", "done"]),
  task: z.optional(z.string()),
  /** queued: the device the attempt waits for and how many runs are ahead (a local machine's queue). */
  waitingFor: z.optional(z.string()),
  done: z.int().check(z.gte(0)),
  total: z.int().check(z.gte(0)),
  ratePerSecond: z.optional(z.number().check(z.gte(0))),
  etaSeconds: z.optional(z.number().check(z.gte(0))),
});
export type Progress = z.infer<typeof Progress>;
