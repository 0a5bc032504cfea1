// The results parser and table printer against real harness output (tests/fixtures/lm-eval/SOURCE.md).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ResultsInvalid } from "../../core/errors.ts";
import {
  harnessTables,
  markdownTable,
  metricRows,
  parseResults,
  tablesFromRows,
  uniqueRows,
} from "../../core/results.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/lm-eval/${name}`, import.meta.url), "utf8");

/** Compare two markdown tables cell by cell, numbers as numbers. */
function assertSameTable(actual: string, expected: string) {
  const cells = (t: string) => t.split("\n").map((line) => line.split("|"));
  const [a, e] = [cells(actual), cells(expected)];
  assert.equal(a.length, e.length, "row count");
  for (let r = 0; r < e.length; r++) {
    assert.equal(a[r].length, e[r].length, `columns in row ${r}`);
    for (let c = 0; c < e[r].length; c++) {
      const [x, y] = [a[r][c], e[r][c]];
      if (x.trim() !== "" && !Number.isNaN(Number(x)) && !Number.isNaN(Number(y)))
        assert.equal(Number(x), Number(y));
      else assert.equal(x, y, `row ${r} column ${c}`);
    }
  }
  // And to the letter: widths, alignment and precision as the harness prints them.
  assert.equal(actual, expected);
}

describe("results tables, as lm_eval prints them", () => {
  for (const name of ["cpu-regression-expected.json", "group-regression-expected.json"]) {
    it(`reproduces every table the harness printed for ${name}`, () => {
      const text = fixture(name);
      const expected = JSON.parse(text).tables as Record<string, string>;
      const tables = harnessTables(parseResults(text)) as Record<string, string | undefined>;
      assert.deepEqual(Object.keys(tables).sort(), Object.keys(expected).sort());
      for (const [key, table] of Object.entries(expected)) assertSameTable(tables[key] ?? "", table);
    });
  }

  it("prints group subtasks indented under their group, for both alias styles", () => {
    const newer = harnessTables(parseResults(fixture("group-regression-expected.json"))).results.split("\n");
    assert.deepEqual(
      newer.slice(2).map((l) => l.split("|")[1].trimEnd()),
      ["regression_arc", "", " - arc_challenge", "", " - arc_easy", ""],
    );
    const older = harnessTables(parseResults(fixture("llama3-8b-mmlu.json")));
    const names = older.results
      .split("\n")
      .slice(2, 5)
      .map((l) => l.split("|")[1].trimEnd());
    assert.deepEqual(names, ["mmlu", " - humanities", "  - formal_logic"]);
    assert.ok(older.groups?.startsWith("|      Groups      |Version|"));
  });

  it("rebuilds the same tables from the rows spoteval stores", () => {
    for (const name of [
      "group-regression-expected.json",
      "cpu-regression-expected.json",
      "llama3-8b-mmlu.json",
    ]) {
      const file = parseResults(fixture(name));
      assert.deepEqual(tablesFromRows(uniqueRows(file)), harnessTables(file));
    }
  });
});

describe("metric rows", () => {
  it("reads gsm8k v3 with both filters, value and stderr, in the file's order (0.4.2 layout)", () => {
    const { results } = metricRows(parseResults(fixture("llama3-8b-gsm8k.json")));
    assert.deepEqual(
      results.map((r) => [r.task, r.version, r.filter, r.numFewshot, r.metric, r.value, r.stderr]),
      [
        ["gsm8k", 3, "strict-match", 5, "exact_match", 0.5087187263078089, 0.013770390697002123],
        ["gsm8k", 3, "flexible-extract", 5, "exact_match", 0.511751326762699, 0.013768680408142792],
      ],
    );
    assert.equal(results[0].higherIsBetter, null, "0.4.2 files carry no higher_is_better");
  });

  it("marks groups, keeps every mmlu subtask once, and stores a group measured in both tables once", () => {
    const file = parseResults(fixture("llama3-8b-mmlu.json"));
    const { results, groups } = metricRows(file);
    assert.equal(results.length, 62, "57 subjects, 4 categories and mmlu itself");
    assert.equal(groups.length, 5);
    assert.deepEqual(
      results
        .filter((r) => r.isGroup)
        .map((r) => r.task)
        .sort(),
      ["mmlu", "mmlu_humanities", "mmlu_other", "mmlu_social_sciences", "mmlu_stem"],
    );
    const rows = uniqueRows(file);
    assert.equal(rows.length, 62);
    assert.equal(new Set(rows.map((r) => `${r.task}#${r.metric}#${r.filter}`)).size, rows.length);
    const mmlu = rows.find((r) => r.task === "mmlu");
    assert.equal(mmlu?.value, 0.6504059250818972);
  });

  it("reads N/A stderr, higher_is_better and n-samples (0.4.3+ layout)", () => {
    const { results } = metricRows(parseResults(fixture("cpu-regression-expected.json")));
    const perplexity = results.find((r) => r.metric === "perplexity");
    assert.equal(perplexity?.stderr, "N/A");
    assert.equal(perplexity?.higherIsBetter, false);
    assert.deepEqual(perplexity?.nSamples, { original: 5153, effective: 10 });
    assert.ok(
      !results.some((r) => ["alias", "name", "sample_len"].includes(r.metric)),
      "only metrics become rows",
    );
  });

  it("reads the 0.3 layout, metrics without filters", () => {
    const { results } = metricRows(parseResults(fixture("harness-v0-arc_easy-res.json")));
    assert.deepEqual(
      results.map((r) => [r.metric, r.filter, r.value, r.stderr]),
      [
        ["acc", "none", 0.2474747474747475, 0.008855114414834707],
        ["acc_norm", "none", 0.24074074074074073, 0.008772796145221907],
      ],
    );
    assert.match(markdownTable(results), /^\| Tasks {2}\|Version\|Filter\|n-shot\| Metric \|/);
  });

  it("rejects what is not a results file, saying why", () => {
    assert.throws(() => parseResults("{ nope"), ResultsInvalid);
    assert.throws(() => parseResults(JSON.stringify({ tables: {} })), /results/);
    assert.throws(() => parseResults(JSON.stringify({ results: { gsm8k: 3 } })), ResultsInvalid);
  });
});
