// Model size decides the hardware: which inf2 sizes fit the model, at what tensor-parallel degree,
// ranked by the expected cost to finish the evaluation (not by price per hour).
import { ModelDoesNotFit } from "./errors.ts";
import type { Plan } from "./run-store.ts";
import type { InstanceType, RunSpec } from "./schemas.ts";

/** Inferentia2: 2 NeuronCores and 32 GiB of device memory per chip. */
export const instanceShapes: Record<
  InstanceType,
  { chips: number; vcpus: number; onDemandPricePerHour: number }
> = {
  // On-demand prices, us-east-1 (DESIGN.md reference figures).
  "inf2.xlarge": { chips: 1, vcpus: 4, onDemandPricePerHour: 0.7582 },
  "inf2.8xlarge": { chips: 1, vcpus: 32, onDemandPricePerHour: 1.9679 },
  "inf2.24xlarge": { chips: 6, vcpus: 96, onDemandPricePerHour: 6.4906 },
  "inf2.48xlarge": { chips: 12, vcpus: 192, onDemandPricePerHour: 12.9813 },
};
export const GIB_PER_CHIP = 32;
export const CORES_PER_CHIP = 2;

const bytesPerParameter = { bfloat16: 2, float16: 2, float32: 4 } as const;
/**
 * Device memory beyond the weights: KV cache for the 2048-token compiled sequence at small batch sizes,
 * activations and the Neuron runtime. 20% of the weights plus 2 GiB covers 7B-70B decoder models at
 * batch size <= 4 (Mistral-7B bf16: 13.5 GiB of weights -> 18.2 GiB, one chip).
 */
export const MEMORY_MARGIN = { fractionOfWeights: 0.2, fixedGiB: 2 };

/** Documents in the test split of common tasks, for the time estimate; others count as 1000. */
const taskSizes: Record<string, { docs: number; generative: boolean }> = {
  gsm8k: { docs: 1319, generative: true },
  arc_challenge: { docs: 1172, generative: false },
  arc_easy: { docs: 2376, generative: false },
  hellaswag: { docs: 10042, generative: false },
  mmlu: { docs: 14042, generative: false },
  truthfulqa_mc2: { docs: 817, generative: false },
  winogrande: { docs: 1267, generative: false },
  lambada_openai: { docs: 5153, generative: false },
};
/**
 * Reference speed: Mistral-7B gsm8k (1319 generative docs) in 32 min on inf2.48xlarge (12 chips).
 * Scoring a multiple-choice doc costs about a tenth of generating an answer. More chips help
 * sub-linearly (exponent 0.5): tensor parallelism pays in communication.
 */
const REFERENCE = { secondsPerDoc: (32 * 60) / 1319, parameters: 7.24e9, chips: 12, mcFactor: 0.1 };
/** Neuron compilation without a cached graph (15-60 minutes); assumed once per run. */
export const COMPILE_HOURS = 0.5;
/** Spot has been seen 70-87% below on-demand; plan with the cautious end. */
export const EXPECTED_SPOT_FRACTION = 0.3;
/** When the request gives no parameter count and none can be looked up, assume a 7B model. */
export const DEFAULT_PARAMETERS = 7.24e9;

export function requiredMemoryGiB(parameters: number, dtype: keyof typeof bytesPerParameter): number {
  const weightsGiB = (parameters * bytesPerParameter[dtype]) / 2 ** 30;
  return weightsGiB * (1 + MEMORY_MARGIN.fractionOfWeights) + MEMORY_MARGIN.fixedGiB;
}

export function expectedEvaluationHours(spec: RunSpec, parameters: number, chips: number): number {
  let docsEquivalent = 0;
  for (const task of spec.tasks) {
    const size = taskSizes[task.name] ?? { docs: 1000, generative: false };
    const limit = spec.limit === undefined ? size.docs : spec.limit < 1 ? size.docs * spec.limit : spec.limit;
    docsEquivalent += Math.min(size.docs, limit) * (size.generative ? 1 : REFERENCE.mcFactor);
  }
  const seconds =
    docsEquivalent *
    REFERENCE.secondsPerDoc *
    (parameters / REFERENCE.parameters) *
    Math.sqrt(REFERENCE.chips / chips);
  return seconds / 3600 / spec.batchSize ** 0.5;
}

export function planRun(spec: RunSpec): Plan {
  const parameters = spec.model.parameters ?? DEFAULT_PARAMETERS;
  const needed = requiredMemoryGiB(parameters, spec.model.dtype);
  const allowed = spec.capacity.instanceTypes ?? (Object.keys(instanceShapes) as InstanceType[]);
  const candidates = allowed
    .map((instanceType) => {
      const shape = instanceShapes[instanceType];
      const expectedHours = COMPILE_HOURS + expectedEvaluationHours(spec, parameters, shape.chips);
      const price = shape.onDemandPricePerHour * EXPECTED_SPOT_FRACTION;
      return {
        instanceType,
        chips: shape.chips,
        tpDegree: shape.chips * CORES_PER_CHIP,
        onDemandPricePerHour: shape.onDemandPricePerHour,
        expectedHours: round(expectedHours, 3),
        expectedCostUsd: round(expectedHours * price, 4),
      };
    })
    .filter((c) => c.chips * GIB_PER_CHIP >= needed)
    .sort((a, b) => a.expectedCostUsd - b.expectedCostUsd || a.expectedHours - b.expectedHours);
  if (!candidates.length) {
    const biggest = Math.max(...allowed.map((t) => instanceShapes[t].chips * GIB_PER_CHIP));
    throw new ModelDoesNotFit(
      `${spec.model.id} needs about ${needed.toFixed(0)} GiB of accelerator memory in ${spec.model.dtype}; ` +
        `the largest allowed instance has ${biggest} GiB. Allow inf2.24xlarge or inf2.48xlarge, or use a smaller dtype.`,
    );
  }
  return { requiredMemoryGiB: round(needed, 2), candidates };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
