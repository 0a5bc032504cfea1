// What a run is compared with: published scores shipped with spoteval, and measurements read from
// any results file (an uploaded GPU run, an earlier spoteval run), with its samples when logged.
// Facts and sources of the published rows: shared/references/README.md, as the README lists them.
import type { Family } from "./harness-releases.ts";
import type { Measurement } from "./parity.ts";
import { type ResultsFile, releaseOf, uniqueRows } from "./results.ts";
import { type SamplesFile, valuesByDoc } from "./samples.ts";

/** The harness's stderr of a mean of 0/1 scores: the sample standard deviation over √n. */
export const binaryStderr = (p: number, n: number) => Math.sqrt((p * (1 - p)) / (n - 1));

type Published = {
  model: string;
  task: string;
  version: number;
  nShot: number;
  metric: string;
  filter: string;
  value: number;
  /** Published stderr; undefined when only derivable (0/1 metrics) or not derivable at all. */
  stderr?: number;
  /** Whether the stderr may be derived with binaryStderr (a mean of 0/1 scores over n documents). */
  derivable: boolean;
  n: number;
  family: Family;
  harness: string;
  source: string;
  inferred?: string[];
};

const V1 = "Open LLM Leaderboard v1 (harness b281b09), as tabled in the SOLAR paper (arXiv 2312.15166)";
const V1_LLAMA2 = "Open LLM Leaderboard v1 (harness b281b09), model cards citing the leaderboard's results";
const v1 = (
  model: string,
  task: string,
  version: number,
  nShot: number,
  metric: string,
  value: number,
  n: number,
  derivable: boolean,
  source = V1,
): Published => ({
  model,
  task,
  version,
  nShot,
  metric,
  filter: "none",
  value,
  derivable,
  n,
  family: "0.3",
  harness: "b281b09",
  source,
});

/**
 * The shipped table. Versions of the v1 rows are the task versions at b281b09 (lm_eval/tasks/*.py
 * there); mmlu and truthfulqa mc2 have no stderr that can be derived from the published figure.
 */
export const publishedRows: Published[] = [
  v1("mistralai/Mistral-7B-v0.1", "arc_challenge", 0, 25, "acc_norm", 0.5998, 1172, true),
  v1("mistralai/Mistral-7B-v0.1", "hellaswag", 0, 10, "acc_norm", 0.8331, 10042, true),
  v1("mistralai/Mistral-7B-v0.1", "mmlu", 1, 5, "acc", 0.6416, 14042, false),
  v1("mistralai/Mistral-7B-v0.1", "truthfulqa_mc", 1, 0, "mc2", 0.4215, 817, false),
  v1("mistralai/Mistral-7B-v0.1", "winogrande", 0, 5, "acc", 0.7837, 1267, true),
  v1("mistralai/Mistral-7B-v0.1", "gsm8k", 0, 5, "acc", 0.3783, 1319, true),
  {
    ...v1("meta-llama/Llama-2-7b-hf", "gsm8k", 0, 5, "acc", 0.14481, 1319, true),
    stderr: 0.00969,
    source:
      "Open LLM Leaderboard v1 (harness b281b09), run 2023-12-02: dataset card of open-llm-leaderboard details_meta-llama__Llama-2-7b-hf",
  },
  v1("meta-llama/Llama-2-7b-hf", "arc_challenge", 0, 25, "acc_norm", 0.5307, 1172, true, V1_LLAMA2),
  v1("meta-llama/Llama-2-7b-hf", "hellaswag", 0, 10, "acc_norm", 0.7859, 10042, true, V1_LLAMA2),
  v1("meta-llama/Llama-2-7b-hf", "mmlu", 1, 5, "acc", 0.4687, 14042, false, V1_LLAMA2),
  v1("meta-llama/Llama-2-7b-hf", "truthfulqa_mc", 1, 0, "mc2", 0.3876, 817, false, V1_LLAMA2),
  v1("meta-llama/Llama-2-7b-hf", "winogrande", 0, 5, "acc", 0.7403, 1267, true, V1_LLAMA2),
  {
    model: "mistralai/Mistral-7B-v0.1",
    task: "gsm8k",
    version: 2,
    nShot: 5,
    metric: "exact_match",
    filter: "get-answer",
    value: 0.3859,
    stderr: 0.0134,
    derivable: true,
    n: 1319,
    family: "0.4",
    harness: "lm-eval 0.4.0 (A100, fp16, batch 1)",
    source: "lm-evaluation-harness issue #1343 (the reference run for the neuronx backend)",
    // gsm8k was version 2 with the get-answer filter in the harness of that time (756eeb6).
    inferred: ["task version (2, the gsm8k of the neuronx backend's harness)"],
  },
  {
    model: "mistralai/Mistral-7B-v0.1",
    task: "gsm8k",
    version: 2,
    nShot: 5,
    metric: "exact_match",
    filter: "get-answer",
    value: 0.3806,
    stderr: 0.0134,
    derivable: true,
    n: 1319,
    family: "0.4",
    harness: "756eeb6 (neuronx, inf2.48xlarge)",
    source: "the published Inferentia2 write-up (its reference range 0.3813-0.3874)",
  },
  ...(["flexible-extract", "strict-match"] as const).map(
    (filter): Published => ({
      model: "meta-llama/Meta-Llama-3-8B-Instruct",
      task: "gsm8k",
      version: 3,
      nShot: 5,
      metric: "exact_match",
      filter,
      value: filter === "flexible-extract" ? 0.7604 : 0.7635,
      stderr: filter === "flexible-extract" ? 0.0118 : 0.0117,
      derivable: true,
      n: 1319,
      family: "0.4",
      harness: "not named (Neuron)",
      source: "optimum-neuron benchmark/text-generation/accuracy/README.md",
      // strict-match and flexible-extract exist only in gsm8k version 3 of lm-eval 0.4.x.
      inferred: ["harness family and task version (from its filter names)"],
    }),
  ),
  ...(["flexible-extract", "strict-match"] as const).map(
    (filter): Published => ({
      model: "meta-llama/Llama-3.1-8B-Instruct",
      task: "gsm8k",
      version: 3,
      nShot: 5,
      metric: "exact_match",
      filter,
      value: filter === "flexible-extract" ? 0.7756 : 0.7111,
      stderr: filter === "flexible-extract" ? 0.0115 : 0.0125,
      derivable: true,
      n: 1319,
      family: "0.4",
      harness: "lm-eval 0.4.12 (inf2, vLLM)",
      source: "optimum-neuron benchmark/vllm/llama-3.1-8b-inf2-report.md",
      inferred: ["n-shot (the task's default, 5)"],
    }),
  ),
];

