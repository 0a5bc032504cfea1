// The one samples reader, against real --log_samples output of three releases
// (tests/fixtures/lm-eval/SOURCE.md names where every file came from).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ResultsInvalid } from "../../core/errors.ts";
import { filtersOf, parseResults } from "../../core/results.ts";
import { readSamples, taskOfSamplesFile, valuesByDoc } from "../../core/samples.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/lm-eval/${name}`, import.meta.url), "utf8");

describe("samples files of every release", () => {
  it("reads the 0.4.0-0.4.2 JSON array, named after the model args, filter from the results file", () => {
    const results = parseResults(fixture("wmdp-0.4.2-17-results.json"));
    const name = "samples/model__gpt-3.5-turbo-0125_wmdp_chem.jsonl";
    assert.equal(taskOfSamplesFile(name, Object.keys(results.results)), "wmdp_chem");
    const samples = readSamples(fixture(name), { filters: filtersOf(results, "wmdp_chem") });
    assert.equal(samples.layout, "json-array");
    assert.deepEqual(
      samples.records.map((r) => [r.docId, r.filter, r.metrics, r.filteredResps]),
      [
        [0, "none", { exact_match: 1 }, ["C"]],
        [1, "none", { exact_match: 1 }, ["A"]],
        [2, "none", { exact_match: 1 }, ["C"]],
      ],
    );
  });

  it("reads 0.4.8 JSON Lines: its filter and its metrics list, not the other fields beside them", () => {
    const name = "samples/samples_truthfulqa_gen_2025-05-31T14-30-51.983293.jsonl";
    assert.equal(taskOfSamplesFile(name, []), "truthfulqa_gen");
    const samples = readSamples(fixture(name));
    assert.equal(samples.layout, "json-lines");
    const [first] = samples.records;
    assert.equal(first.filter, "none");
    assert.equal(first.docHash, "3eb57815f07988646c1034e7fc451e5b992b13a5b8564ea2b55f4b2fc895f1c4");
    assert.equal(Object.keys(first.metrics).length, 12, "the 12 metrics the record lists");
    assert.equal(first.metrics.bleu_acc, 1);
    assert.equal(first.metrics.rouge1_max, 66.66666666666666);
    assert.ok(!("hallucination" in first.metrics), "a string field beside the metrics is not one");
    assert.deepEqual(
      [...valuesByDoc(samples, "bleu_max", "none")],
      [
        [0, 41.11336169005198],
        [1, 9.980099403873663],
      ],
    );
  });

  it("reads 0.4.13.dev0 JSON Lines, leaving out list-valued per-document metrics (f1 inputs)", () => {
    const name = "samples/samples_negotiationtom_intention_2026-07-08T18-15-33.115417.jsonl";
    assert.equal(taskOfSamplesFile(name, []), "negotiationtom_intention");
    const samples = readSamples(fixture(name));
    assert.deepEqual(
      samples.records.map((r) => [r.docId, r.filter, r.metrics]),
      [
        [0, "none", { exact_match: 0 }],
        [1, "none", { exact_match: 0 }],
      ],
    );
  });

  it("gives records without a filter field the filters in turn, as the harness wrote them", () => {
    // A gsm8k file of 0.4.3-0.4.6 lists every document once per filter, filter after filter.
    const lines = [0, 1, 0, 1].map((doc, i) => JSON.stringify({ doc_id: doc, exact_match: i % 2 }));
    const samples = readSamples(lines.join("\n"), { filters: ["strict-match", "flexible-extract"] });
    assert.deepEqual(
      samples.records.map((r) => [r.docId, r.filter]),
      [
        [0, "strict-match"],
        [1, "strict-match"],
        [0, "flexible-extract"],
        [1, "flexible-extract"],
      ],
    );
  });

  it("says which line is broken", () => {
    assert.throws(() => readSamples('{"doc_id": 0}\n{nope'), /line 2/);
    assert.throws(() => readSamples('[{"doc": 1}]'), ResultsInvalid);
  });
});
