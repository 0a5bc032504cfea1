// The parity rule on real numbers (tests/fixtures/parity/SOURCE.md, shared/references/README.md),
// and the paired tests on samples built by hand, where the answer is worked out beside them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  alphaOf,
  compare,
  compareOne,
  type Measurement,
  mcnemarExact,
  studentTwoSidedP,
} from "../../core/parity.ts";
import { binaryStderr, measurementsOf, publishedReferences } from "../../core/references.ts";
import { parseResults } from "../../core/results.ts";
import { readSamples } from "../../core/samples.ts";

const fixture = (name: string) =>
  parseResults(readFileSync(new URL(`../fixtures/parity/${name}`, import.meta.url), "utf8"));
const published = publishedReferences();
const find = (model: string, task: string, metric: string, filter: string, sourcePart: string) => {
  const found = published.find(
    (m) =>
      m.model === model &&
      m.task === task &&
      m.metric === metric &&
      m.filter === filter &&
      m.source.includes(sourcePart),
  );
  assert.ok(found, `${model} ${task} ${metric} ${filter} ${sourcePart}`);
  return found;
};
/** One measurement against one reference, through the key check. */
const against = (run: Measurement, ref: Measurement) => compare([run], [ref]).rows[0];
const writeupRow = find("mistralai/Mistral-7B-v0.1", "gsm8k", "exact_match", "get-answer", "write-up");
const a100Row = find("mistralai/Mistral-7B-v0.1", "gsm8k", "exact_match", "get-answer", "#1343");

describe("the write-up's own comparison", () => {
  it("finds the Neuron run's 0.3806 ± 0.0134 consistent with the A100's 0.3859 ± 0.0134", () => {
    const run = measurementsOf(fixture("writeup-neuron-mistral-gsm8k.json"), { source: "neuron" });
    const ref = measurementsOf(fixture("issue1343-a100-mistral-gsm8k.json"), { source: "a100" });
    const parity = compare(run, ref);
    assert.equal(parity.overall, "consistent");
    const [row] = parity.rows;
    // z = 0.0053 / √(0.0134² + 0.0134²) = 0.0053 / 0.018950 = 0.2797
    assert.equal(row.test, "z");
    assert.ok(Math.abs((row.delta ?? 0) + 0.0053) < 1e-12);
    assert.ok(Math.abs((row.z ?? 0) - 0.0053 / Math.sqrt(2 * 0.0134 ** 2)) < 1e-12);
    assert.equal(Number(row.z?.toFixed(4)), 0.2797);
    assert.deepEqual(row.reference, { value: 0.3859, stderr: 0.0134, source: "a100" });
  });

  it("finds the whole published reference range 0.3813-0.3874 consistent, and 0.42 not", () => {
    const run = measurementsOf(fixture("writeup-neuron-mistral-gsm8k.json"), { source: "neuron" })[0];
    for (const value of [0.3813, 0.3874]) {
      assert.equal(against(run, { ...a100Row, value }).verdict, "consistent", String(value));
    }
    // 0.42 - 0.3806 = 0.0394 > 1.96 × 0.018950 = 0.0371: outside.
    assert.equal(against(run, { ...a100Row, value: 0.42 }).verdict, "drift");
  });

  it("compares the shipped published rows with each other only where the whole key matches", () => {
    const pairs: string[] = [];
    for (const a of published)
      for (const b of published)
        if (a !== b && against(a, b).verdict !== "no-reference") pairs.push(`${a.value} ~ ${b.value}`);
    assert.deepEqual(pairs.sort(), ["0.3806 ~ 0.3859", "0.3859 ~ 0.3806"]);
    assert.equal(against(writeupRow, a100Row).verdict, "consistent");
  });
});

describe("pairs that must not be compared", () => {
  const neuron = measurementsOf(fixture("writeup-neuron-mistral-gsm8k.json"), { source: "neuron" })[0];

  it("v1 leaderboard gsm8k acc (harness b281b09) is not 0.4.x exact_match: no-reference", () => {
    const v1 = find("mistralai/Mistral-7B-v0.1", "gsm8k", "acc", "none", "Leaderboard v1");
    assert.equal(v1.family, "0.3");
    // Even relabelled to the same metric and filter, the harness family keeps them apart.
    const relabelled: Measurement = { ...v1, metric: "exact_match", filter: "get-answer", version: 2 };
    assert.equal(against(neuron, relabelled).verdict, "no-reference");
    assert.equal(compare([neuron], [v1]).rows[0].verdict, "no-reference");
  });

  it("a filter, a task version, an n-shot, a model or a model revision that differs: no-reference", () => {
    const flexible = find(
      "meta-llama/Meta-Llama-3-8B-Instruct",
      "gsm8k",
      "exact_match",
      "flexible-extract",
      "",
    );
    const strict = find("meta-llama/Meta-Llama-3-8B-Instruct", "gsm8k", "exact_match", "strict-match", "");
    assert.equal(against(strict, flexible).verdict, "no-reference", "strict-match vs flexible-extract");
    assert.equal(against(neuron, { ...a100Row, version: 3 }).verdict, "no-reference", "gsm8k v2 vs v3");
    assert.equal(against(neuron, { ...a100Row, nShot: 8 }).verdict, "no-reference");
    assert.equal(against(neuron, { ...a100Row, model: "mistralai/Mistral-7B-v0.3" }).verdict, "no-reference");
    const pinned = { ...neuron, revision: "26bca36bde8333b5d7f72e9ed20ccda6a618af24" };
    assert.equal(against(pinned, { ...a100Row, revision: "main-2023" }).verdict, "no-reference");
    assert.equal(against(pinned, a100Row).verdict, "consistent", "a revision only one side knows");
  });

  it("a metric without stderr gets no-stderr and the difference only", () => {
    const mmlu = find("mistralai/Mistral-7B-v0.1", "mmlu", "acc", "none", "Leaderboard v1");
    const other = { ...mmlu, value: 0.6216, stderr: 0.0035, source: "a run" };
    const row = against(other, mmlu);
    assert.equal(row.verdict, "no-stderr");
    assert.ok(Math.abs((row.delta ?? 0) + 0.02) < 1e-12);
    assert.equal(row.z, null);
  });

  it("derives the v1 rows' stderr with the harness's formula and says so", () => {
    const arc = find("mistralai/Mistral-7B-v0.1", "arc_challenge", "acc_norm", "none", "Leaderboard v1");
    assert.equal(Number((arc.stderr as number).toFixed(4)), 0.0143);
    assert.match(arc.source, /stderr derived/);
    // The one published v1 stderr is reproduced by the same formula to 5 digits.
    assert.equal(Number(binaryStderr(0.14481, 1319).toFixed(5)), 0.00969);
  });
});

