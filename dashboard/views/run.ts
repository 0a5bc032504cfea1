// A run: what it evaluates, its live progress (per shard when sharded), the result table as lm_eval
// prints it, its attempts on a timeline, parity verdicts when present, its artifacts, and cancel.
import { type Attempt, getJson, getText, type Parity, type RunDetail, sendJson, session } from "../api.ts";
import { h, swap } from "../dom.ts";
import { isFinal, num, tasksOf, usd, when } from "../format.ts";
import { genericTable, parityBadge, progressBar, simulatedBadge, statusBadge } from "../parts.ts";
import { Notice, poll, problemText, type View } from "../view.ts";

const EVERY_MS = 1000;

export function runView(runId: string): View {
  const notice = new Notice();
  const heading = h("h1", { tabindex: -1 }, "Run ", h("code", null, runId));
  // Each section is rebuilt from the latest answer and swapped in only when it changed.
  const slots: Record<
    "summary" | "progress" | "actions" | "results" | "timeline" | "parity" | "artifacts",
    HTMLElement
  > = {
    summary: h("div"),
    progress: h("div"),
    actions: h("div"),
    results: h("div"),
    timeline: h("div"),
    parity: h("div"),
    artifacts: h("div"),
  };
  const announce = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const el = h("section", null, heading, announce, notice.el, ...Object.values(slots));
  const set = (name: keyof typeof slots, next: HTMLElement) => {
    slots[name] = swap(slots[name], next);
  };

  let markdown: { count: number; text: string } | undefined;
  let confirming = false;
  let run: RunDetail | undefined;

  async function tick() {
    run = await getJson<RunDetail>(`/evaluations/${runId}`);
    if (run.metrics.length && markdown?.count !== run.metrics.length) {
      markdown = {
        count: run.metrics.length,
        text: await getText(`/evaluations/${runId}?format=markdown`, "text/markdown"),
      };
    }
    render(run);
    return !isFinal(run.status);
  }

  function render(r: RunDetail) {
    if (announce.textContent !== `Status ${r.status}`) announce.textContent = `Status ${r.status}`;
    set("summary", summary(r));
    set("progress", isFinal(r.status) && !r.shards ? h("div") : progress(r));
    set("actions", actions(r));
    set("results", markdown ? results(markdown.text) : h("div"));
    set("timeline", timeline(r));
    set("parity", r.parity ? parity(r.parity) : h("div"));
    set("artifacts", artifacts(r));
  }

  function actions(r: RunDetail) {
    if (session.access !== "write" || isFinal(r.status)) return h("div");
    if (r.cancelRequested)
      return h(
        "div",
        { class: "actions" },
        h("p", null, "Cancel requested: the run is releasing its capacity."),
      );
    const cancel = async () => {
      if (!confirming) {
        confirming = true;
        render(r);
        (slots.actions.querySelector("button.danger") as HTMLButtonElement | null)?.focus();
        return;
      }
      try {
        await sendJson("DELETE", `/evaluations/${runId}`);
        notice.clear();
        render(await getJson<RunDetail>(`/evaluations/${runId}`));
      } catch (error) {
        notice.show(problemText(error));
      }
    };
    return h(
      "div",
      { class: "actions" },
      confirming
        ? [
            h("button", { type: "button", class: "danger", onclick: cancel }, "Yes, cancel this run"),
            " ",
            h(
              "button",
              {
                type: "button",
                onclick: () => {
                  confirming = false;
                  render(r);
                },
              },
              "Keep it running",
            ),
          ]
        : h("button", { type: "button", onclick: cancel }, "Cancel run…"),
    );
  }

  const stop = poll(tick, EVERY_MS, notice);
  return { title: `Run ${runId}`, el, stop };
}

function summary(r: RunDetail) {
  const spec = r.spec;
  const capacity = spec.capacity as {
    instanceTypes?: string[];
    allowOnDemand?: boolean;
    maxSpotPrice?: number;
  };
  const item = (term: string, ...value: (Node | string)[]) => [h("dt", null, term), h("dd", null, ...value)];
  return h(
    "div",
    { class: "summary" },
    h(
      "p",
      { class: "lead" },
      statusBadge(r.status, r.reason),
      r.reason ? ` ${r.reason}` : "",
      r.simulated ? [" ", simulatedBadge()] : "",
    ),
    h(
      "dl",
      null,
      item("Model", h("a", { href: `#/models/${encodeURIComponent(spec.model.id)}` }, spec.model.id)),
      item("Revision", `${spec.model.revision} · ${spec.model.dtype}`),
      item("Tasks", spec.suite ? `${spec.suite}: ${tasksOf(spec.tasks)}` : tasksOf(spec.tasks)),
      item("Limit", spec.limit === undefined ? "all documents" : String(spec.limit)),
      item("Batch size", String(spec.batchSize)),
      item("Harness", h("code", null, spec.harnessRevision.slice(0, 12))),
      item(
        "Capacity",
        `${capacity.instanceTypes?.join(", ") ?? "any inf2 that fits"}${capacity.allowOnDemand ? ", on-demand allowed" : ", Spot only"}${capacity.maxSpotPrice ? `, at most $${capacity.maxSpotPrice}/h` : ""}`,
      ),
      item("Created", h("time", { datetime: r.createdAt }, when(r.createdAt))),
      item("Updated", h("time", { datetime: r.updatedAt }, when(r.updatedAt))),
      item(isFinal(r.status) ? "Cost" : "Cost so far", usd(r.costUsd ?? r.costSoFarUsd)),
    ),
    r.error
      ? h(
          "p",
          { class: "error" },
          typeof r.error === "string" ? r.error : `${r.error.name ?? "Error"}: ${r.error.message ?? ""}`,
        )
      : null,
  );
}

