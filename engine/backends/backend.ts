// A harness backend runs the evaluation for a run spec and leaves an lm-eval results file behind.
import type { EngineRecord } from "../../core/engine-record.ts";
import type { Plan } from "../../core/run-store.ts";
import type { Progress, RunSpec } from "../../core/schemas.ts";

export type BackendContext = {
  spec: RunSpec;
  /** The run's plan (backend, tensor parallelism, vLLM configuration), when it has one. */
  plan?: Plan;
  runId: string;
  attempt: number;
  /** A model from S3, downloaded: the local folder the backend loads instead of the id. */
  modelPath?: string;
  /** Where the harness writes (its --output_path). */
  outputDir: string;
  /** Where the harness keeps its request cache (--use_cache); restored from S3 on a later attempt. */
  cacheDir: string;
  /** Environment for the harness process (Neuron compile cache, HF token). */
  env: Record<string, string>;
  onProgress: (progress: Progress) => void;
  progress: () => Progress;
  log: (line: string) => void;
  signal: AbortSignal;
};

export type BackendResult = {
  /** The results file and per-sample logs, paths inside outputDir. */
  resultsFile: string;
  sampleFiles: string[];
  simulated: boolean;
  /** What produced the numbers (backend, image, versions, parallelism), when the backend knows. */
  engine?: EngineRecord;
};

export interface Backend {
  readonly name: string;
  run(context: BackendContext): Promise<BackendResult>;
}
