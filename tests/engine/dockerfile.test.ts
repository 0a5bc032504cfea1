// The engine image cannot be built here (no Docker engine): check what can be checked statically.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { DEFAULT_HARNESS_REVISION } from "../../core/schemas.ts";
import { projectRoot } from "../../local/stack.ts";

const dockerfile = readFileSync(`${projectRoot}/engine/Dockerfile`, "utf8");
const arg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, "m").exec(dockerfile)?.[1];

describe("engine/Dockerfile", () => {
  it("starts from pinned images, never latest", () => {
    assert.match(
      arg("NEURON_BASE") ?? "",
      /^public\.ecr\.aws\/neuron\/pytorch-inference-neuronx:[\w.-]+-sdk\d+\.\d+\.\d+-ubuntu[\d.]+$/,
    );
    assert.match(arg("NODE_IMAGE") ?? "", /:22\.\d+\.\d+-/);
    assert.ok(!/latest/i.test(dockerfile.replace(/^#.*$/gm, "")), "no latest tag anywhere");
  });

  it("installs the harness at the pinned revision without replacing torch, and optimum-neuron pinned", () => {
    assert.equal(arg("HARNESS_REVISION"), DEFAULT_HARNESS_REVISION);
    assert.match(
      dockerfile,
      /pip install --no-cache-dir --no-deps "lm_eval @ git\+https:\/\/github\.com\/EleutherAI\/lm-evaluation-harness@\$\{HARNESS_REVISION\}"/,
    );
    assert.match(arg("OPTIMUM_NEURON_VERSION") ?? "", /^\d+\.\d+\.\d+$/);
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
