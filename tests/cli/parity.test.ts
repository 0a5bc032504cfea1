// `npx spoteval parity`: the write-up's own comparison, offline (tests/fixtures/parity/SOURCE.md).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { projectRoot } from "../../local/stack.ts";

const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [`${projectRoot}/bin/spoteval.js`, ...args], {
    cwd: projectRoot,
  }).catch((error: { code: number; stdout: string; stderr: string }) => error);
const neuron = "tests/fixtures/parity/writeup-neuron-mistral-gsm8k.json";
const a100 = "tests/fixtures/parity/issue1343-a100-mistral-gsm8k.json";

describe("spoteval parity", () => {
  it("prints one JSON row per metric in the issue's shape: the write-up's pair is consistent", async () => {
    const out = await run("parity", neuron, "--reference", a100, "--format", "json");
    assert.equal((out as { code?: number }).code ?? 0, 0);
    const [row, ...rest] = JSON.parse(out.stdout);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      [row.task, row.metric, row.filter, row.nShot, row.value, row.stderr, row.test, row.verdict],
      ["gsm8k", "exact_match", "get-answer", 5, 0.3806, 0.0134, "z", "consistent"],
    );
    assert.deepEqual(row.reference, { value: 0.3859, stderr: 0.0134, source: a100 });
    assert.equal(Number(row.delta.toFixed(4)), -0.0053);
    assert.equal(Number(row.z.toFixed(4)), 0.2797);
  });

  it("compares with the shipped published scores when no reference is given", async () => {
    const out = await run("parity", neuron, "--format", "json");
    const [row] = JSON.parse(out.stdout);
    assert.equal(row.verdict, "consistent");
    assert.match(row.reference.source, /issue #1343/);
  });

  it("prints a markdown table with reference and verdict columns; a tighter threshold exits 1", async () => {
    const out = await run("parity", neuron, "--reference", a100, "--z", "0.1");
    assert.equal((out as { code?: number }).code, 1);
    assert.match(out.stdout, /^Parity: \*\*drift\*\*/);
    assert.match(
      out.stdout,
      /\|Tasks\|Metric\|Filter\|n-shot\|Value\|Stderr\|Reference\|Ref stderr\|Δ\|z\|Test\|Verdict\|/,
    );
    assert.match(
      out.stdout,
      /\|gsm8k\|exact_match\|get-answer\|5\|0\.3806\|0\.0134\|0\.3859 \[1\]\|0\.0134\|-0\.0053\|0\.28\|z\|drift\|/,
    );
  });

  it("says why it cannot read its input, exit 2", async () => {
    const out = await run("parity", "nope.json");
    assert.equal((out as { code?: number }).code, 2);
    assert.match(out.stderr, /nope\.json/);
  });
});
