// spoteval, the command line. `parse-results` reads an lm-eval results file offline.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { SpotevalError } from "../core/errors.ts";
import { harnessTables, type MetricRow, parseResults, uniqueRows } from "../core/results.ts";

const usage = `usage: spoteval parse-results FILE [--format markdown|json|csv]

  Reads an lm-evaluation-harness results file (any 0.3 / 0.4.x layout) and prints one row per task,
  metric and filter (json, csv), or the same tables lm_eval prints (markdown, the default).`;

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export function rowsAsCsv(rows: MetricRow[]): string {
  const header = [
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
  const lines = rows.map((r) =>
    [
      r.task,
      r.isGroup,
      r.version,
      r.filter,
      r.numFewshot,
      r.metric,
      r.value,
      r.stderr,
      r.higherIsBetter,
      r.nSamples?.original,
      r.nSamples?.effective,
    ]
      .map(csvCell)
      .join(","),
  );
  return [header.join(","), ...lines].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "parse-results") {
    console.error(command ? `unknown command: ${command}\n\n${usage}` : usage);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { format: { type: "string", default: "markdown" } },
  });
  const format = values.format;
  if (positionals.length !== 1 || !["markdown", "json", "csv"].includes(format)) {
    console.error(usage);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(positionals[0], "utf8");
  } catch (error) {
    console.error(`cannot read ${positionals[0]}: ${(error as Error).message}`);
    return 1;
  }
  try {
    const file = parseResults(text);
    if (format === "markdown") {
      const tables = harnessTables(file);
      console.log(tables.groups ? `${tables.results}\n\n${tables.groups}` : tables.results);
    } else {
      const rows = uniqueRows(file);
      console.log(format === "json" ? JSON.stringify(rows, null, 2) : rowsAsCsv(rows));
    }
    return 0;
  } catch (error) {
    if (error instanceof SpotevalError) {
      console.error(`${positionals[0]}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
