// The S3 key of vLLM-on-Neuron's compiled artifacts covers every field that changes them: vLLM on
// Neuron loads whatever the folder holds, so a field left out would load wrong artifacts silently.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compiledArtifactsFields, compiledArtifactsPrefix } from "../../core/compiled-artifacts.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { vllmConfig } from "../../core/serving.ts";

const spec = toRunSpec(
  EvaluationRequest.parse({ model: { id: "mistralai/Mistral-7B-v0.1" }, tasks: ["gsm8k"] }),
);
const vllm = vllmConfig(spec, 2);
const fields = compiledArtifactsFields(spec, "image:1", vllm);

/** Every leaf of an object, as a path and its value. */
function leaves(value: unknown, path: string[] = []): [string[], unknown][] {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length)
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [[path, value]];
}
function changed(obj: unknown, path: string[]): unknown {
  if (!path.length)
    return typeof obj === "number" ? obj + 1 : typeof obj === "string" ? `${obj}x` : { changed: true };
  const [head, ...rest] = path;
  return { ...(obj as object), [head]: changed((obj as Record<string, unknown>)[head], rest) };
}

describe("compiled artifacts key", () => {
  it("takes every field of the servers' configuration, the model (id, revision, dtype) and the image", () => {
    assert.deepEqual(
      Object.keys(fields.vllm).sort(),
      Object.keys(vllm).sort(),
      "the whole vLLM configuration",
    );
    assert.deepEqual(fields.model, { id: spec.model.id, revision: "main", dtype: "bfloat16" });
    assert.equal(fields.image, "image:1");
  });

  it("changes when any one field changes, and only then", () => {
    const key = compiledArtifactsPrefix(fields);
    assert.match(key, /^compiled\/vllm-neuron\/[0-9a-f]{64}\/$/);
    assert.equal(compiledArtifactsPrefix(structuredClone(fields)), key, "same configuration, same key");
    const paths = leaves(fields).map(([p]) => p.join("."));
    assert.deepEqual(paths.sort(), [
      "image",
      "model.dtype",
      "model.id",
      "model.revision",
      "vllm.maxModelLen",
      "vllm.maxNumSeqs",
      "vllm.overrideNeuronConfig",
      "vllm.tensorParallel",
    ]);
    for (const [path] of leaves(fields)) {
      const other = changed(fields, path) as typeof fields;
      assert.notEqual(compiledArtifactsPrefix(other), key, `${path.join(".")} is in the key`);
    }
    const reordered = { vllm: fields.vllm, image: fields.image, model: fields.model };
    assert.equal(compiledArtifactsPrefix(reordered), key, "key order does not matter");
  });
});
