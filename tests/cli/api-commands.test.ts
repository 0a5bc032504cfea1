// The spoteval CLI against the local stack: what a script relies on (output and exit codes).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { projectRoot } from "../../local/stack.ts";
import { testStack } from "../support/stack.ts";

const stack = await testStack({ simulatedSeconds: 1 });
const dir = await mkdtemp(join(tmpdir(), "spoteval-cli-"));
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await stack.stop();
});

const cli = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, [`${projectRoot}/bin/spoteval.js`, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      SPOTEVAL_URL: stack.urls.API,
      SPOTEVAL_API_KEY: stack.apiKey,
      ...env,
    },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe("spoteval CLI", () => {
  it("submits, watches to the end, prints the table, and exits 0", async () => {
    const out = await cli([
      "submit",
      "--model",
      "org/cli",
      "--tasks",
      "gsm8k",
      "--num-fewshot",
      "5",
      "--limit",
      "10",
      "--watch",
      "--interval",
      "200",
    ]);
    assert.equal(out.code, 0, out.stderr);
    const [runId] = out.stdout.split("\n");
    assert.match(runId, /^[0-9a-z]{26}$/);
    assert.match(out.stdout, /SUCCEEDED/);
    assert.match(out.stdout, /\|gsm8k\| {6}3\|flexible-extract\| {5}5\|exact_match\|/);

    const csv = await cli(["results", runId, "--format", "csv"]);
    assert.match(csv.stdout, /^task,is_group,/);
    const cancel = await cli(["cancel", runId]);
    assert.equal(cancel.code, 3, "a finished run cannot be cancelled: request rejected");
    assert.match(cancel.stderr, /HTTP 409/);
  });

  it("exits 2 on bad usage and 4 when the API cannot be reached", async () => {
    assert.equal((await cli(["status", "nope"])).code, 2);
    assert.equal((await cli(["submit"])).code, 2);
    assert.equal((await cli([])).code, 2);
    const down = await cli(["status", "0000000000aaaaaaaaaaaaaaaa"], { SPOTEVAL_URL: "http://127.0.0.1:9" });
    assert.equal(down.code, 4);
    assert.match(down.stderr, /cannot reach/);
  });

  it("delivers a registry event to the local stack", async () => {
    const file = join(dir, "event.json");
    await writeFile(
      file,
      JSON.stringify({
        id: "cli-evt-1",
        source: "acme.registry",
        "detail-type": "ModelRegistered",
        detail: { model: { id: "org/cli-event" }, tasks: ["gsm8k"], limit: 5 },
      }),
    );
    const out = await cli(["local", "emit-registry-event", file]);
    assert.equal(out.code, 0, out.stderr);
    const body = JSON.parse(out.stdout) as { target: string; result: { runId: string; created: boolean } };
    assert.equal(body.target, "onRegistryEvent");
    assert.equal(body.result.created, true);
  });
});
