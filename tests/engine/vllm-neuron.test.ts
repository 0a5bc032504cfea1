// The vllm-neuron backend as an instance runs it (engine/main.ts in its own process, backend from the
// run's plan), with a FAKE vLLM server (OpenAI-compatible, no prompt logprobs, slow warm-up, crash
// modes), the FAKE harness really sending local-completions requests, a FAKE neuron-ls with 2, 8 or 24
// cores, and real dynalite and s3rver: replicas on disjoint cores, compile once then restore from S3,
// readiness and the logprob probe, and servers that die.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Artifacts } from "../../core/artifacts.ts";
import { s3Client } from "../../core/aws.ts";
import {
  compiledArtifactsFields,
  compiledArtifactsMarker,
  compiledArtifactsPrefix,
} from "../../core/compiled-artifacts.ts";
import { newRunId } from "../../core/ids.ts";
import { planRun, vllmConfigFor } from "../../core/planner.ts";
import { parseResults } from "../../core/results.ts";
import type { Plan, Run } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { runStore } from "../../functions/runtime.ts";
import { projectRoot, type Stack, startStack } from "../../local/stack.ts";

let stack: Stack;
let scratch: string;
before(async () => {
  stack = await startStack({ port: 0 });
  scratch = await mkdtemp(join(tmpdir(), "spoteval-vllm-test-"));
});
after(async () => {
  await stack.stop();
  await rm(scratch, { recursive: true, force: true });
});

const artifacts = () => new Artifacts(s3Client(), stack.bucket);
const IMAGE = "spoteval-engine-vllm-neuron:test";

async function newRun(request: Record<string, unknown> = {}, plan?: (p: Plan) => Plan) {
  const now = new Date().toISOString();
  const spec = toRunSpec(
    EvaluationRequest.parse({
      model: { id: "mistralai/Mistral-7B-v0.1" },
      tasks: ["gsm8k"],
      numFewshot: 5,
      ...request,
    }),
  );
  const planned = planRun({ ...spec, tasks: spec.tasks.map((t) => ({ ...t, name: "gsm8k" })) });
  const run: Run = {
    runId: newRunId(),
    status: "RUNNING",
    version: 1,
    spec: { ...spec, harnessRevision: planned.harnessRevision },
    plan: plan ? plan(planned) : planned,
    createdAt: now,
    updatedAt: now,
    attempts: 1,
    deadline: new Date(Date.now() + 3600_000).toISOString(),
  };
  await runStore().createRun(run);
  await runStore().openAttempt({
    runId: run.runId,
    attempt: 1,
    status: "LAUNCHING",
    clientToken: `${run.runId}-1-1`,
    launchTries: 1,
    startedAt: now,
    instanceId: "i-test1",
    launchedAt: now,
  });
  return run.runId;
}

