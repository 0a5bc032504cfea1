// The simulated backend: no harness, no model. It walks through the phases of a real run, prints
// tqdm-style progress, and writes a results file in the real lm-eval 0.4.x layout whose numbers come
// from simulated per-sample answers. Everything it writes says it is simulated.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Backend, BackendContext, BackendResult } from "./backend.ts";

export const SIMULATED_NOTE =
  "SIMULATED by spoteval's simulated engine: no model was run; scores come from random per-sample answers.";

type TaskShape = { docs: number; version: number; metrics: { metric: string; filter: string }[] };
const generative = (version: number, docs: number): TaskShape => ({
  docs,
  version,
  metrics: [
    { metric: "exact_match", filter: "strict-match" },
    { metric: "exact_match", filter: "flexible-extract" },
  ],
});
const choice = (docs: number): TaskShape => ({
  docs,
  version: 1,
  metrics: [
    { metric: "acc", filter: "none" },
    { metric: "acc_norm", filter: "none" },
  ],
});
const shapes: Record<string, TaskShape> = {
  gsm8k: generative(3, 1319),
  arc_challenge: choice(1172),
  arc_easy: choice(2376),
  hellaswag: choice(10042),
  winogrande: { docs: 1267, version: 1, metrics: [{ metric: "acc", filter: "none" }] },
  truthfulqa_mc2: { docs: 817, version: 2, metrics: [{ metric: "acc", filter: "none" }] },
  mmlu: { docs: 14042, version: 2, metrics: [{ metric: "acc", filter: "none" }] },
};
const shapeOf = (name: string): TaskShape => shapes[name] ?? choice(500);

/** A deterministic stream of numbers in [0, 1) from a seed (sha256 in counter mode). */
function random(seed: string) {
  let counter = 0;
  return () => createHash("sha256").update(`${seed}:${counter++}`).digest().readUInt32BE(0) / 2 ** 32;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** lm-eval's mean_stderr: sample standard deviation (n - 1) over sqrt(n). */
function meanStderr(xs: number[]) {
  if (xs.length < 2) return "N/A" as const;
  const m = mean(xs);
  const variance = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance) / Math.sqrt(xs.length);
}

export type SimulatedOptions = { seconds: number };

export class SimulatedBackend implements Backend {
  readonly name = "simulated";
  readonly options: SimulatedOptions;
  constructor(options: SimulatedOptions) {
    this.options = options;
  }