function progress(r: RunDetail) {
  return h(
    "section",
    { "aria-labelledby": "progress-h" },
    h("h2", { id: "progress-h" }, "Progress"),
    progressBar("progress of the run", r.status, r.phase, r.progress),
    r.shards?.length
      ? h(
          "table",
          { class: "data shards" },
          h("caption", null, "Shards"),
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              ["Shard", "Tasks", "Status", "Progress"].map((c) => h("th", { scope: "col" }, c)),
            ),
          ),
          h(
            "tbody",
            null,
            r.shards.map((s, i) => {
              const name = String(s.shard ?? s.index ?? i);
              return h(
                "tr",
                null,
                h("td", null, name),
                h("td", null, s.tasks?.join(", ") ?? ""),
                h("td", null, s.status ? statusBadge(s.status) : ""),
                h(
                  "td",
                  null,
                  progressBar(
                    `progress of shard ${name}`,
                    s.status ?? r.status,
                    s.progress?.phase,
                    s.progress,
                  ),
                ),
              );
            }),
          ),
        )
      : null,
  );
}

/** The markdown lm_eval prints, as semantic tables with the same columns, cells and alignment. */
function results(markdown: string) {
  const blocks: HTMLElement[] = [];
  let lines: string[] = [];
  const flush = () => {
    if (lines.length >= 2) blocks.push(markdownTable(lines));
    lines = [];
  };
  for (const line of markdown.split("\n")) {
    if (line.startsWith("|")) lines.push(line);
    else {
      flush();
      if (line.trim())
        blocks.push(h("p", { class: line.startsWith("SIMULATED") ? "simulated-note" : "" }, line));
    }
  }
  flush();
  return h(
    "section",
    { "aria-labelledby": "results-h" },
    h("h2", { id: "results-h" }, "Results"),
    ...blocks,
    h(
      "details",
      null,
      h("summary", null, "As lm_eval prints it (markdown)"),
      h("pre", { class: "markdown" }, markdown),
    ),
  );
}

function markdownTable(lines: string[]) {
  const cells = (line: string) => line.slice(1, line.endsWith("|") ? -1 : undefined).split("|");
  const [head, rule, ...body] = lines;
  const align = cells(rule).map((c) => (c.trim().endsWith(":") ? "num" : ""));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data lm-eval" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          cells(head).map((c, i) => h("th", { scope: "col", class: align[i] }, c.trim())),
        ),
      ),
      h(
        "tbody",
        null,
        body.map((line) =>
          h(
            "tr",
            null,
            cells(line).map((c, i) => h("td", { class: align[i] }, c.trim())),
          ),
        ),
      ),
    ),
  );
}

/** Attempts on one time axis, from the run's creation to its end (or now), with what each cost. */
function timeline(r: RunDetail) {
  if (!r.attempts.length) return h("div");
  const start = Date.parse(r.createdAt);
  const end = Math.max(
    isFinal(r.status) ? Date.parse(r.updatedAt) : Date.now(),
    ...r.attempts.map((a) => Date.parse(a.endedAt ?? a.heartbeatAt ?? a.startedAt ?? r.createdAt)),
  );
  const span = Math.max(1, end - start);
  const bar = (a: Attempt) => {
    const from = Date.parse(a.startedAt ?? r.createdAt);
    const to = a.endedAt ? Date.parse(a.endedAt) : end;
    const b = h("span", { class: `bar bar-${a.status.toLowerCase()}` });
    // Positioned through CSSOM: the Content-Security-Policy forbids inline style attributes.
    b.style.left = `${(100 * (from - start)) / span}%`;
    b.style.width = `${Math.max(0.5, (100 * (to - from)) / span)}%`;
    return h("div", { class: "track", "aria-hidden": "true" }, b);
  };
  return h(
    "section",
    { "aria-labelledby": "attempts-h" },
    h("h2", { id: "attempts-h" }, "Attempts"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data timeline" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["#", "Instance", "Market", "Price", "Started", "Ended", "Outcome", "Cost", "Timeline"].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h(
          "tbody",
          null,
          r.attempts.map((a) =>
            h(
              "tr",
              null,
              h("td", { class: "num" }, String(a.attempt)),
              h(
                "td",
                null,
                a.instanceType ?? "",
                h("span", { class: "muted" }, ` ${a.availabilityZone ?? ""} ${a.instanceId ?? ""}`),
              ),
              h("td", null, a.market ?? ""),
              h(
                "td",
                { class: "num" },
                a.pricePerHour === undefined ? "" : `$${a.pricePerHour.toFixed(4)}/h`,
              ),
              h("td", null, when(a.startedAt)),
              h("td", null, when(a.endedAt)),
              h(
                "td",
                null,
                statusBadge(a.status),
                a.endReason
                  ? h("span", { class: /interrupt/i.test(a.endReason) ? "warn" : "" }, ` ${a.endReason}`)
                  : "",
              ),
              h("td", { class: "num" }, usd(a.costUsd)),
              h("td", { class: "timeline-cell" }, bar(a)),
            ),
          ),
        ),
      ),
    ),
  );
}