let n = 0;
/** Start the engine as an instance would; the backend is not named: the engine reads it from the plan. */
function engine(runId: string, env: Record<string, string> = {}) {
  n++;
  const files = {
    harness: join(scratch, `${runId}-${n}.harness`),
    servers: join(scratch, `${runId}-${n}.servers`),
    pip: join(scratch, `${runId}-${n}.pip`),
    python: join(scratch, `${runId}-${n}.python`),
    compiled: env.NEURON_COMPILED_ARTIFACTS ?? join(scratch, `${runId}-${n}-compiled`),
  };
  const child = promisify(execFile)(process.execPath, ["engine/main.ts"], {
    cwd: projectRoot,
    timeout: 90_000,
    env: {
      PATH: process.env.PATH ?? "",
      ...Object.fromEntries(
        Object.entries(process.env).filter(([k]) => k.startsWith("AWS_") || k.startsWith("SPOTEVAL_")),
      ),
      RUN_ID: runId,
      ATTEMPT: "1",
      ENGINE_IMAGE: IMAGE,
      LM_EVAL_COMMAND: JSON.stringify([
        process.execPath,
        join(projectRoot, "tests/fixtures/fake-harness/lm_eval.mjs"),
      ]),
      VLLM_COMMAND: JSON.stringify([
        process.execPath,
        join(projectRoot, "tests/fixtures/fake-vllm/vllm.mjs"),
      ]),
      // Below Linux's ephemeral range (32768+), where the other tests' servers get their ports.
      VLLM_PORT_BASE: String(20000 + Math.floor(Math.random() * 120) * 100),
      VLLM_READY_SECONDS: "30",
      NEURON_LS: join(projectRoot, "tests/fixtures/fake-harness/neuron-ls.mjs"),
      HARNESS_PIP_COMMAND: JSON.stringify([
        process.execPath,
        join(projectRoot, "tests/fixtures/fake-harness/pip.mjs"),
      ]),
      FAKE_PIP_RECORD: files.pip,
      HARNESS_PYTHON_COMMAND: JSON.stringify([
        process.execPath,
        join(projectRoot, "tests/fixtures/fake-harness/python.mjs"),
      ]),
      FAKE_PYTHON_RECORD: files.python,
      ENGINE_HEARTBEAT_SECONDS: "0.2",
      FAKE_NEURON_DEVICES: "4",
      FAKE_LM_EVAL_DOCS: "24",
      FAKE_LM_EVAL_ARGS_FILE: files.harness,
      FAKE_VLLM_RECORD: files.servers,
      FAKE_VLLM_WARMUP_MS: "300",
      NEURON_COMPILED_ARTIFACTS: files.compiled,
      ...env,
    },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  const lines = async <T>(file: string): Promise<T[]> =>
    (await readFile(file, "utf8").catch(() => ""))
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as T);
  return {
    done: child,
    servers: () =>
      lines<{
        model: string;
        port: number;
        cores: string;
        compiled: boolean;
        config: { tp: string; seqs: string };
      }>(files.servers),
    harness: () => lines<{ argv?: string[]; maxInFlight?: number; answered?: number }>(files.harness),
    pip: () => lines<{ argv: string[] }>(files.pip),
    python: () => lines<{ names: string[] }>(files.python),
  };
}

const attemptOf = async (runId: string) =>
  (await runStore().getAttempt(runId, 1)) ?? assert.fail("no attempt");

describe("engine runner (vllm-neuron backend)", () => {
  let compiledKeys: string[] = [];

  it("8 cores, TP 2: compiles on one server, saves the artifacts, starts 3 more on disjoint cores, spreads requests", async () => {
    const runId = await newRun();
    const run = engine(runId);
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    const attempt = await attemptOf(runId);
    assert.equal(attempt.status, "FINISHED", attempt.endReason);
    assert.equal(attempt.backend, "vllm-neuron", "learned from the run's plan");

    const servers = await run.servers();
    assert.deepEqual(servers.map((s) => s.cores).sort(), ["0-1", "2-3", "4-5", "6-7"]);
    assert.deepEqual(
      servers.filter((s) => s.compiled).map((s) => s.cores),
      ["0-1"],
      "only the first server compiles",
    );
    assert.equal(servers[0].cores, "0-1", "and the others start after it");
    assert.deepEqual(servers[0].config, {
      tp: "2",
      seqs: "8",
      len: "4096",
      blocks: "8",
      extra: '{"override_neuron_config":{}}',
      prefixCaching: false,
    });
    compiledKeys = await artifacts().list("compiled/vllm-neuron/");
    // The key a submit looks for (core/submit.ts) is the one the engine saved under, its marker last.
    const { spec } = await runStore().mustGetRun(runId);
    const vllm = vllmConfigFor(spec);
    assert.ok(vllm);
    const prefix = compiledArtifactsPrefix(compiledArtifactsFields(spec, IMAGE, vllm));
    assert.deepEqual(compiledKeys.sort(), [`${prefix}model.neff`, compiledArtifactsMarker(prefix)].sort());
    assert.match(stderr, /compiled artifacts: none at .*; the first server compiles alone/);

    const [call, answered] = await run.harness();
    const value = (flag: string) => call.argv?.[call.argv.indexOf(flag) + 1];
    assert.equal(value("--model"), "local-completions");
    assert.match(value("--model_args") ?? "", /base_url=http:\/\/127\.0\.0\.1:\d+00\/v1\/completions/);
    assert.match(value("--model_args") ?? "", /num_concurrent=32,/);
    assert.equal(answered.answered, 24);
    assert.ok((answered.maxInFlight ?? 0) > 1, `concurrent requests: ${answered.maxInFlight}`);
    const perServer = /round-robin: requests per server ([\d, ]+)/.exec(stderr)?.[1].split(", ").map(Number);
    assert.equal(perServer?.length, 4);
    assert.ok(
      perServer?.every((k) => k >= 5),
      `every replica answered: ${perServer}`,
    );
    assert.match(stderr, /logprob probe: the server returns no prompt logprobs/);

    const results = parseResults(await artifacts().getText(attempt.resultsKey ?? ""));
    assert.equal(results.results.gsm8k["exact_match,strict-match"], 1, "scored from the servers' answers");

    // What produced the numbers: on the attempt, in the results' config block, above the table.
    const engineRecord = {
      backend: "vllm-neuron",
      image: IMAGE,
      neuronSdk: "2.31.1",
      vllm: "0.16.0",
      vllmNeuron: "0.5",
      harness: "v0.4.8",
      tensorParallel: 2,
      replicas: 4,
      batch: 8,
      maxModelLen: 4096,
      modelArgs: "model=mistralai/Mistral-7B-v0.1,revision=main,dtype=bfloat16",
    };
    assert.deepEqual(results.config?.spoteval_engine, engineRecord);
    assert.equal(attempt.provenance?.tensorParallel, "2");
    assert.equal(attempt.provenance?.replicas, "4");
    assert.equal(attempt.provenance?.vllm, "0.16.0");
    assert.equal(attempt.provenance?.image, IMAGE);
    assert.match(
      stderr,
      /vllm-neuron \(model=mistralai\/Mistral-7B-v0\.1,revision=main,dtype=bfloat16\), tensor_parallel: 2, replicas: 4, batch_size: 8, max_model_len: 4096, lm_eval: v0\.4\.8, vllm: 0\.16\.0, vllm-neuron: 0\.5, neuron_sdk: 2\.31\.1, image: spoteval-engine-vllm-neuron:test/,
    );
  });

  it("a second run of the same configuration restores the artifacts from S3 and compiles nothing", async () => {
    assert.equal(compiledKeys.length, 2, "needs the first test");
    const runId = await newRun();
    const run = engine(runId); // a fresh instance: an empty local artifacts folder
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /compiled artifacts: restored 1 file\(s\) from .*; no compile/);
    const servers = await run.servers();
    assert.equal(servers.length, 4);
    assert.deepEqual(
      servers.filter((s) => s.compiled),
      [],
    );
    assert.deepEqual(await artifacts().list("compiled/vllm-neuron/"), compiledKeys);
  });

  it("another configuration (a different batch) gets its own artifacts, and 2 cores run one server without a proxy", async () => {
    const runId = await newRun({ batchSize: 4 });
    const run = engine(runId, { FAKE_NEURON_DEVICES: "1" });
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    const servers = await run.servers();
    assert.deepEqual(
      servers.map((s) => [s.cores, s.compiled, s.config.seqs]),
      [["0-1", true, "4"]],
    );
    assert.doesNotMatch(stderr, /round-robin/);
    assert.equal(
      (await artifacts().list("compiled/vllm-neuron/")).length,
      4,
      "two sets, each with its marker",
    );
    const [call] = await run.harness();
    assert.match(call.argv?.join(" ") ?? "", /num_concurrent=4,/);
    assert.deepEqual(await run.pip(), [], "the image's own harness revision: nothing installed");
    assert.deepEqual(await run.python(), [], "gsm8k is in spoteval's table: no registry read");
  });

  it("does not restore a set whose save was cut short (no marker): it compiles and saves a whole one", async () => {
    const runId = await newRun({ batchSize: 2 });
    const { spec, plan } = await runStore().mustGetRun(runId);
    assert.ok(plan?.vllm);
    const prefix = compiledArtifactsPrefix(compiledArtifactsFields(spec, IMAGE, plan.vllm));
    await artifacts().putText(`${prefix}model.neff`, "half an upload", "application/octet-stream");
    const run = engine(runId, { FAKE_NEURON_DEVICES: "1" });
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /compiled artifacts: none at .*; the first server compiles alone/);
    assert.deepEqual(
      (await run.servers()).map((s) => s.compiled),
      [true],
    );
    assert.ok(await artifacts().exists(compiledArtifactsMarker(prefix)), "the whole set is marked now");
  });

  it("24 cores at TP 8: three servers on 0-7, 8-15, 16-23", async () => {
    const runId = await newRun({}, (p) => ({
      ...p,
      vllm: { ...(p.vllm ?? assert.fail("vllm")), tensorParallel: 8 },
    }));
    const run = engine(runId, { FAKE_NEURON_DEVICES: "12" });
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.deepEqual((await run.servers()).map((s) => s.cores).sort(), ["0-7", "16-23", "8-15"]);
  });

  it("fails the attempt with the log tail when a server crashes mid-run", async () => {
    const runId = await newRun();
    const run = engine(runId, { FAKE_LM_EVAL_DOCS: "200", FAKE_VLLM_CRASH_AFTER: "40" });
    const { code } = await run.done;
    assert.equal(code, 1);
    const attempt = await attemptOf(runId);
    assert.equal(attempt.status, "FAILED");
    assert.match(
      attempt.endReason ?? "",
      /^vLLM server \d \(cores \d-\d\) died during the evaluation \(exit 1\)/,
    );
    assert.ok(!(attempt.endReason ?? "").includes("\n"), "one line");
    const log = await artifacts().getText(attempt.logKey ?? "");
    assert.match(log, /NeuronCore hardware error \(FAKE crash\)/);
  });

  it("fails with a failure class when a server dies before it is ready (out of device memory)", async () => {
    const runId = await newRun();
    const { code } = await engine(runId, { FAKE_VLLM_FAULT: "oom" }).done;
    assert.equal(code, 1);
    const attempt = await attemptOf(runId);
    assert.match(
      attempt.endReason ?? "",
      /vLLM server 0 \(cores 0-1\) exited \(1\) before it was ready: out of device memory/,
    );
  });

  it("never sends a task that needs prompt logprobs to a server that returns none", async () => {
    const runId = await newRun({ tasks: ["hellaswag"] });
    const run = engine(runId);
    const { code } = await run.done;
    assert.equal(code, 1);
    const attempt = await attemptOf(runId);
    assert.match(
      attempt.endReason ?? "",
      /hellaswag need\(s\) prompt logprobs, which this vLLM server does not return/,
    );
    assert.deepEqual(await run.harness(), [], "the harness never ran");
  });
});

