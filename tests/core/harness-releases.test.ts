// Each results file's release, and each release's table rule, against real harness output
// (tests/fixtures/lm-eval/SOURCE.md names where every file came from).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { identifyRelease, ruleForVersion, type TableRule } from "../../core/harness-releases.ts";
import {
  harnessTables,
  type MetricRow,
  markdownTable,
  metricRows,
  parseResults,
  printTables,
  pyFixed4,
  tablesFromRows,
  uniqueRows,
} from "../../core/results.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/lm-eval/${name}`, import.meta.url), "utf8");
const file = (name: string) => parseResults(fixture(name));

/**
 * The cells of a table the harness printed, read back into rows: what make_table was given, as far
 * as the table shows it (values to 4 places, which is all make_table prints).
 */
function rowsOfPrintedTable(table: string): MetricRow[] {
  const lines = table.trim().split("\n").slice(2);
  const rows: MetricRow[] = [];
  let task = "";
  let version: number | string | null = null;
  for (const line of lines) {
    const cells = line.split("|").slice(1, -1);
    const arrows = cells.length === 9;
    const [name, ver, filter, nShot, metric] = cells;
    const [hib, value, , stderr] = arrows ? cells.slice(5) : ["", ...cells.slice(5)];
    if (name.trim() !== "") {
      task = name.trimEnd();
      version = ver.trim() === "N/A" ? null : Number.isNaN(Number(ver)) ? ver.trim() : Number(ver);
    }
    rows.push({
      task,
      displayName: task,
      isGroup: false,
      table: "results",
      order: rows.length,
      version,
      filter: filter.trim(),
      numFewshot: nShot.trim() === "" ? null : Number(nShot),
      metric: metric.trim(),
      value: Number(value),
      stderr: stderr.trim() === "" ? null : stderr.trim() === "N/A" ? "N/A" : Number(stderr),
      higherIsBetter: hib.trim() === "↑" ? true : hib.trim() === "↓" ? false : null,
      nSamples: null,
    });
  }
  return rows;
}

describe("the release of a results file", () => {
  it("reads lm_eval_version first, placing dev builds between the releases around them", () => {
    assert.deepEqual(identifyRelease(file("truthfulqa-0.4.8-results.json")), {
      release: "0.4.8",
      from: "lm_eval_version",
      family: "0.4",
      rule: "0.4.4-0.4.11",
      exact: true,
    });
    // 0.4.10.dev0 lies between 0.4.9.2 and 0.4.10, which print alike.
    const luo = identifyRelease(file("luo-bele-0.4.10.dev0-results.json"));
    assert.deepEqual([luo.release, luo.rule, luo.exact], ["0.4.10.dev0", "0.4.4-0.4.11", true]);
    // 0.4.13.dev0 lies between 0.4.12 and 0.5.0.dev1, which print alike.
    const negotiation = identifyRelease(file("negotiationtom-0.4.13.dev0-results.json"));
    assert.deepEqual([negotiation.rule, negotiation.exact], ["0.4.12", true]);
  });

  it("says a version is uncertain when its neighbours print differently or it is newer than all", () => {
    assert.deepEqual(ruleForVersion("0.4.12.dev0"), { rule: "0.4.12", exact: false });
    assert.deepEqual(ruleForVersion("0.5.1"), { rule: "0.4.12", exact: false });
    assert.deepEqual(ruleForVersion("0.4.3"), { rule: "0.4.3", exact: true });
    assert.deepEqual(ruleForVersion("0.4.9.1"), { rule: "0.4.4-0.4.11", exact: true });
  });

  it("reads git_hash next: tags and the pinned 756eeb6; an unknown hash falls back to the layout", () => {
    const at = (git_hash: string) => identifyRelease({ git_hash, results: {} });
    assert.equal(at("6d642546").release, "0.4.12");
    assert.deepEqual(
      [at("756eeb6").release, at("756eeb6").rule, at("756eeb6").exact],
      ["0.4.1+756eeb6", "0.4.0-0.4.2", true],
    );
    assert.equal(at("b281b09").family, "0.3");
    // The wmdp run's 4a1e48ce is v0.4.2-17, no tag: its layout (no higher_is_better) says 0.4.0-0.4.2.
    const wmdp = identifyRelease(file("wmdp-0.4.2-17-results.json"));
    assert.deepEqual([wmdp.from, wmdp.rule, wmdp.exact], ["layout", "0.4.0-0.4.2", true]);
  });

  it("reads the layout last: 0.3, 0.4.0-0.4.2, 0.4.3-0.4.8 (two rules) and 0.4.12 on", () => {
    const v03 = identifyRelease(file("harness-v0-arc_easy-res.json"));
    assert.deepEqual([v03.family, v03.exact], ["0.3", false]);
    assert.equal(identifyRelease(file("llama3-8b-mmlu.json")).rule, "0.4.0-0.4.2");
    const newer = identifyRelease(file("group-regression-expected.json"));
    assert.deepEqual([newer.release, newer.rule, newer.exact], ["0.4.12 or later", "0.4.12", true]);
    const middle = identifyRelease({ results: { x: { "acc,none": 0.5 } }, higher_is_better: {} });
    assert.deepEqual([middle.release, middle.rule, middle.exact], ["0.4.3-0.4.8", "0.4.4-0.4.11", false]);
  });
});

