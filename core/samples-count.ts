// Documents in an lm-eval samples file: 0.4.1 writes one JSON array (despite `.jsonl`), 0.4.3+ JSON
// Lines. A merge weighs groups by the documents a shard evaluated when the shard records no n-samples.
import { ResultsInvalid } from "./errors.ts";

export function countDocuments(text: string): number {
  const trimmed = text.trim();
  let records: unknown[];
  try {
    records = trimmed.startsWith("[")
      ? (JSON.parse(trimmed) as unknown[])
      : trimmed
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => JSON.parse(line));
  } catch (error) {
    throw new ResultsInvalid(
      `samples file is neither a JSON array nor JSON Lines: ${(error as Error).message}`,
    );
  }
  // One record per document; count distinct doc_ids where the release writes them.
  const ids = records.map((r) => (r as { doc_id?: unknown } | null)?.doc_id);
  return ids.every((id) => id !== undefined)
    ? new Set(ids.map((id) => JSON.stringify(id))).size
    : records.length;
}

/** The samples file of `task` among a results file's neighbours, by each release's naming. */
export function samplesFileFor(task: string, names: string[]): string | undefined {
  // 0.4.3+: samples_<task>_<timestamp>.jsonl (the timestamp keeps "mmlu" from matching mmlu_anatomy's)
  const prefix = `samples_${task}_`;
  const current = names.filter(
    (n) => n.startsWith(prefix) && /^\d{4}-\d{2}-\d{2}T.*\.jsonl$/.test(n.slice(prefix.length)),
  );
  // 0.4.1: <model_args with "/" and "=" as "__">_<task>.jsonl
  const legacy = names.filter((n) => !n.startsWith("samples_") && n.endsWith(`_${task}.jsonl`));
  const found = current.length ? current : legacy;
  if (found.length > 1) throw new ResultsInvalid(`several samples files for ${task}: ${found.join(", ")}`);
  return found[0];
}
