// What produced a run's numbers, as the engine records it: on the run, in the results file's `config`
// block, and as the line above the table (as lm_eval prints `neuronx (pretrained=...), ..., batch_size: 1`).

export type EngineRecord = {
  backend: string;
  /** The engine image (tag, and digest when known). */
  image?: string;
  neuronSdk?: string;
  vllm?: string;
  vllmNeuron?: string;
  optimumNeuron?: string;
  /** The harness release and/or commit the run used. */
  harness?: string;
  tensorParallel?: number;
  replicas?: number;
  /** vLLM's max-num-seqs (B), or the harness's batch size on neuronx. */
  batch?: number;
  /** vLLM's max-model-len (L). */
  maxModelLen?: number;
  modelArgs?: string;
};

/** The line printed above the table. */
export function engineLine(r: EngineRecord): string {
  const parts = [
    `${r.backend}${r.modelArgs ? ` (${r.modelArgs})` : ""}`,
    ...(r.tensorParallel !== undefined ? [`tensor_parallel: ${r.tensorParallel}`] : []),
    ...(r.replicas !== undefined ? [`replicas: ${r.replicas}`] : []),
    ...(r.batch !== undefined ? [`batch_size: ${r.batch}`] : []),
    ...(r.maxModelLen !== undefined ? [`max_model_len: ${r.maxModelLen}`] : []),
    ...(r.harness ? [`lm_eval: ${r.harness}`] : []),
    ...(r.vllm ? [`vllm: ${r.vllm}`] : []),
    ...(r.vllmNeuron ? [`vllm-neuron: ${r.vllmNeuron}`] : []),
    ...(r.optimumNeuron ? [`optimum-neuron: ${r.optimumNeuron}`] : []),
    ...(r.neuronSdk ? [`neuron_sdk: ${r.neuronSdk}`] : []),
    ...(r.image ? [`image: ${r.image}`] : []),
  ];
  return parts.join(", ");
}

/** The record as the attempt's provenance (string values only). */
export const asProvenance = (r: EngineRecord): Record<string, string> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]));
