// Submit: an evaluation request built from a form; the API validates it and its messages are shown
// beside the fields they name (the form itself does not second-guess the API: novalidate).
import { ApiError, sendJson, session } from "../api.ts";
import { h } from "../dom.ts";
import type { View } from "../view.ts";

const instanceTypes = ["inf2.xlarge", "inf2.8xlarge", "inf2.24xlarge", "inf2.48xlarge"];
const suites = ["open-llm-leaderboard-v1"];

/** The request path each field fills (the API's error paths, less the leading "body."). */
const fields: Record<string, string> = {
  "model.id": "f-model",
  "model.revision": "f-revision",
  "model.dtype": "f-dtype",
  "model.parameters": "f-parameters",
  tasks: "f-tasks",
  suite: "f-suite",
  numFewshot: "f-nshot",
  limit: "f-limit",
  batchSize: "f-batch",
  "capacity.instanceTypes": "f-types",
  "capacity.allowOnDemand": "f-ondemand",
  "capacity.maxSpotPrice": "f-maxprice",
};

export function submitView(): View {
  if (session.access === "read") {
    return {
      title: "Submit",
      el: h(
        "section",
        null,
        h("h1", { tabindex: -1 }, "Submit an evaluation"),
        h(
          "p",
          { class: "notice" },
          "This API key is read-only: it sees every run, but cannot start or cancel one.",
        ),
      ),
    };
  }
  const summary = h("div", { class: "form-errors", role: "alert", tabindex: -1, hidden: true });
  const error = (id: string) => h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const field = (id: string, label: string, input: HTMLElement, hint?: string) => {
    input.setAttribute("aria-describedby", hint ? `${id}-hint ${id}-error` : `${id}-error`);
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      input,
      hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
      error(id),
    );
  };
  const input = (id: string, attrs: Record<string, string | number | boolean> = {}) =>
    h("input", { id, name: id, autocomplete: "off", ...attrs });

  const form = h(
    "form",
    { class: "submit", novalidate: true, onsubmit: (event: Event) => void send(event) },
    summary,
    h(
      "fieldset",
      null,
      h("legend", null, "Model"),
      field(
        "f-model",
        "Model",
        input("f-model", { placeholder: "mistralai/Mistral-7B-v0.1" }),
        "A Hub id (org/name) or s3://bucket/prefix",
      ),
      field("f-revision", "Revision", input("f-revision", { value: "main" })),
      field(
        "f-dtype",
        "dtype",
        h(
          "select",
          { id: "f-dtype", name: "f-dtype" },
          ["bfloat16", "float16", "float32"].map((d) => h("option", null, d)),
        ),
      ),
      field(
        "f-parameters",
        "Parameters",
        input("f-parameters", { inputmode: "decimal", placeholder: "7.24e9" }),
        "Optional; sizes the instance",
      ),
    ),
    h(
      "fieldset",
      null,
      h("legend", null, "What to evaluate"),
      field(
        "f-tasks",
        "Tasks",
        input("f-tasks", { placeholder: "gsm8k, arc_easy" }),
        "Harness task names, separated by commas; or a suite",
      ),
      field(
        "f-suite",
        "Suite",
        h(
          "select",
          { id: "f-suite", name: "f-suite" },
          h("option", { value: "" }, "none"),
          suites.map((s) => h("option", null, s)),
        ),
      ),
      field("f-nshot", "n-shot", input("f-nshot", { inputmode: "numeric", size: 4 })),
      field(
        "f-limit",
        "Limit",
        input("f-limit", { inputmode: "numeric", size: 8 }),
        "Documents per task; empty for all",
      ),
      field("f-batch", "Batch size", input("f-batch", { inputmode: "numeric", size: 4, value: "1" })),
    ),
    h(
      "fieldset",
      { id: "f-types", tabindex: -1 },
      h("legend", null, "Capacity"),
      h(
        "div",
        { class: "checks" },
        instanceTypes.map((t) =>
          h("label", null, h("input", { type: "checkbox", name: "instanceType", value: t }), ` ${t}`),
        ),
      ),
      h("p", { class: "hint" }, "No type checked: any inf2 size that fits the model."),
      error("f-types"),
      h(
        "div",
        { class: "field check" },
        h(
          "label",
          null,
          h("input", { type: "checkbox", id: "f-ondemand" }),
          " Allow on-demand when Spot has no capacity",
        ),
        error("f-ondemand"),
      ),
      field("f-maxprice", "Highest Spot price ($/h)", input("f-maxprice", { inputmode: "decimal", size: 8 })),
    ),
    h("button", { type: "submit", class: "primary" }, "Start evaluation"),
  );

  const value = (id: string) => (form.querySelector(`#${id}`) as HTMLInputElement).value.trim();
  /** A number field as typed: the API says what is wrong with it. */
  const number = (id: string) => (value(id) === "" ? undefined : Number(value(id)));

  function body() {
    const tasks = value("f-tasks")
      .split(/[\s,]+/)
      .filter(Boolean);
    const types = [...form.querySelectorAll<HTMLInputElement>("input[name=instanceType]:checked")].map(
      (i) => i.value,
    );
    const capacity = {
      ...(types.length ? { instanceTypes: types } : {}),
      ...((form.querySelector("#f-ondemand") as HTMLInputElement).checked ? { allowOnDemand: true } : {}),
      ...(number("f-maxprice") !== undefined ? { maxSpotPrice: number("f-maxprice") } : {}),
    };
    return {
      model: {
        id: value("f-model"),
        ...(value("f-revision") ? { revision: value("f-revision") } : {}),
        dtype: value("f-dtype"),
        ...(number("f-parameters") !== undefined ? { parameters: number("f-parameters") } : {}),
      },
      ...(tasks.length ? { tasks } : {}),
      ...(value("f-suite") ? { suite: value("f-suite") } : {}),
      ...(number("f-nshot") !== undefined ? { numFewshot: number("f-nshot") } : {}),
      ...(number("f-limit") !== undefined ? { limit: number("f-limit") } : {}),
      ...(number("f-batch") !== undefined ? { batchSize: number("f-batch") } : {}),
      ...(Object.keys(capacity).length ? { capacity } : {}),
    };
  }

  function clearErrors() {
    summary.hidden = true;
    for (const e of form.querySelectorAll<HTMLElement>(".field-error")) {
      e.hidden = true;
      e.textContent = "";
    }
    for (const e of form.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
  }

  function showErrors(error: ApiError) {
    const list = error.problem.errors ?? [];
    summary.replaceChildren(
      h("p", null, h("strong", null, error.problem.title ?? `HTTP ${error.status}`), ": ", error.message),
    );
    summary.hidden = false;
    for (const e of list) {
      // The most precise field the path names: body.model.id -> model.id; body.tasks.0 -> tasks.
      const path = e.path.replace(/^body\.?/, "").split(".");
      while (path.length && !fields[path.join(".")]) path.pop();
      const id = fields[path.join(".")];
      if (!id) continue;
      const slot = form.querySelector<HTMLElement>(`#${id}-error`);
      if (slot) {
        slot.textContent = slot.textContent ? `${slot.textContent}; ${e.message}` : e.message;
        slot.hidden = false;
      }
      form.querySelector(`#${id}`)?.setAttribute("aria-invalid", "true");
    }
    summary.focus();
  }

  async function send(event: Event) {
    event.preventDefault();
    clearErrors();
    const button = form.querySelector("button[type=submit]") as HTMLButtonElement;
    button.disabled = true;
    try {
      const accepted = await sendJson<{ runId: string }>("POST", "/evaluations", body());
      location.hash = `#/runs/${accepted.runId}`;
    } catch (error) {
      if (error instanceof ApiError) showErrors(error);
      else {
        summary.replaceChildren(h("p", null, `Could not reach the API: ${(error as Error).message}`));
        summary.hidden = false;
      }
    } finally {
      button.disabled = false;
    }
  }

  return { title: "Submit", el: h("section", null, h("h1", { tabindex: -1 }, "Submit an evaluation"), form) };
}
