// The README's dashboard screenshots, taken from the local stack in Debian's Chromium:
// `node scripts/dashboard-screenshots.ts` writes docs/dashboard-{runs,run,leaderboard,model}.png.
// It submits a few simulated runs (three revisions of one model, two other models), photographs the
// runs list while the sample evaluates, then each view once everything has finished.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { projectRoot, startStack } from "../local/stack.ts";
import { launchChromium } from "../tests/dashboard/support.ts";

const stack = await startStack({ port: 0, simulatedSeconds: 20, waitMs: 100, retryMs: 0 });
const { browser, close } = await launchChromium();
try {
  const post = async (model: string, revision: string, parameters: number, extra: object = {}) => {
    const response = await fetch(`${stack.urls.API}/evaluations`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: { id: model, revision, parameters },
        tasks: ["gsm8k"],
        numFewshot: 5,
        ...extra,
      }),
    });
    return ((await response.json()) as { runId: string }).runId;
  };
  const finished = (runId: string) => async () => {
    for (;;) {
      const r = await fetch(`${stack.urls.API}/evaluations/${runId}`, {
        headers: { authorization: `Bearer ${stack.apiKey}` },
      });
      const status = ((await r.json()) as { status: string }).status;
      if (["SUCCEEDED", "FAILED", "CANCELLED"].includes(status)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const earlier = await Promise.all([
    post("mistralai/Mistral-7B-v0.1", "26bca36bde8333b5d7f72e9ed20ccda6a618af24", 7.24e9, { limit: 400 }),
    post("mistralai/Mistral-7B-v0.1", "7ad5799710574ba1c1d953eba3077af582f3a773", 7.24e9, { limit: 400 }),
    post("meta-llama/Llama-2-7b-hf", "main", 6.74e9, { limit: 400 }),
    post("EleutherAI/pythia-1.4b", "main", 1.4e9, { limit: 400 }),
  ]);
  await Promise.all(earlier.map((id) => finished(id)()));
  const sample = await post("mistralai/Mistral-7B-v0.1", "main", 7.24e9);

  const page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 760, deviceScaleFactor: 1 });
  const out = join(projectRoot, "docs");
  await mkdir(out, { recursive: true });
  const shot = async (p: Page, name: string) => {
    await p.screenshot({ path: join(out, `dashboard-${name}.png`) as `${string}.png` });
    console.log(`wrote docs/dashboard-${name}.png`);
  };
  const go = (hash: string) =>
    page.evaluate((h) => {
      location.hash = h;
    }, hash);

  await page.goto(`${stack.urls.API}/#key=${encodeURIComponent(stack.apiKey)}`);
  await page.waitForFunction(
    (id) => {
      const bar = document.querySelector(`tr[data-run="${id}"] progress`);
      return Number(bar?.getAttribute("value") ?? 0) >= 35;
    },
    { timeout: 60_000, polling: 100 },
    sample,
  );
  await shot(page, "runs");

  await finished(sample)();
  await go(`#/runs/${sample}`);
  await page.waitForSelector("table.lm-eval");
  await page.waitForSelector("table.timeline");
  await shot(page, "run");

  await go("#/leaderboard?task=gsm8k&metric=exact_match&filter=strict-match");
  await page.waitForSelector("table.leaderboard tbody tr");
  await shot(page, "leaderboard");

  await go(`#/models/${encodeURIComponent("mistralai/Mistral-7B-v0.1")}`);
  await page.waitForSelector(".chart canvas");
  await shot(page, "model");
} finally {
  await close();
  await stack.stop();
}
