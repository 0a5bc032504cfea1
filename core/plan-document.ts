// What a run would do, before it spends money: its shards (each on one backend and instance), the cores
// each server gets, the exact commands each instance runs, and the estimated time and cost beside the
// same tasks run one after the other on one instance per backend. `spoteval plan`
// prints it (json or text) and POST /evaluations?dryRun=true returns it.
import { join } from "node:path";
import { EXPECTED_SPOT_FRACTION, instanceShapes } from "./instances.ts";
import type { ModelShape } from "./model-size.ts";
import { modelShape, type ShardedPlan, shardTaskSpecs } from "./planner.ts";
import type { Plan } from "./run-store.ts";
import type { InstanceType, RunSpec } from "./schemas.ts";
import {
  byFewshot,
  harnessArgs,
  harnessPort,
  ON_INSTANCE,
  replicaPort,
  shellLine,
  visibleCores,
  vllmServeArgs,
} from "./serving.ts";

export type ShardDocument = {
  tasks: string[];
  backend: string;
  instanceType: string;
  tensorParallel: number;
  replicas: number;
  visibleCores: string[];
  harnessRevision?: string;
  commands: { servers: string[]; harness: string };
  estimate: { minutes: number; usd: number };
  notes: string[];
};

export type PlanDocument = {
  model: { id: string; parameters: number; architecture?: string; shapeSource: ModelShape["source"] };
  shards: ShardDocument[];
  /** minutes: the longest shard (each shard has its own instance); usd: all shards together. */
  estimate: { minutes: number; usd: number };
  /** The same tasks one after the other on one instance per backend (the shards' instance type). */
  baseline: { minutes: number; usd: number };
};

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Where the backend finds the model on the instance: its Hub id, or the folder an S3 model is unpacked to. */
export const modelPath = (spec: RunSpec) =>
  spec.model.id.startsWith("s3://") ? ON_INSTANCE.model : spec.model.id;

export function shardCommands(
  spec: RunSpec,
  plan: Plan,
  cores: number,
  paths: { work: string; compiledArtifacts: string } = ON_INSTANCE,
): { servers: string[]; harness: string[][]; visibleCores: string[] } {
  const candidateTp = plan.vllm?.tensorParallel ?? cores;
  const harness = plan.stack?.harnessCommand ?? ["python", "-m", "lm_eval"];
  const tasks = shardTaskSpecs(spec, plan.tasks);
  const path = modelPath(spec);
  const revision = spec.model.id.startsWith("s3://") ? undefined : spec.model.revision;
  const invocation = (
    i: number,
    numFewshot: number | null,
    names: string[],
    m: Parameters<typeof harnessArgs>[0],
  ) => [
    ...harness,
    ...harnessArgs(
      m,
      {
        tasks: names,
        numFewshot,
        batchSize: spec.batchSize,
        ...(spec.limit !== undefined ? { limit: spec.limit } : {}),
      },
      { output: join(paths.work, "output", `group-${i}`), cache: join(paths.work, "cache", `lm_cache_${i}`) },
    ),
  ];
  if (plan.backend === "vllm-neuron" && plan.vllm) {
    const vllm = plan.vllm;
    const ranges = visibleCores(cores, candidateTp);
    const servers = ranges.map((range, i) =>
      shellLine([
        `NEURON_RT_VISIBLE_CORES=${range}`,
        `NEURON_COMPILED_ARTIFACTS=${paths.compiledArtifacts}`,
        "vllm",
        ...vllmServeArgs({ path, id: spec.model.id, dtype: spec.model.dtype }, vllm, replicaPort(i)),
      ]),
    );
    const harnessRuns = byFewshot(tasks).map(([numFewshot, names], i) =>
      invocation(i, numFewshot, names, {
        kind: "local-completions",
        model: spec.model.id,
        tokenizer: path,
        port: harnessPort(ranges.length),
        numConcurrent: ranges.length * vllm.maxNumSeqs,
        maxLength: vllm.maxModelLen,
      }),
    );
    return { servers, harness: harnessRuns, visibleCores: ranges };
  }
  const harnessRuns = byFewshot(tasks).map(([numFewshot, names], i) =>
    invocation(i, numFewshot, names, {
      kind: "neuronx",
      pretrained: path,
      ...(revision ? { revision } : {}),
      dtype: spec.model.dtype,
      tpDegree: cores,
    }),
  );
  return { servers: [], harness: harnessRuns, visibleCores: [cores > 1 ? `0-${cores - 1}` : "0"] };
}

