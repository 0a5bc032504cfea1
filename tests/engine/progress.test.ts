// Reading the harness's output into progress, and the instance's NeuronCores into a TP degree.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { classifyFailure } from "../../engine/backends/harness.ts";
import { detectNeuronCores, tensorParallelDegree } from "../../engine/neuron.ts";
import { lineSplitter, readProgress } from "../../engine/progress.ts";
import { projectRoot } from "../../local/stack.ts";

const boot = { phase: "boot" as const, done: 0, total: 0 };

describe("harness progress", () => {
  it("reads tqdm bars in s/it and it/s, with ETA", () => {
    assert.deepEqual(
      readProgress(
        "Running generate_until requests:  45%|████▌     | 594/1319 [12:06<14:45,  1.22s/it]",
        boot,
        "gsm8k",
      ),
      {
        phase: "evaluate",
        task: "gsm8k",
        done: 594,
        total: 1319,
        ratePerSecond: 0.82,
        etaSeconds: 885,
      },
    );
    const done = readProgress(
      "Running generate_until requests: 100%|██████████| 1319/1319 [32:52<00:00,  1.50s/it]",
      boot,
    );
    assert.deepEqual([done.done, done.total, done.etaSeconds], [1319, 1319, 0]);
    const fast = readProgress(
      "Running loglikelihood requests:  10%|█         | 4000/40168 [00:30<04:31, 133.21it/s]",
      boot,
    );
    assert.equal(fast.ratePerSecond, 133.21);
    assert.equal(readProgress("  0%|          | 0/1319 [00:00<?, ?it/s]", boot).etaSeconds, undefined);
  });

  it("names the phases before evaluation from the harness's logs", () => {
    assert.equal(readProgress("Fetching 3 files: 100%|██████████| 3/3", boot).phase, "download");
    assert.equal(readProgress("INFO Compiling the model for Neuron (neuronx-cc)", boot).phase, "compile");
    assert.equal(readProgress("INFO Loading the model onto the NeuronCores", boot).phase, "load");
    const evaluating = { phase: "evaluate" as const, done: 5, total: 10 };
    assert.equal(
      readProgress("INFO Loading something else", evaluating),
      evaluating,
      "never moves back from evaluate",
    );
  });

  it("splits tqdm's carriage-return redraws into lines", () => {
    const lines: string[] = [];
    const split = lineSplitter((l) => lines.push(l));
    split.push("a 1/3\ra 2/");
    split.push("3\ra 3/3\nnext line\n");
    split.end();
    assert.deepEqual(lines, ["a 1/3", "a 2/3", "a 3/3", "next line"]);
  });

  it("gives a one-line reason a user can act on", () => {
    assert.match(
      classifyFailure(["x", "RuntimeError: RESOURCE_EXHAUSTED: Failed to allocate"], 1),
      /out of device memory/,
    );
    assert.match(
      classifyFailure(["OSError: foo/bar is not a local folder and is not a valid model identifier"], 1),
      /model not found/,
    );
    assert.match(
      classifyFailure(["Traceback", "ValueError: something odd"], 1),
      /^harness error \(exit 1\): ValueError: something odd$/,
    );
  });
});

describe("NeuronCores", () => {
  it("asks neuron-ls first", async () => {
    process.env.FAKE_NEURON_DEVICES = "12";
    const found = await detectNeuronCores({
      neuronLs: join(projectRoot, "tests/fixtures/fake-harness/neuron-ls.mjs"),
    });
    delete process.env.FAKE_NEURON_DEVICES;
    assert.deepEqual(found, { cores: 24, source: "neuron-ls" });
    assert.equal(tensorParallelDegree(found.cores), 24);
  });

  it("counts /dev/neuron* when neuron-ls is missing", async () => {
    const dev = await mkdtemp(join(tmpdir(), "dev-"));
    for (let i = 0; i < 6; i++) await writeFile(join(dev, `neuron${i}`), "");
    await mkdir(join(dev, "neuron-other"));
    const found = await detectNeuronCores({ neuronLs: "/nonexistent/neuron-ls", devDir: dev });
    await rm(dev, { recursive: true });
    assert.deepEqual(found, { cores: 12, source: "/dev/neuron*" });
    assert.equal(tensorParallelDegree(12), 12);
    assert.equal(tensorParallelDegree(4), 2);
  });
});
