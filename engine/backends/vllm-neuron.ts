// The vllm-neuron backend: vLLM servers on Neuron (the vllm-neuron plugin on NxD Inference), one per
// disjoint slice of NeuronCores, and the harness as their API client (local-completions) through a
// round-robin proxy. Compiled artifacts are restored from S3 when this configuration was compiled
// before; otherwise the first server compiles alone, the artifacts are saved, and the others load them.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Artifacts } from "../../core/artifacts.ts";
import { backendStacks } from "../../core/backends.ts";
import {
  compiledArtifactsFields,
  compiledArtifactsMarker,
  compiledArtifactsPrefix,
} from "../../core/compiled-artifacts.ts";
import { modelShape } from "../../core/planner.ts";
import {
  VLLM_MAX_MODEL_LEN,
  type VllmConfig,
  visibleCores,
  vllmBatch,
  vllmConfig,
  vllmServeArgs,
  vllmTensorParallel,
} from "../../core/serving.ts";
import { needsLogprobs, taskFacts } from "../../core/tasks.ts";
import { filesBelow } from "../files.ts";
import { installHarness } from "../harness-install.ts";
import { lineSplitter } from "../progress.ts";
import { type RoundRobin, startRoundRobin } from "../round-robin.ts";
import { downloadFile, uploadFile } from "../s3-files.ts";
import { readTaskTypes, type TaskTypes, typesNeedLogprobs } from "../task-registry.ts";
import type { Backend, BackendContext, BackendResult } from "./backend.ts";
import { classifyFailure, HarnessFailed, runHarness } from "./harness.ts";

export type VllmNeuronOptions = {
  /** argv that starts vLLM, e.g. ["vllm"]; `serve ...` follows. */
  vllmCommand: string[];
  /** argv that starts the harness (its own virtualenv in the image). */
  harnessCommand: string[];
  /** argv of pip in that virtualenv, and the harness revision the image has (another is installed at boot). */
  harnessPip: string[];
  /** argv of python in that virtualenv: reads the harness's task registry for tasks outside the table. */
  harnessPython: string[];
  imageHarnessRevision: string;
  detectCores: () => Promise<number>;
  /** S3, for the compiled artifacts. */
  artifacts: Artifacts;
  /** The engine image: part of the compiled artifacts' key. */
  image: string;
  /** NEURON_COMPILED_ARTIFACTS on local disk. */
  compiledDir: string;
  /** The proxy listens here, replica i on portBase + 1 + i. */
  portBase: number;
  /** How long a server may take to compile, load and warm up. */
  readySeconds: number;
  pollMs?: number;
};

/** A server that died or never got ready: the attempt fails with this one-line reason. */
export class ServerFailed extends HarnessFailed {
  override name = "ServerFailed";
}

type Server = {
  index: number;
  cores: string;
  port: number;
  child: ChildProcess;
  tail: string[];
  exited: Promise<number | null>;
  exitCode?: number | null;
};

export class VllmNeuronBackend implements Backend {
  readonly name = "vllm-neuron";
  readonly options: VllmNeuronOptions;
  constructor(options: VllmNeuronOptions) {
    this.options = options;
  }

  /** The servers' configuration: the plan's, else computed here for this instance's cores. */
  private config(ctx: BackendContext, cores: number): VllmConfig {
    if (ctx.plan?.vllm) return ctx.plan.vllm;
    const shape = modelShape(ctx.spec);
    const tp = vllmTensorParallel(
      shape,
      ctx.spec.model.dtype,
      vllmBatch(ctx.spec),
      VLLM_MAX_MODEL_LEN,
      cores,
    );
    if (tp === undefined)
      throw new HarnessFailed(`the model does not fit vLLM on this instance's ${cores} NeuronCores`);
    return vllmConfig(ctx.spec, tp);
  }

