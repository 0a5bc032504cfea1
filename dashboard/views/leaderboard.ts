// Leaderboard: the latest finished run of each model on one task, metric and filter, sortable.
import { getJson, type Metric, type RunDetail, type RunSummary } from "../api.ts";
import { h } from "../dom.ts";
import { num, when } from "../format.ts";
import { parityBadge, simulatedBadge } from "../parts.ts";
import { Notice, problemText, type View } from "../view.ts";

type Row = {
  rank: number;
  model: string;
  value: number;
  stderr: number | string | null;
  higherIsBetter: boolean;
  runId: string;
  finishedAt: string;
  simulated: boolean;
  parity?: string | { verdict?: string; overall?: string };
};

const columns: { key: keyof Row; label: string; numeric?: boolean }[] = [
  { key: "rank", label: "Rank", numeric: true },
  { key: "model", label: "Model" },
  { key: "value", label: "Value", numeric: true },
  { key: "stderr", label: "± Stderr", numeric: true },
  { key: "runId", label: "Run" },
  { key: "finishedAt", label: "Finished" },
];

export function leaderboardView(query: URLSearchParams): View {
  const notice = new Notice();
  const form = h("form", { class: "filters", onsubmit: submit });
  const out = h("div");
  const el = h("section", null, h("h1", { tabindex: -1 }, "Leaderboard"), form, notice.el, out);
  let sort: { key: keyof Row; descending: boolean } = { key: "rank", descending: false };
  let rows: Row[] = [];

  function submit(event: Event) {
    event.preventDefault();
    const data = new FormData(form);
    const params = new URLSearchParams();
    for (const name of ["task", "metric", "filter"]) params.set(name, String(data.get(name) ?? "").trim());
    location.hash = `#/leaderboard?${params}`;
  }

  function renderForm(q: { task: string; metric: string; filter: string }, metrics: Metric[]) {
    const options = (name: keyof Metric) => [...new Set(metrics.map((m) => String(m[name])))];
    const field = (name: "task" | "metric" | "filter", label: string) => [
      h("label", { for: `lb-${name}` }, label),
      h("input", {
        id: `lb-${name}`,
        name,
        value: q[name],
        list: `lb-${name}-list`,
        autocomplete: "off",
        required: true,
      }),
      h(
        "datalist",
        { id: `lb-${name}-list` },
        options(name).map((o) => h("option", { value: o })),
      ),
    ];
    form.replaceChildren(
      ...field("task", "Task"),
      ...field("metric", "Metric"),
      ...field("filter", "Filter"),
      h("button", { type: "submit" }, "Show"),
    );
  }

  function renderTable(q: { task: string; metric: string; filter: string }) {
    if (!rows.length) {
      out.replaceChildren(
        h("p", { class: "empty" }, `No finished run has ${q.task} / ${q.metric} / ${q.filter}.`),
      );
      return;
    }
    const hasParity = rows.some((r) => r.parity !== undefined);
    const sorted = [...rows].sort((a, b) => {
      const x = a[sort.key];
      const y = b[sort.key];
      const order =
        typeof x === "number" && typeof y === "number"
          ? x - y
          : String(x ?? "").localeCompare(String(y ?? ""));
      return sort.descending ? -order : order;
    });
    const header = (c: (typeof columns)[number]) =>
      h(
        "th",
        {
          scope: "col",
          class: c.numeric ? "num" : "",
          "aria-sort": sort.key === c.key ? (sort.descending ? "descending" : "ascending") : null,
        },
        h(
          "button",
          {
            type: "button",
            class: "sort",
            onclick: () => {
              sort = { key: c.key, descending: sort.key === c.key ? !sort.descending : false };
              renderTable(q);
              (out.querySelector(`th[aria-sort] button`) as HTMLButtonElement | null)?.focus();
            },
          },
          c.label,
          h("span", { "aria-hidden": "true" }, sort.key === c.key ? (sort.descending ? " ▼" : " ▲") : ""),
        ),
      );
    const direction = rows[0].higherIsBetter ? "higher is better ↑" : "lower is better ↓";
    out.replaceChildren(
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data leaderboard" },
          h(
            "caption",
            null,
            `${q.task} · ${q.metric} · ${q.filter} (${direction}); latest finished run per model`,
          ),
          h(
            "thead",
            null,
            h("tr", null, columns.map(header), hasParity ? h("th", { scope: "col" }, "Parity") : null),
          ),
          h(
            "tbody",
            null,
            sorted.map((r) =>
              h(
                "tr",
                null,
                h("td", { class: "num" }, String(r.rank)),
                h(
                  "td",
                  null,
                  h("a", { href: `#/models/${encodeURIComponent(r.model)}` }, r.model),
                  r.simulated ? [" ", simulatedBadge()] : null,
                ),
                h("td", { class: "num" }, num(r.value)),
                h("td", { class: "num" }, num(r.stderr)),
                h(
                  "td",
                  null,
                  h("a", { href: `#/runs/${r.runId}`, title: r.runId }, h("code", null, r.runId)),
                ),
                h("td", null, h("time", { datetime: r.finishedAt }, when(r.finishedAt))),
                hasParity ? h("td", null, parityMark(r.parity)) : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  async function load() {
    let q = {
      task: query.get("task") ?? "",
      metric: query.get("metric") ?? "",
      filter: query.get("filter") ?? "",
    };
    // The latest finished run suggests what to rank by, and what the fields may hold.
    const latest = await getJson<{ items: RunSummary[] }>("/evaluations?status=SUCCEEDED&limit=1");
    const metrics = latest.items[0]
      ? (await getJson<RunDetail>(`/evaluations/${latest.items[0].runId}`)).metrics
      : [];
    if (!q.task) {
      const first = metrics.find((m) => !m.isGroup && typeof m.value === "number") ?? metrics[0];
      if (!first) {
        renderForm(q, metrics);
        out.replaceChildren(
          h("p", { class: "empty" }, "No run has finished yet: the leaderboard ranks finished runs."),
        );
        return;
      }
      q = { task: first.task, metric: first.metric, filter: first.filter };
    }
    renderForm(q, metrics);
    const params = new URLSearchParams({ ...q, filter: q.filter || "none", limit: "100" });
    rows = (await getJson<{ rows: Row[] }>(`/leaderboard?${params}`)).rows;
    renderTable(q);
  }
  load().catch((error) => notice.show(problemText(error)));
  return { title: "Leaderboard", el };
}

function parityMark(parity: Row["parity"]) {
  const verdict = typeof parity === "string" ? parity : (parity?.verdict ?? parity?.overall);
  return verdict ? parityBadge(verdict) : "";
}