describe("models from S3 (a Hugging Face folder, SageMaker's model.tar.gz)", () => {
  before(async () => {
    const s3 = s3Client();
    await s3.send(new CreateBucketCommand({ Bucket: "models" }));
    const files = {
      "config.json": '{"model_type":"mistral"}',
      "model.safetensors": "FAKE WEIGHTS",
      "tokenizer.json": "{}",
    };
    for (const [name, body] of Object.entries(files))
      await s3.send(new PutObjectCommand({ Bucket: "models", Key: `hf/mistral-7b/${name}`, Body: body }));
    const dir = await mkdtemp(join(scratch, "tarball-"));
    await mkdir(join(dir, "model"));
    for (const [name, body] of Object.entries(files)) await writeFile(join(dir, "model", name), body);
    await promisify(execFile)("tar", ["-czf", join(dir, "model.tar.gz"), "-C", join(dir, "model"), "."]);
    await s3.send(
      new PutObjectCommand({
        Bucket: "models",
        Key: "sagemaker/mistral-7b/model.tar.gz",
        Body: await readFile(join(dir, "model.tar.gz")),
      }),
    );
  });

  for (const id of ["s3://models/hf/mistral-7b/", "s3://models/sagemaker/mistral-7b/model.tar.gz"]) {
    it(`downloads ${id.endsWith(".gz") ? "and unpacks a model.tar.gz" : "a model folder"} and serves it from local disk`, async () => {
      const runId = await newRun({ model: { id } });
      const run = engine(runId, { FAKE_NEURON_DEVICES: "1" });
      const { code, stderr } = await run.done;
      assert.equal(code, 0, stderr);
      assert.equal((await attemptOf(runId)).status, "FINISHED");
      const [server] = await run.servers();
      assert.match(server.model, /\/model$/, "a local folder, not the s3:// id");
      assert.ok(stderr.includes(`model: ${id} downloaded to `), stderr);
      const [call] = await run.harness();
      assert.match(call.argv?.join(" ") ?? "", /tokenizer=\/\S+\/model,/);
    });
  }

  it("fails the attempt with its own class when the location holds no model", async () => {
    const runId = await newRun({ model: { id: "s3://models/nothing-here/" } });
    const { code } = await engine(runId, { FAKE_NEURON_DEVICES: "1" }).done;
    assert.equal(code, 1);
    assert.match(
      (await attemptOf(runId)).endReason ?? "",
      /^model unreadable: no objects under s3:\/\/models\/nothing-here\//,
    );
  });
});

