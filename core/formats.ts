// Tabular answers as CSV and markdown, beside JSON: one place that turns rows into text.
import Negotiator from "negotiator";
import type { ParityRow } from "./parity.ts";
import type { MetricRow } from "./results.ts";

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  return [columns.join(","), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(","))].join("\n");
}

export function toMarkdown(columns: string[], rows: Record<string, unknown>[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "" : String(v)).replaceAll("|", "\\|");
  return [
    `|${columns.join("|")}|`,
    `|${columns.map(() => "---").join("|")}|`,
    ...rows.map((r) => `|${columns.map((c) => cell(r[c])).join("|")}|`),
  ].join("\n");
}

/** The columns of a metric in CSV, as `spoteval parse-results` and the API print them. */
export const metricColumns = [
  "task",
  "is_group",
  "version",
  "filter",
  "n_shot",
  "metric",
  "value",
  "stderr",
  "higher_is_better",
  "n_samples_original",
  "n_samples_effective",
];

/** The columns a run's parity adds to its CSV. */
export const parityColumns = [
  "reference_value",
  "reference_stderr",
  "reference_source",
  "delta",
  "z",
  "test",
  "verdict",
];

/**
 * One CSV row per task, metric and filter; with a run_id column when rows come from several runs,
 * and the reference and verdict of each metric when the run's parity is given.
 */
export function metricsCsv(
  rows: (MetricRow & { runId?: string })[],
  withRun = false,
  parity?: ParityRow[],
): string {
  const verdictOf = (r: MetricRow) =>
    parity?.find((p) => p.task === r.task && p.metric === r.metric && p.filter === r.filter);
  return toCsv(
    [...(withRun ? ["run_id"] : []), ...metricColumns, ...(parity ? parityColumns : [])],
    rows.map((r) => ({
      ...(parity ? parityCells(verdictOf(r)) : {}),
      run_id: r.runId,
      task: r.task,
      is_group: r.isGroup,
      version: r.version,
      filter: r.filter,
      n_shot: r.numFewshot,
      metric: r.metric,
      value: r.value,
      stderr: r.stderr,
      higher_is_better: r.higherIsBetter,
      n_samples_original: r.nSamples?.original,
      n_samples_effective: r.nSamples?.effective,
    })),
  );
}

const parityCells = (p: ParityRow | undefined) => ({
  reference_value: p?.reference?.value,
  reference_stderr: p?.reference?.stderr,
  reference_source: p?.reference?.source,
  delta: p?.delta,
  z: p?.z,
  test: p?.test,
  verdict: p?.verdict,
});

export type Format = "json" | "csv" | "markdown";

const mediaTypes: Record<string, Format> = {
  "application/json": "json",
  "text/csv": "csv",
  "text/markdown": "markdown",
};

/**
 * ?format= wins; then the Accept header with its q-values (negotiator, as Express reads it); JSON
 * when the header names none of the three or is absent.
 */
export function negotiate(query: string | undefined, accept: string | undefined): Format {
  if (query === "json" || query === "csv" || query === "markdown") return query;
  const best = new Negotiator({ headers: { accept: accept ?? "*/*" } }).mediaType(Object.keys(mediaTypes));
  return (best && mediaTypes[best]) || "json";
}
