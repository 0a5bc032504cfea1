// spoteval, the command line. `parse-results` reads an lm-eval results file offline.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { SpotevalError } from "../core/errors.ts";
import { metricsCsv } from "../core/formats.ts";
import { harnessTables, parseResults, uniqueRows } from "../core/results.ts";

const usage = `usage: spoteval parse-results FILE [--format markdown|json|csv]

  Reads an lm-evaluation-harness results file (any 0.3 / 0.4.x layout) and prints one row per task,
  metric and filter (json, csv), or the same tables lm_eval prints (markdown, the default).`;

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
      console.log(format === "json" ? JSON.stringify(rows, null, 2) : metricsCsv(rows));
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
