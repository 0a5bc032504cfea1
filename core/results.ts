// lm-evaluation-harness results files: parse every layout (0.3, 0.4.1, 0.4.3+) into metric rows,
// and print the same markdown table `lm_eval` prints for them.
import * as z from "zod/mini";
import { ResultsInvalid } from "./errors.ts";

const MetricValue = z.union([z.number(), z.string(), z.null()]);
const TaskResults = z.record(z.string(), z.unknown());

export const ResultsFile = z.looseObject({
  results: z.record(z.string(), TaskResults),
  groups: z.optional(z.record(z.string(), TaskResults)),
  group_subtasks: z.optional(z.record(z.string(), z.array(z.string()))),
  versions: z.optional(z.record(z.string(), z.union([z.number(), z.string(), z.null()]))),
  "n-shot": z.optional(z.record(z.string(), z.union([z.number(), z.string(), z.null()]))),
  higher_is_better: z.optional(z.record(z.string(), z.record(z.string(), z.nullable(z.boolean())))),
  "n-samples": z.optional(
    z.record(z.string(), z.looseObject({ original: z.number(), effective: z.number() })),
  ),
  config: z.optional(z.looseObject({})),
  git_hash: z.optional(z.nullable(z.string())),
  spoteval: z.optional(z.looseObject({ simulated: z.boolean() })),
});
export type ResultsFile = z.infer<typeof ResultsFile>;

/** One task (or group), metric and filter: the unit spoteval stores and compares. */
export type MetricRow = {
  task: string;
  /** The name as the harness table shows it: alias, indented under its group. */
  displayName: string;
  isGroup: boolean;
  /** The harness table the row first appears in; a group row in `results` is also in `groups`. */
  table: "results" | "groups";
  /** Position in the printed table, so stored rows can be printed again in the same order. */
  order: number;
  version: number | string | null;
  filter: string;
  numFewshot: number | string | null;
  metric: string;
  value: number | string | null;
  /** null when the harness reported no stderr for the metric, "N/A" when it reported N/A. */
  stderr: number | string | null;
  higherIsBetter: boolean | null;
  nSamples: { original: number; effective: number } | null;
};

