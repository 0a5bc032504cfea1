// Model size and task output types decide the hardware: which backend scores each task, which inf2
// sizes fit the model there, at what tensor-parallel degree and with how many replicas, ranked by the
// expected cost to finish the evaluation (not by price per hour).
import { backendStacks, harnessRevisionFor, type NeuronBackend, routeTasks } from "./backends.ts";
import { InvalidRequest, ModelDoesNotFit } from "./errors.ts";
import {
  CORES_PER_CHIP,
  EXPECTED_SPOT_FRACTION,
  GIB_PER_CHIP,
  GIB_PER_CORE,
  instanceShapes,
} from "./instances.ts";
import { assumedShape, type ModelShape } from "./model-size.ts";
import type { Plan } from "./run-store.ts";
import type { InstanceType, RunSpec, TaskSpec } from "./schemas.ts";
import {
  bytesPerParameter,
  COMPILE_HOST_MEMORY_FACTOR,
  servingMemoryGiB,
  VLLM_MAX_MODEL_LEN,
  vllmBatch,
  vllmConfig,
  vllmTensorParallel,
  weightsGiB,
} from "./serving.ts";
import { scoredDocs, taskFacts } from "./tasks.ts";
import { compileHours, neuronxSecondsPerDoc, SCALING_GUESSES, vllmTokensPerSecond } from "./throughput.ts";

export { CORES_PER_CHIP, EXPECTED_SPOT_FRACTION, GIB_PER_CHIP, instanceShapes } from "./instances.ts";

/**
 * neuronx: device memory beyond the weights: KV cache for the 2048-token compiled sequence at small
 * batch sizes, activations and the Neuron runtime. 20% of the weights plus 2 GiB covers 7B-70B decoder
 * models at batch size <= 4 (Mistral-7B bf16: 13.5 GiB of weights -> 18.2 GiB, one chip).
 */
export const MEMORY_MARGIN = { fractionOfWeights: 0.2, fixedGiB: 2 };
/** neuronx: Neuron compilation without a cached graph (15-60 minutes); assumed once per run. */
export const COMPILE_HOURS = 0.5;
/** When the request gives no parameter count and none can be looked up, assume a 7B model. */
export const DEFAULT_PARAMETERS = 7.24e9;
/** Tokens a generated answer takes when the task is not in the table (a guess). */
const UNKNOWN_OUTPUT_TOKENS = 100;

export function requiredMemoryGiB(parameters: number, dtype: keyof typeof bytesPerParameter): number {
  const weights = (parameters * bytesPerParameter[dtype]) / 2 ** 30;
  return weights * (1 + MEMORY_MARGIN.fractionOfWeights) + MEMORY_MARGIN.fixedGiB;
}

export type PlanOptions = {
  /** The model's shape from its config.json; without it, a 7B-like shape is assumed (and said so). */
  shape?: ModelShape;
  /** vllm-neuron: compiled artifacts for this configuration are already in S3 (no compile on the instance). */
  artifactsCached?: boolean;
};

