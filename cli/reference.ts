// `spoteval reference add FILE --label L`: upload a harness results file (e.g. a GPU run) and its
// samples as a parity reference (POST /references). Only what parity reads is sent: the per-task
// YAML (`configs`) and the machine description are left out, so large runs fit in one request.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parseResults } from "../core/results.ts";
import { taskOfSamplesFile } from "../core/samples.ts";

export const referenceUsage =
  "usage: spoteval reference add RESULTS.json --label L [--samples S.jsonl ...] [--model ID]";

type Api = (path: string, init?: RequestInit) => Promise<Response>;

export async function referenceCommand(args: string[], api: Api): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      label: { type: "string" },
      samples: { type: "string", multiple: true, default: [] },
      model: { type: "string" },
    },
  });
  if (positionals[0] !== "add" || positionals.length !== 2 || !values.label) {
    console.error(referenceUsage);
    return 2;
  }
  const text = await readFile(positionals[1], "utf8");
  const { configs, pretty_env_info, ...results } = JSON.parse(text) as Record<string, unknown>;
  const tasks = Object.keys(parseResults(text).results);
  const samples: Record<string, string> = {};
  for (const path of values.samples) {
    const task = taskOfSamplesFile(path, tasks);
    if (!task) {
      console.error(`${path}: cannot tell which task of ${positionals[1]} it belongs to`);
      return 2;
    }
    samples[task] = await readFile(path, "utf8");
  }
  const res = await api("/references", {
    method: "POST",
    body: JSON.stringify({
      label: values.label,
      results,
      ...(values.samples.length ? { samples } : {}),
      ...(values.model ? { model: values.model } : {}),
    }),
  });
  const kept = (await res.json()) as { referenceId: string; model: string; metrics: number };
  console.log(
    `reference ${kept.referenceId}: ${kept.metrics} metrics of ${kept.model}, label "${values.label}"`,
  );
  return 0;
}
