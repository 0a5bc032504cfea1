// Parity on the local stack: a finished run is checked against the latest comparable run on another
// instance type, shows its parity in every format, and a drift is marked on the leaderboard and put
// on the (local) default bus as a ParityDrift event.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { checkRunParity } from "../../core/run-parity.ts";
import { recordDeps } from "../../functions/runtime.ts";
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
    for (const type of ["inf2.8xlarge", "inf2.xlarge"]) {
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
    const parity = await checkRunParity(recordDeps(), run, rows, new Map());
    assert.equal(parity.overall, "drift");
    const event = await waitFor("a ParityDrift event", async () =>
      stack.eventBus.events.find((e) => e["detail-type"] === "ParityDrift"),
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
});