export function planDocument(spec: RunSpec, planned: ShardedPlan, shape?: ModelShape): PlanDocument {
  const s = modelShape(spec, shape);
  const { shards } = planned;
  const docs = shards.map((plan): ShardDocument => {
    const best = plan.candidates[0];
    const type = best.instanceType as InstanceType;
    const cores = best.tpDegree * (best.replicas ?? 1);
    const coresOnInstance = instanceShapes[type].chips * 2;
    const commands = shardCommands(spec, plan, plan.backend === "vllm-neuron" ? coresOnInstance : cores);
    return {
      tasks: plan.tasks ?? spec.tasks.map((t) => t.name),
      backend: plan.backend ?? "neuronx",
      instanceType: type,
      tensorParallel: best.tpDegree,
      replicas: best.replicas ?? 1,
      visibleCores: commands.visibleCores,
      ...(plan.harnessRevision ? { harnessRevision: plan.harnessRevision } : {}),
      commands: { servers: commands.servers, harness: commands.harness.map(shellLine).join(" && ") },
      estimate: { minutes: round(best.expectedHours * 60, 1), usd: round(best.expectedCostUsd, 2) },
      notes: plan.notes ?? [],
    };
  });
  return {
    model: {
      id: spec.model.id,
      parameters: s.parameters,
      ...(s.architecture ? { architecture: s.architecture } : {}),
      shapeSource: s.source,
    },
    shards: docs,
    estimate: {
      minutes: Math.max(...docs.map((d) => d.estimate.minutes)),
      usd: round(
        docs.reduce((sum, d) => sum + d.estimate.usd, 0),
        2,
      ),
    },
    baseline: planned.baseline,
  };
}

/** The same plan, for a person. */
export function planText(doc: PlanDocument): string {
  const m = doc.model;
  const lines = [
    `Plan for ${m.id}: ${(m.parameters / 1e9).toFixed(2)} B parameters, architecture ${m.architecture ?? "unknown"} (${m.shapeSource === "assumed" ? "assumed: no config.json read" : "from config.json"})`,
  ];
  doc.shards.forEach((s, i) => {
    lines.push(
      "",
      `Shard ${i + 1} of ${doc.shards.length}: ${s.tasks.join(", ")} on ${s.backend}, ${s.instanceType}` +
        (s.backend === "vllm-neuron"
          ? `: ${s.replicas} vLLM server(s) of ${s.tensorParallel} NeuronCore(s) each, on cores ${s.visibleCores.join(" ")}`
          : `: one harness process on all ${s.tensorParallel} NeuronCores`),
      `  estimate: about ${s.estimate.minutes} min, $${s.estimate.usd.toFixed(2)} at Spot (${EXPECTED_SPOT_FRACTION * 100}% of on-demand)` +
        (s.harnessRevision ? `; harness ${s.harnessRevision}` : ""),
    );
    for (const server of s.commands.servers) lines.push(`  server:  ${server}`);
    lines.push(`  harness: ${s.commands.harness}`);
    for (const note of s.notes) lines.push(`  note: ${note}`);
  });
  lines.push(
    "",
    `Total: about ${doc.estimate.minutes} min (shards run on their own instances), $${doc.estimate.usd.toFixed(2)}.`,
    `Baseline: about ${doc.baseline.minutes} min, $${doc.baseline.usd.toFixed(2)} for the same tasks one after the other on one instance per backend.`,
  );
  if (doc.shards.length > 1)
    lines.push(
      "A submit runs each shard on its own instance, at once, and merges their results into one file.",
    );
  return `${lines.join("\n")}\n`;
}