  async run(ctx: BackendContext): Promise<BackendResult> {
    const { spec, signal } = ctx;
    const total = this.options.seconds;
    ctx.log(`spoteval engine (simulated backend): ${SIMULATED_NOTE}`);
    for (const phase of ["boot", "download", "compile", "load"] as const) {
      ctx.onProgress({ phase, done: 0, total: 0 });
      ctx.log(`[simulated] ${phase}`);
      await sleep(total * 50, undefined, { signal }); // 5% of the time per phase
    }
    const plan = spec.tasks.map((task) => ({ task, shape: shapeOf(task.name) }));
    const docsOf = (shape: TaskShape) =>
      Math.max(
        1,
        Math.floor(
          spec.limit === undefined
            ? shape.docs
            : spec.limit < 1
              ? shape.docs * spec.limit
              : Math.min(spec.limit, shape.docs),
        ),
      );
    const allDocs = plan.reduce((sum, p) => sum + docsOf(p.shape), 0);
    const evalMs = total * 800;
    const started = Date.now();
    let doneAll = 0;
    const scores: Record<string, Record<string, number[]>> = {};
    const samples: Record<string, unknown[]> = {};
    for (const { task, shape } of plan) {
      const docs = docsOf(shape);
      // Each (model, task) gets a fixed simulated skill; each doc a fixed simulated answer.
      const skill = 0.2 + 0.6 * random(`${spec.model.id}@${spec.model.revision}/${task.name}`)();
      const draw = random(`${spec.model.id}@${spec.model.revision}/${task.name}/docs`);
      scores[task.name] = {};
      samples[task.name] = [];
      const step = Math.max(1, Math.floor(docs / 50));
      for (let doc = 0; doc < docs; doc++) {
        const sample: Record<string, unknown> = { doc_id: doc, simulated: true };
        for (const m of shape.metrics) {
          const key = `${m.metric},${m.filter}`;
          const value = draw() < skill ? 1 : 0;
          scores[task.name][key] ??= [];
          scores[task.name][key].push(value);
          sample[m.metric + (m.filter === "none" ? "" : `_${m.filter}`)] = value;
        }
        samples[task.name].push(sample);
        doneAll++;
        if (doc % step === 0 || doc === docs - 1) {
          const elapsed = (Date.now() - started) / 1000;
          const target = (doneAll / allDocs) * evalMs;
          const wait = target - (Date.now() - started);
          if (wait > 0) await sleep(wait, undefined, { signal });
          const rate = doneAll / Math.max(elapsed, 0.001);
          const eta = (allDocs - doneAll) / Math.max(rate, 0.001);
          ctx.onProgress({
            phase: "evaluate",
            task: task.name,
            done: doneAll,
            total: allDocs,
            ratePerSecond: round(rate, 3),
            etaSeconds: round(eta, 1),
          });
          ctx.log(tqdmLine(doneAll, allDocs, elapsed, rate));
        }
      }
    }
    const stamp = new Date().toISOString().replace(/[:]/g, "-").replace(/\..+$/, "");
    const modelDir = join(ctx.outputDir, spec.model.id.replace(/[/"<>:|\\?*[\]]+/g, "__"));
    await mkdir(modelDir, { recursive: true });
    const resultsFile = join(modelDir, `results_${stamp}.json`);
    const results: Record<string, Record<string, unknown>> = {};
    for (const { task, shape } of plan) {
      const entry: Record<string, unknown> = { alias: task.name };
      for (const m of shape.metrics) {
        const xs = scores[task.name][`${m.metric},${m.filter}`];
        entry[`${m.metric},${m.filter}`] = mean(xs);
        entry[`${m.metric}_stderr,${m.filter}`] = meanStderr(xs);
      }
      results[task.name] = entry;
    }
    const file = {
      results,
      group_subtasks: Object.fromEntries(plan.map(({ task }) => [task.name, []])),
      configs: Object.fromEntries(
        plan.map(({ task, shape }) => [
          task.name,
          { task: task.name, num_fewshot: task.numFewshot, simulated_docs: docsOf(shape) },
        ]),
      ),
      versions: Object.fromEntries(plan.map(({ task, shape }) => [task.name, shape.version])),
      "n-shot": Object.fromEntries(plan.map(({ task }) => [task.name, task.numFewshot ?? 0])),
      higher_is_better: Object.fromEntries(
        plan.map(({ task, shape }) => [
          task.name,
          Object.fromEntries(shape.metrics.map((m) => [m.metric, true])),
        ]),
      ),
      "n-samples": Object.fromEntries(
        plan.map(({ task, shape }) => [task.name, { original: shape.docs, effective: docsOf(shape) }]),
      ),
      config: {
        model: "simulated",
        model_args: `pretrained=${spec.model.id},revision=${spec.model.revision},dtype=${spec.model.dtype}`,
        batch_size: spec.batchSize,
        limit: spec.limit ?? null,
      },
      git_hash: null,
      date: Date.now() / 1000,
      spoteval: {
        simulated: true,
        backend: "simulated",
        note: SIMULATED_NOTE,
        harness_revision: spec.harnessRevision,
      },
    };
    await writeFile(resultsFile, `${JSON.stringify(file, null, 2)}\n`);
    const sampleFiles = [];
    for (const { task } of plan) {
      const path = join(modelDir, `samples_${task.name}_${stamp}.jsonl`);
      await writeFile(path, `${samples[task.name].map((s) => JSON.stringify(s)).join("\n")}\n`);
      sampleFiles.push(path);
    }
    ctx.onProgress({ phase: "done", done: allDocs, total: allDocs });
    return { resultsFile, sampleFiles, simulated: true };
  }
}

function tqdmLine(done: number, total: number, elapsed: number, rate: number) {
  const pct = Math.floor((done / total) * 100);
  const bar = "█".repeat(Math.floor(pct / 10)).padEnd(10, " ");
  const fmt = (s: number) =>
    `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
  const remaining = (total - done) / Math.max(rate, 0.001);
  return `Running generate_until requests: ${String(pct).padStart(3)}%|${bar}| ${done}/${total} [${fmt(elapsed)}<${fmt(remaining)}, ${rate.toFixed(2)}it/s]`;
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
