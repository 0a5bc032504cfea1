// `npx spoteval merge-results --tasks LIST FILE...`: shard files on disk (with their samples files when
// the release writes no n-samples) -> the harness's file for the whole request, offline.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { harnessTables, parseResults, type ResultsFile } from "../../core/results.ts";
import { projectRoot } from "../../local/stack.ts";
import { deal, leafTasks, splitIntoShards } from "../support/shards.ts";

const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [`${projectRoot}/bin/spoteval.js`, ...args], {
    cwd: projectRoot,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, ...r }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
const fixture = async (name: string) =>
  parseResults(await readFile(join(projectRoot, "tests/fixtures/lm-eval", name), "utf8"));

// A real lm-eval 0.4.2 mmlu run (no n-samples): its shards are weighed by their samples files. The
// documents per subject are mmlu's test split sizes, as another real run recorded them in n-samples.
let original: ResultsFile;
let dir: string;
let shardPaths: string[];

before(async () => {
  original = await fixture("llama3-8b-mmlu.json");
  const sizes = (await fixture("powerbot-8b-mmlu.json"))["n-samples"] ?? {};
  dir = await mkdtemp(join(tmpdir(), "spoteval-merge-"));
  const shards = splitIntoShards(original, deal(leafTasks(original), 3));
  shardPaths = [];
  for (const [i, shard] of shards.entries()) {
    const shardDir = join(dir, `shard-${i}`);
    await mkdir(shardDir);
    for (const task of Object.keys(shard.results)) {
      const docs = Array.from({ length: sizes[task].effective }, (_, doc_id) => ({ doc_id, target: 0 }));
      // Shard 0 as 0.4.1 names and writes them (one JSON array), the others as 0.4.3+ (JSON Lines).
      if (i === 0)
        await writeFile(
          join(shardDir, `pretrained__meta-llama__Meta-Llama-3-8B_${task}.jsonl`),
          JSON.stringify(docs),
        );
      else
        await writeFile(
          join(shardDir, `samples_${task}_2024-04-20T10-00-00.jsonl`),
          docs.map((d) => JSON.stringify(d)).join("\n"),
        );
    }
    const path = join(shardDir, "results.json");
    await writeFile(path, JSON.stringify(shard, null, 2));
    shardPaths.push(path);
  }
});
after(() => rm(dir, { recursive: true, force: true }));

describe("spoteval merge-results", () => {
  it("prints the merged results file as JSON, every group as the harness computed it (1e-9)", async () => {
    const out = await run("merge-results", "--tasks", "mmlu", ...shardPaths);
    assert.equal(out.code, 0, out.stderr);
    const merged = JSON.parse(out.stdout) as ResultsFile;
    const groups = original.groups ?? {};
    assert.deepEqual(Object.keys(merged.groups ?? {}), Object.keys(groups));
    for (const [group, entry] of Object.entries(groups))
      for (const key of ["acc,none", "acc_stderr,none"])
        assert.ok(
          Math.abs((merged.groups?.[group][key] as number) - (entry[key] as number)) <= 1e-9,
          `${group} ${key}`,
        );
    assert.deepEqual(Object.keys(merged.results), Object.keys(original.results));
    assert.deepEqual(merged.group_subtasks, original.group_subtasks);
  });

  it("prints the same tables lm_eval printed for the unsharded run", async () => {
    const out = await run("merge-results", "--tasks", "mmlu", "--format", "markdown", ...shardPaths);
    const tables = harnessTables(original);
    assert.equal(out.stdout, `${tables.results}\n\n${tables.groups}\n`);
  });

  it("prints one CSV row per task or group, metric and filter", async () => {
    const out = await run("merge-results", "--tasks", "mmlu", "--format", "csv", ...shardPaths);
    const lines = out.stdout.trim().split("\n");
    assert.equal(lines.length, 1 + 62);
    assert.ok(lines.some((l) => l.startsWith("mmlu,true,")));
  });

  it("exits 1 saying which tasks no shard has, and 2 on a usage error", async () => {
    const missing = await run("merge-results", "--tasks", "mmlu", ...shardPaths.slice(1));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no shard has results for mmlu_/);
    const usage = await run("merge-results", ...shardPaths);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--tasks LIST FILE/);
  });
});
