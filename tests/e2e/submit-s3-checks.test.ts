// What a submit looks up in S3, through the real route on the local stack (s3rver): an s3:// model (a
// bucket the deployment does not name is a 400, a location that holds no model a 422, before any run is
// recorded), and a 7-8B model's compiled artifacts (saved: inf2.xlarge may run it; else it cannot compile there).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Artifacts } from "../../core/artifacts.ts";
import { s3Client } from "../../core/aws.ts";
import { backendStacks } from "../../core/backends.ts";
import {
  compiledArtifactsFields,
  compiledArtifactsMarker,
  compiledArtifactsPrefix,
} from "../../core/compiled-artifacts.ts";
import { vllmConfigFor } from "../../core/planner.ts";
import type { Run } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { testStack } from "../support/stack.ts";

const stack = await testStack({ env: { MODEL_BUCKETS: "acme-models,acme-finetunes" } });
after(() => stack.stop());

before(async () => {
  const s3 = s3Client();
  for (const bucket of ["acme-models", "someone-elses"])
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const put = (Bucket: string, Key: string, Body = "x") =>
    s3.send(new PutObjectCommand({ Bucket, Key, Body }));
  await put("acme-models", "llm/7/model.tar.gz", "not really gzip: submit only asks that it is there");
  await put("acme-models", "folder/config.json", '{"model_type":"llama"}');
  await put("acme-models", "folder/model.safetensors");
  await put("acme-models", "weights-only/model.safetensors");
  await put("acme-models", "config-only/config.json", "{}");
  await put("someone-elses", "llm/model.tar.gz");
});

const request = (id: string) => ({ model: { id, parameters: 1.1e9 }, tasks: ["gsm8k"] });
const submit = (id: string, dryRun = false) =>
  stack.api(`/evaluations${dryRun ? "?dryRun=true" : ""}`, { method: "POST", json: request(id) });
const runsListed = async () =>
  ((await stack.api("/evaluations")).body as unknown as { items: unknown[] }).items.length;

describe("an s3:// model at submit", () => {
  it("answers 400 for a bucket the deployment does not name, naming the ones it does", async () => {
    for (const dryRun of [false, true]) {
      const res = await submit("s3://someone-elses/llm/model.tar.gz", dryRun);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(
        String(res.body.detail),
        /bucket someone-elses is not among this deployment's model buckets \(acme-models, acme-finetunes\)/,
      );
    }
  });

  it("answers 422 for a location that holds no model, saying what is missing", async () => {
    const cases: [string, RegExp][] = [
      ["s3://acme-models/llm/8/model.tar.gz", /no object s3:\/\/acme-models\/llm\/8\/model\.tar\.gz/],
      ["s3://acme-models/nothing-here/", /no objects under s3:\/\/acme-models\/nothing-here\//],
      ["s3://acme-models/weights-only", /no config\.json: not a Hugging Face model folder/],
      ["s3://acme-models/config-only/", /no weights \(\*\.safetensors, \*\.bin\) beside its config\.json/],
      ["s3://acme-finetunes/llm/model.tar.gz", /model\.id s3:\/\/acme-finetunes\/llm\/model\.tar\.gz: /],
    ];
    for (const [id, detail] of cases) {
      const res = await submit(id);
      assert.equal(res.status, 422, `${id}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.title, "ModelNotReadable", id);
      assert.match(String(res.body.detail), detail, id);
    }
    assert.equal(await runsListed(), 0, "no run was recorded");
  });

  it("accepts a package that is there and a folder with config.json and weights", async () => {
    const folder = await submit("s3://acme-models/folder", true);
    assert.equal(folder.status, 200, JSON.stringify(folder.body));
    const res = await submit("s3://acme-models/llm/7/model.tar.gz");
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(await runsListed(), 1);
  });
});

describe("a 7-8B model's compiled artifacts at submit", () => {
  const onXlarge = {
    model: { id: "mistralai/Mistral-7B-v0.1" },
    tasks: ["gsm8k"],
    capacity: { instanceTypes: ["inf2.xlarge"] },
  };
  /** Where the engine saves this request's artifacts: the image is the one the local engine runs. */
  const prefix = () => {
    const spec = toRunSpec(EvaluationRequest.parse(onXlarge));
    const vllm = vllmConfigFor(spec);
    assert.ok(vllm);
    return compiledArtifactsPrefix(
      compiledArtifactsFields(spec, backendStacks["vllm-neuron"].baseImage, vllm),
    );
  };
  const artifacts = () => new Artifacts(s3Client(), stack.bucket);

  it("refuses inf2.xlarge while they are not saved whole (it cannot compile there), and plans it once they are", async () => {
    const refused = await stack.api("/evaluations", { method: "POST", json: onXlarge });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.match(String(refused.body.detail), /host memory to compile.*inf2\.8xlarge or larger/);

    // A save cut short (no marker) is not a compiled set.
    await artifacts().putText(`${prefix()}model.neff`, "compiled", "application/octet-stream");
    const partial = await stack.api("/evaluations", { method: "POST", json: onXlarge });
    assert.equal(partial.status, 422, JSON.stringify(partial.body));

    await artifacts().putText(compiledArtifactsMarker(prefix()), '{"files":1}');
    const dry = await stack.api("/evaluations?dryRun=true", { method: "POST", json: onXlarge });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal((dry.body.shards as { instanceType: string }[])[0].instanceType, "inf2.xlarge");
    const res = await stack.api("/evaluations", { method: "POST", json: onXlarge });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const run = (await stack.api(`/evaluations/${res.body.runId}`)).body as unknown as Run;
    assert.equal(run.plan?.candidates[0].instanceType, "inf2.xlarge");
    assert.equal(run.plan?.vllm?.tensorParallel, 2);
  });
});
