// `npx spoteval parse-results FILE`: the harness's own tables, or one row per metric as JSON or CSV.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { projectRoot } from "../../local/stack.ts";

const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [`${projectRoot}/bin/spoteval.js`, ...args], {
    cwd: projectRoot,
  }).catch((error: { code: number; stdout: string; stderr: string }) => error);
const fixture = (name: string) => `tests/fixtures/lm-eval/${name}`;

describe("spoteval parse-results", () => {
  it("prints the tables the harness printed, results then groups", async () => {
    const out = await run("parse-results", fixture("group-regression-expected.json"));
    const { tables } = JSON.parse(
      readFileSync(`${projectRoot}/${fixture("group-regression-expected.json")}`, "utf8"),
    );
    assert.equal(out.stdout, `${tables.results}\n\n${tables.groups}\n`);
  });

  it("prints one JSON row per task, metric and filter, groups marked", async () => {
    const out = await run("parse-results", fixture("llama3-8b-mmlu.json"), "--format", "json");
    const rows = JSON.parse(out.stdout) as { task: string; isGroup: boolean }[];
    assert.equal(rows.length, 62);
    assert.equal(rows.filter((r) => r.isGroup).length, 5);
  });

  it("prints CSV with N/A stderr, higher_is_better and n-samples", async () => {
    const out = await run("parse-results", fixture("cpu-regression-expected.json"), "--format", "csv");
    const lines = out.stdout.trim().split("\n");
    assert.equal(
      lines[0],
      "task,is_group,version,filter,n_shot,metric,value,stderr,higher_is_better,n_samples_original,n_samples_effective",
    );
    assert.ok(lines.includes("lambada_openai,false,1,none,0,perplexity,605.5452047779999,N/A,false,5153,10"));
  });

  it("exits 2 on bad usage and 1 on a file that is not a results file", async () => {
    assert.equal(((await run("parse-results")) as { code: number }).code, 2);
    assert.equal(((await run("parse-results", "x.json", "--format", "xml")) as { code: number }).code, 2);
    const bad = (await run("parse-results", "package.json")) as { code: number; stderr: string };
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not an lm-eval results file/);
  });
});
