// The dashboard in a real browser (Debian's Chromium) against the local stack: sign in by the fragment,
// watch the sample run go from RUNNING to SUCCEEDED, open it, rank it, chart it, submit and cancel from
// the page, and a wrong or read-only key. No visit may log an error but the ones a step says it expects.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import { hashKey } from "../../core/auth.ts";
import { testStack } from "../support/stack.ts";
import { launchChromium, watchErrors } from "./support.ts";

const readOnlyKey = "se_dashboard_read_only";
const stack = await testStack({
  // Long enough to watch the run's progress move in the page.
  simulatedSeconds: 6,
  apiKey: "se_dashboard_read_write",
  env: { API_KEY_HASHES: `${hashKey("se_dashboard_read_write")}:rw,${hashKey(readOnlyKey)}:ro` },
});
const base = stack.urls.API;
let browser: Browser;
let closeBrowser: () => Promise<void>;
before(async () => {
  ({ browser, close: closeBrowser } = await launchChromium());
});
after(async () => {
  await closeBrowser?.();
  await stack.stop();
});

const sample = {
  model: { id: "mistralai/Mistral-7B-v0.1", revision: "main", dtype: "bfloat16", parameters: 7.24e9 },
  tasks: ["gsm8k"],
  numFewshot: 5,
  batchSize: 1,
};

/** A fresh tab (its own sessionStorage) whose errors are collected. */
async function tab(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  // Generous: on a loaded machine a 6 s simulated run has taken 40 s end to end.
  page.setDefaultTimeout(150_000);
  return { page, errors: watchErrors(page) };
}

const text = (page: Page, selector: string) => page.$eval(selector, (el) => (el.textContent ?? "").trim());

let sampleRunId = "";

