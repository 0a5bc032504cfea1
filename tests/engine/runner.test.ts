// The engine runner as an instance runs it (engine/main.ts in its own process), with the neuronx
// backend driving a FAKE lm_eval and a FAKE neuron-ls, a FAKE IMDSv2 on loopback, and real dynalite and
// s3rver: success in both output layouts, harness failures, a Spot notice mid-run and its resume,
// deadline passed, run cancelled.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Artifacts } from "../../core/artifacts.ts";
import { s3Client } from "../../core/aws.ts";
import { newRunId } from "../../core/ids.ts";
import { parseResults } from "../../core/results.ts";
import type { Run } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { runStore } from "../../functions/runtime.ts";
import { projectRoot, type Stack, startStack } from "../../local/stack.ts";
import { fakeImds } from "../support/imds.ts";
import { waitFor } from "../support/stack.ts";

let stack: Stack;
let imds: Awaited<ReturnType<typeof fakeImds>>;
let scratch: string;
before(async () => {
  stack = await startStack({ port: 0 });
  imds = await fakeImds();
  scratch = await mkdtemp(join(tmpdir(), "spoteval-engine-test-"));
});
after(async () => {
  await imds.close();
  await stack.stop();
  await rm(scratch, { recursive: true, force: true });
});

const artifacts = () => new Artifacts(s3Client(), stack.bucket);

async function newRun(extra: Partial<Run> = {}, request: Record<string, unknown> = {}) {
  const now = new Date().toISOString();
  const run: Run = {
    runId: newRunId(),
    status: "RUNNING",
    version: 1,
    spec: toRunSpec(
      EvaluationRequest.parse({
        model: { id: "mistralai/Mistral-7B-v0.1" },
        tasks: ["gsm8k"],
        numFewshot: 5,
        ...request,
      }),
    ),
    createdAt: now,
    updatedAt: now,
    attempts: 1,
    deadline: new Date(Date.now() + 3600_000).toISOString(),
    ...extra,
  };
  await runStore().createRun(run);
  return run.runId;
}

async function openAttempt(runId: string, attempt: number) {
  await runStore().openAttempt({
    runId,
    attempt,
    status: "LAUNCHING",
    clientToken: `${runId}-${attempt}-1`,
    launchTries: 1,
    startedAt: new Date().toISOString(),
    instanceId: `i-test${attempt}`,
    launchedAt: new Date().toISOString(),
  });
}

