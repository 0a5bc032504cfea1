// The real backends: lm-evaluation-harness as a child process (`python -m lm_eval`), on Neuron
// (`--model neuronx`) or on CPU/GPU (`--model hf`, to debug a model or task without Inferentia).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { backendStacks } from "../../core/backends.ts";
import { byFewshot, type HarnessModel, harnessArgs, harnessModelArgs } from "../../core/serving.ts";
import { filesBelow } from "../files.ts";
import { lineSplitter, readProgress } from "../progress.ts";
import type { Backend, BackendContext, BackendResult } from "./backend.ts";

export class HarnessFailed extends Error {
  override name = "HarnessFailed";
}

export type HarnessOptions = {
  model: "neuronx" | "hf";
  /** argv that starts the harness, e.g. ["python", "-m", "lm_eval"]. */
  command: string[];
  /** neuronx: the tensor-parallel degree for this instance's NeuronCores. */
  tpDegree?: () => Promise<number>;
  /** hf: the torch device. */
  device?: string;
  /** The engine image, recorded with the results. */
  image?: string;
};

/** A one-line reason from the end of the harness's log: what the user should look at first. */
export function classifyFailure(log: string[], exitCode: number | null): string {
  const text = log.join("\n");
  const rules: [RegExp, string][] = [
    [
      /out of (device )?memory|RESOURCE_EXHAUSTED|Failed to allocate|NRT_RESOURCE|OOM/i,
      "out of device memory: use a larger instance, a smaller batch size or a smaller dtype",
    ],
    [
      /neuronx-cc.*(fail|error)|Compilation failed|CompilationError|compiler status FAIL/i,
      "Neuron compilation failed",
    ],
    [
      /gated repo|401 Client Error|Access to model .* is restricted|GatedRepoError/i,
      "the model is gated: give the deployment a Hugging Face token with access",
    ],
    [
      /Repository Not Found|RepositoryNotFoundError|404 Client Error|does not appear to have a file named|is not a local folder and is not a valid model identifier/i,
      "model not found: check model.id and model.revision",
    ],
    [
      /Tasks? not found|Task .* not found|KeyError: '?[\w-]+'? .*task/i,
      "unknown task: check the task names against this harness revision",
    ],
  ];
  for (const [pattern, reason] of rules) if (pattern.test(text)) return reason;
  const last = [...log].reverse().find((l) => /error|exception/i.test(l)) ?? log.at(-1) ?? "";
  return `harness error (exit ${exitCode ?? "signal"}): ${last.trim().slice(0, 300)}`;
}

/** Every layout: DIR/results.json (<= 0.4.2) or DIR/<model>/results_<timestamp>.json (0.4.3+). */
export async function findResults(dir: string): Promise<{ results?: string; samples: string[] }> {
  const files = await filesBelow(dir);
  const candidates = files.filter((f) => /(^|\/)results(_[^/]*)?\.json$/.test(f));
  const dated = await Promise.all(candidates.map(async (f) => ({ f, t: (await stat(f)).mtimeMs })));
  const results = dated.sort((a, b) => b.t - a.t || b.f.localeCompare(a.f))[0]?.f;
  return { ...(results ? { results } : {}), samples: files.filter((f) => f.endsWith(".jsonl")) };
}

/**
 * Run the harness once per n-shot group (it takes one --num_fewshot per invocation) with the arguments
 * the plan shows (core/serving.ts), and collect one results file. Shared by every harness backend.
 */
export async function runHarness(
  ctx: BackendContext,
  command: string[],
  model: HarnessModel,
  signal: AbortSignal = ctx.signal,
): Promise<BackendResult> {
  const { spec } = ctx;
  const outputs: string[] = [];
  const samples: string[] = [];
  for (const [i, [numFewshot, tasks]] of byFewshot(spec.tasks).entries()) {
    const out = join(ctx.outputDir, `group-${i}`);
    await mkdir(out, { recursive: true });
    const args = harnessArgs(
      model,
      {
        tasks,
        numFewshot,
        batchSize: spec.batchSize,
        ...(spec.limit !== undefined ? { limit: spec.limit } : {}),
      },
      { output: out, cache: join(ctx.cacheDir, `lm_cache_${i}`) },
    );
    await invoke(ctx, command, args, tasks, signal);
    const found = await findResults(out);
    // The harness only logs when writing results fails, and exits 0: no file means no result.
    if (!found.results) throw new HarnessFailed(`the harness wrote no results file for ${tasks.join(",")}`);
    outputs.push(found.results);
    samples.push(...found.samples);
  }
  const resultsFile =
    outputs.length === 1 ? outputs[0] : await merge(outputs, join(ctx.outputDir, "results.json"));
  return { resultsFile, sampleFiles: samples, simulated: false };
}

