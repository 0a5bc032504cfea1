// Merging shard results into the file lm_eval writes on one machine, checked against real harness output
// (tests/fixtures/lm-eval/SOURCE.md): split a real mmlu run into one-subject shards, merge, compare.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ResultsInvalid } from "../../core/errors.ts";
import { detectLayout } from "../../core/harness-layout.ts";
import { mergeShards, pooledStderr, type Shard } from "../../core/merge.ts";
import { harnessTables, parseResults, type ResultsFile } from "../../core/results.ts";
import { definitionSet, leaves, taskTree } from "../../core/task-groups.ts";
import { deal, leafTasks, splitIntoShards } from "../support/shards.ts";

type Dict = Record<string, unknown>;
const fixture = (name: string) =>
  parseResults(readFileSync(new URL(`../fixtures/lm-eval/${name}`, import.meta.url), "utf8"));
const real = ["powerbot-8b-mmlu.json", "proteus-8b-mmlu.json"];
const shardsOf = (files: ResultsFile[]): Shard[] => files.map((file) => ({ file }));
const entries = (o: unknown) => o as Record<string, Dict>;

function assertGroupsMatch(merged: ResultsFile, original: ResultsFile) {
  const groups = Object.keys(original.groups ?? {});
  assert.deepEqual(Object.keys(merged.groups ?? {}), groups);
  for (const group of groups) {
    const want = entries(original.groups)[group];
    const got = entries(merged.groups)[group];
    for (const key of Object.keys(want).filter((k) => k.includes(","))) {
      assert.equal(typeof got[key], "number", `${group} ${key}`);
      const diff = Math.abs((got[key] as number) - (want[key] as number));
      assert.ok(diff <= 1e-9, `${group} ${key}: ${got[key]} vs the harness's ${want[key]} (off by ${diff})`);
    }
    // The results table carries the same group row.
    assert.deepEqual(entries(merged.results)[group], got);
  }
}

describe("merging shards of a real mmlu run (lm-eval late 0.4.2, 57 subjects, 14,042 documents)", () => {
  for (const name of real) {
    const original = fixture(name);
    const tasks = leafTasks(original);

    it(`${name}: 57 one-subject shards give back every group's value and stderr to 1e-9`, () => {
      assert.equal(tasks.length, 57);
      const merged = mergeShards(
        ["mmlu"],
        shardsOf(
          splitIntoShards(
            original,
            tasks.map((t) => [t]),
          ),
        ),
      );
      assertGroupsMatch(merged, original);
    });

    it(`${name}: 4 shards give back the harness's file key for key, task numbers unchanged`, () => {
      const merged = mergeShards(["mmlu"], shardsOf(splitIntoShards(original, deal(tasks, 4)))) as Dict;
      assertGroupsMatch(merged as ResultsFile, original);
      const source = original as Dict;
      // Same rows, in the same order, with the same (indented) aliases and keys.
      assert.deepEqual(Object.keys(entries(merged.results)), Object.keys(original.results));
      for (const [task, entry] of Object.entries(original.results)) {
        const got = entries(merged.results)[task];
        assert.deepEqual(Object.keys(got), Object.keys(entry), task);
        assert.equal(got.alias, entry.alias, task);
        if (tasks.includes(task)) assert.deepEqual(got, entry, `${task}'s numbers are copied unchanged`);
      }
      for (const key of ["group_subtasks", "versions", "n-shot", "n-samples"])
        assert.deepEqual(merged[key], source[key], key);
      assert.deepEqual(merged.configs, source.configs ?? {});
      // And it prints as the harness's own file does.
      assert.deepEqual(harnessTables(parseResults(JSON.stringify(merged))), harnessTables(original));
    });
  }

  it("names every shard in config, and detects the release each shard came from", () => {
    const original = fixture("powerbot-8b-mmlu.json");
    const files = splitIntoShards(original, deal(leafTasks(original), 3));
    const merged = mergeShards(
      ["mmlu"],
      files.map((file, i) => ({
        file,
        origin: { name: `shard-${i}`, backend: "neuronx", image: "img@sha256:ab" },
      })),
    );
    const shards = (merged.config as { shards: Dict[] }).shards;
    assert.equal(shards.length, 3);
    assert.deepEqual(
      shards.map((s) => [s.name, s.harness, s.backend, s.image, s.layout]),
      [0, 1, 2].map((i) => [
        `shard-${i}`,
        "d32ce5cf",
        "neuronx",
        "img@sha256:ab",
        "0.4.2 (a late commit, with n-samples)",
      ]),
    );
    assert.equal(shards.flatMap((s) => s.tasks as string[]).length, 57);
    assert.equal((merged.config as Dict).model_args, (original.config as Dict).model_args);
  });
});