/** A published row as a measurement; a derived stderr is marked in its source. */
export function publishedMeasurement(row: Published): Measurement {
  const stderr = row.stderr ?? (row.derivable ? binaryStderr(row.value, row.n) : "N/A");
  const derived = row.stderr === undefined && row.derivable;
  return {
    model: row.model,
    task: row.task,
    version: row.version,
    nShot: row.nShot,
    metric: row.metric,
    filter: row.filter,
    family: row.family,
    value: row.value,
    stderr,
    n: row.n,
    source: `${row.source}; harness ${row.harness}${derived ? "; stderr derived as √(p(1-p)/(n-1))" : ""}`,
    ...(row.inferred ? { inferred: row.inferred } : {}),
  };
}

export const publishedReferences = (): Measurement[] => publishedRows.map(publishedMeasurement);

/** The model (and revision) a results file names: model_name, else pretrained= or model= in model_args. */
export function modelOf(file: ResultsFile): { model?: string; revision?: string } {
  const config = (file.config ?? {}) as Record<string, unknown>;
  const args = typeof config.model_args === "string" ? config.model_args : "";
  const arg = (name: string) => new RegExp(`(?:^|,)${name}=([^,]+)`).exec(args)?.[1];
  const named = typeof file.model_name === "string" ? file.model_name : undefined;
  const model = arg("pretrained") ?? arg("model") ?? named;
  const revision = arg("revision");
  return { ...(model ? { model } : {}), ...(revision ? { revision } : {}) };
}

export type FileIdentity = { source: string; model?: string; revision?: string };

/** Every metric of a results file as a measurement, with its per-document values when given samples. */
export function measurementsOf(
  file: ResultsFile,
  identity: FileIdentity,
  samples: Map<string, SamplesFile> = new Map(),
): Measurement[] {
  const named = modelOf(file);
  const model = identity.model ?? named.model;
  const revision = identity.revision ?? named.revision;
  const { family } = releaseOf(file);
  return uniqueRows(file).map((row) => {
    const taskSamples = samples.get(row.task);
    const perDoc = taskSamples ? valuesByDoc(taskSamples, row.metric, row.filter) : undefined;
    const docHashes = taskSamples
      ? new Map(
          taskSamples.records
            .filter((r) => r.filter === row.filter && r.docHash)
            .map((r) => [r.docId, r.docHash as string]),
        )
      : undefined;
    return {
      ...(model ? { model } : {}),
      ...(revision ? { revision } : {}),
      task: row.task,
      version: row.version,
      nShot: row.numFewshot,
      metric: row.metric,
      filter: row.filter,
      family,
      value: row.value,
      stderr: row.stderr,
      ...(row.nSamples ? { n: row.nSamples.effective } : perDoc?.size ? { n: perDoc.size } : {}),
      source: identity.source,
      ...(perDoc?.size ? { perDoc, docHashes } : {}),
    };
  });
}
