// lm-evaluation-harness per-sample files (--log_samples), every release, through one reader.
// 0.4.0-0.4.2: one JSON array per task, named `<model_args, "/" and "=" as "__">_<task>.jsonl`,
//   one record per document and filter, without a `filter` field (filters follow one another).
// 0.4.3 on: JSON Lines named `samples_<task>_<timestamp>.jsonl`, with doc_hash, prompt_hash and
//   target_hash; from 0.4.7 on each record also names its `filter` and its `metrics`.
import { ResultsInvalid } from "./errors.ts";
import { parsePythonJson, type ResultsFile } from "./results.ts";

/** The fields every release writes that are not per-document metric values. */
const notMetrics = new Set([
  "doc_id",
  "doc",
  "target",
  "arguments",
  "resps",
  "filtered_resps",
  "filter",
  "metrics",
  "doc_hash",
  "prompt_hash",
  "target_hash",
]);

/** One document's outcome under one filter. */
export type SampleRecord = {
  docId: number;
  filter: string;
  /** Per-document metric values that are numbers (booleans as 0/1); list-valued ones are left out. */
  metrics: Record<string, number>;
  docHash?: string;
  target?: unknown;
  filteredResps?: unknown;
};

export type SamplesFile = {
  layout: "json-array" | "json-lines";
  records: SampleRecord[];
};

export type ReadOptions = {
  /**
   * The task's filters in the order its results file lists them: files before 0.4.7 do not name a
   * record's filter, and write every document once per filter, filter after filter.
   */
  filters?: string[];
};

function parseRecords(text: string): { layout: SamplesFile["layout"]; raw: Record<string, unknown>[] } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[")) {
    const parsed = parsePythonJson(trimmed);
    if (!Array.isArray(parsed)) throw new ResultsInvalid("samples file: expected a JSON array");
    return { layout: "json-array", raw: parsed as Record<string, unknown>[] };
  }
  const raw = text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return parsePythonJson(line) as Record<string, unknown>;
      } catch (error) {
        throw new ResultsInvalid(`samples file line ${i + 1} is not JSON: ${(error as Error).message}`);
      }
    });
  return { layout: "json-lines", raw };
}

/** Read a samples file of any release into one record per document and filter. */
export function readSamples(text: string, options: ReadOptions = {}): SamplesFile {
  const { layout, raw } = parseRecords(text);
  const seen = new Map<number, number>();
  const records = raw.map((record, i): SampleRecord => {
    if (typeof record !== "object" || record === null || typeof record.doc_id !== "number")
      throw new ResultsInvalid(`samples file record ${i + 1} has no numeric doc_id`);
    const docId = record.doc_id;
    const occurrence = seen.get(docId) ?? 0;
    seen.set(docId, occurrence + 1);
    const filter =
      typeof record.filter === "string" ? record.filter : (options.filters?.[occurrence] ?? "none");
    const named = Array.isArray(record.metrics) ? (record.metrics as unknown[]) : undefined;
    const metrics: Record<string, number> = {};
    for (const [key, value] of Object.entries(record)) {
      if (named ? !named.includes(key) : notMetrics.has(key)) continue;
      if (typeof value === "number") metrics[key] = value;
      else if (typeof value === "boolean") metrics[key] = value ? 1 : 0;
    }
    return {
      docId,
      filter,
      metrics,
      ...(typeof record.doc_hash === "string" ? { docHash: record.doc_hash } : {}),
      ...("target" in record ? { target: record.target } : {}),
      ...("filtered_resps" in record ? { filteredResps: record.filtered_resps } : {}),
    };
  });
  return { layout, records };
}

const timestamp = /_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?\.jsonl$/;

/**
 * The task a samples file belongs to, from its name: `samples_<task>_<timestamp>.jsonl` (0.4.3 on),
 * else `<model args>_<task>.jsonl` (0.4.0-0.4.2), matched against the tasks its results file lists.
 */
export function taskOfSamplesFile(fileName: string, tasks: string[]): string | undefined {
  const base = fileName.split("/").at(-1) ?? fileName;
  if (base.startsWith("samples_") && timestamp.test(base)) return base.slice(8).replace(timestamp, "");
  const matches = tasks.filter((task) => base.endsWith(`_${task}.jsonl`));
  return matches.sort((a, b) => b.length - a.length)[0];
}

/** Per document, one metric's value under one filter: what a paired comparison lines up. */
export function valuesByDoc(file: SamplesFile, metric: string, filter: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of file.records)
    if (r.filter === filter && metric in r.metrics) out.set(r.docId, r.metrics[metric]);
  return out;
}

/** Documents a samples file holds (each release logs a document once per filter): what a merge weighs by. */
export function countDocuments(text: string): number {
  return new Set(readSamples(text).records.map((r) => r.docId)).size;
}

/** The samples file of `task` among a results file's neighbours, by each release's naming. */
export function samplesFileFor(task: string, names: string[]): string | undefined {
  const found = names.filter((name) => name.endsWith(".jsonl") && taskOfSamplesFile(name, [task]) === task);
  if (found.length > 1) throw new ResultsInvalid(`several samples files for ${task}: ${found.join(", ")}`);
  return found[0];
}

/**
 * Documents per task, counted in the samples files beside a results file, for the tasks whose release
 * wrote no `n-samples` (0.4.1): what a merge weighs them by. `names` are the files beside it, `read`
 * reads one of them (from disk or S3).
 */
export async function documentsFromSamples(
  file: ResultsFile,
  names: string[],
  read: (name: string) => Promise<string>,
): Promise<Record<string, number>> {
  const documents: Record<string, number> = {};
  for (const task of Object.keys(file.results).filter((t) => !file["n-samples"]?.[t])) {
    const samples = samplesFileFor(task, names);
    if (samples) documents[task] = countDocuments(await read(samples));
  }
  return documents;
}
