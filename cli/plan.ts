// `spoteval plan`: what a run would do and cost, offline (no API, no AWS): the planner's shards with
// the commands each instance would run. A model's config.json may be given with --config; without it
// the plan assumes a 7B-like shape and says so.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import * as z from "zod/mini";
import { SpotevalError } from "../core/errors.ts";
import { ModelConfig, shapeFromConfig } from "../core/model-size.ts";
import { planDocument, planText } from "../core/plan-document.ts";
import { planShardedRun } from "../core/planner.ts";
import { EvaluationRequest, toRunSpec } from "../core/schemas.ts";

export const planUsage = `usage: spoteval plan --model ID [--parameters N] [--revision REV] [--dtype D] [--config config.json]
                     (--tasks a,b | --suite NAME) [--num-fewshot N] [--limit N] [--batch-size N]
                     [--instance-type T] [--harness-revision R] [--max-instances N]
                     [--deadline-minutes M] [--format json|text]`;

/** Prints the plan; returns the exit code (0 ok, 2 usage, 3 the request would be refused). */
export async function planCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      parameters: { type: "string" },
      revision: { type: "string" },
      dtype: { type: "string" },
      config: { type: "string" },
      tasks: { type: "string" },
      suite: { type: "string" },
      "num-fewshot": { type: "string" },
      limit: { type: "string" },
      "batch-size": { type: "string" },
      "instance-type": { type: "string" },
      "harness-revision": { type: "string" },
      "max-instances": { type: "string" },
      "deadline-minutes": { type: "string" },
      format: { type: "string", default: "text" },
    },
  });
  if (!values.model || !["json", "text"].includes(values.format)) {
    console.error(planUsage);
    return 2;
  }
  const num = (v?: string) => (v === undefined ? undefined : Number(v));
  const request = EvaluationRequest.safeParse({
    model: {
      id: values.model,
      ...(values.revision ? { revision: values.revision } : {}),
      ...(values.dtype ? { dtype: values.dtype } : {}),
      ...(values.parameters ? { parameters: num(values.parameters) } : {}),
    },
    ...(values.tasks ? { tasks: values.tasks.split(",") } : {}),
    ...(values.suite ? { suite: values.suite } : {}),
    ...(values["num-fewshot"] ? { numFewshot: num(values["num-fewshot"]) } : {}),
    ...(values.limit ? { limit: num(values.limit) } : {}),
    ...(values["batch-size"] ? { batchSize: num(values["batch-size"]) } : {}),
    capacity: {
      ...(values["instance-type"] ? { instanceTypes: values["instance-type"].split(",") } : {}),
      ...(values["max-instances"] ? { maxInstances: num(values["max-instances"]) } : {}),
      ...(values["deadline-minutes"] ? { deadlineMinutes: num(values["deadline-minutes"]) } : {}),
    },
    ...(values["harness-revision"] ? { harness: { revision: values["harness-revision"] } } : {}),
  });
  if (!request.success) {
    console.error(`${z.prettifyError(request.error)}\n\n${planUsage}`);
    return 2;
  }
  const spec = toRunSpec(request.data);
  const shape = values.config
    ? shapeFromConfig(ModelConfig.parse(JSON.parse(await readFile(values.config, "utf8"))))
    : undefined;
  try {
    const doc = planDocument(spec, planShardedRun(spec, shape ? { shape } : {}), shape);
    console.log(values.format === "json" ? JSON.stringify(doc, null, 2) : planText(doc).trimEnd());
    return 0;
  } catch (error) {
    if (!(error instanceof SpotevalError)) throw error;
    console.error(`${error.name}: ${error.message}`);
    return 3;
  }
}
