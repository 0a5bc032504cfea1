// How a backend uses an instance's NeuronCores, and the exact commands it runs there: vLLM servers on
// disjoint core slices (vllm-neuron) or one harness process on every core (neuronx). The plan shows
// these commands and the engine runs the same ones, built here.
import { GIB_PER_CORE } from "./instances.ts";
import type { ModelShape } from "./model-size.ts";
import type { RunSpec, TaskSpec } from "./schemas.ts";

export const bytesPerParameter = { bfloat16: 2, float16: 2, float32: 4 } as const;

/** vLLM's batch (max-num-seqs) when the request keeps the default batch size of 1, and its sequence length. */
export const VLLM_DEFAULT_BATCH = 8;
export const VLLM_MAX_MODEL_LEN = 4096;
/**
 * Device memory a server needs beyond weights and KV cache: 10% of both plus 1 GiB per core for the
 * Neuron runtime and activations (a guess on the cautious side of AWS's sizing examples).
 */
export const SERVING_HEADROOM = { fraction: 0.1, perCoreGiB: 1 };
/** Compiling loads and traces the weights on the host: an 8B model was killed on 32 GiB (published), so 2.5x the weights. */
export const COMPILE_HOST_MEMORY_FACTOR = 2.5;
/** Where things live on an instance (the plan's commands; the engine may use its own work directory). */
export const ON_INSTANCE = {
  model: "/opt/spoteval/model",
  compiledArtifacts: "/opt/spoteval/compiled",
  work: "/opt/spoteval/work",
};
/** The round-robin proxy listens here; replica i listens on PORT_BASE + 1 + i. */
export const PORT_BASE = 8000;

export type VllmConfig = {
  tensorParallel: number;
  maxNumSeqs: number;
  maxModelLen: number;
  /** Passed as --additional-config '{"override_neuron_config": ...}'; part of the compiled artifacts' key. */
  overrideNeuronConfig: Record<string, unknown>;
};

const gib = (bytes: number) => bytes / 2 ** 30;
export const weightsGiB = (shape: ModelShape, dtype: RunSpec["model"]["dtype"]) =>
  gib(shape.parameters * bytesPerParameter[dtype]);

/**
 * Device memory one server of TP cores needs for weights plus a KV cache of B sequences of L tokens.
 * With more cores than key-value heads, NxD Inference replicates the KV heads up to TP (its GQA
 * "replicate to TP degree" sharding): the cache grows by TP / kvHeads.
 */
export function servingMemoryGiB(
  shape: ModelShape,
  dtype: RunSpec["model"]["dtype"],
  batch: number,
  length: number,
  tp: number,
): number {
  const replication = Math.max(1, tp / shape.kvHeads);
  const kv = gib((shape.kvBytesPerToken * bytesPerParameter[dtype] * batch * length * replication) / 2);
  return (weightsGiB(shape, dtype) + kv) * (1 + SERVING_HEADROOM.fraction) + SERVING_HEADROOM.perCoreGiB * tp;
}

/**
 * The tensor-parallel degree of one vLLM server: the smallest power of two dividing the attention and
 * the key-value heads whose device memory holds the weights and the KV cache with headroom. When none
 * does (a 70B model with 8 KV heads needs more than 8 cores), the smallest power of two dividing the
 * attention heads, with the KV heads replicated. Undefined when nothing up to maxCores fits.
 */
export function vllmTensorParallel(
  shape: ModelShape,
  dtype: RunSpec["model"]["dtype"],
  batch: number,
  length: number,
  maxCores: number,
): number | undefined {
  const degrees: number[] = [];
  for (let tp = 1; tp <= maxCores; tp *= 2) if (shape.attentionHeads % tp === 0) degrees.push(tp);
  const fits = (tp: number) => servingMemoryGiB(shape, dtype, batch, length, tp) <= tp * GIB_PER_CORE;
  return (
    degrees.find((tp) => shape.kvHeads % tp === 0 && fits(tp)) ??
    degrees.find((tp) => tp % shape.kvHeads === 0 && fits(tp))
  );
}

export const vllmBatch = (spec: RunSpec) => (spec.batchSize > 1 ? spec.batchSize : VLLM_DEFAULT_BATCH);

export function vllmConfig(spec: RunSpec, tensorParallel: number): VllmConfig {
  return {
    tensorParallel,
    maxNumSeqs: vllmBatch(spec),
    maxModelLen: VLLM_MAX_MODEL_LEN,
    overrideNeuronConfig: {},
  };
}