// Rewrite real late-0.4.2 shards the way later releases write the same numbers, to check the later rules.
function asRelease(file: ResultsFile, era: "configurable" | "group"): ResultsFile {
  const f = structuredClone(file) as Dict;
  const tasks = Object.keys(file.results);
  f.higher_is_better = Object.fromEntries(tasks.map((t) => [t, { acc: true }]));
  f.configs = Object.fromEntries(tasks.map((t) => [t, { task: t, tag: "mmlu_tasks", num_fewshot: 5 }]));
  f.group_subtasks = Object.fromEntries(tasks.map((t) => [t, []]));
  if (era === "group") {
    f.lm_eval_version = "0.4.12";
    f.results = Object.fromEntries(
      tasks.map((t) => [
        t,
        {
          name: t,
          alias: file.results[t].alias,
          sample_len: file["n-samples"]?.[t].effective,
          ...file.results[t],
        },
      ]),
    );
  }
  return f as ResultsFile;
}

describe("groups by the rules of 0.4.4 and later (pooled over all leaves)", () => {
  const original = fixture("powerbot-8b-mmlu.json");
  const tasks = leafTasks(original);
  const shards = (era: "configurable" | "group") =>
    shardsOf(splitIntoShards(original, deal(tasks, 5)).map((f) => asRelease(f, era)));
  const sizes = tasks.map((t) => original["n-samples"]?.[t].effective as number);
  const stderrs = tasks.map((t) => original.results[t]["acc_stderr,none"] as number);

  it("0.4.4-0.4.11: pools mmlu over its 57 subjects, not its four categories", () => {
    const merged = mergeShards(["mmlu"], shards("configurable")) as Dict;
    const groups = entries(merged.groups);
    // Categories hold subjects only, so both rules agree there; the late-0.4.2 file pooled mmlu
    // over the categories, which is ~6e-8 off the 57-subject pool.
    for (const category of ["mmlu_humanities", "mmlu_other", "mmlu_social_sciences", "mmlu_stem"])
      assert.ok(
        Math.abs(
          (groups[category]["acc_stderr,none"] as number) -
            (entries(original.groups)[category]["acc_stderr,none"] as number),
        ) < 1e-15,
      );
    assert.ok(
      Math.abs((groups.mmlu["acc,none"] as number) - (entries(original.groups).mmlu["acc,none"] as number)) <
        1e-15,
    );
    const overLeaves = pooledStderr(stderrs, sizes);
    assert.ok(Math.abs((groups.mmlu["acc_stderr,none"] as number) - overLeaves) < 1e-18);
    assert.ok(Math.abs(overLeaves - (entries(original.groups).mmlu["acc_stderr,none"] as number)) > 1e-8);
  });

  it("0.4.4-0.4.11: writes ConfigurableGroup's layout (aliases, versions, group_subtasks, shared higher_is_better)", () => {
    const merged = mergeShards(["mmlu"], shards("configurable")) as Dict;
    assert.equal(detectLayout(merged as ResultsFile).era, "configurable");
    const results = entries(merged.results);
    assert.deepEqual(Object.keys(results).slice(0, 3), ["mmlu", "mmlu_humanities", "mmlu_formal_logic"]);
    assert.deepEqual(
      ["mmlu", "mmlu_social_sciences", "mmlu_formal_logic"].map((t) => results[t].alias),
      ["mmlu", " - social sciences", "  - formal_logic"],
    );
    assert.deepEqual(Object.keys(results.mmlu), ["acc,none", "acc_stderr,none", "alias"]);
    assert.deepEqual(Object.keys(merged.group_subtasks as Dict), [
      "mmlu_humanities",
      "mmlu_social_sciences",
      "mmlu_other",
      "mmlu_stem",
      "mmlu",
    ]);
    assert.deepEqual((merged.group_subtasks as Record<string, string[]>).mmlu, [
      "mmlu_stem",
      "mmlu_other",
      "mmlu_social_sciences",
      "mmlu_humanities",
    ]);
    const versions = merged.versions as Dict;
    assert.equal(versions.mmlu, 2);
    assert.equal(versions.mmlu_abstract_algebra, 0); // each task keeps its own version
    assert.equal((merged["n-shot"] as Dict).mmlu, undefined);
    assert.deepEqual((merged.higher_is_better as Dict).mmlu, { acc: true });
    assert.equal(Object.keys(merged["n-samples"] as Dict)[0], "mmlu_abstract_algebra");
  });

  it("0.4.12: writes Group's layout (plain aliases, name, sample_len, sample_count, groups children first)", () => {
    const merged = mergeShards(["mmlu"], shards("group")) as Dict;
    const results = entries(merged.results);
    const names = Object.keys(results);
    assert.deepEqual(names.slice(-5), [
      "mmlu_stem",
      "mmlu_other",
      "mmlu_social_sciences",
      "mmlu_humanities",
      "mmlu",
    ]);
    assert.deepEqual(results.mmlu_social_sciences.alias, "social sciences");
    assert.equal(results.mmlu_formal_logic.alias, "formal_logic");
    assert.equal(results.mmlu.sample_len, 14042);
    assert.deepEqual(results.mmlu.sample_count, { "acc,none": 14042 });
    assert.deepEqual(Object.keys(merged.group_subtasks as Dict), [
      "mmlu",
      "mmlu_stem",
      "mmlu_other",
      "mmlu_social_sciences",
      "mmlu_humanities",
    ]);
    assert.equal((merged.versions as Dict).mmlu, "2");
    // Groups are visited parents first: mmlu's children (groups) have no n-shot yet, so mmlu gets none.
    assert.equal((merged["n-shot"] as Dict).mmlu, undefined);
    assert.equal((merged["n-shot"] as Dict).mmlu_stem, 5);
    assert.ok(Math.abs((results.mmlu["acc_stderr,none"] as number) - pooledStderr(stderrs, sizes)) < 1e-18);
  });
});

