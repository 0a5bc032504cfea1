// A SageMaker Model Registry approval for an s3://.../model.tar.gz runs to SUCCEEDED on the local stack:
// the real state machine and handlers, the registry event through the local bus, and local "instances"
// running the real engine with the vllm-neuron backend against a FAKE vLLM server, the FAKE harness and
// a FAKE neuron-ls; the model really is downloaded from s3rver and unpacked.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { s3Client } from "../../core/aws.ts";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import { runStore } from "../../functions/runtime.ts";
import { createHandler as acquireHandler } from "../../functions/steps/acquire-capacity.ts";
import { lambdaContext } from "../../local/gateway.ts";
import { projectRoot } from "../../local/stack.ts";
import { pipelineDeps, testStack, waitFor } from "../support/stack.ts";

const scratch = await mkdtemp(join(tmpdir(), "spoteval-sagemaker-"));
/** The engine a real instance runs, with fakes in place of Neuron, vLLM and the harness. */
const engineEnv = {
  ENGINE_BACKEND: "vllm-neuron",
  VLLM_COMMAND: JSON.stringify([process.execPath, join(projectRoot, "tests/fixtures/fake-vllm/vllm.mjs")]),
  LM_EVAL_COMMAND: JSON.stringify([
    process.execPath,
    join(projectRoot, "tests/fixtures/fake-harness/lm_eval.mjs"),
  ]),
  NEURON_LS: join(projectRoot, "tests/fixtures/fake-harness/neuron-ls.mjs"),
  FAKE_NEURON_DEVICES: "1",
  FAKE_LM_EVAL_DOCS: "10",
  FAKE_VLLM_RECORD: join(scratch, "servers"),
  VLLM_PORT_BASE: String(30000 + Math.floor(Math.random() * 300) * 100),
  VLLM_READY_SECONDS: "30",
  NEURON_COMPILED_ARTIFACTS: join(scratch, "compiled"),
};
const stack = await testStack({
  handlers: {
    acquireCapacity: (input) =>
      acquireHandler(() => {
        const deps = pipelineDeps();
        const local = deps.capacity as LocalProcessProvider;
        return {
          ...deps,
          capacity: new LocalProcessProvider({
            ...local.options,
            env: { ...local.options.env, ...engineEnv },
          }),
        };
      })(input, lambdaContext("acquireCapacity")),
  },
});
after(async () => {
  await stack.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe("a SageMaker approval of an s3:// model.tar.gz", () => {
  it("runs to SUCCEEDED: the engine downloads and unpacks the package and serves it with vLLM", async () => {
    const s3 = s3Client();
    await s3.send(new CreateBucketCommand({ Bucket: "registry-models" }));
    const dir = join(scratch, "package");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "config.json"), '{"model_type":"llama"}');
    await writeFile(join(dir, "model.safetensors"), "FAKE WEIGHTS");
    await promisify(execFile)("tar", ["-czf", join(scratch, "model.tar.gz"), "-C", dir, "."]);
    await s3.send(
      new PutObjectCommand({
        Bucket: "registry-models",
        Key: "llm/7/model.tar.gz",
        Body: await readFile(join(scratch, "model.tar.gz")),
      }),
    );
    const res = await stack.api("/_local/events", {
      method: "POST",
      json: {
        id: "3b2c7d1e-0000-4000-8000-000000000007",
        source: "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        detail: {
          ModelPackageArn: "arn:aws:sagemaker:us-east-1:123456789012:model-package/llm/7",
          ModelPackageGroupName: "llm",
          ModelApprovalStatus: "Approved",
          InferenceSpecification: {
            Containers: [{ ModelDataUrl: "s3://registry-models/llm/7/model.tar.gz" }],
          },
          CustomerMetadataProperties: { "spoteval:tasks": "gsm8k", "spoteval:parameters": "1100000000" },
        },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const runId = (res.body as unknown as { result: { runId: string } }).result.runId;
    const run = await waitFor(
      "the run to end",
      async () => {
        const r = await runStore().mustGetRun(runId);
        return ["SUCCEEDED", "FAILED", "CANCELLED"].includes(r.status) ? r : undefined;
      },
      120_000,
    );
    assert.equal(run.status, "SUCCEEDED", run.reason);
    assert.equal(run.spec.model.id, "s3://registry-models/llm/7/model.tar.gz");
    assert.equal(run.engine?.backend, "vllm-neuron");
    const [server] = (await readFile(engineEnv.FAKE_VLLM_RECORD, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { model: string });
    assert.match(server.model, /\/model$/, "served from the unpacked folder");
    const table = await stack.api(`/evaluations/${runId}?format=markdown`);
    assert.match(String(table.body), /^vllm-neuron \(model=s3:\/\/registry-models\/llm\/7\/model\.tar\.gz/);
  });
});
