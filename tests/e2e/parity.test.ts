// Parity on the local stack: a finished run is checked against the latest comparable run on another
// instance type, shows its parity in every format, and a drift is marked on the leaderboard and put
// on the (local) default bus as a ParityDrift event.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { compare } from "../../core/parity.ts";
import { measurementsOf } from "../../core/references.ts";
import { parseResults } from "../../core/results.ts";
import { checkRunParity, samplesBeside } from "../../core/run-parity.ts";
import { recordDeps, referenceStore } from "../../functions/runtime.ts";
import { projectRoot } from "../../local/stack.ts";
import { sampleRequest, testStack, waitFor } from "../support/stack.ts";

type Stack = Awaited<ReturnType<typeof testStack>>;

describe("parity of finished runs", () => {
  let stack: Stack;
  const ids: string[] = [];
  before(async () => {
    stack = await testStack();
  });
  after(() => stack.stop());

  const finished = (runId: string) =>
    waitFor(`run ${runId} to finish`, async () => {
      const res = await stack.api(`/evaluations/${runId}`);
      return ["SUCCEEDED", "FAILED", "CANCELLED"].includes(res.body.status as string) ? res.body : undefined;
    });

  it("checks a run against the latest SUCCEEDED run of the same configuration on another instance type", async () => {
    // A 7B model is compiled for vLLM on inf2.8xlarge or larger (core/serving.ts), so two of those.
    for (const type of ["inf2.24xlarge", "inf2.8xlarge"]) {
      const res = await stack.api("/evaluations", {
        method: "POST",
        json: sampleRequest("org/parity-model", { capacity: { instanceTypes: [type] } }),
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      ids.push(res.body.runId as string);
      assert.equal((await finished(ids.at(-1) as string)).status, "SUCCEEDED");
    }
    const second = (await stack.api(`/evaluations/${ids[1]}`)).body as unknown as {
      parity: {
        overall: string;
        rows: { metric: string; filter: string; verdict: string; reference: { source: string } }[];
        notes: string[];
      };
    };
    assert.equal(second.parity.overall, "consistent");
    assert.equal(second.parity.rows.length, 2);
    for (const row of second.parity.rows) {
      assert.equal(row.verdict, "consistent");
      assert.equal(row.reference.source, `run ${ids[0]}`);
    }
    assert.ok(second.parity.notes.includes("simulated run: compared with other runs only"));
    const first = (await stack.api(`/evaluations/${ids[0]}`)).body as unknown as {
      parity: { overall: string };
    };
    assert.equal(first.parity.overall, "none", "the first run had nothing to be compared with");
  });

  it("shows the parity in markdown and CSV", async () => {
    const md = await stack.api(`/evaluations/${ids[1]}?format=markdown`);
    assert.match(md.body, /\|Tasks\|Version\|/, "the harness's table first");
    assert.match(md.body, /Parity: \*\*consistent\*\*/);
    assert.match(md.body, /\|Reference\|Ref stderr\|Δ\|z\|Test\|Verdict\|/);
    const csv = await stack.api(`/evaluations/${ids[1]}?format=csv`);
    const [header, ...lines] = (csv.body as string).trim().split("\n");
    assert.ok(header.endsWith(",reference_value,reference_stderr,reference_source,delta,z,test,verdict"));
    assert.ok(lines.every((l) => l.endsWith(",consistent")));
  });

  it("stores a drift, marks it on the leaderboard and puts a ParityDrift event on the bus", async () => {
    const store = recordDeps().store;
    const run = await store.mustGetRun(ids[1]);
    // The same run's rows with its strict-match score moved up by 0.3: what a broken compile could do.
    const rows = (await store.listMetrics(ids[1])).map((r) =>
      r.filter === "strict-match" ? { ...r, value: (r.value as number) + 0.3 } : r,
    );
    const parity = await checkRunParity(recordDeps(), run, rows, async () => new Map());
    assert.equal(parity.overall, "drift");
    const event = await waitFor("a ParityDrift event", async () =>
      stack.events.seen.find((e) => e["detail-type"] === "ParityDrift"),
    );
    assert.equal(event.source, "spoteval");
    const detail = event.detail as { runId: string; rows: { filter: string; verdict: string }[] };
    assert.equal(detail.runId, ids[1]);
    assert.deepEqual(
      detail.rows.map((r) => [r.filter, r.verdict]),
      [["strict-match", "drift"]],
    );
    const seen = await stack.api("/_local/events");
    assert.ok(
      (seen.body as unknown as { "detail-type": string }[]).some((e) => e["detail-type"] === "ParityDrift"),
    );
    const board = await stack.api("/leaderboard?task=gsm8k&metric=exact_match&filter=strict-match");
    const row = (board.body.rows as { runId: string; drift: boolean; parity: string }[]).find(
      (r) => r.runId === ids[1],
    );
    assert.deepEqual([row?.parity, row?.drift], ["drift", true]);
  });

  it("keeps an uploaded results file as a reference for its model (spoteval reference add)", async () => {
    const a100 = "tests/fixtures/parity/issue1343-a100-mistral-gsm8k.json";
    const out = await promisify(execFile)(
      process.execPath,
      [`${projectRoot}/bin/spoteval.js`, "reference", "add", a100, "--label", "A100 fp16"],
      {
        cwd: projectRoot,
        env: { ...process.env, SPOTEVAL_URL: stack.urls.API, SPOTEVAL_API_KEY: stack.apiKey },
      },
    );
    assert.match(
      out.stdout,
      /^reference [0-9a-z]{26}: 1 metrics of mistralai\/Mistral-7B-v0.1, label "A100 fp16"/,
    );
    const uploaded = await referenceStore().referencesFor("mistralai/Mistral-7B-v0.1");
    assert.equal(uploaded.length, 1);
    const neuron = parseResults(
      readFileSync(`${projectRoot}/tests/fixtures/parity/writeup-neuron-mistral-gsm8k.json`, "utf8"),
    );
    const [row] = compare(measurementsOf(neuron, { source: "neuron" }), uploaded).rows;
    assert.equal(row.verdict, "consistent");
    assert.match(row.reference?.source ?? "", /^uploaded reference "A100 fp16"/);
  });

  it("refuses an upload that names no model", async () => {
    const res = await stack.api("/references", {
      method: "POST",
      json: { label: "x", results: { results: { gsm8k: { "exact_match,strict-match": 0.5 } } } },
    });
    assert.equal(res.status, 400);
    assert.match(res.body.detail as string, /name the model/);
  });

  it("reads the samples beside a results file in S3, and only those of the tasks that pair", async () => {
    const { artifacts } = recordDeps();
    const fixture = (name: string) => readFileSync(`${projectRoot}/tests/fixtures/lm-eval/${name}`, "utf8");
    const text = fixture("wmdp-0.4.2-17-results.json");
    const key = "runs/0000000000000000000000wmdp/attempt-1/results.json";
    await artifacts.putText(key, text);
    await artifacts.putText(
      "runs/0000000000000000000000wmdp/attempt-1/model__gpt-3.5-turbo-0125_wmdp_chem.jsonl",
      fixture("samples/model__gpt-3.5-turbo-0125_wmdp_chem.jsonl"),
    );
    const file = parseResults(text);
    const read = await samplesBeside(artifacts, key, file, new Set(["wmdp_chem"]));
    assert.deepEqual([...read.keys()], ["wmdp_chem"]);
    assert.deepEqual(
      read.get("wmdp_chem")?.records.map((r) => [r.docId, r.filter, r.metrics.exact_match]),
      [
        [0, "none", 1],
        [1, "none", 1],
        [2, "none", 1],
      ],
    );
    assert.equal((await samplesBeside(artifacts, key, file, new Set(["wmdp_bio"]))).size, 0);
  });
});