describe("paired comparison on per-sample files", () => {
  // 300 gsm8k-like documents: the reference solves 0-149 (0.50), the run solves 0-164 (0.55).
  // Unpaired: se = √(p(1-p)/299) = 0.028916 and 0.028771, z = 0.05 / 0.040791 = 1.2258: consistent.
  // Paired: the run alone solves 15 documents, the reference alone none: McNemar's p = 2 × 2^-15.
  const lines = (solved: number) =>
    Array.from({ length: 300 }, (_, doc) =>
      JSON.stringify({
        doc_id: doc,
        filter: "strict-match",
        metrics: ["exact_match"],
        exact_match: doc < solved ? 1 : 0,
      }),
    ).join("\n");
  const measurement = (solved: number, source: string): Measurement => {
    const samples = readSamples(lines(solved));
    const perDoc = new Map(samples.records.map((r) => [r.docId, r.metrics.exact_match]));
    const p = solved / 300;
    return {
      model: "m",
      task: "gsm8k",
      version: 3,
      nShot: 5,
      metric: "exact_match",
      filter: "strict-match",
      family: "0.4",
      value: p,
      stderr: binaryStderr(p, 300),
      n: 300,
      source,
      perDoc,
    };
  };

  it("is consistent unpaired and drift under McNemar's exact test", () => {
    const run = measurement(165, "run");
    const ref = measurement(150, "ref");
    const unpaired = compareOne({ ...run, perDoc: undefined }, ref);
    assert.equal(unpaired.verdict, "consistent");
    assert.equal(Number(unpaired.z?.toFixed(4)), 1.2258);
    const paired = compareOne(run, ref);
    assert.equal(paired.test, "mcnemar-exact");
    assert.equal(paired.verdict, "drift");
    assert.ok(Math.abs((paired.p ?? 1) - 2 * 2 ** -15) < 1e-15, String(paired.p));
    assert.equal(paired.n, 300);
    assert.ok(paired.warnings.some((w) => /only 300/.test(w)) === false, "300 documents is not few");
  });

  it("falls back to unpaired when the same doc_id is not the same document", () => {
    const run = { ...measurement(165, "run"), docHashes: new Map([[0, "aaa"]]) };
    const ref = { ...measurement(150, "ref"), docHashes: new Map([[0, "bbb"]]) };
    const row = compareOne(run, ref);
    assert.equal(row.test, "z");
    assert.match(row.warnings.join(" "), /document 0 differs/);
  });

  it("warns below 300 documents", () => {
    const run = { ...measurement(165, "run"), n: 200, perDoc: undefined };
    assert.match(
      compareOne(run, { ...measurement(150, "ref"), perDoc: undefined }).warnings.join(),
      /only 200/,
    );
  });

  it("uses a paired t-test for a metric that is not 0/1", () => {
    const base = measurement(150, "ref");
    const ref = { ...base, perDoc: new Map([0, 1, 2, 3, 4].map((d) => [d, 10])) };
    const run = { ...base, perDoc: new Map([0, 1, 2, 3, 4].map((d) => [d, 10 + d + 1])) };
    // Differences 1..5: mean 3, sd 1.5811, t = 3 / (1.5811 / √5) = 4.2426 with 4 degrees of freedom.
    const row = compareOne(run, ref);
    assert.equal(row.test, "paired-t");
    assert.equal(Number(row.z?.toFixed(4)), 4.2426);
    assert.ok(row.p !== null && row.p > 0.0131 && row.p < 0.0134, String(row.p));
    assert.equal(row.verdict, "drift");
  });
});

describe("the statistics, against closed forms", () => {
  it("Student's t two-sided p: df 1 is 1 - 2/π·atan(t), df 2 is 1 - t/√(2 + t²)", () => {
    for (const t of [0.5, 1, 2.5, 7]) {
      assert.ok(Math.abs(studentTwoSidedP(t, 1) - (1 - (2 / Math.PI) * Math.atan(t))) < 1e-9);
      assert.ok(Math.abs(studentTwoSidedP(t, 2) - (1 - t / Math.sqrt(2 + t * t))) < 1e-9);
    }
  });

  it("McNemar's exact p and the level 1.96 stands for", () => {
    assert.equal(mcnemarExact(0, 0), 1);
    assert.equal(mcnemarExact(3, 3), 1);
    // b = 1, c = 9: 2 × (1 + 10) / 1024
    assert.ok(Math.abs(mcnemarExact(1, 9) - (2 * 11) / 1024) < 1e-15);
    assert.ok(Math.abs(alphaOf(1.96) - 0.05) < 1e-4);
  });
});
