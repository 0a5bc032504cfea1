// A model: its finished runs over revisions, one chart per task, metric and filter, with a ±stderr band.
import uPlot from "uplot";
import { getJson, type Metric } from "../api.ts";
import { h } from "../dom.ts";
import { num, shortRevision, when } from "../format.ts";
import { Notice, problemText, type View } from "../view.ts";

type ModelRun = {
  runId: string;
  finishedAt: string;
  simulated: boolean;
  spec: { model: { revision: string } };
  metrics: Metric[];
};

/** Charts beyond this many (a suite's subtasks) are listed in the table only. */
const MAX_CHARTS = 12;

export function modelView(modelId: string): View {
  const notice = new Notice();
  const charts = h("div", { class: "charts" });
  const el = h(
    "section",
    null,
    h("h1", { tabindex: -1 }, "Model ", h("span", { class: "model-id" }, modelId)),
    notice.el,
    charts,
  );
  const plots: uPlot[] = [];
  const resize = new ResizeObserver(() => {
    for (const plot of plots) plot.setSize(size(plot.root.parentElement as HTMLElement));
  });

  async function load() {
    const answer = await getJson<{ runs: ModelRun[] }>(
      `/models/${encodeURIComponent(modelId)}/results?limit=100`,
    );
    const runs = [...answer.runs].reverse(); // oldest first, left to right
    if (!runs.length) {
      charts.replaceChildren(h("p", { class: "empty" }, "No finished run of this model yet."));
      return;
    }
    const series = new Map<
      string,
      { task: string; metric: string; filter: string; byRun: (Metric | undefined)[] }
    >();
    runs.forEach((run, i) => {
      for (const m of run.metrics) {
        if (typeof m.value !== "number") continue;
        const key = `${m.task}\u0000${m.metric}\u0000${m.filter}`;
        if (!series.has(key))
          series.set(key, {
            task: m.task,
            metric: m.metric,
            filter: m.filter,
            byRun: new Array(runs.length),
          });
        (series.get(key) as { byRun: (Metric | undefined)[] }).byRun[i] = m;
      }
    });
    const labels = runs.map((r) => {
      return `${shortRevision(r.spec.model.revision)} · ${new Date(r.finishedAt).toLocaleDateString()}`;
    });
    charts.replaceChildren(
      ...[...series.values()].slice(0, MAX_CHARTS).map((s) => chart(s, runs, labels)),
      series.size > MAX_CHARTS
        ? h("p", { class: "muted" }, `${series.size - MAX_CHARTS} more metrics are not charted.`)
        : "",
    );
    resize.observe(charts);
  }

  function chart(
    s: { task: string; metric: string; filter: string; byRun: (Metric | undefined)[] },
    runs: ModelRun[],
    labels: string[],
  ) {
    const title = `${s.task} · ${s.metric} · ${s.filter}`;
    const value = s.byRun.map((m) => (typeof m?.value === "number" ? m.value : null));
    const se = s.byRun.map((m) => (typeof m?.stderr === "number" ? m.stderr : null));
    const upper = value.map((v, i) => (v === null || se[i] === null ? null : v + (se[i] as number)));
    const lower = value.map((v, i) => (v === null || se[i] === null ? null : v - (se[i] as number)));
    const box = h("div", { class: "chart", role: "img", "aria-label": `${title} over ${runs.length} runs` });
    const figure = h(
      "figure",
      null,
      h("figcaption", null, title),
      box,
      h(
        "details",
        null,
        h("summary", null, "Values"),
        h(
          "table",
          { class: "data" },
          h("caption", { class: "visually-hidden" }, title),
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              ["Run", "Revision", "Finished", "Value", "Stderr"].map((c) => h("th", { scope: "col" }, c)),
            ),
          ),
          h(
            "tbody",
            null,
            runs.map((r, i) =>
              h(
                "tr",
                null,
                h("td", null, h("a", { href: `#/runs/${r.runId}` }, h("code", null, r.runId))),
                h("td", null, r.spec.model.revision),
                h("td", null, when(r.finishedAt)),
                h("td", { class: "num" }, num(value[i])),
                h("td", { class: "num" }, num(se[i])),
              ),
            ),
          ),
        ),
      ),
    );
    // uPlot measures its container: build it once the figure is in the page.
    queueMicrotask(() => {
      const xs = runs.map((_, i) => i);
      const band = "rgba(29, 78, 216, 0.15)";
      const edge = "rgba(29, 78, 216, 0.35)";
      const plot = new uPlot(
        {
          ...size(box),
          legend: { show: true },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
          axes: [
            {
              splits: () => xs,
              values: (_u, splits) => splits.map((v) => labels[v] ?? ""),
              stroke: "#475569",
            },
            { label: s.metric, stroke: "#475569", size: 60 },
          ],
          series: [
            { label: "run", value: (_u, v) => (v === null ? "" : (labels[v] ?? "")) },
            {
              label: s.metric,
              stroke: "#1d4ed8",
              width: 2,
              points: { show: true, size: 8, fill: "#1d4ed8" },
              value: (_u, v) => num(v),
            },
            {
              label: "+stderr",
              stroke: edge,
              dash: [4, 4],
              points: { show: false },
              value: (_u, v) => num(v),
            },
            {
              label: "−stderr",
              stroke: edge,
              dash: [4, 4],
              points: { show: false },
              value: (_u, v) => num(v),
            },
          ],
          bands: [{ series: [2, 3], fill: band }],
        },
        [xs, value, upper, lower],
        box,
      );
      plots.push(plot);
    });
    return figure;
  }

  load().catch((error) => notice.show(problemText(error)));
  return {
    title: `Model ${modelId}`,
    el,
    stop: () => {
      resize.disconnect();
      for (const plot of plots) plot.destroy();
    },
  };
}

const size = (box: HTMLElement) => ({
  width: Math.max(280, Math.min(900, box.clientWidth || 640)),
  height: 240,
});