describe("merging across releases, limits and missing pieces", () => {
  const original = fixture("powerbot-8b-mmlu.json");
  const tasks = leafTasks(original);

  it("weights by the documents each shard evaluated (n-samples effective), so limit is honoured", () => {
    const stem = definitionSet("legacy").groups.mmlu_stem.children;
    const [limited] = splitIntoShards(original, [stem]).map((f) => structuredClone(f));
    for (const t of stem)
      limited["n-samples"] = { ...limited["n-samples"], [t]: { original: 100, effective: 10 } };
    const merged = mergeShards(["mmlu_stem"], [{ file: limited }]);
    // Ten documents each: the group is the plain mean of its subjects, not the full-size weighting.
    const mean = stem.reduce((a, t) => a + (original.results[t]["acc,none"] as number), 0) / stem.length;
    assert.ok(Math.abs((entries(merged.groups).mmlu_stem["acc,none"] as number) - mean) < 1e-15);
    assert.notEqual(
      entries(merged.groups).mmlu_stem["acc,none"],
      entries(original.groups).mmlu_stem["acc,none"],
    );
    assert.equal(Object.keys(merged.results)[0], "mmlu_stem");
    assert.equal(Object.keys(merged.results).length, 20);
  });

  it("takes sizes from counted samples files for a release that writes no n-samples (0.4.1)", () => {
    const [file] = splitIntoShards(original, [tasks]);
    const old = structuredClone(file) as Dict;
    delete old["n-samples"];
    delete old.group_subtasks;
    assert.equal(detectLayout(old as ResultsFile).releases, "0.4.0 or 0.4.1 (e.g. 756eeb6)");
    assert.throws(() => mergeShards(["mmlu"], [{ file: old as ResultsFile }]), /no n-samples for mmlu_/);
    const documents = Object.fromEntries(
      tasks.map((t) => [t, original["n-samples"]?.[t].effective as number]),
    );
    const merged = mergeShards(["mmlu"], [{ file: old as ResultsFile, documents }]) as Dict;
    assertGroupsMatch(merged as ResultsFile, original);
    // 0.4.1's own layout: no group_subtasks, no n-samples, "N/A" versions for groups.
    assert.equal(merged.group_subtasks, undefined);
    assert.equal(merged["n-samples"], undefined);
    assert.equal((merged.versions as Dict).mmlu, "N/A");
  });

  it("merges a 756eeb6 (0.4.1) shard with a 0.4.8 shard into the 0.4.8 layout, each task keeping its version", () => {
    const [a, b] = splitIntoShards(original, deal(tasks, 2));
    const old = structuredClone(a) as Dict;
    delete old["n-samples"];
    delete old.group_subtasks;
    old.git_hash = "756eeb6";
    const documents = Object.fromEntries(
      Object.keys(a.results).map((t) => [t, original["n-samples"]?.[t].effective as number]),
    );
    const newer = asRelease(b, "configurable") as Dict;
    newer.versions = Object.fromEntries(Object.keys(b.results).map((t) => [t, 1]));
    newer.git_hash = "0.4.8";
    const merged = mergeShards(
      ["mmlu"],
      [
        { file: old as ResultsFile, documents, origin: { backend: "neuronx" } },
        { file: newer as ResultsFile, origin: { backend: "local-completions", image: "vllm-neuron:0.16" } },
      ],
    ) as Dict;
    assert.equal(detectLayout(merged as ResultsFile).era, "configurable");
    const versions = merged.versions as Dict;
    assert.equal(versions[Object.keys(a.results)[0]], 0);
    assert.equal(versions[Object.keys(b.results)[0]], 1);
    assert.deepEqual(
      (merged.config as { shards: Dict[] }).shards.map((s) => [s.harness, s.backend, s.image]),
      [
        ["756eeb6", "neuronx", null],
        ["0.4.8", "local-completions", "vllm-neuron:0.16"],
      ],
    );
    // The 0.4.1 shard ran without limit, so its n-samples are its documents.
    const first = Object.keys(a.results)[0];
    assert.deepEqual((merged["n-samples"] as Dict)[first], {
      original: documents[first],
      effective: documents[first],
    });
  });

  it('writes "N/A" for a group stderr when any leaf stderr is "N/A"', () => {
    const [file] = splitIntoShards(original, [tasks]);
    const f = structuredClone(file);
    f.results.mmlu_anatomy["acc_stderr,none"] = "N/A";
    const merged = mergeShards(["mmlu"], [{ file: f }]);
    const groups = entries(merged.groups);
    assert.equal(groups.mmlu_stem["acc_stderr,none"], "N/A");
    assert.equal(groups.mmlu["acc_stderr,none"], "N/A");
    assert.equal(typeof groups.mmlu_other["acc_stderr,none"], "number");
  });

  it("refuses a request some shard lacks, a task in two shards, or a task not requested", () => {
    const [a, b] = splitIntoShards(original, deal(tasks, 2));
    assert.throws(() => mergeShards(["mmlu"], [{ file: a }]), ResultsInvalid);
    assert.throws(() => mergeShards(["mmlu"], [{ file: a }, { file: b }, { file: a }]), /in two shards/);
    assert.throws(() => mergeShards(["mmlu_stem"], [{ file: a }, { file: b }]), /does not include/);
  });
});

describe("the group table shipped from the harness's task YAML", () => {
  it("has mmlu as four categories over 57 subjects in both eras, with each era's aliases", () => {
    for (const era of ["legacy", "current"] as const) {
      const [mmlu] = taskTree(["mmlu"], era);
      assert.equal(leaves(mmlu).length, 57);
      assert.equal(new Set(leaves(mmlu)).size, 57);
      assert.match(definitionSet(era).revision, /^[0-9a-f]{40}$/);
    }
    assert.equal(definitionSet("legacy").groups.mmlu_social_sciences.alias, "social_sciences");
    assert.equal(definitionSet("current").groups.mmlu_social_sciences.alias, "social sciences");
    assert.deepEqual(definitionSet("current").groups.mmlu.aggregate, [
      { metric: "acc", filters: null, weightBySize: true },
    ]);
  });
});
