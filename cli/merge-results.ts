// `spoteval merge-results`: shard results files -> the one file lm_eval writes on one machine, offline.
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { SpotevalError } from "../core/errors.ts";
import { metricsCsv } from "../core/formats.ts";
import { mergeShards, type Shard } from "../core/merge.ts";
import { harnessTables, parseResults, uniqueRows } from "../core/results.ts";
import { documentsFromSamples } from "../core/samples.ts";

export const mergeUsage = `usage: spoteval merge-results --tasks LIST FILE... [--format json|markdown|csv]

  Merges lm-evaluation-harness results files of shards (each run on a plain list of subtasks) into the
  results file \`lm_eval --tasks LIST\` writes on one machine: groups (e.g. mmlu and its categories)
  recomputed by the harness's rules, in the layout of the newest shard's release. A shard whose release
  records no n-samples (0.4.1) is weighed by the documents in the samples files beside it.`;

async function readShard(path: string): Promise<Shard> {
  const file = parseResults(await readFile(path, "utf8"));
  const missing = Object.keys(file.results).some((task) => !file["n-samples"]?.[task]);
  const names = missing ? await readdir(dirname(path)) : [];
  const documents = await documentsFromSamples(file, names, (name) =>
    readFile(join(dirname(path), name), "utf8"),
  );
  return { file, documents, origin: { name: path } };
}

export async function mergeResultsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { tasks: { type: "string" }, format: { type: "string", default: "json" } },
  });
  const format = values.format;
  if (!values.tasks || positionals.length === 0 || !["markdown", "json", "csv"].includes(format)) {
    console.error(mergeUsage);
    return 2;
  }
  try {
    const shards = await Promise.all(positionals.map(readShard));
    const merged = mergeShards(values.tasks.split(",").filter(Boolean), shards);
    if (format === "json") console.log(JSON.stringify(merged, null, 2));
    else if (format === "csv") console.log(metricsCsv(uniqueRows(merged)));
    else {
      const tables = harnessTables(merged);
      console.log(tables.groups ? `${tables.results}\n\n${tables.groups}` : tables.results);
    }
    return 0;
  } catch (error) {
    if (error instanceof SpotevalError || (error as NodeJS.ErrnoException).code === "ENOENT") {
      console.error((error as Error).message);
      return 1;
    }
    throw error;
  }
}
