// The README's first command: `npm start -- --once` runs the sample evaluation on the local stack,
// prints every service URL and the API key, a progress line, the harness table, and exits 0.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { projectRoot } from "../../local/stack.ts";

describe("npm start -- --once", () => {
  it("runs the sample to the end on the embedded stack and prints what a user needs", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const { stdout } = await promisify(execFile)(process.execPath, ["local/main.ts", "--once"], {
      cwd: projectRoot,
      env: {
        ...process.env,
        SPOTEVAL_PORT: String(port),
        SPOTEVAL_API_KEY: "se_test_key",
        SIMULATED_SECONDS: "2",
      },
      timeout: 120_000,
    });
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