describe("the dashboard", () => {
  it("signs in by the fragment and shows the sample run go from RUNNING, with its progress, to SUCCEEDED", async () => {
    const accepted = await stack.api("/evaluations", { method: "POST", json: sample });
    assert.equal(accepted.status, 202);
    sampleRunId = accepted.body.runId as string;
    const { page, errors } = await tab();
    await page.goto(`${base}/#key=${encodeURIComponent(stack.apiKey)}`);

    const row = `tr[data-run="${sampleRunId}"]`;
    await page.waitForSelector(row);
    assert.equal(new URL(page.url()).hash, "#/runs", "the key leaves the address bar");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("spoteval.apiKey")), stack.apiKey);
    assert.equal(
      await text(page, `${row} td:first-child code`),
      sampleRunId,
      "the whole id, as the CLI prints it",
    );

    // While it evaluates: RUNNING, a bar part-filled, the engine's counts and ETA beside it.
    const running = await page.waitForFunction(
      (sel) => {
        const tr = document.querySelector(sel);
        const bar = tr?.querySelector("progress");
        const label = tr?.querySelector(".progress-text")?.textContent ?? "";
        return tr?.querySelector(".status")?.textContent === "RUNNING" &&
          bar?.hasAttribute("value") &&
          Number(bar.getAttribute("value")) > 0 &&
          Number(bar.getAttribute("value")) < 100 &&
          /evaluate gsm8k · \d+\/1319/.test(label) &&
          /ETA/.test(label)
          ? label
          : false;
      },
      { polling: 100 },
      row,
    );
    const label = String(await running.jsonValue());
    assert.match(label, /evaluate gsm8k · \d+\/1319/);

    // Live, without flicker: the row's link keeps the keyboard focus while the progress beside it moves.
    const link = `${row} td:first-child a`;
    await page.focus(link);
    await page.waitForFunction(
      (sel, before) => document.querySelector(`${sel} .progress-text`)?.textContent !== before,
      { polling: 100 },
      row,
      label,
    );
    assert.ok(await page.$eval(link, (a) => a === document.activeElement), "focus survives the update");

    await page.waitForFunction(
      (sel) => document.querySelector(`${sel} .status`)?.textContent === "SUCCEEDED",
      { polling: 100 },
      row,
    );
    assert.equal(await page.$eval(`${row} progress`, (p) => p.getAttribute("value")), "100");
    assert.equal(await text(page, `${row} td:nth-child(6)`), "1", "one attempt");
    await page.focus(link);
    await page.keyboard.press("Enter");
    await page.waitForSelector("table.lm-eval");
    assert.equal(new URL(page.url()).hash, `#/runs/${sampleRunId}`, "the keyboard opens the run");
    assert.deepEqual(errors, []);
    await page.browserContext().close();
  });

  it("opens a run from its row and shows the result table exactly as lm_eval prints it", async () => {
    const { page, errors } = await tab();
    await page.goto(`${base}/#key=${encodeURIComponent(stack.apiKey)}`);
    const row = `tr[data-run="${sampleRunId}"]`;
    await page.waitForSelector(row);
    await page.click(`${row} td:nth-child(3)`); // the model cell: the whole row opens the run
    await page.waitForSelector("table.lm-eval");
    assert.equal(new URL(page.url()).hash, `#/runs/${sampleRunId}`);

    const markdown = (await stack.api(`/evaluations/${sampleRunId}?format=markdown`))
      .body as unknown as string;
    const expected = markdown
      .split("\n")
      .filter((l) => l.startsWith("|") && !l.startsWith("|--"))
      .map((l) =>
        l
          .slice(1, -1)
          .split("|")
          .map((c) => c.trim()),
      );
    const shown = await page.$$eval("table.lm-eval tr", (trs) =>
      trs.map((tr) => [...tr.querySelectorAll("th, td")].map((c) => (c.textContent ?? "").trim())),
    );
    assert.deepEqual(shown, expected);
    assert.deepEqual(shown[0], ["Tasks", "Version", "Filter", "n-shot", "Metric", "", "Value", "", "Stderr"]);
    assert.equal(await page.$eval("pre.markdown", (p) => p.textContent), markdown, "and the markdown itself");
    assert.match(await text(page, ".simulated-note"), /^SIMULATED:/);

    const attempts = await page.$$eval("table.timeline tbody tr", (trs) =>
      trs.map((tr) => tr.textContent ?? ""),
    );
    assert.equal(attempts.length, 1);
    const detail = (await stack.api(`/evaluations/${sampleRunId}`)).body as {
      attempts: { instanceType: string }[];
    };
    assert.ok(attempts[0].includes(detail.attempts[0].instanceType), "the attempt's instance type");
    assert.match(attempts[0], /FINISHED/);
    assert.ok(await page.$("table.timeline .track .bar"), "the attempt is drawn on the timeline");
    assert.match(await text(page, ".artifacts"), /Raw results: s3:\/\/spoteval-local-artifacts\/runs\//);
    assert.match(
      await text(page, ".artifacts"),
      new RegExp(
        `Per-sample logs: beside the results, in s3://spoteval-local-artifacts/runs/${sampleRunId}/attempt-1/$`,
      ),
    );
    assert.equal(await page.$(".actions button"), null, "a finished run offers no cancel");
    assert.deepEqual(errors, []);
    await page.browserContext().close();
  });

  it("ranks the run on the leaderboard, sorts it, and charts the model's results with stderr bands", async () => {
    const { page, errors } = await tab();
    await page.goto(`${base}/#key=${encodeURIComponent(stack.apiKey)}`);
    await page.waitForSelector("nav a[href='#/leaderboard']");
    await page.click("nav a[href='#/leaderboard']");
    await page.waitForSelector("table.leaderboard tbody tr");
    const caption = await text(page, "table.leaderboard caption");
    assert.match(caption, /^gsm8k · exact_match · (flexible-extract|strict-match) \(higher is better ↑\)/);
    const [rank, model] = await page.$$eval("table.leaderboard tbody tr:first-child td", (tds) =>
      tds.map((td) => (td.textContent ?? "").trim()),
    );
    assert.equal(rank, "1");
    assert.match(model, /^mistralai\/Mistral-7B-v0\.1/);

    await page.click("table.leaderboard th:nth-child(3) button"); // Value
    await page.waitForSelector("table.leaderboard th[aria-sort='ascending']:nth-child(3)");
    await page.click("table.leaderboard th:nth-child(3) button");
    await page.waitForSelector("table.leaderboard th[aria-sort='descending']:nth-child(3)");

    await page.click("table.leaderboard tbody tr:first-child td:nth-child(2) a");
    await page.waitForSelector(".chart canvas");
    assert.equal(new URL(page.url()).hash, `#/models/${encodeURIComponent(sample.model.id)}`);
    const captions = await page.$$eval("figcaption", (fs) => fs.map((f) => f.textContent));
    assert.deepEqual(captions.sort(), [
      "gsm8k · exact_match · flexible-extract",
      "gsm8k · exact_match · strict-match",
    ]);
    // The value and both stderr edges are plotted, and the band between them is filled.
    const painted = await page.$eval(".chart canvas", (canvas) => {
      const c = canvas as HTMLCanvasElement;
      const data = (c.getContext("2d") as CanvasRenderingContext2D).getImageData(
        0,
        0,
        c.width,
        c.height,
      ).data;
      let line = 0;
      let band = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        if (data[i] === 29 && data[i + 1] === 78 && data[i + 2] === 216 && data[i + 3] === 255) line++;
        else if (data[i + 2] > data[i] && data[i + 3] < 100) band++;
      }
      return { line, band };
    });
    assert.ok(painted.line > 0, "the metric's point is drawn");
    assert.ok(painted.band > 0, `the stderr band is drawn (${JSON.stringify(painted)})`);
    const values = await page.$$eval("figure details tbody tr", (trs) => trs.length);
    assert.equal(values, 2, "one row of values per chart, for the one finished run");
    assert.deepEqual(errors, []);
    await page.browserContext().close();
  });

  it("submits a run from the form, with the API's own validation messages, and shows it", async () => {
    const { page, errors } = await tab();
    await page.goto(`${base}/#key=${encodeURIComponent(stack.apiKey)}`);
    await page.waitForSelector("nav a[href='#/submit']");
    await page.click("nav a[href='#/submit']");
    await page.waitForSelector("form.submit");

    // Nothing filled in: the API says what is missing, beside the field it names.
    await page.click("form.submit button[type=submit]");
    await page.waitForSelector(".form-errors:not([hidden])");
    assert.match(await text(page, ".form-errors"), /InvalidRequest: invalid body: body\.model\.id/);
    assert.equal(await page.$eval("#f-model", (i) => i.getAttribute("aria-invalid")), "true");
    assert.notEqual(await text(page, "#f-model-error"), "");
    assert.ok(errors.includes(`HTTP 400: POST ${base}/evaluations`));
    for (const error of errors.splice(0))
      assert.match(
        error,
        /^(HTTP 400: POST |console: Failed to load resource: .* 400 )/,
        "only the refused request",
      );

    await page.type("#f-model", "EleutherAI/pythia-160m");
    await page.type("#f-parameters", "1.6e8");
    await page.type("#f-tasks", "gsm8k"); // generative: vLLM on Neuron scores it (core/backends.ts)
    await page.type("#f-nshot", "0");
    await page.type("#f-limit", "30");
    await page.click("input[name=instanceType][value='inf2.xlarge']");
    await page.click("form.submit button[type=submit]");
    await page.waitForFunction(() => /^#\/runs\/[0-9a-z]{26}$/.test(location.hash));
    const runId = new URL(page.url()).hash.slice("#/runs/".length);
    const run = await stack.api(`/evaluations/${runId}`);
    assert.equal((run.body.spec as { model: { id: string } }).model.id, "EleutherAI/pythia-160m");
    assert.deepEqual((run.body.spec as { capacity: { instanceTypes: string[] } }).capacity.instanceTypes, [
      "inf2.xlarge",
    ]);
    await page.waitForFunction(() => document.querySelector(".summary .status")?.textContent === "SUCCEEDED");
    await page.waitForSelector("table.lm-eval");
    assert.match(await text(page, "table.lm-eval tbody"), /gsm8k/);

    await page.click("nav a[href='#/runs']");
    await page.waitForSelector(`tr[data-run="${runId}"]`);
    assert.deepEqual(errors, []);
    await page.browserContext().close();
  });

  it("cancels a running run from its page", async () => {
    const accepted = await stack.api("/evaluations", { method: "POST", json: sample });
    const runId = accepted.body.runId as string;
    const { page, errors } = await tab();
    await page.goto(`${base}/#key=${encodeURIComponent(stack.apiKey)}`);
    await page.waitForSelector("#main h1");
    await page.evaluate((id) => {
      location.hash = `#/runs/${id}`;
    }, runId);
    await page.waitForFunction(() => document.querySelector(".summary .status")?.textContent === "RUNNING");
    await page.click(".actions button");
    await page.waitForSelector(".actions button.danger");
    await page.click(".actions button.danger");
    await page.waitForFunction(() => document.querySelector(".summary .status")?.textContent === "CANCELLED");
    assert.deepEqual(errors, []);
    await page.browserContext().close();
  });

  it("with a read-only key shows everything but submit and cancel", async () => {
    const accepted = await stack.api("/evaluations", { method: "POST", json: sample });
    const runId = accepted.body.runId as string;
    const { page, errors } = await tab();
    await page.goto(`${base}/#key=${readOnlyKey}`);
    await page.waitForSelector(`tr[data-run="${runId}"]`);
    assert.equal(await text(page, "#session .badge"), "read-only key");
    const nav = await page.$$eval("nav a", (as) => as.map((a) => a.textContent));
    assert.deepEqual(nav, ["Runs", "Leaderboard"]);
    await page.click(`tr[data-run="${runId}"] td:first-child a`);
    await page.waitForSelector(".summary .status");
    await page.waitForSelector("#progress-h");
    assert.equal(await page.$(".actions button"), null, "no cancel button");
    await page.evaluate(() => {
      location.hash = "#/submit";
    });
    await page.waitForSelector("section .notice");
    assert.match(await text(page, "section .notice"), /read-only/);
    assert.equal(await page.$("form.submit"), null);
    assert.deepEqual(errors, []);
    await page.browserContext().close();
  });

  it("shows fields later versions of the API add (shards, parity, callback deliveries) when present", async () => {
    const { page, errors } = await tab();
    // The API as a later version might answer: the real answers, with those fields added.
    const added = {
      shards: [
        {
          shard: 1,
          tasks: ["mmlu_anatomy"],
          status: "SUCCEEDED",
          progress: { phase: "done", done: 135, total: 135 },
        },
        {
          shard: 2,
          tasks: ["mmlu_astronomy"],
          status: "RUNNING",
          progress: { phase: "evaluate", done: 40, total: 152 },
        },
      ],
      parity: {
        overall: "drift",
        zThreshold: 1.96,
        rows: [
          {
            task: "gsm8k",
            metric: "exact_match",
            filter: "strict-match",
            value: 0.3806,
            stderr: 0.0134,
            reference: { value: 0.3813, stderr: 0.0134, source: "published" },
            delta: -0.0007,
            z: 0.04,
            p: 0.97,
            test: "z",
            verdict: "consistent",
            warnings: [],
          },
        ],
      },
      callback: {
        url: "https://example.com/hook",
        deliveries: [{ at: "2026-01-01T00:00:00Z", outcome: "delivered", status: 200, ms: 41 }],
      },
    };
    await page.setRequestInterception(true);
    page.on("request", (request) => {
      const url = new URL(request.url());
      const run = url.pathname === `/evaluations/${sampleRunId}` && !url.search;
      const board = url.pathname === "/leaderboard";
      if (!run && !board) return void request.continue();
      void (async () => {
        const real = await fetch(request.url(), { headers: request.headers() });
        const body = (await real.json()) as { rows?: Record<string, unknown>[] };
        const answer = run
          ? { ...body, ...added }
          : { ...body, rows: body.rows?.map((r) => ({ ...r, parity: "drift" })) };
        await request.respond({
          status: real.status,
          headers: { "spoteval-access": real.headers.get("spoteval-access") ?? "" },
          contentType: "application/json",
          body: JSON.stringify(answer),
        });
      })();
    });
    await page.goto(`${base}/#key=${encodeURIComponent(stack.apiKey)}`);
    await page.waitForSelector("table.runs");
    await page.evaluate((id) => {
      location.hash = `#/runs/${id}`;
    }, sampleRunId);
    await page.waitForSelector("table.shards");
    const shards = await page.$$eval("table.shards tbody tr", (trs) => trs.map((tr) => tr.textContent ?? ""));
    assert.equal(shards.length, 2);
    assert.match(shards[0], /^1mmlu_anatomySUCCEEDED/);
    assert.match(shards[1], /^2mmlu_astronomyRUNNINGevaluate · 40\/152/);
    assert.equal(
      await page.$eval("table.shards tbody tr:nth-child(2) progress", (p) => p.getAttribute("value")),
      "26",
    );
    assert.equal(await text(page, "#parity-h + p .badge"), "drift");
    const parityRow = await page.$$eval("table.parity tbody td", (tds) =>
      tds.map((td) => (td.textContent ?? "").trim()),
    );
    assert.deepEqual(parityRow.slice(0, 5), [
      "gsm8k",
      "exact_match",
      "strict-match",
      "0.3806 ± 0.0134",
      "0.3813 ± 0.0134",
    ]);
    assert.equal(parityRow.at(-1), "consistent");
    assert.match(
      await text(page, ".artifacts ~ table caption"),
      /^Callback deliveries to https:\/\/example\.com\/hook$/,
    );
    assert.match(await text(page, ".artifacts ~ table tbody"), /delivered/);

    await page.evaluate(() => {
      location.hash = "#/leaderboard";
    });
    await page.waitForSelector("table.leaderboard tbody tr");
    assert.equal(await text(page, "table.leaderboard thead th:last-child"), "Parity");
    assert.equal(await text(page, "table.leaderboard tbody tr:first-child td:last-child .badge"), "drift");
    assert.deepEqual(errors, []);
    await page.browserContext().close();
  });

  it("tells a wrong key clearly, and only its 401 is logged", async () => {
    const { page, errors } = await tab();
    await page.goto(`${base}/#key=se_not_a_key`);
    await page.waitForSelector(".form-errors");
    assert.equal(
      await text(page, ".form-errors"),
      "The API did not accept this key: the API key is not valid. Check the key and sign in again.",
    );
    assert.ok(await page.$("form.sign-in #f-key"), "asks for a key");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("spoteval.apiKey")), null);
    assert.ok(errors.length > 0);
    for (const error of errors)
      assert.match(error, /^(HTTP 401: GET |console: Failed to load resource: .* 401 )/, error);

    // And the right key, typed into the form, signs in.
    errors.length = 0;
    await page.type("#f-key", stack.apiKey);
    await page.click("form.sign-in button");
    await page.waitForSelector("table.runs");
    assert.deepEqual(errors, []);
    await page.browserContext().close();
  });
});