  async run(ctx: BackendContext): Promise<BackendResult> {
    const { spec } = ctx;
    const o = this.options;
    // Before anything compiles or starts: a revision that cannot be had fails the attempt in seconds.
    if (spec.harnessRevision)
      await installHarness(ctx, o.harnessPip, spec.harnessRevision, o.imageHarnessRevision);
    const registry = await this.outsideTheTable(ctx);
    const cores = await o.detectCores();
    const vllm = this.config(ctx, cores);
    if (vllm.tensorParallel > cores) {
      throw new HarnessFailed(
        `the plan needs ${vllm.tensorParallel} NeuronCores per server; this instance has ${cores}`,
      );
    }
    const ranges = visibleCores(cores, vllm.tensorParallel);
    ctx.log(
      `NeuronCores: ${cores}; ${ranges.length} vLLM server(s) of tensor-parallel degree ${vllm.tensorParallel} on cores ${ranges.join(" ")}`,
    );
    const prefix = compiledArtifactsPrefix(compiledArtifactsFields(spec, o.image, vllm));
    const servers: Server[] = [];
    let proxy: RoundRobin | undefined;
    const stopping = new AbortController();
    const stopAll = () => {
      stopping.abort();
      for (const s of servers) if (s.exitCode === undefined) s.child.kill("SIGTERM");
    };
    ctx.signal.addEventListener("abort", stopAll, { once: true });
    try {
      await mkdir(o.compiledDir, { recursive: true });
      const restored = await this.restore(prefix);
      if (restored) {
        ctx.log(
          `compiled artifacts: restored ${restored} file(s) from ${o.artifacts.uri(prefix)}; no compile`,
        );
        ctx.onProgress({ phase: "load", done: 0, total: 0 });
      } else {
        ctx.log(`compiled artifacts: none at ${o.artifacts.uri(prefix)}; the first server compiles alone`);
        ctx.onProgress({ phase: "compile", done: 0, total: 0 });
      }
      servers.push(this.start(ctx, vllm, 0, ranges[0]));
      await this.ready(ctx, servers[0]);
      if (!restored) {
        const saved = await this.save(prefix);
        ctx.log(`compiled artifacts: saved ${saved} file(s) to ${o.artifacts.uri(prefix)}`);
      }
      ctx.onProgress({ phase: "load", done: 0, total: 0 });
      for (let i = 1; i < ranges.length; i++) servers.push(this.start(ctx, vllm, i, ranges[i]));
      await Promise.all(servers.slice(1).map((s) => this.ready(ctx, s)));

      // Never send a task that needs prompt logprobs to a server that returns none.
      const logprobs = await this.probeLogprobs(ctx, servers[0]);
      ctx.log(`logprob probe: the server ${logprobs ? "returns" : "returns no"} prompt logprobs`);
      const unscorable = spec.tasks.filter((t) => {
        const facts = taskFacts(t.name);
        const types = registry[t.name];
        return facts ? needsLogprobs(facts.outputType) : types ? typesNeedLogprobs(types) : false;
      });
      if (!logprobs && unscorable.length) {
        throw new HarnessFailed(
          `${unscorable.map((t) => t.name).join(", ")} need(s) prompt logprobs, which this vLLM server does not return; not scored (run them on neuronx or use their generative variants)`,
        );
      }

      const port = ranges.length > 1 ? o.portBase : servers[0].port;
      if (ranges.length > 1)
        proxy = await startRoundRobin(
          o.portBase,
          servers.map((s) => s.port),
        );
      const harnessStop = new AbortController();
      ctx.signal.addEventListener("abort", () => harnessStop.abort(ctx.signal.reason), { once: true });
      const died = Promise.race(
        servers.map((s) =>
          s.exited.then((code) => {
            if (stopping.signal.aborted) return new Promise<never>(() => undefined);
            const reason = `vLLM server ${s.index} (cores ${s.cores}) died during the evaluation (exit ${code ?? "signal"}): ${classifyFailure(s.tail, code)}`;
            harnessStop.abort(new ServerFailed(reason));
            throw new ServerFailed(reason);
          }),
        ),
      );
      const result = await Promise.race([
        runHarness(
          ctx,
          o.harnessCommand,
          {
            kind: "local-completions",
            model: spec.model.id,
            tokenizer: ctx.modelPath ?? spec.model.id,
            port,
            numConcurrent: ranges.length * vllm.maxNumSeqs,
            maxLength: vllm.maxModelLen,
          },
          harnessStop.signal,
        ),
        died,
      ]).catch((error) => {
        // The harness stopped because a server died: report the server, not the harness's abort.
        if (harnessStop.signal.reason instanceof ServerFailed && !ctx.signal.aborted)
          throw harnessStop.signal.reason;
        throw error;
      });
      if (proxy) ctx.log(`round-robin: requests per server ${proxy.served.join(", ")}`);
      const stack = backendStacks["vllm-neuron"];
      return {
        ...result,
        engine: {
          backend: this.name,
          image: o.image,
          neuronSdk: stack.neuronSdk,
          ...(stack.vllm ? { vllm: stack.vllm } : {}),
          ...(stack.vllmNeuron ? { vllmNeuron: stack.vllmNeuron } : {}),
          harness: spec.harnessRevision ?? stack.harness.revision,
          tensorParallel: vllm.tensorParallel,
          replicas: ranges.length,
          batch: vllm.maxNumSeqs,
          maxModelLen: vllm.maxModelLen,
          modelArgs: `model=${spec.model.id},revision=${spec.model.revision},dtype=${spec.model.dtype}`,
        },
      };
    } finally {
      ctx.signal.removeEventListener("abort", stopAll);
      stopAll();
      await proxy?.close();
      await Promise.all(
        servers.map((s) => Promise.race([s.exited, sleep(10_000).then(() => s.child.kill("SIGKILL"))])),
      );
    }
  }