describe("another harness revision (vllm-neuron)", () => {
  it("installs the requested release into the harness's virtualenv before any server starts", async () => {
    const runId = await newRun({ harness: { revision: "0.4.9" } });
    const run = engine(runId, { FAKE_NEURON_DEVICES: "1" });
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.deepEqual(
      (await run.pip()).map((c) => c.argv),
      [
        [
          "install",
          "--no-cache-dir",
          "lm_eval[api] @ https://github.com/EleutherAI/lm-evaluation-harness/archive/v0.4.9.tar.gz",
        ],
      ],
    );
    const installed = stderr.indexOf("harness: v0.4.9 installed");
    assert.ok(installed >= 0, stderr);
    assert.ok(installed < stderr.indexOf("vLLM server 0 ready"), "installed before the servers");
    const attempt = await attemptOf(runId);
    assert.equal(attempt.status, "FINISHED", attempt.endReason);
    const results = parseResults(await artifacts().getText(attempt.resultsKey ?? ""));
    assert.equal((results.config?.spoteval_engine as { harness?: string } | undefined)?.harness, "0.4.9");
  });

  it("fails the attempt with its own class for a revision the repository does not have, pip's lines in its log, no server started", async () => {
    const runId = await newRun({ harness: { revision: "v0.4.99" } });
    const run = engine(runId, { FAKE_NEURON_DEVICES: "1" });
    const { code } = await run.done;
    assert.equal(code, 1);
    const attempt = await attemptOf(runId);
    assert.equal(attempt.status, "FAILED");
    assert.equal(
      attempt.endReason,
      "harness revision v0.4.99 unknown: https://github.com/EleutherAI/lm-evaluation-harness has no tag, branch or commit v0.4.99",
    );
    assert.match(
      await artifacts().getText(attempt.logKey ?? ""),
      /\[pip\] ERROR: HTTP error 404 while getting/,
    );
    assert.deepEqual(await run.servers(), []);
  });

  it("tells an install that failed (no route to GitHub) from an unknown revision", async () => {
    const runId = await newRun({ harness: { revision: "0.4.9" } });
    const { code } = await engine(runId, { FAKE_NEURON_DEVICES: "1", FAKE_PIP_FAULT: "network" }).done;
    assert.equal(code, 1);
    assert.match(
      (await attemptOf(runId)).endReason ?? "",
      /^harness v0\.4\.9 could not be installed \(pip exit 1\): ERROR: Could not install requirement .*Max retries exceeded/,
    );
  });
});