export class HarnessBackend implements Backend {
  readonly name: string;
  readonly options: HarnessOptions;
  constructor(options: HarnessOptions) {
    this.options = options;
    this.name = options.model;
  }

  async run(ctx: BackendContext): Promise<BackendResult> {
    const { spec } = ctx;
    // A model from S3 is a local folder by now: no revision to ask the Hub for.
    const common = ctx.modelPath
      ? { pretrained: ctx.modelPath, dtype: spec.model.dtype }
      : { pretrained: spec.model.id, revision: spec.model.revision, dtype: spec.model.dtype };
    const model: HarnessModel =
      this.options.model === "neuronx"
        ? { kind: "neuronx", ...common, tpDegree: (await this.options.tpDegree?.()) ?? 1 }
        : { kind: "hf", ...common, device: this.options.device ?? "cpu" };
    const result = await runHarness(ctx, this.options.command, model);
    if (model.kind !== "neuronx") return result;
    const stack = backendStacks.neuronx;
    return {
      ...result,
      engine: {
        backend: "neuronx",
        ...(this.options.image ? { image: this.options.image } : {}),
        neuronSdk: stack.neuronSdk,
        ...(stack.optimumNeuron ? { optimumNeuron: stack.optimumNeuron } : {}),
        harness: spec.harnessRevision ?? stack.harness.revision,
        tensorParallel: model.tpDegree,
        replicas: 1,
        batch: spec.batchSize,
        modelArgs: harnessModelArgs(model),
      },
    };
  }
}

/** The harness as a child process: its output read for progress, stopped with the run's signal. */
function invoke(
  ctx: BackendContext,
  command: string[],
  args: string[],
  tasks: string[],
  signal: AbortSignal,
): Promise<void> {
  const [file, ...pre] = command;
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(file, [...pre, ...args], {
      env: { ...process.env, ...ctx.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    let progress = ctx.progress();
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 200) tail.shift();
      ctx.log(line);
      const next = readProgress(line, progress, tasks.length === 1 ? tasks[0] : tasks.join(","));
      if (next !== progress) {
        progress = next;
        ctx.onProgress(next);
      }
    };
    const out = lineSplitter(onLine);
    const err = lineSplitter(onLine);
    child.stdout?.setEncoding("utf8").on("data", (c: string) => out.push(c));
    child.stderr?.setEncoding("utf8").on("data", (c: string) => err.push(c));
    const stop = () => {
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 30_000).unref();
    };
    signal.addEventListener("abort", stop, { once: true });
    child.once("error", (error) =>
      reject(new HarnessFailed(`the harness could not start: ${error.message}`)),
    );
    child.once("close", (code) => {
      signal.removeEventListener("abort", stop);
      out.end();
      err.end();
      if (signal.aborted) return reject(signal.reason ?? new Error("stopped"));
      if (code === 0) return resolve();
      const reason = classifyFailure(tail, code);
      reject(Object.assign(new HarnessFailed(reason), { log: tail }));
    });
  });
}

/** One results file from several harness invocations (tasks with different n-shot). */
async function merge(files: string[], into: string): Promise<string> {
  const merged: Record<string, unknown> = {};
  for (const f of files) {
    const part = JSON.parse(await readFile(f, "utf8")) as Record<string, unknown>;
    for (const [key, value] of Object.entries(part)) {
      if (value && typeof value === "object" && !Array.isArray(value) && key !== "config") {
        merged[key] = { ...((merged[key] as object) ?? {}), ...value };
      } else if (!(key in merged)) merged[key] = value;
    }
  }
  await writeFile(into, `${JSON.stringify(merged, null, 2)}\n`);
  return into;
}