/** Start the engine as an instance would, with the fakes in place of Python, Neuron and IMDS. */
function engine(runId: string, attempt: number, env: Record<string, string> = {}) {
  const argsFile = join(scratch, `${runId}-${attempt}.args`);
  const child = promisify(execFile)(process.execPath, ["engine/main.ts"], {
    cwd: projectRoot,
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? "",
      ...Object.fromEntries(
        Object.entries(process.env).filter(([k]) => k.startsWith("AWS_") || k.startsWith("SPOTEVAL_")),
      ),
      RUN_ID: runId,
      ATTEMPT: String(attempt),
      ENGINE_BACKEND: "neuronx",
      LM_EVAL_COMMAND: JSON.stringify([
        process.execPath,
        join(projectRoot, "tests/fixtures/fake-harness/lm_eval.mjs"),
      ]),
      NEURON_LS: join(projectRoot, "tests/fixtures/fake-harness/neuron-ls.mjs"),
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
      NOTICE_POLL_SECONDS: "0.2",
      ENGINE_HEARTBEAT_SECONDS: "0.2",
      FAKE_LM_EVAL_ARGS_FILE: argsFile,
      ...env,
    },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  const calls = async () =>
    (await readFile(argsFile, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { argv: string[]; env: Record<string, string | null> });
  return { done: child, calls };
}

const attemptOf = async (runId: string, n = 1) =>
  (await runStore().getAttempt(runId, n)) ?? assert.fail("no attempt");

describe("engine runner (neuronx backend)", () => {
  it("runs the harness with the detected TP degree, heartbeats progress, uploads results and samples", async () => {
    const runId = await newRun();
    await openAttempt(runId, 1);
    const run = engine(runId, 1, { FAKE_LM_EVAL_DOCS: "30", FAKE_LM_EVAL_DELAY_MS: "40" });
    const midway = await waitFor("a heartbeat while evaluating", async () => {
      const a = await attemptOf(runId);
      return a.progress?.phase === "evaluate" && a.progress.done < a.progress.total ? a.progress : undefined;
    });
    assert.equal(midway.total, 30);
    assert.equal(midway.task, "gsm8k");
    assert.ok((midway.ratePerSecond ?? 0) > 0 && midway.etaSeconds !== undefined);
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);

    const attempt = await attemptOf(runId);
    assert.equal(attempt.status, "FINISHED");
    assert.equal(attempt.backend, "neuronx");
    assert.equal(attempt.simulated, false);
    assert.equal(
      attempt.resultsKey,
      `runs/${runId}/attempt-1/results.json`,
      "the 0.4.1 layout of the pinned revision",
    );
    const results = parseResults(await artifacts().getText(attempt.resultsKey ?? ""));
    assert.deepEqual(Object.keys(results.results.gsm8k).sort(), [
      "alias",
      "exact_match,get-answer",
      "exact_match_stderr,get-answer",
    ]);
    const keys = await artifacts().list(`runs/${runId}/attempt-1/`);
    assert.ok(
      keys.some((k) => k.endsWith("_gsm8k.jsonl")),
      "per-sample log uploaded",
    );

    const [call] = await run.calls();
    const value = (flag: string) => call.argv[call.argv.indexOf(flag) + 1];
    assert.equal(value("--model"), "neuronx");
    assert.equal(
      value("--model_args"),
      "pretrained=mistralai/Mistral-7B-v0.1,revision=main,dtype=bfloat16,tp_degree=2",
    );
    assert.equal(value("--tasks"), "gsm8k");
    assert.equal(value("--num_fewshot"), "5");
    assert.equal(value("--batch_size"), "1");
    assert.ok(call.argv.includes("--log_samples"));
    assert.match(value("--use_cache"), /lm_cache_0$/);
    assert.equal(call.env.NEURON_COMPILE_CACHE_URL, `s3://${stack.bucket}/neuron-cache/`);
    assert.equal(call.env.NEURON_CC_FLAGS, null, "a first attempt does not retry failed compilations");
  });

  it("finds results in the 0.4.3+ layout too (DIR/<model>/results_<timestamp>.json)", async () => {
    const runId = await newRun();
    await openAttempt(runId, 1);
    const { code } = await engine(runId, 1, { FAKE_LM_EVAL_LAYOUT: "0.4.3" }).done;
    assert.equal(code, 0);
    const attempt = await attemptOf(runId);
    assert.match(attempt.resultsKey ?? "", /attempt-1\/results_2024-01-23T10-01-00\.000000\.json$/);
    assert.ok((await artifacts().list(`runs/${runId}/attempt-1/samples_gsm8k_`)).length === 1);
  });

  for (const [fault, reason] of [
    ["oom", /out of device memory/],
    ["compile", /Neuron compilation failed/],
    ["gated", /model is gated/],
    ["no-results", /wrote no results file/],
  ] as const) {
    it(`classifies a harness failure (${fault}) with a one-line reason and the log tail in S3`, async () => {
      const runId = await newRun();
      await openAttempt(runId, 1);
      const { code } = await engine(runId, 1, { FAKE_LM_EVAL_FAULT: fault }).done;
      assert.equal(code, 1);
      const attempt = await attemptOf(runId);
      assert.equal(attempt.status, "FAILED");
      assert.match(attempt.endReason ?? "", reason);
      assert.ok(!(attempt.endReason ?? "").includes("\n"), "one line");
      const log = await artifacts().getText(attempt.logKey ?? "");
      assert.match(log, /Selected Tasks/);
    });
  }

  it("on a Spot notice: saves the request cache, marks the attempt interrupted; the next attempt resumes from it", async () => {
    const runId = await newRun();
    await openAttempt(runId, 1);
    const first = engine(runId, 1, { FAKE_LM_EVAL_DOCS: "60", FAKE_LM_EVAL_DELAY_MS: "50" });
    await waitFor("some answers cached", async () => {
      const a = await attemptOf(runId);
      return (a.progress?.done ?? 0) >= 10 ? true : undefined;
    });
    imds.interrupt();
    const r1 = await first.done;
    imds.state.instanceAction = undefined;
    assert.equal(r1.code, 0, r1.stderr);
    const a1 = await attemptOf(runId);
    assert.equal(a1.status, "INTERRUPTED");
    assert.match(a1.endReason ?? "", /Spot interruption notice: .*"action":"terminate"/);
    const saved = await artifacts().list(`runs/${runId}/cache/`);
    assert.deepEqual(saved, [`runs/${runId}/cache/lm_cache_0_rank0.db`]);
    const cachedAnswers = (await artifacts().getText(saved[0])).trim().split("\n").length;
    assert.ok(cachedAnswers >= 10);

    await openAttempt(runId, 2);
    const second = engine(runId, 2, { FAKE_LM_EVAL_DOCS: "60", FAKE_LM_EVAL_DELAY_MS: "5" });
    const r2 = await second.done;
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, new RegExp(`Loading ${cachedAnswers} cached responses`));
    assert.match(r2.stderr, /resuming: restored 1 request-cache file/);
    const [call] = await second.calls();
    assert.equal(call.env.NEURON_CC_FLAGS, "--retry_failed_compilation");
    assert.equal((await attemptOf(runId, 2)).status, "FINISHED");
    assert.ok(imds.state.rejected === 0, "every metadata call carried the IMDSv2 token");
  });

  it("fails the attempt when the run's deadline passes, and stops the harness", async () => {
    const runId = await newRun({ deadline: new Date(Date.now() + 1500).toISOString() });
    await openAttempt(runId, 1);
    const { code, stderr } = await engine(runId, 1, { FAKE_LM_EVAL_DOCS: "400", FAKE_LM_EVAL_DELAY_MS: "50" })
      .done;
    assert.equal(code, 1, stderr);
    const attempt = await attemptOf(runId);
    assert.equal(attempt.status, "FAILED");
    assert.match(attempt.endReason ?? "", /deadline .* passed/);
  });

  it("stops when the run is cancelled, leaving the release to the pipeline", async () => {
    const runId = await newRun();
    await openAttempt(runId, 1);
    const run = engine(runId, 1, { FAKE_LM_EVAL_DOCS: "400", FAKE_LM_EVAL_DELAY_MS: "50" });
    await waitFor("the harness to be evaluating", async () =>
      (await attemptOf(runId)).progress?.phase === "evaluate" ? true : undefined,
    );
    await runStore().updateRun(runId, { cancelRequested: true });
    const { code, stderr } = await run.done;
    assert.equal(code, 0);
    assert.match(stderr, /stopping: run cancelled/);
    assert.equal((await attemptOf(runId)).status, "RUNNING", "the pipeline's CheckEngine closes it");
  });
});
