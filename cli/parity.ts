// `spoteval parity`: a results file against a reference, offline, with the same rule a run gets.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { compare, DEFAULT_Z, type Measurement, parityMarkdown } from "../core/parity.ts";
import { measurementsOf, publishedReferences } from "../core/references.ts";
import { filtersOf, parseResults, type ResultsFile } from "../core/results.ts";
import { readSamples, type SamplesFile, taskOfSamplesFile } from "../core/samples.ts";

export const parityUsage = `usage: spoteval parity RESULTS.json [--reference REF.json] [--samples S.jsonl ...]
                      [--reference-samples R.jsonl ...] [--model ID] [--reference-model ID]
                      [--z 1.96] [--format json|markdown]

  Compares every metric of RESULTS.json with the reference's metric of the identical key (model,
  revision where known, task, task version, n-shot, metric, filter, harness family). Without
  --reference, the published scores spoteval ships are the reference. With samples on both sides
  the documents are paired (McNemar's exact test for 0/1 metrics, a paired t-test otherwise).
  Exit 0 when nothing drifted, 1 on drift, 2 when the input cannot be read.`;

async function samplesOf(file: ResultsFile, paths: string[]): Promise<Map<string, SamplesFile>> {
  const tasks = Object.keys(file.results);
  const out = new Map<string, SamplesFile>();
  for (const path of paths) {
    const task = taskOfSamplesFile(path, tasks);
    if (!task) throw new Error(`${path}: cannot tell which task of the results file it belongs to`);
    out.set(task, readSamples(await readFile(path, "utf8"), { filters: filtersOf(file, task) }));
  }
  return out;
}

export async function parityCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      reference: { type: "string" },
      samples: { type: "string", multiple: true, default: [] },
      "reference-samples": { type: "string", multiple: true, default: [] },
      model: { type: "string" },
      "reference-model": { type: "string" },
      z: { type: "string", default: String(DEFAULT_Z) },
      format: { type: "string", default: "markdown" },
    },
  });
  const z = Number(values.z);
  if (positionals.length !== 1 || !["json", "markdown"].includes(values.format) || !(z > 0)) {
    console.error(parityUsage);
    return 2;
  }
  try {
    return await report(positionals[0], values, z);
  } catch (error) {
    console.error(`spoteval parity: ${(error as Error).message}`);
    return 2;
  }
}

async function report(
  path: string,
  values: {
    reference?: string;
    samples: string[];
    "reference-samples": string[];
    model?: string;
    "reference-model"?: string;
    format: string;
  },
  z: number,
): Promise<number> {
  const runFile = parseResults(await readFile(path, "utf8"));
  const run = measurementsOf(
    runFile,
    { source: path, ...(values.model ? { model: values.model } : {}) },
    await samplesOf(runFile, values.samples),
  );
  let references: Measurement[];
  if (values.reference) {
    const refFile = parseResults(await readFile(values.reference, "utf8"));
    references = measurementsOf(
      refFile,
      {
        source: values.reference,
        ...(values["reference-model"] ? { model: values["reference-model"] } : {}),
      },
      await samplesOf(refFile, values["reference-samples"]),
    );
  } else references = publishedReferences();
  const parity = compare(run, references, z);
  console.log(values.format === "json" ? JSON.stringify(parity.rows, null, 2) : parityMarkdown(parity));
  return parity.overall === "drift" ? 1 : 0;
}
