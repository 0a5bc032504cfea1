// The README's first command: `npm start -- --once` runs the sample evaluation on the local stack,
// prints every service URL and the API key, a progress line, the harness table, and exits 0.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { projectRoot } from "../../local/stack.ts";
import { fakeTools, withPath } from "../support/npm-start.ts";

describe("npm start -- --once", () => {
  it("runs the sample to the end on the embedded stack and prints what a user needs", async (t) => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const dataDir = await mkdtemp(join(tmpdir(), "spoteval-npm-start-"));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["local/main.ts", "--once", "--data", dataDir],
      {
        cwd: projectRoot,
        env: {
          ...process.env,
          SPOTEVAL_PORT: String(port),
          SPOTEVAL_API_KEY: "se_test_key",
          SIMULATED_SECONDS: "2",
        },
        timeout: 120_000,
      },
    );
    const lines = stdout.split("\n");
    assert.ok(lines.includes(`API: http://127.0.0.1:${port}`));
    assert.equal(
      lines[lines.indexOf(`API: http://127.0.0.1:${port}`) + 1],
      `Dashboard: http://127.0.0.1:${port}/#key=se_test_key`,
      "the dashboard's sign-in link, beside the API",
    );
    assert.ok(lines.includes(`DynamoDB: http://127.0.0.1:${port + 1}`));
    assert.ok(lines.includes(`S3: http://127.0.0.1:${port + 2}`));
    assert.ok(lines.includes(`StepFunctions: http://127.0.0.1:${port + 3}`));
    assert.ok(lines.includes("API key: se_test_key"));
    assert.ok(
      lines.some((l) => l.startsWith(`Data: ${dataDir} `)),
      "says where its data is kept",
    );
    assert.ok(
      lines.some((l) => /^RUNNING .*evaluate gsm8k \d+\/1319/.test(l)),
      "progress while evaluating",
    );
    assert.ok(
      lines.some((l) => l.startsWith("SIMULATED:")),
      "says the numbers are simulated",
    );
    const header = lines.findIndex((l) => l.startsWith("|Tasks|Version|"));
    assert.ok(header > 0, "prints the lm_eval table");
    assert.match(lines[header + 2], /^\|gsm8k\| {6}3\|flexible-extract\| {5}5\|exact_match\|↑ {2}\|/);
    assert.match(lines[header + 3], /^\| {5}\| {7}\|strict-match {4}\| {5}5\|exact_match\|↑ {2}\|/);
    assert.ok(lines.some((l) => /^Run: [0-9a-z]{26}$/.test(l)));
    assert.ok(lines.includes("Status: SUCCEEDED (evaluation finished and metrics recorded)"));
    assert.ok(
      lines.some((l) =>
        /^Raw results: s3:\/\/spoteval-local-artifacts\/runs\/[0-9a-z]{26}\/attempt-1\/results_/.test(l),
      ),
    );
  });
});

describe("npm start refuses what it cannot do, with exit status 2, before starting anything", () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["local/main.ts", ...args],
        { cwd: projectRoot, env: { ...process.env, SPOTEVAL_PORT: "0", ...env }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });

  it("a backend whose tools are missing: says which and how to install them", async (t) => {
    const bin = await fakeTools(["nvidia-smi"]);
    t.after(() => rm(bin, { recursive: true, force: true }));
    const hf = await run(["--engine", "hf", "--once"], { PATH: bin });
    assert.equal(hf.code, 2);
    assert.match(
      hf.stderr,
      /--engine hf needs tools this machine does not have on PATH:\n {2}lm_eval: pip install "lm_eval\[hf\] @ git\+https:\/\/github.com\/EleutherAI\/lm-evaluation-harness@756eeb6/,
    );
    assert.equal(hf.stdout, "", "nothing started");
    const vllm = await run(["--engine", "vllm-neuron", "--once"], { PATH: bin });
    assert.equal(vllm.code, 2);
    for (const tool of ["vllm", "neuron-ls", "lm_eval"])
      assert.match(vllm.stderr, new RegExp(`^ {2}${tool}: `, "m"));
    const unknown = await run(["--engine", "tpu"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--engine must be one of simulated, hf, neuronx, vllm-neuron/);
  });

  it("neuronx on a machine whose neuron-ls reports no NeuronCores", async (t) => {
    const bin = await fakeTools(["lm_eval", "neuron-ls"]);
    t.after(() => rm(bin, { recursive: true, force: true }));
    const none = await run(["--engine", "neuronx", "--once"], {
      PATH: withPath(bin),
      FAKE_NEURON_DEVICES: "0",
    });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /neuron-ls reports none/);
  });

  it("a data folder from another layout, and --reset where no one can confirm it", async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), "spoteval-npm-start-"));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    await writeFile(join(dataDir, "spoteval-data.json"), JSON.stringify({ layout: 0 }));
    const older = await run(["--once", "--data", dataDir]);
    assert.equal(older.code, 2);
    assert.match(older.stderr, /holds spoteval data in layout 0, from another spoteval version/);
    const unconfirmed = await run(["--reset", "--once", "--data", dataDir]);
    assert.equal(unconfirmed.code, 2);
    assert.match(
      unconfirmed.stderr,
      /--reset deletes every run, metric and results file in .*: confirm with --yes/,
    );
    assert.deepEqual(await readdir(dataDir), ["spoteval-data.json"], "nothing deleted");

    const reset = await run(["--reset", "--yes", "--no-sample", "--once", "--data", dataDir]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.ok(reset.stdout.split("\n").includes(`Emptied ${dataDir}`));
    assert.equal(JSON.parse(await readFile(join(dataDir, "spoteval-data.json"), "utf8")).layout, 1);
  });
});