/** The model's shape as the plan uses it: the request's parameter count wins over any other. */
export function modelShape(spec: RunSpec, shape?: ModelShape): ModelShape {
  const parameters = spec.model.parameters ?? shape?.parameters ?? DEFAULT_PARAMETERS;
  return shape ? { ...shape, parameters } : assumedShape(spec.model.id, parameters);
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

function limitTasks(spec: RunSpec, tasks: TaskSpec[]) {
  return tasks.map((t) => ({ name: t.name, docs: scoredDocs(t.name, spec.limit), facts: taskFacts(t.name) }));
}

function neuronxPlan(spec: RunSpec, tasks: TaskSpec[], shape: ModelShape, allowed: InstanceType[]): Plan {
  const needed = requiredMemoryGiB(shape.parameters, spec.model.dtype);
  const work = limitTasks(spec, tasks);
  const candidates = allowed
    .map((instanceType) => {
      const s = instanceShapes[instanceType];
      const cores = s.chips * CORES_PER_CHIP;
      const seconds = work.reduce(
        (sum, t) =>
          sum +
          t.docs *
            neuronxSecondsPerDoc(
              shape.parameters,
              cores,
              t.facts?.outputType === "generate_until",
              spec.batchSize,
            ),
        0,
      );
      const hours = COMPILE_HOURS + seconds / 3600;
      return {
        instanceType,
        chips: s.chips,
        tpDegree: cores,
        replicas: 1,
        onDemandPricePerHour: s.onDemandPricePerHour,
        expectedHours: round(hours, 3),
        expectedCostUsd: round(hours * s.onDemandPricePerHour * EXPECTED_SPOT_FRACTION, 4),
      };
    })
    .filter((c) => c.chips * GIB_PER_CHIP >= needed);
  if (!candidates.length) {
    const biggest = Math.max(...allowed.map((t) => instanceShapes[t].chips * GIB_PER_CHIP));
    throw new ModelDoesNotFit(
      `${spec.model.id} needs about ${needed.toFixed(0)} GiB of accelerator memory in ${spec.model.dtype}; ` +
        `the largest allowed instance has ${biggest} GiB. Allow inf2.24xlarge or inf2.48xlarge, or use a smaller dtype.`,
    );
  }
  return { requiredMemoryGiB: round(needed, 2), candidates: sortByCost(candidates) };
}

function vllmPlan(
  spec: RunSpec,
  tasks: TaskSpec[],
  shape: ModelShape,
  allowed: InstanceType[],
  options: PlanOptions,
  notes: string[],
): Plan {
  const batch = vllmBatch(spec);
  const maxCores = Math.max(...allowed.map((t) => instanceShapes[t].chips * CORES_PER_CHIP));
  const tp = vllmTensorParallel(shape, spec.model.dtype, batch, VLLM_MAX_MODEL_LEN, maxCores);
  if (tp === undefined) {
    const needed = servingMemoryGiB(shape, spec.model.dtype, batch, VLLM_MAX_MODEL_LEN, maxCores);
    throw new ModelDoesNotFit(
      `${spec.model.id} needs about ${needed.toFixed(0)} GiB of accelerator memory on vLLM (weights and a KV cache for ` +
        `${batch} x ${VLLM_MAX_MODEL_LEN} tokens, ${spec.model.dtype}) at a tensor-parallel degree dividing its ` +
        `${shape.attentionHeads} attention heads; the largest allowed instance has ${maxCores * GIB_PER_CORE} GiB. ` +
        "Allow inf2.48xlarge, a smaller batchSize, or a smaller dtype.",
    );
  }
  const compileHostGiB = weightsGiB(shape, spec.model.dtype) * COMPILE_HOST_MEMORY_FACTOR;
  const work = limitTasks(spec, tasks);
  const tokens = work.reduce((sum, t) => sum + t.docs * (t.facts?.outputTokens ?? UNKNOWN_OUTPUT_TOKENS), 0);
  const candidates = allowed.flatMap((instanceType) => {
    const s = instanceShapes[instanceType];
    const cores = s.chips * CORES_PER_CHIP;
    if (cores < tp) return [];
    if (!options.artifactsCached && s.hostMemoryGiB < compileHostGiB) {
      notes.push(
        `${instanceType} left out: compiling needs about ${compileHostGiB.toFixed(0)} GiB of host memory, it has ${s.hostMemoryGiB} GiB (usable once the compiled artifacts are in S3)`,
      );
      return [];
    }
    const replicas = Math.floor(cores / tp);
    const rate = replicas * vllmTokensPerSecond(shape.parameters, tp, batch);
    const hours = (options.artifactsCached ? 0 : compileHours(shape.parameters)) + tokens / rate / 3600;
    return [
      {
        instanceType,
        chips: s.chips,
        tpDegree: tp,
        replicas,
        onDemandPricePerHour: s.onDemandPricePerHour,
        expectedHours: round(hours, 3),
        expectedCostUsd: round(hours * s.onDemandPricePerHour * EXPECTED_SPOT_FRACTION, 4),
      },
    ];
  });
  if (!candidates.length) {
    throw new ModelDoesNotFit(
      `${spec.model.id} on vllm-neuron needs ${tp} NeuronCores per server and an instance with about ${compileHostGiB.toFixed(0)} GiB ` +
        `of host memory to compile; none of ${allowed.join(", ")} qualifies. Allow inf2.8xlarge or larger.`,
    );
  }
  return {
    requiredMemoryGiB: round(weightsGiB(shape, spec.model.dtype), 2),
    vllm: vllmConfig(spec, tp),
    candidates: sortByCost(candidates),
  };
}

const sortByCost = <C extends { expectedCostUsd: number; expectedHours: number }>(cs: C[]) =>
  cs.sort((a, b) => a.expectedCostUsd - b.expectedCostUsd || a.expectedHours - b.expectedHours);

/** One plan per backend the run's tasks need (a run that needs two is two shards). */
export function planShards(spec: RunSpec, options: PlanOptions = {}): Plan[] {
  const shape = modelShape(spec, options.shape);
  const allowed = spec.capacity.instanceTypes ?? (Object.keys(instanceShapes) as InstanceType[]);
  return routeTasks(spec, shape).map((route) => {
    const notes = [...route.notes];
    const plan =
      route.backend === "neuronx"
        ? neuronxPlan(spec, route.tasks, shape, allowed)
        : vllmPlan(spec, route.tasks, shape, allowed, options, notes);
    if (shape.source === "assumed")
      notes.push(
        `model shape assumed (no config.json read): ${shape.attentionHeads} attention heads, ${shape.kvHeads} key-value heads, architecture ${shape.architecture ?? "unknown"}`,
      );
    return {
      ...plan,
      backend: route.backend,
      tasks: route.tasks.map((t) => t.name),
      harnessRevision: harnessRevisionFor(route.backend, spec.harnessRevision),
      stack: backendStacks[route.backend],
      notes: [
        ...notes,
        `estimates are guesses carried from published figures: ${SCALING_GUESSES.join("; ")}`,
      ],
    };
  });
}

/** The plan of a run that one engine can do: one backend, else a 400 naming the split. */
export function planRun(spec: RunSpec, options: PlanOptions = {}): Plan {
  const shards = planShards(spec, options);
  if (shards.length > 1) {
    throw new InvalidRequest(
      `these tasks need two backends: ${shards.map((s) => `${s.tasks?.join(",")} on ${s.backend}`).join("; ")}. ` +
        "One run on several backends is not supported yet: submit one run per backend (spoteval plan shows the split).",
    );
  }
  return shards[0];
}

export type { NeuronBackend };
