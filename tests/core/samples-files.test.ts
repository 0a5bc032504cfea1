// Counting the documents of an lm-eval samples file, in each release's format and name.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResultsInvalid } from "../../core/errors.ts";
import { countDocuments, samplesFileFor } from "../../core/samples.ts";

describe("samples files", () => {
  it("counts a 0.4.1 JSON array and 0.4.3+ JSON Lines, one per document", () => {
    assert.equal(countDocuments(JSON.stringify([{ doc_id: 0 }, { doc_id: 1 }, { doc_id: 2 }])), 3);
    assert.equal(countDocuments('{"doc_id": 0}\n{"doc_id": 1}\n\n'), 2);
    // A document logged twice (e.g. by two filters' passes) is still one document.
    assert.equal(countDocuments('{"doc_id": 0}\n{"doc_id": 0}\n{"doc_id": 1}'), 2);
    assert.throws(() => countDocuments("not json"), ResultsInvalid);
  });

  it("finds a task's samples file by either release's name, and refuses an ambiguous one", () => {
    const names = [
      "results.json",
      "pretrained__org__m_gsm8k.jsonl",
      "samples_mmlu_anatomy_2024-05-01T00-00-00.jsonl",
    ];
    assert.equal(samplesFileFor("gsm8k", names), "pretrained__org__m_gsm8k.jsonl");
    assert.equal(samplesFileFor("mmlu_anatomy", names), "samples_mmlu_anatomy_2024-05-01T00-00-00.jsonl");
    assert.equal(samplesFileFor("hellaswag", names), undefined);
    assert.equal(samplesFileFor("mmlu", names), undefined);
    assert.throws(() => samplesFileFor("gsm8k", [...names, "pretrained__org__n_gsm8k.jsonl"]), /several/);
  });
});