describe("each release's table rule, against the tables the harness printed (tests/testdata)", () => {
  const printed: [string, TableRule, TableRule][] = [
    ["v0.4.3-ai2_arc.txt", "0.4.3", "0.4.4-0.4.11"],
    ["v0.4.3-lambada_openai.txt", "0.4.3", "0.4.4-0.4.11"],
    ["v0.4.11-ai2_arc.txt", "0.4.4-0.4.11", "0.4.3"],
    ["v0.4.11-lambada_openai.txt", "0.4.4-0.4.11", "0.4.3"],
    ["v0.4.11-mmlu_stem.txt", "0.4.4-0.4.11", "0.4.0-0.4.2"],
    ["v0.4.12-ai2_arc.txt", "0.4.12", "0.4.3"],
    ["v0.4.12-mmlu_stem.txt", "0.4.12", "0.4.0-0.4.2"],
    ["v0.5.0.dev1-mmlu_stem.txt", "0.4.12", "0.4.3"],
    ["v0.5.0.dev1-lambada_openai.txt", "0.4.12", "0.4.3"],
  ];
  for (const [name, rule, neighbour] of printed) {
    it(`prints ${name} to the letter with the ${rule} rule, and not with the ${neighbour} rule`, () => {
      const expected = fixture(`printed/${name}`).trim();
      const rows = rowsOfPrintedTable(expected);
      assert.equal(markdownTable(rows, "results", rule), expected);
      assert.notEqual(markdownTable(rows, "results", neighbour), expected);
    });
  }

  it("leaves a group's n-shot blank in 0.4.11 and prints 0 in 0.4.12, as each was given", () => {
    const stem = (tag: string) => fixture(`printed/${tag}-mmlu_stem.txt`).split("\n")[2];
    assert.match(stem("v0.4.11"), /^\|stem {27}\| {6}2\|none {2}\| {6}\|acc/);
    assert.match(stem("v0.4.12"), /^\|stem {27}\| {6}2\|none {2}\| {5}0\|acc/);
  });
});

