// How fast each backend scores, for the time and cost a plan estimates before a run spends money.
// Every figure below is published, not measured here; the scaling between them is a guess, said so.

export type ThroughputFigure = {
  backend: "neuronx" | "vllm-neuron";
  model: string;
  parameters: number;
  instanceType: string;
  tensorParallel: number;
  batch: number;
  /** Output tokens per second of one server (one replica). */
  tokensPerSecond: number;
  source: string;
};

export const throughputTable: ThroughputFigure[] = [
  ...(
    [
      [1, 82],
      [8, 320],
      [32, 485], // published as 460-510
    ] as const
  ).map(([batch, tokensPerSecond]) => ({
    backend: "vllm-neuron" as const,
    model: "meta-llama/Llama-3.1-8B",
    parameters: 8.03e9,
    instanceType: "inf2.48xlarge",
    tensorParallel: 8,
    batch,
    tokensPerSecond,
    source: "optimum-neuron benchmark/vllm, Llama-3.1-8B on inf2.48xlarge, TP8, sequence 4096",
  })),
  ...(
    [
      [1, 150],
      [8, 762],
    ] as const
  ).map(([batch, tokensPerSecond]) => ({
    backend: "neuronx" as const,
    model: "mistralai/Mistral-7B-Instruct-v0.2",
    parameters: 7.24e9,
    instanceType: "inf2.48xlarge",
    tensorParallel: 24,
    batch,
    tokensPerSecond,
    source: "AWS Neuron inf2 decoder benchmarks (SDK 2.18, transformers-neuronx, TP24)",
  })),
];

/**
 * The harness end to end on neuronx (published, DESIGN.md): Mistral-7B gsm8k 5-shot, 1319 documents in
 * 32 minutes on inf2.48xlarge (24 cores) at batch size 1, the published Inferentia2 benchmark.
 */
export const NEURONX_HARNESS_REFERENCE = {
  secondsPerGenerativeDoc: (32 * 60) / 1319,
  parameters: 7.24e9,
  cores: 24,
  /** A guess: scoring a multiple-choice document costs about a tenth of generating an answer. */
  loglikelihoodFactor: 0.1,
};

/** Guesses that carry the published figures to other sizes; every estimate built on them says so. */
export const SCALING_GUESSES = [
  "decode speed inversely proportional to the parameter count (memory-bound decoding)",
  "speed grows with the square root of the tensor-parallel degree (collectives cost the rest)",
  "between published batch sizes, speed interpolated on log(batch)",
  "prompt processing not counted for generative tasks; loglikelihood documents cost a tenth of a generated answer",
];

/** Output tokens per second of one vLLM server on Neuron: published figures, carried by SCALING_GUESSES. */
export function vllmTokensPerSecond(parameters: number, tensorParallel: number, batch: number): number {
  const rows = throughputTable.filter((f) => f.backend === "vllm-neuron").sort((a, b) => a.batch - b.batch);
  const ref = rows[0];
  const b = Math.min(Math.max(batch, rows[0].batch), rows[rows.length - 1].batch);
  const upper = rows.findIndex((r) => r.batch >= b);
  const hi = rows[upper];
  const lo = rows[Math.max(0, upper - 1)];
  const t = hi.batch === lo.batch ? 0 : Math.log(b / lo.batch) / Math.log(hi.batch / lo.batch);
  const atBatch = lo.tokensPerSecond + t * (hi.tokensPerSecond - lo.tokensPerSecond);
  return atBatch * (ref.parameters / parameters) * Math.sqrt(tensorParallel / ref.tensorParallel);
}

/** Seconds per document for the neuronx harness at batch size 1, from the end-to-end reference. */
export function neuronxSecondsPerDoc(
  parameters: number,
  cores: number,
  generative: boolean,
  batch: number,
): number {
  const r = NEURONX_HARNESS_REFERENCE;
  return (
    (r.secondsPerGenerativeDoc *
      (parameters / r.parameters) *
      Math.sqrt(r.cores / cores) *
      (generative ? 1 : r.loglikelihoodFactor)) /
    Math.sqrt(batch)
  );
}

/** Compiling without cached artifacts: about 15 minutes for a 15 GB model (published), proportional to size (a guess). */
export const compileHours = (parameters: number) => 0.25 * Math.max(1, parameters / 7.24e9);