export function parseResults(text: string): ResultsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ResultsInvalid(`results file is not JSON: ${(error as Error).message}`);
  }
  const parsed = ResultsFile.safeParse(json);
  if (!parsed.success) {
    throw new ResultsInvalid(`not an lm-eval results file: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

type Entry = { name: string; depth: number };

/** Table order: the group hierarchy when the file has one (0.4.3+), else the file's own order. */
function orderedEntries(file: ResultsFile, source: Record<string, unknown>): Entry[] {
  const hierarchy = file.group_subtasks;
  if (!hierarchy) return Object.keys(source).map((name) => ({ name, depth: 0 }));
  const children = new Set(Object.values(hierarchy).flat());
  const roots = [...new Set([...Object.keys(hierarchy), ...Object.keys(source)])]
    .filter((name) => !children.has(name))
    .sort();
  const out: Entry[] = [];
  const visit = (name: string, depth: number) => {
    if (name in source) out.push({ name, depth });
    for (const child of [...(hierarchy[name] ?? [])].sort()) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  // Anything the hierarchy does not reach still gets printed, never silently dropped.
  for (const name of Object.keys(source)) if (!out.some((e) => e.name === name)) out.push({ name, depth: 0 });
  return out;
}

function displayName(file: ResultsFile, name: string, alias: unknown, depth: number): string {
  const base = typeof alias === "string" ? alias : name;
  // lm-eval up to 0.4.2 wrote aliases already indented (" - humanities"); later ones plain.
  if (!file.group_subtasks || depth === 0 || /^\s*- /.test(base)) return base;
  return `${" ".repeat(depth)}- ${base}`;
}

function metricKeys(dict: Record<string, unknown>): { key: string; metric: string; filter: string }[] {
  const keys = Object.keys(dict).sort();
  const filtered = keys.some((k) => k.includes(","));
  const out = [];
  for (const key of keys) {
    if (filtered && !key.includes(",")) continue; // alias, name, sample_len, sample_count ...
    if (!filtered && (key === "alias" || typeof dict[key] !== "number")) continue; // lm-eval 0.3 layout
    const [metric, filter = "none"] = filtered ? splitOnce(key) : [key, "none"];
    if (metric.endsWith("_stderr")) continue;
    if (!MetricValue.safeParse(dict[key]).success) continue;
    out.push({ key, metric, filter });
  }
  return out;
}

function splitOnce(key: string): [string, string] {
  const at = key.indexOf(",");
  return [key.slice(0, at), key.slice(at + 1)];
}

function rowsOf(file: ResultsFile, column: "results" | "groups", start: number): MetricRow[] {
  const source = (column === "results" ? file.results : file.groups) ?? {};
  const groupNames = new Set([...Object.keys(file.groups ?? {}), ...Object.keys(file.group_subtasks ?? {})]);
  const rows: MetricRow[] = [];
  for (const { name, depth } of orderedEntries(file, source)) {
    const dict = source[name] ?? {};
    const filtered = Object.keys(dict).some((k) => k.includes(","));
    for (const { key, metric, filter } of metricKeys(dict)) {
      const stderrKey = filtered ? `${metric}_stderr,${filter}` : `${metric}_stderr`;
      const stderr = stderrKey in dict ? (dict[stderrKey] ?? "N/A") : null;
      rows.push({
        task: name,
        displayName: displayName(file, name, dict.alias, depth),
        isGroup:
          column === "groups" || (groupNames.has(name) && (file.group_subtasks?.[name]?.length ?? 1) > 0),
        table: column,
        order: start + rows.length,
        version: file.versions?.[name] ?? null,
        filter,
        numFewshot: file["n-shot"]?.[name] ?? null,
        metric,
        value: dict[key] as number | string | null,
        stderr: stderr as number | string | null,
        higherIsBetter: file.higher_is_better?.[name]?.[metric] ?? null,
        nSamples: file["n-samples"]?.[name] ?? null,
      });
    }
  }
  return rows;
}

/** Every metric row of a results file: task rows (as the results table lists them), then group rows. */
export function metricRows(file: ResultsFile): { results: MetricRow[]; groups: MetricRow[] } {
  const results = rowsOf(file, "results", 0);
  return { results, groups: rowsOf(file, "groups", results.length) };
}

// ---- the markdown table, as lm_eval's make_table renders it through pytablewriter ----

const arrows = (hib: boolean | null) => (hib === true ? "↑" : hib === false ? "↓" : "");
const pyFloat4 = (v: number) => v.toFixed(4);

/** The table `lm_eval` prints for these rows (its `results` or `groups` table). */
export function markdownTable(rows: MetricRow[], column: "results" | "groups" = "results"): string {
  const headers = [
    column === "results" ? "Tasks" : "Groups",
    "Version",
    "Filter",
    "n-shot",
    "Metric",
    "",
    "Value",
    "",
    "Stderr",
  ];
  const matrix: string[][] = [];
  let previous: string | undefined;
  for (const row of rows) {
    const first = row.task !== previous;
    previous = row.task;
    const value = typeof row.value === "number" ? pyFloat4(row.value) : (row.value ?? "");
    const stderr =
      row.stderr === null ? "" : typeof row.stderr === "number" ? pyFloat4(row.stderr) : "   N/A";
    matrix.push([
      first ? row.displayName : "",
      first ? (row.version === null ? "    N/A" : String(row.version)) : "",
      row.filter,
      row.numFewshot === null ? " " : String(row.numFewshot),
      row.metric,
      arrows(row.higherIsBetter),
      value,
      row.stderr === null ? "" : "±",
      stderr,
    ]);
  }
  return renderMarkdown(headers, matrix);
}

type Kind = "null" | "int" | "real" | "string";
const cellKind = (cell: string): Kind =>
  cell === ""
    ? "null"
    : /^[-+]?\d+$/.test(cell)
      ? "int"
      : /^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(cell)
        ? "real"
        : "string";

/** Decimal places of a number as Python's repr shows it (the shortest round-trip form). */
function decimalPlaces(cell: string): number {
  const text = String(Math.abs(Number(cell)));
  if (text.includes("e-")) return Number(text.split("e-")[1]) - 1;
  const dot = text.indexOf(".");
  return dot === -1 ? 0 : text.length - dot - 1;
}

function renderMarkdown(headers: string[], matrix: string[][]): string {
  const columns = headers.map((header, c) => {
    const cells = matrix.map((r) => r[c] ?? "");
    const kinds = new Set(cells.map(cellKind));
    kinds.delete("null");
    const numeric = kinds.size > 0 && !kinds.has("string");
    const type: Kind = !numeric ? (kinds.size ? "string" : "null") : kinds.has("real") ? "real" : "int";
    let shown = cells;
    if (type === "real") {
      // pytablewriter: one precision per column, min(ceil(mean + 1), max) of the values' decimal places.
      const places = cells.filter((x) => x !== "").map(decimalPlaces);
      const mean = places.reduce((a, b) => a + b, 0) / places.length;
      const digits = Math.min(Math.ceil(mean + 1), Math.max(...places));
      shown = cells.map((x) => (x === "" ? "" : Number(x).toFixed(digits)));
    } else if (type === "int") {
      shown = cells.map((x) => (x === "" ? "" : String(Number(x))));
    }
    const width = Math.max(3, header.length, ...shown.map((x) => x.length));
    return { header, shown, width, right: type === "real" || type === "int" };
  });
  const line = (cells: string[]) => `|${cells.join("|")}|`;
  const center = (text: string, width: number) => {
    const pad = width - text.length;
    const left = Math.floor(pad / 2);
    return " ".repeat(left) + text + " ".repeat(pad - left);
  };
  const out = [
    line(columns.map((c) => center(c.header, c.width))),
    line(columns.map((c) => (c.right ? `${"-".repeat(c.width - 1)}:` : "-".repeat(c.width)))),
  ];
  for (let r = 0; r < matrix.length; r++) {
    out.push(line(columns.map((c) => (c.right ? c.shown[r].padStart(c.width) : c.shown[r].padEnd(c.width)))));
  }
  return out.join("\n");
}

/**
 * The rows spoteval stores: each task, metric and filter once (a group's row in the results table
 * and in the groups table is the same measurement).
 */
export function uniqueRows(file: ResultsFile): MetricRow[] {
  const { results, groups } = metricRows(file);
  const key = (r: MetricRow) => `${r.task}#${r.metric}#${r.filter}`;
  const seen = new Set(results.map(key));
  return [...results, ...groups.filter((g) => !seen.has(key(g)))];
}

/** Rebuild both harness tables from stored rows (see uniqueRows). */
export function tablesFromRows(rows: MetricRow[]): { results: string; groups?: string } {
  const ordered = [...rows].sort((a, b) => a.order - b.order);
  const results = ordered.filter((r) => r.table === "results");
  const groups = ordered.filter((r) => r.isGroup);
  return groups.length
    ? { results: markdownTable(results, "results"), groups: markdownTable(groups, "groups") }
    : { results: markdownTable(results, "results") };
}

/** Both tables as `lm_eval` prints them after a run: results, then groups when there are any. */
export function harnessTables(file: ResultsFile): { results: string; groups?: string } {
  const { results, groups } = metricRows(file);
  return groups.length
    ? { results: markdownTable(results, "results"), groups: markdownTable(groups, "groups") }
    : { results: markdownTable(results, "results") };
}