describe("each release's row order and indentation, on real results files", () => {
  it("0.4.12: group_subtasks roots first, children sorted and indented, though the file lists the group last", () => {
    const f = file("negotiationtom-0.4.13.dev0-results.json");
    assert.deepEqual(Object.keys(f.results).at(-1), "negotiationtom", "the file lists the group last");
    const { results } = metricRows(f);
    const names = [...new Set(results.map((r) => r.displayName))];
    assert.deepEqual(names, [
      "negotiationtom",
      " - negotiationtom_belief",
      " - negotiationtom_desire",
      " - negotiationtom_intention",
    ]);
    const table = harnessTables(f).results.split("\n");
    // The group's version is the string "0"; name, sample_len and sample_count are not metrics.
    assert.equal(
      table[2],
      "|negotiationtom             |      0|none  |     0|acc        |↑  |0.5250|±  |0.0801|",
    );
    assert.ok(!table.some((l) => /sample_len|sample_count|\|name/.test(l)));
    assert.equal(harnessTables(f).note, undefined, "0.4.13.dev0 prints exactly as 0.4.12");
  });

  it("0.4.0-0.4.2: the file's order, aliases as written, no arrow column, N/A for a group's version", () => {
    const f = file("wmdp-0.4.2-17-results.json");
    const table = harnessTables(f);
    const lines = table.results.split("\n");
    assert.equal(lines[0], "|    Tasks    |Version|Filter|n-shot|  Metric   |Value|   |Stderr|");
    assert.deepEqual(
      lines.slice(2).map((l) => l.split("|")[1]),
      ["wmdp         ", " - wmdp_bio  ", " - wmdp_chem ", " - wmdp_cyber"],
    );
    // A string column ("N/A") still right-aligns its numbers; "1.0000" is an integer to typepy.
    assert.equal(lines[2], "|wmdp         |N/A    |none  |     0|exact_match|    1|±  |     0|");
    assert.equal(lines[3], "| - wmdp_bio  |      0|none  |     0|exact_match|    1|±  |     0|");
    assert.ok(table.groups?.startsWith("|Groups|Version|Filter|n-shot|  Metric   |Value|   |Stderr|"));
  });

  it("0.4.4-0.4.11: the file's order, metrics sorted, one precision per column", () => {
    const lines = harnessTables(file("luo-bele-0.4.10.dev0-results.json")).results.split("\n");
    assert.equal(lines.length, 4);
    // 0.014011... prints as "0.0140", which pytablewriter reads as 0.014: three places in its column.
    assert.equal(lines[2], "|belebele_luo_prompt_1|      1|none  |     0|acc     |↑  |0.2289|±  | 0.014|");
    assert.equal(lines[3], "|                     |       |none  |     0|acc_norm|↑  |0.2289|±  | 0.014|");
  });

  it("rebuilds every release's tables from the rows spoteval stores", () => {
    for (const name of [
      "wmdp-0.4.2-17-results.json",
      "luo-bele-0.4.10.dev0-results.json",
      "truthfulqa-0.4.8-results.json",
      "negotiationtom-0.4.13.dev0-results.json",
      "harness-v0-arc_easy-res.json",
    ]) {
      const f = file(name);
      const stored = JSON.parse(JSON.stringify(uniqueRows(f))) as MetricRow[];
      assert.deepEqual(tablesFromRows(stored), harnessTables(f), name);
    }
  });

  it("prints an unknown release with the newest rule under a comment line saying so", () => {
    const printed = printTables(harnessTables(file("harness-v0-arc_easy-res.json"))).split("\n");
    assert.match(
      printed[0],
      /^<!-- spoteval: lm-eval release 0\.3 layout .* printed with the 0\.4\.12 rule -->$/,
    );
    assert.match(printed[1], /^\| Tasks {2}\|Version\|/);
    const unnamed = printTables(
      tablesFromRows(uniqueRows(file("llama3-8b-arc.json")).map(({ harness, ...r }) => r)),
    );
    assert.match(unnamed, /^<!-- spoteval: these rows name no lm-eval release/);
  });
});

describe("what Python's json and %.4f do that JavaScript does not", () => {
  it("parses the bare Infinity and NaN that Python's json writes, as strings", () => {
    const { results } = metricRows(file("tgpred-0.4.8-results.json"));
    assert.deepEqual(
      results.map((r) => [r.metric, r.value, r.stderr]),
      [["mae", "Infinity", "NaN"]],
    );
  });

  it("rounds exact ties to even, as '%.4f' % 0.03125 == '0.0312'", () => {
    assert.equal(pyFixed4(0.03125), "0.0312");
    assert.equal(pyFixed4(0.09375), "0.0938");
    assert.equal(pyFixed4(-0.03125), "-0.0312");
    assert.equal(pyFixed4(0.3806), "0.3806");
    assert.equal(pyFixed4(2 / 3), "0.6667");
  });
});
