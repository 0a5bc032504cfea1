// The shapes every boundary agrees on: the API request, the normalized run spec, run and attempt states.
import * as z from "zod";

export const DEFAULT_HARNESS_REVISION = "756eeb6f0aee59fc624c81dcb0e334c1263d80e3";

const hubId = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const s3Location = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9!_.*'()/-]*)?$/;
export const taskName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "a harness task or group name: letters, digits, _ . -");
export const runId = z.string().regex(/^[0-9a-z]{26}$/, "a run id: 26 lowercase letters and digits");

export const modelIdSchema = z
  .string()
  .refine(
    (v) => hubId.test(v) || s3Location.test(v),
    "a Hub id (org/name) or an s3://bucket/prefix location",
  );

export const dtypes = ["bfloat16", "float16", "float32"] as const;

export const ModelRef = z.strictObject({
  id: modelIdSchema,
  revision: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, "a branch, tag or commit")
    .default("main"),
  dtype: z.enum(dtypes).default("bfloat16"),
  parameters: z.number().positive().max(2e12).optional(),
});

export const instanceTypes = ["inf2.xlarge", "inf2.8xlarge", "inf2.24xlarge", "inf2.48xlarge"] as const;
export const InstanceType = z.enum(instanceTypes);
export type InstanceType = z.infer<typeof InstanceType>;

export const CapacityPreferences = z.strictObject({
  instanceTypes: z.array(InstanceType).min(1).max(4).optional(),
  allowOnDemand: z.boolean().default(false),
  maxSpotPrice: z.number().positive().max(100).optional(),
  availabilityZones: z
    .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, "an availability zone such as us-east-1a"))
    .min(1)
    .max(12)
    .optional(),
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
    tasks: z.array(taskName).min(1).max(64).optional(),
    suite: z.enum(Object.keys(suites) as [SuiteName]).optional(),
    numFewshot: z.int().min(0).max(64).optional(),
    limit: z.number().positive().max(1e6).optional(),
    batchSize: z.int().min(1).max(64).default(1),
    harness: z
      .strictObject({
        revision: z
          .string()
          .regex(/^[0-9a-f]{7,40}$/, "a git commit of lm-evaluation-harness")
          .default(DEFAULT_HARNESS_REVISION),
      })
      .default({ revision: DEFAULT_HARNESS_REVISION }),
    capacity: CapacityPreferences.default({ allowOnDemand: false }),
    callbackUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    labels: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/), z.string().max(256))
      .refine((l) => Object.keys(l).length <= 20, "at most 20 labels")
      .optional(),
  })
  .refine((r) => (r.tasks === undefined) !== (r.suite === undefined), {
    message: "give either tasks or suite, not both and not neither",
    path: ["tasks"],
  });
export type EvaluationRequest = z.input<typeof EvaluationRequest>;

export const TaskSpec = z.object({ name: taskName, numFewshot: z.int().min(0).nullable() });
export type TaskSpec = z.infer<typeof TaskSpec>;

/** What a run evaluates, with every default filled in: the one shape the pipeline and the engine read. */
export const RunSpec = z.object({
  model: z.object({
    id: modelIdSchema,
    revision: z.string(),
    dtype: z.enum(dtypes),
    parameters: z.number().positive().optional(),
  }),
  tasks: z.array(TaskSpec).min(1),
  suite: z.string().optional(),
  limit: z.number().positive().optional(),
  batchSize: z.int().min(1),
  harnessRevision: z.string(),
  capacity: z.object({
    instanceTypes: z.array(InstanceType).optional(),
    allowOnDemand: z.boolean(),
    maxSpotPrice: z.number().optional(),
    availabilityZones: z.array(z.string()).optional(),
  }),
  callbackUrl: z.string().optional(),
  labels: z.record(z.string(), z.string()).default({}),
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
    harnessRevision: request.harness.revision,
    capacity: request.capacity,
    ...(request.callbackUrl ? { callbackUrl: request.callbackUrl } : {}),
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
  phase: z.enum(["boot", "download", "compile", "load", "evaluate", "upload", "done"]),
  task: z.string().optional(),
  done: z.int().min(0),
  total: z.int().min(0),
  ratePerSecond: z.number().min(0).optional(),
  etaSeconds: z.number().min(0).optional(),
});
export type Progress = z.infer<typeof Progress>;
