// The engine images cannot be built here (no Docker engine): check what can be checked statically,
// and that each image pins what the planner and the runner say its backend runs (core/backends.ts).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { backendStacks } from "../../core/backends.ts";
import { DEFAULT_HARNESS_REVISION } from "../../core/schemas.ts";
import { ON_INSTANCE } from "../../core/serving.ts";
import { projectRoot } from "../../local/stack.ts";

const read = (name: string) => readFileSync(`${projectRoot}/engine/${name}`, "utf8");
const argOf = (file: string) => (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, "m").exec(file)?.[1];
const dockerfile = read("Dockerfile");
const arg = argOf(dockerfile);
const vllmfile = read("Dockerfile.vllm-neuron");
const vllmArg = argOf(vllmfile);

describe("engine/Dockerfile (neuronx)", () => {
  it("starts from pinned images, never latest", () => {
    assert.match(
      arg("NEURON_BASE") ?? "",
      /^public\.ecr\.aws\/neuron\/pytorch-inference-neuronx:[\w.-]+-sdk\d+\.\d+\.\d+-ubuntu[\d.]+$/,
    );
    assert.equal(arg("NEURON_BASE"), backendStacks.neuronx.baseImage);
    assert.match(arg("NODE_IMAGE") ?? "", /:22\.\d+\.\d+-/);
    assert.ok(!/latest/i.test(dockerfile.replace(/^#.*$/gm, "")), "no latest tag anywhere");
  });

  it("installs the harness at the pinned revision without replacing torch, and optimum-neuron pinned", () => {
    assert.equal(arg("HARNESS_REVISION"), DEFAULT_HARNESS_REVISION);
    assert.equal(arg("HARNESS_REVISION"), backendStacks.neuronx.harness.revision);
    assert.match(
      dockerfile,
      /pip install --no-cache-dir --no-deps "lm_eval @ git\+https:\/\/github\.com\/EleutherAI\/lm-evaluation-harness@\$\{HARNESS_REVISION\}"/,
    );
    assert.equal(arg("OPTIMUM_NEURON_VERSION"), backendStacks.neuronx.optimumNeuron);
    assert.match(dockerfile, /--no-deps "optimum-neuron==\$\{OPTIMUM_NEURON_VERSION\}"/);
    assert.ok(
      !/pip install[^\n]*\btorch\b(?!-)/.test(dockerfile.replace(/\\\n/g, " ")),
      "torch itself is never reinstalled",
    );
  });

  it("runs the bundled runner as its entrypoint", () => {
    assert.match(dockerfile, /^ENTRYPOINT \["node", "\/opt\/spoteval\/engine\.mjs"\]$/m);
    assert.match(dockerfile, /esbuild engine\/main\.ts --bundle/);
  });
});

describe("engine/Dockerfile.vllm-neuron", () => {
  it("starts from the pinned Neuron vLLM container (vLLM 0.16, SDK 2.31, inf2), never latest", () => {
    assert.equal(vllmArg("NEURON_BASE"), backendStacks["vllm-neuron"].baseImage);
    assert.equal(
      vllmArg("NEURON_BASE"),
      "public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.16.0-neuronx-py312-sdk2.31.1-ubuntu24.04",
    );
    assert.equal(vllmArg("NODE_IMAGE"), arg("NODE_IMAGE"), "the same Node.js as the neuronx image");
    assert.ok(!/latest/i.test(vllmfile.replace(/^#.*$/gm, "")), "no latest tag anywhere");
    assert.match(vllmfile, /UNBUILT/);
  });

  it("puts lm_eval[api], pinned, with a pinned CPU torch, in its own virtualenv, and runs that harness", () => {
    const stack = backendStacks["vllm-neuron"];
    assert.equal(vllmArg("LM_EVAL_VERSION"), stack.harness.version);
    assert.match(vllmArg("TORCH_CPU_VERSION") ?? "", /^\d+\.\d+\.\d+$/);
    const oneLine = vllmfile.replace(/\\\n/g, " ");
    assert.match(oneLine, /python3 -m venv \/opt\/lm-eval /);
    assert.match(
      oneLine,
      /\/opt\/lm-eval\/bin\/pip install [^&]*--index-url https:\/\/download\.pytorch\.org\/whl\/cpu "torch==\$\{TORCH_CPU_VERSION\}"/,
    );
    assert.match(
      oneLine,
      /\/opt\/lm-eval\/bin\/pip install --no-cache-dir "lm_eval\[api\]==\$\{LM_EVAL_VERSION\}"/,
    );
    assert.ok(
      !/(^|\s)pip install/.test(oneLine.replace(/\/opt\/lm-eval\/bin\/pip install/g, "")),
      "nothing into the image's own Python",
    );
    assert.match(
      vllmfile,
      new RegExp(
        `LM_EVAL_COMMAND='${JSON.stringify(stack.harnessCommand).replaceAll("/", "\\/").replaceAll("[", "\\[").replaceAll("]", "\\]")}'`,
      ),
    );
    assert.match(vllmfile, new RegExp(`NEURON_COMPILED_ARTIFACTS=${ON_INSTANCE.compiledArtifacts}`));
    // Another harness revision is installed at boot with the virtualenv's own pip (engine/harness-install.ts).
    assert.deepEqual(stack.harnessPip, ["/opt/lm-eval/bin/pip"]);
    assert.match(oneLine, /python3 -m venv \/opt\/lm-eval /);
    assert.match(vllmfile, /^ENTRYPOINT \["node", "\/opt\/spoteval\/engine\.mjs"\]$/m);
  });
});
