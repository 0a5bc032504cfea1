// lm-evaluation-harness results files: parse every layout (0.3, 0.4.0 to 0.4.12 and on) into metric
// rows, and print the markdown table `lm_eval` of the file's own release prints for them.
import * as z from "zod/mini";
import { ResultsInvalid } from "./errors.ts";
import {
  type HarnessRelease,
  identifyRelease,
  newestRule,
  releaseNote,
  type TableRule,
} from "./harness-releases.ts";

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
  lm_eval_version: z.optional(z.nullable(z.string())),
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
  /** The harness release that wrote the file, and the make_table rule its tables print with. */
  harness?: HarnessRelease;
};

/**
 * Python's json module writes NaN, Infinity and -Infinity bare (a metric that diverged, a stderr
 * of one sample); read them as the strings "NaN", "Infinity", "-Infinity", so the file still parses
 * and the values stay visible without becoming numbers nobody can store or compare.
 */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
  }
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const token = ["-Infinity", "Infinity", "NaN"].find((t) => text.startsWith(t, i));
    if (token) {
      out += `"${token}"`;
      i += token.length - 1;
    } else out += c;
  }
  return JSON.parse(out);
}

export function parseResults(text: string): ResultsFile {
  let json: unknown;
  try {
    json = parsePythonJson(text);
  } catch (error) {
    throw new ResultsInvalid(`results file is not JSON: ${(error as Error).message}`);
  }
  const parsed = ResultsFile.safeParse(json);
  if (!parsed.success) {
    throw new ResultsInvalid(`not an lm-eval results file: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** The release that wrote a results file, and the rule its tables print with. */
export const releaseOf = (file: ResultsFile): HarnessRelease => identifyRelease(file);

type Entry = { name: string; depth: number };

/** The rows of one table in the order that release's make_table prints them, with their depth. */
function orderedEntries(file: ResultsFile, source: Record<string, unknown>, rule: TableRule): Entry[] {
  const keys = Object.keys(source);
  if (rule === "0.4.3") return [...keys].sort().map((name) => ({ name, depth: 0 }));
  if (rule !== "0.4.12") return keys.map((name) => ({ name, depth: 0 }));
  // 0.4.12's _build_hierarchy_info: roots of group_subtasks (sorted), each followed by its children
  // (sorted, depth + 1), then every key the hierarchy does not reach (sorted).
  const hierarchy = file.group_subtasks ?? {};
  const children = new Set(Object.values(hierarchy).flat());
  const depths = new Map<string, number>();
  const out: Entry[] = [];
  const visit = (name: string, depth: number) => {
    depths.set(name, depth);
    if (name in source) out.push({ name, depth });
    for (const child of [...(hierarchy[name] ?? [])].sort()) visit(child, depth + 1);
  };
  for (const root of Object.keys(hierarchy).sort()) if (!children.has(root)) visit(root, 0);
  for (const name of [...keys].sort()) if (!depths.has(name)) out.push({ name, depth: 0 });
  return out;
}

function displayName(name: string, alias: unknown, depth: number): string {
  const base = typeof alias === "string" ? alias : name;
  // Up to 0.4.11 the harness wrote aliases already indented (" - humanities"); 0.4.12 indents by depth.
  return depth > 0 ? `${" ".repeat(depth)}- ${base}` : base;
}

function metricKeys(
  dict: Record<string, unknown>,
  rule: TableRule,
): { key: string; metric: string; filter: string }[] {
  // 0.4.0-0.4.2 print metrics in the file's order; later releases sort them.
  const keys = rule === "0.4.0-0.4.2" ? Object.keys(dict) : Object.keys(dict).sort();
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

function rowsOf(
  file: ResultsFile,
  column: "results" | "groups",
  start: number,
  harness: HarnessRelease,
): MetricRow[] {
  const source = (column === "results" ? file.results : file.groups) ?? {};
  const groupNames = new Set([...Object.keys(file.groups ?? {}), ...Object.keys(file.group_subtasks ?? {})]);
  const rows: MetricRow[] = [];
  for (const { name, depth } of orderedEntries(file, source, harness.rule)) {
    const dict = source[name] ?? {};
    const filtered = Object.keys(dict).some((k) => k.includes(","));
    for (const { key, metric, filter } of metricKeys(dict, harness.rule)) {
      const stderrKey = filtered ? `${metric}_stderr,${filter}` : `${metric}_stderr`;
      const stderr = stderrKey in dict ? (dict[stderrKey] ?? "N/A") : null;
      rows.push({
        task: name,
        displayName: displayName(name, dict.alias, depth),
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
        harness,
      });
    }
  }
  return rows;
}

/** Every metric row of a results file: task rows (as the results table lists them), then group rows. */
export function metricRows(file: ResultsFile): { results: MetricRow[]; groups: MetricRow[] } {
  const harness = releaseOf(file);
  const results = rowsOf(file, "results", 0, harness);
  return { results, groups: rowsOf(file, "groups", results.length, harness) };
}

// ---- the markdown table, as lm_eval's make_table renders it through pytablewriter ----

const arrows = (hib: boolean | null) => (hib === true ? "↑" : hib === false ? "↓" : "");

/**
 * Python's "%.4f": the exact binary value rounded to 4 places, ties to even. JavaScript's toFixed
 * breaks an exact tie upwards instead, which differs for values such as 0.03125 (1 of 32 documents).
 */
export function pyFixed4(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  const fixed = v.toFixed(4);
  // A tie at 4 places is a multiple of 1/20000 that is also binary: it has at most 5 decimals.
  const exact = Math.abs(v).toFixed(30);
  if (!/\.\d{4}50*$/.test(exact)) return fixed;
  const lastDigit = Number(exact[exact.indexOf(".") + 4]);
  if (lastDigit % 2 === 1) return fixed; // rounding up already lands on the even digit
  const down = (Math.trunc(Math.abs(v) * 10000) / 10000).toFixed(4);
  return v < 0 ? `-${down}` : down;
}

/** How a release prints a missing version, a missing n-shot and an "N/A" stderr. */
const cellStyle: Record<TableRule, { version: string; nShot: string; na: string; arrows: boolean }> = {
  "0.4.0-0.4.2": { version: "N/A", nShot: " ", na: "N/A", arrows: false },
  "0.4.3": { version: "N/A", nShot: " ", na: "N/A", arrows: true },
  "0.4.4-0.4.11": { version: "    N/A", nShot: " ", na: "   N/A", arrows: true },
  "0.4.12": { version: "    N/A", nShot: " ", na: "   N/A", arrows: true },
};

/** The table `lm_eval` prints for these rows (its `results` or `groups` table), by the rows' release. */
export function markdownTable(
  rows: MetricRow[],
  column: "results" | "groups" = "results",
  rule: TableRule = rows[0]?.harness?.rule ?? newestRule,
): string {
  const style = cellStyle[rule];
  const headers = [column === "results" ? "Tasks" : "Groups", "Version", "Filter", "n-shot", "Metric"];
  if (style.arrows) headers.push("");
  headers.push("Value", "", "Stderr");
  const matrix: string[][] = [];
  let previous: string | undefined;
  for (const row of rows) {
    const first = row.task !== previous;
    previous = row.task;
    const value = typeof row.value === "number" ? pyFixed4(row.value) : (row.value ?? "");
    const stderr =
      row.stderr === null
        ? ""
        : typeof row.stderr === "number"
          ? pyFixed4(row.stderr)
          : row.stderr === "N/A"
            ? style.na
            : row.stderr;
    const cells = [
      first ? row.displayName : "",
      first ? (row.version === null ? style.version : String(row.version)) : "",
      row.filter,
      row.numFewshot === null ? style.nShot : String(row.numFewshot),
      row.metric,
    ];
    if (style.arrows) cells.push(arrows(row.higherIsBetter));
    cells.push(value, row.stderr === null ? "" : "±", stderr);
    matrix.push(cells);
  }
  return renderMarkdown(headers, matrix);
}

type Kind = "null" | "int" | "real" | "string";
/**
 * A cell's type as typepy reads it (strict level 1): blank is a null string; a number whose value is
 * integral is an integer, however it is written ("1.0", "0.0000"); any other number is real.
 */
function cellKind(cell: string): Kind {
  if (cell.trim() === "") return "null";
  if (!/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(cell)) return "string";
  return Number.isInteger(Number(cell)) ? "int" : "real";
}

/** Decimal places as DataProperty counts them: 0 for an integer, else the digits of str(float). */
function decimalPlaces(cell: string): number {
  if (cellKind(cell) === "int") return 0;
  const text = String(Math.abs(Number(cell)));
  if (text.includes("e-")) return Number(text.split("e-")[1]);
  const dot = text.indexOf(".");
  return dot === -1 ? 0 : text.length - dot - 1;
}

/**
 * pytablewriter (DataProperty 0.52 on): a column is a string column if any cell is a string, else
 * real if any cell is real, else integer; it shows every number with the most decimal places any
 * of its numbers has; a number column is right-aligned, and in a string column each number cell
 * is still right-aligned by its own type.
 */
function renderMarkdown(headers: string[], matrix: string[][]): string {
  const columns = headers.map((header, c) => {
    const cells = matrix.map((r) => r[c] ?? "");
    const kinds = cells.map(cellKind);
    const present = new Set(kinds.filter((k) => k !== "null"));
    const type: Kind = present.has("string")
      ? "string"
      : present.has("real")
        ? "real"
        : present.has("int")
          ? "int"
          : "null";
    const numbers = cells.filter((_, r) => kinds[r] === "real" || kinds[r] === "int");
    const digits = Math.max(0, ...numbers.map(decimalPlaces));
    const shown = cells.map((x, r) => {
      if (kinds[r] === "null") return "";
      if (kinds[r] === "real" || (kinds[r] === "int" && type === "real")) return Number(x).toFixed(digits);
      if (kinds[r] === "int") return String(Number(x));
      return x;
    });
    const right = cells.map(
      (_, r) => type === "real" || type === "int" || kinds[r] === "real" || kinds[r] === "int",
    );
    const width = Math.max(3, header.length, ...shown.map((x) => x.length));
    return { header, shown, width, numeric: type === "real" || type === "int", right };
  });
  const line = (cells: string[]) => `|${cells.join("|")}|`;
  const center = (text: string, width: number) => {
    const pad = width - text.length;
    const left = Math.floor(pad / 2);
    return " ".repeat(left) + text + " ".repeat(pad - left);
  };
  const out = [
    line(columns.map((c) => center(c.header, c.width))),
    line(columns.map((c) => (c.numeric ? `${"-".repeat(c.width - 1)}:` : "-".repeat(c.width)))),
  ];
  for (let r = 0; r < matrix.length; r++) {
    out.push(
      line(columns.map((c) => (c.right[r] ? c.shown[r].padStart(c.width) : c.shown[r].padEnd(c.width)))),
    );
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

/** The tables lm_eval prints, and, when the release has no certain rule, the comment line saying so. */
export type HarnessTables = { results: string; groups?: string; note?: string };

function tablesOf(
  results: MetricRow[],
  groups: MetricRow[],
  harness: HarnessRelease | undefined,
): HarnessTables {
  const rule = harness?.rule ?? newestRule;
  const note = harness
    ? releaseNote(harness)
    : "<!-- spoteval: these rows name no lm-eval release; printed with the newest known rule -->";
  return {
    results: markdownTable(results, "results", rule),
    ...(groups.length ? { groups: markdownTable(groups, "groups", rule) } : {}),
    ...(note ? { note } : {}),
  };
}

/** Rebuild both harness tables from stored rows (see uniqueRows). */
export function tablesFromRows(rows: MetricRow[]): HarnessTables {
  const ordered = [...rows].sort((a, b) => a.order - b.order);
  return tablesOf(
    ordered.filter((r) => r.table === "results"),
    ordered.filter((r) => r.isGroup),
    ordered[0]?.harness,
  );
}

/** Both tables as `lm_eval` prints them after a run: results, then groups when there are any. */
export function harnessTables(file: ResultsFile): HarnessTables {
  const { results, groups } = metricRows(file);
  return tablesOf(results, groups, releaseOf(file));
}

/** The tables as one text, as `lm_eval` prints them, under the note when there is one. */
export function printTables(tables: HarnessTables): string {
  const results = tables.note ? `${tables.note}\n${tables.results}` : tables.results;
  return tables.groups ? `${results}\n\n${tables.groups}` : results;
}

/** A task's filters in the order its results file lists them (what a samples file before 0.4.7 needs). */
export function filtersOf(file: ResultsFile, task: string): string[] {
  const dict = file.results[task] ?? file.groups?.[task] ?? {};
  const filters = Object.keys(dict)
    .filter((k) => k.includes(",") && !splitOnce(k)[0].endsWith("_stderr"))
    .map((k) => splitOnce(k)[1]);
  return [...new Set(filters)];
}