/** Disjoint NEURON_RT_VISIBLE_CORES ranges, one per replica: "0-1", "2-3", ... ("0" for TP 1). */
export function visibleCores(cores: number, tensorParallel: number): string[] {
  const replicas = Math.floor(cores / tensorParallel);
  return Array.from({ length: replicas }, (_, i) => {
    const first = i * tensorParallel;
    const last = first + tensorParallel - 1;
    return first === last ? String(first) : `${first}-${last}`;
  });
}

export const replicaPort = (i: number) => PORT_BASE + 1 + i;
/** Where the harness sends requests: the proxy when there are several replicas, else the one server. */
export const harnessPort = (replicas: number) => (replicas > 1 ? PORT_BASE : replicaPort(0));

/** argv of one vLLM server on Neuron (AWS's documented flags; the KV cache is contiguous: blocks = B). */
export function vllmServeArgs(
  model: { path: string; id: string; dtype: string },
  c: VllmConfig,
  port: number,
) {
  return [
    "serve",
    model.path,
    "--served-model-name",
    model.id,
    "--dtype",
    model.dtype,
    "--tensor-parallel-size",
    String(c.tensorParallel),
    "--max-num-seqs",
    String(c.maxNumSeqs),
    "--max-model-len",
    String(c.maxModelLen),
    "--no-enable-prefix-caching",
    "--num-gpu-blocks-override",
    String(c.maxNumSeqs),
    "--port",
    String(port),
    "--additional-config",
    JSON.stringify({ override_neuron_config: c.overrideNeuronConfig }),
  ];
}

export type HarnessModel =
  | { kind: "neuronx"; pretrained: string; revision?: string; dtype: string; tpDegree: number }
  | { kind: "hf"; pretrained: string; revision?: string; dtype: string; device: string }
  | {
      kind: "local-completions";
      model: string;
      tokenizer: string;
      port: number;
      numConcurrent: number;
      maxLength: number;
    };

/** Retries and timeout of each request to vLLM: a long generation at full batch takes minutes. */
export const API_CLIENT = { maxRetries: 3, timeoutSeconds: 600 };

export function harnessModelArgs(m: HarnessModel): string {
  if (m.kind === "local-completions") {
    return [
      `model=${m.model}`,
      `base_url=http://127.0.0.1:${m.port}/v1/completions`,
      "tokenizer_backend=huggingface",
      `tokenizer=${m.tokenizer}`,
      "tokenized_requests=False",
      `num_concurrent=${m.numConcurrent}`,
      `max_retries=${API_CLIENT.maxRetries}`,
      `timeout=${API_CLIENT.timeoutSeconds}`,
      `max_length=${m.maxLength}`,
    ].join(",");
  }
  return [
    `pretrained=${m.pretrained}`,
    ...(m.revision ? [`revision=${m.revision}`] : []),
    `dtype=${m.dtype}`,
    ...(m.kind === "neuronx" ? [`tp_degree=${m.tpDegree}`] : []),
  ].join(",");
}

/** The harness takes one --num_fewshot per invocation: group tasks that share one. */
export function byFewshot(tasks: TaskSpec[]): [number | null, string[]][] {
  const groups = new Map<number | null, string[]>();
  for (const t of tasks) groups.set(t.numFewshot, [...(groups.get(t.numFewshot) ?? []), t.name]);
  return [...groups];
}

/** The harness's arguments for one invocation (after `python -m lm_eval` or `lm_eval`). */
export function harnessArgs(
  m: HarnessModel,
  run: { tasks: string[]; numFewshot: number | null; batchSize: number; limit?: number },
  paths: { output: string; cache: string },
): string[] {
  return [
    "--model",
    m.kind,
    "--model_args",
    harnessModelArgs(m),
    "--tasks",
    run.tasks.join(","),
    ...(run.numFewshot === null ? [] : ["--num_fewshot", String(run.numFewshot)]),
    // local-completions: concurrency comes from num_concurrent; batch_size would batch prompts per request.
    ...(m.kind === "local-completions" ? [] : ["--batch_size", String(run.batchSize)]),
    ...(m.kind === "hf" ? ["--device", m.device] : []),
    ...(run.limit !== undefined ? ["--limit", String(run.limit)] : []),
    "--output_path",
    paths.output,
    "--log_samples",
    // One cache path per run: the cache key does not include the model (SQLite file per rank).
    "--use_cache",
    paths.cache,
  ];
}

/** A command line a person can read and paste (single quotes around what the shell would split). */
export const shellLine = (argv: string[]) =>
  argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