describe("tasks outside spoteval's table (vllm-neuron)", () => {
  const registry = JSON.stringify({
    acme_mc: ["multiple_choice"],
    acme_gen: ["generate_until"],
    acme_suite: ["generate_until", "loglikelihood"],
  });

  it("reads a generative task's output type from the harness's registry and scores it", async () => {
    const runId = await newRun({ tasks: ["acme_gen", "gsm8k"] });
    const run = engine(runId, { FAKE_NEURON_DEVICES: "1", FAKE_TASK_REGISTRY: registry });
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.deepEqual(await run.python(), [{ names: ["acme_gen"] }], "only the task outside the table");
    assert.match(
      stderr,
      /task registry: acme_gen is generate_until \(from the harness, not spoteval's table\)/,
    );
    const [call] = await run.harness();
    assert.match(call.argv?.join(" ") ?? "", /--tasks acme_gen,gsm8k/);
    assert.equal((await attemptOf(runId)).status, "FINISHED");
  });

  it("never sends a task the registry says needs prompt logprobs (a group with one such leaf too) to vLLM", async () => {
    for (const task of ["acme_mc", "acme_suite"]) {
      const runId = await newRun({ tasks: [task] });
      const run = engine(runId, { FAKE_NEURON_DEVICES: "1", FAKE_TASK_REGISTRY: registry });
      const { code } = await run.done;
      assert.equal(code, 1);
      assert.match(
        (await attemptOf(runId)).endReason ?? "",
        new RegExp(`^${task} need\\(s\\) prompt logprobs, which this vLLM server does not return`),
      );
      assert.deepEqual(await run.harness(), [], `${task}: the harness never ran`);
    }
  });

  it("fails at once, before anything compiles, for a name the registry does not have", async () => {
    const runId = await newRun({ tasks: ["acme_nope"] });
    const run = engine(runId, { FAKE_NEURON_DEVICES: "1", FAKE_TASK_REGISTRY: registry });
    const { code } = await run.done;
    assert.equal(code, 1);
    assert.equal(
      (await attemptOf(runId)).endReason,
      "unknown task: acme_nope not in the task registry of lm-evaluation-harness v0.4.8",
    );
    assert.deepEqual(await run.servers(), []);
  });

  it("fails with the registry's own error when it cannot be read", async () => {
    const runId = await newRun({ tasks: ["acme_gen"] });
    const { code } = await engine(runId, { FAKE_NEURON_DEVICES: "1", FAKE_PYTHON_FAULT: "import" }).done;
    assert.equal(code, 1);
    assert.match(
      (await attemptOf(runId)).endReason ?? "",
      /^could not read the harness's task registry for acme_gen \(exit 1\): ModuleNotFoundError: No module named 'lm_eval'/,
    );
  });
});
