// Pieces several views show: a run's status, its progress bar, a table of arbitrary rows.
import type { Progress } from "./api.ts";
import { h } from "./dom.ts";
import { fraction, progressText } from "./format.ts";

export const statusBadge = (status: string, reason?: string) =>
  h("span", { class: `status status-${status.toLowerCase()}`, title: reason }, status);

export const simulatedBadge = () =>
  h(
    "span",
    { class: "badge simulated", title: "spoteval's simulated engine: no model ran, the scores are not real" },
    "simulated",
  );

/** A native progress bar (read out as a percentage) with the engine's phase, counts and ETA beside it. */
export function progressBar(label: string, status: string, phase: string | undefined, p?: Progress) {
  const value = fraction(status, p);
  const indeterminate = !p && !["SUCCEEDED", "FAILED", "CANCELLED"].includes(status);
  return h(
    "div",
    { class: "progress" },
    h("progress", {
      max: 100,
      ...(indeterminate ? {} : { value: Math.floor(value * 100) }),
      "aria-label": label,
    }),
    h("span", { class: "progress-text" }, progressText(status, phase, p)),
  );
}

/** Rows of objects whose keys are not known in advance (parity rows, deliveries), as a plain table. */
export function genericTable(caption: string, rows: Record<string, unknown>[]) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) =>
    v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return h(
    "table",
    { class: "data" },
    h("caption", null, caption),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        columns.map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((r) =>
        h(
          "tr",
          null,
          columns.map((c) => h("td", null, cell(r[c]))),
        ),
      ),
    ),
  );
}

/** A parity verdict (consistent, drift, no-reference, ...) as a mark. */
export const parityBadge = (verdict: string) =>
  h("span", { class: `badge parity-${verdict.toLowerCase().replace(/[^a-z-]/g, "")}` }, verdict);