function parity(p: Parity) {
  const verdict = p.verdict ?? p.overall;
  const rows = p.rows ?? [];
  const known = rows.every((row) => row.task !== undefined && row.metric !== undefined);
  const pm = (value: unknown, se: unknown) =>
    `${num(value as number)}${typeof se === "number" ? ` ± ${num(se)}` : ""}`;
  return h(
    "section",
    { "aria-labelledby": "parity-h" },
    h("h2", { id: "parity-h" }, "Parity with the reference"),
    verdict
      ? h(
          "p",
          null,
          parityBadge(verdict),
          p.zThreshold ? h("span", { class: "muted" }, ` consistent when |z| ≤ ${p.zThreshold}`) : "",
        )
      : null,
    rows.length && !known ? genericTable("Parity by metric", rows as Record<string, unknown>[]) : null,
    rows.length && known
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data parity" },
            h("caption", null, "Parity by metric"),
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ["Task", "Metric", "Filter", "Value", "Reference", "Δ", "z", "p", "Test", "Verdict"].map(
                  (c) => h("th", { scope: "col" }, c),
                ),
              ),
            ),
            h(
              "tbody",
              null,
              rows.map((row) =>
                h(
                  "tr",
                  null,
                  h("td", null, row.task ?? ""),
                  h("td", null, row.metric ?? ""),
                  h("td", null, row.filter ?? ""),
                  h("td", { class: "num" }, pm(row.value, row.stderr)),
                  h(
                    "td",
                    { class: "num", title: row.reference?.source },
                    row.reference ? pm(row.reference.value, row.reference.stderr) : "none",
                  ),
                  h("td", { class: "num" }, num(row.delta)),
                  h("td", { class: "num" }, num(row.z, 2)),
                  h("td", { class: "num" }, num(row.p, 3)),
                  h("td", null, row.test ?? ""),
                  h(
                    "td",
                    null,
                    row.verdict ? parityBadge(row.verdict) : "",
                    row.warnings?.length ? h("span", { class: "warn" }, ` ${row.warnings.join("; ")}`) : "",
                  ),
                ),
              ),
            ),
          ),
        )
      : null,
  );
}

function artifacts(r: RunDetail) {
  const download = (format: "json" | "csv" | "markdown", type: string, ext: string) =>
    h(
      "button",
      {
        type: "button",
        onclick: async () => {
          // The API needs the key in a header, so a plain link cannot fetch it: fetch, then save.
          const text = await getText(`/evaluations/${r.runId}?format=${format}`, type);
          const a = h("a", {
            href: URL.createObjectURL(new Blob([text], { type })),
            download: `${r.runId}.${ext}`,
          });
          a.click();
          setTimeout(() => URL.revokeObjectURL(a.href), 1000);
        },
      },
      `Download ${format.toUpperCase()}`,
    );
  const deliveries = r.deliveries ?? r.callback?.deliveries ?? [];
  const samples = r.samples === undefined ? [] : Array.isArray(r.samples) ? r.samples : [r.samples];
  return h(
    "section",
    { "aria-labelledby": "artifacts-h" },
    h("h2", { id: "artifacts-h" }, "Artifacts"),
    h(
      "ul",
      { class: "artifacts" },
      r.results ? h("li", null, "Raw results: ", h("code", null, r.results)) : null,
      r.results && !r.samples
        ? h(
            "li",
            null,
            "Per-sample logs: beside the results, in ",
            h("code", null, r.results.slice(0, r.results.lastIndexOf("/") + 1)),
          )
        : null,
      samples.map((s) => h("li", null, "Samples: ", h("code", null, s))),
      !r.results && !samples.length ? h("li", { class: "muted" }, "No results file yet.") : null,
    ),
    r.metrics.length
      ? h(
          "p",
          { class: "downloads" },
          download("json", "application/json", "json"),
          " ",
          download("csv", "text/csv", "csv"),
          " ",
          download("markdown", "text/markdown", "md"),
        )
      : null,
    deliveries.length
      ? genericTable(`Callback deliveries${r.callback?.url ? ` to ${r.callback.url}` : ""}`, deliveries)
      : null,
  );
}