  /**
   * Tasks spoteval's table does not know: their output types from the harness's own registry (a name
   * it does not have fails the attempt now, before anything compiles).
   */
  private async outsideTheTable(ctx: BackendContext): Promise<TaskTypes> {
    const names = ctx.spec.tasks.map((t) => t.name).filter((name) => !taskFacts(name));
    if (!names.length) return {};
    const registry = await readTaskTypes(ctx, this.options.harnessPython, names);
    const missing = names.filter((name) => registry[name] === null);
    if (missing.length) {
      throw new HarnessFailed(
        `unknown task: ${missing.join(", ")} not in the task registry of lm-evaluation-harness ${ctx.spec.harnessRevision ?? backendStacks["vllm-neuron"].harness.revision}`,
      );
    }
    for (const name of names)
      ctx.log(
        `task registry: ${name} is ${[...new Set(registry[name])].join(", ")} (from the harness, not spoteval's table)`,
      );
    return registry;
  }

  private start(ctx: BackendContext, vllm: VllmConfig, index: number, cores: string): Server {
    const [file, ...pre] = this.options.vllmCommand;
    const port = this.options.portBase + 1 + index;
    const { spec } = ctx;
    const child = spawn(
      file,
      [
        ...pre,
        ...vllmServeArgs(
          { path: ctx.modelPath ?? spec.model.id, id: spec.model.id, dtype: spec.model.dtype },
          vllm,
          port,
        ),
      ],
      {
        env: {
          ...process.env,
          ...ctx.env,
          NEURON_RT_VISIBLE_CORES: cores,
          NEURON_COMPILED_ARTIFACTS: this.options.compiledDir,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const tail: string[] = [];
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 200) tail.shift();
      ctx.log(`[vllm ${index}] ${line}`);
    };
    const out = lineSplitter(onLine);
    const err = lineSplitter(onLine);
    child.stdout?.setEncoding("utf8").on("data", (c: string) => out.push(c));
    child.stderr?.setEncoding("utf8").on("data", (c: string) => err.push(c));
    const server: Server = { index, cores, port, child, tail, exited: Promise.resolve(null) };
    server.exited = new Promise((resolve) => {
      child.once("error", (error) => {
        onLine(`could not start vLLM: ${error.message}`);
        server.exitCode = null;
        resolve(null);
      });
      child.once("close", (code) => {
        out.end();
        err.end();
        server.exitCode = code;
        resolve(code);
      });
    });
    return server;
  }

  /** Alive, /health 200, /v1/models lists the model, and one warm-up completion answered. */
  private async ready(ctx: BackendContext, s: Server): Promise<void> {
    const deadline = Date.now() + this.options.readySeconds * 1000;
    const base = `http://127.0.0.1:${s.port}`;
    const ok = async (path: string, init?: RequestInit) => {
      try {
        const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(60_000) });
        return res.ok ? res : undefined;
      } catch {
        return undefined;
      }
    };
    for (;;) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (s.exitCode !== undefined) {
        throw new ServerFailed(
          `vLLM server ${s.index} (cores ${s.cores}) exited (${s.exitCode ?? "signal"}) before it was ready: ${classifyFailure(s.tail, s.exitCode)}`,
        );
      }
      if (await ok("/health")) {
        const models = (await (await ok("/v1/models"))?.json().catch(() => undefined)) as
          | { data?: { id: string }[] }
          | undefined;
        if (models?.data?.some((m) => m.id === ctx.spec.model.id)) {
          const warm = await ok("/v1/completions", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: ctx.spec.model.id, prompt: "Hello", max_tokens: 1 }),
          });
          if (warm) {
            ctx.log(`vLLM server ${s.index} ready on port ${s.port} (cores ${s.cores})`);
            return;
          }
        }
      }
      if (Date.now() > deadline) {
        throw new ServerFailed(
          `vLLM server ${s.index} (cores ${s.cores}) was not ready within ${this.options.readySeconds} s: ${classifyFailure(s.tail, null)}`,
        );
      }
      await sleep(this.options.pollMs ?? 500);
    }
  }

  /** echo + logprobs on a one-token completion: does the server score the prompt? */
  private async probeLogprobs(ctx: BackendContext, s: Server): Promise<boolean> {
    const res = await fetch(`http://127.0.0.1:${s.port}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: ctx.spec.model.id,
        prompt: "The capital of France is",
        echo: true,
        logprobs: 1,
        max_tokens: 1,
      }),
      signal: AbortSignal.timeout(60_000),
    });
    if (!res.ok) return false;
    const body = (await res.json()) as {
      choices?: { logprobs?: { token_logprobs?: (number | null)[] } | null }[];
    };
    const lp = body.choices?.[0]?.logprobs?.token_logprobs ?? [];
    // The first prompt token never has a logprob; the last entry is the generated token.
    return lp.slice(1, -1).some((x) => typeof x === "number");
  }

  /** Files restored; 0 when the configuration has no complete set in S3 (no marker: a save cut short). */
  private async restore(prefix: string): Promise<number> {
    const marker = compiledArtifactsMarker(prefix);
    const keys = await this.options.artifacts.list(prefix);
    if (!keys.includes(marker)) return 0;
    const files = keys.filter((key) => key !== marker);
    for (const key of files)
      await downloadFile(
        this.options.artifacts,
        key,
        join(this.options.compiledDir, key.slice(prefix.length)),
      );
    return files.length;
  }

  private async save(prefix: string): Promise<number> {
    const files = await filesBelow(this.options.compiledDir);
    for (const f of files)
      await uploadFile(this.options.artifacts, `${prefix}${relative(this.options.compiledDir, f)}`, f);
    // Last: a submit plans inf2.xlarge, and a later run restores, only when the whole set is there.
    await this.options.artifacts.putText(
      compiledArtifactsMarker(prefix),
      JSON.stringify({ files: files.length, savedAt: new Date().toISOString() }),
    );
    return files.length;
  }
}
