// Runs: newest first, each with its live progress, attempts and cost; filter by model or status; paging.
import { getJson, type RunDetail, type RunSummary } from "../api.ts";
import { h, swap } from "../dom.ts";
import { isFinal, runStatuses, shortRevision, tasksOf, usd, when } from "../format.ts";
import { progressBar, simulatedBadge, statusBadge } from "../parts.ts";
import { Notice, poll, type View } from "../view.ts";

const PAGE = 20;
const EVERY_MS = 1500;

/** Details of finished runs never change: kept for the page's life, so only live runs are re-read. */
const finished = new Map<string, RunDetail>();
/** The cursors of the pages before this one, so "Newer" can go back. */
const previousCursors: string[] = [];

export function runsView(query: URLSearchParams): View {
  const model = query.get("model") ?? "";
  const status = query.get("status") ?? "";
  const cursor = query.get("cursor") ?? "";
  if (!cursor) previousCursors.length = 0;

  const notice = new Notice();
  const tbody = h("tbody");
  const empty = h(
    "p",
    { class: "empty", hidden: true },
    "No runs yet. ",
    h("a", { href: "#/submit" }, "Submit one"),
    ".",
  );
  const pager = h("nav", { class: "pager", "aria-label": "Pages of runs" });
  const rows = new Map<string, HTMLTableRowElement>();

  const filters = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        const next = new URLSearchParams();
        for (const name of ["model", "status"]) {
          const value = String(data.get(name) ?? "").trim();
          if (value) next.set(name, value);
        }
        location.hash = `#/runs${next.size ? `?${next}` : ""}`;
      },
    },
    h("label", { for: "filter-model" }, "Model"),
    h("input", {
      id: "filter-model",
      name: "model",
      value: model,
      placeholder: "org/name",
      autocomplete: "off",
      size: 32,
    }),
    h("label", { for: "filter-status" }, "Status"),
    h(
      "select",
      { id: "filter-status", name: "status" },
      h("option", { value: "" }, "any"),
      runStatuses.map((s) => h("option", { value: s, selected: s === status }, s)),
    ),
    h("button", { type: "submit" }, "Filter"),
    model || status ? h("a", { href: "#/runs", class: "clear" }, "Clear") : null,
  );

  const table = h(
    "table",
    { class: "data runs" },
    h("caption", { class: "visually-hidden" }, "Runs, newest first"),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Run", "Status", "Model", "Tasks", "Progress", "Attempts", "Cost", "Created"].map((c) =>
          h("th", { scope: "col" }, c),
        ),
      ),
    ),
    tbody,
  );

  const el = h(
    "section",
    null,
    h("h1", { tabindex: -1 }, "Runs"),
    filters,
    notice.el,
    h("div", { class: "table-wrap" }, table),
    empty,
    pager,
  );

  const open = (runId: string) => (event: Event) => {
    // The run's link is the keyboard's way in; a click anywhere else on the row opens it too.
    if ((event.target as Element).closest("a, button")) return;
    location.hash = `#/runs/${runId}`;
  };

  function row(run: RunSummary, detail: RunDetail | undefined) {
    const attempts = detail?.attempts ?? [];
    const interrupted = attempts.filter(
      (a) => a.status === "INTERRUPTED" || /interrupt/i.test(a.endReason ?? ""),
    );
    const status = detail?.status ?? run.status;
    const tr = h(
      "tr",
      { class: "clickable", "data-run": run.runId },
      h("td", null, h("a", { href: `#/runs/${run.runId}` }, h("code", null, run.runId))),
      h(
        "td",
        null,
        statusBadge(status, detail?.reason ?? run.reason),
        run.simulated ? [" ", simulatedBadge()] : null,
      ),
      h("td", null, run.model.id, h("span", { class: "muted" }, ` @${shortRevision(run.model.revision)}`)),
      h("td", null, tasksOf(run.tasks)),
      h("td", null, progressBar(`progress of run ${run.runId}`, status, detail?.phase, detail?.progress)),
      h(
        "td",
        { class: "num" },
        detail ? String(attempts.length) : "",
        interrupted.length ? h("span", { class: "warn" }, ` (${interrupted.length} interrupted)`) : null,
      ),
      h("td", { class: "num" }, usd(detail?.costSoFarUsd ?? run.costUsd)),
      h("td", null, h("time", { datetime: run.createdAt }, when(run.createdAt))),
    );
    tr.addEventListener("click", open(run.runId));
    return tr;
  }

  let next: string | undefined;
  async function tick() {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (model) params.set("model", model);
    if (status) params.set("status", status);
    if (cursor) params.set("cursor", cursor);
    const page = await getJson<{ items: RunSummary[]; next?: string }>(`/evaluations?${params}`);
    const details = await Promise.all(
      page.items.map(async (run) => {
        const known = finished.get(run.runId);
        if (known) return known;
        const detail = await getJson<RunDetail>(`/evaluations/${run.runId}`);
        if (isFinal(detail.status)) finished.set(run.runId, detail);
        return detail;
      }),
    );
    const seen = new Set<string>();
    page.items.forEach((run, i) => {
      seen.add(run.runId);
      const fresh = row(run, details[i]);
      const old = rows.get(run.runId);
      // Cell by cell, so a focused link stays focused while the progress beside it moves.
      if (old) for (const [c, cell] of [...fresh.cells].entries()) swap(old.cells[c], cell);
      const current = old ?? fresh;
      rows.set(run.runId, current);
      if (tbody.children[i] !== current) tbody.insertBefore(current, tbody.children[i] ?? null);
    });
    for (const [id, tr] of rows) {
      if (!seen.has(id)) {
        tr.remove();
        rows.delete(id);
      }
    }
    empty.hidden = page.items.length > 0;
    table.hidden = page.items.length === 0;
    if (page.next !== next) {
      next = page.next;
      renderPager();
    }
    return true;
  }

  function renderPager() {
    const base = new URLSearchParams();
    if (model) base.set("model", model);
    if (status) base.set("status", status);
    const link = (label: string, target: string | undefined, onclick?: () => void) => {
      const params = new URLSearchParams(base);
      if (target) params.set("cursor", target);
      return h("a", { href: `#/runs${params.size ? `?${params}` : ""}`, onclick }, label);
    };
    pager.replaceChildren(
      ...(cursor ? [link("← Newer", previousCursors.at(-1), () => void previousCursors.pop())] : []),
      ...(next ? [link("Older →", next, () => void previousCursors.push(cursor))] : []),
    );
  }
  renderPager();

  const stop = poll(tick, EVERY_MS, notice);
  return { title: "Runs", el, stop };
}
