// Sign in: the API key, kept in this tab's sessionStorage. `/#key=KEY` signs in too.
import { h } from "../dom.ts";
import type { View } from "../view.ts";

export function signInView(message: string | undefined, signIn: (key: string) => void): View {
  const form = h(
    "form",
    {
      class: "sign-in",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const key = (form.querySelector("#f-key") as HTMLInputElement).value.trim();
        if (key) signIn(key);
      },
    },
    message ? h("div", { class: "form-errors", role: "alert" }, h("p", null, message)) : null,
    h("label", { for: "f-key" }, "API key"),
    h("input", {
      id: "f-key",
      type: "password",
      autocomplete: "off",
      spellcheck: "false",
      required: true,
      "aria-describedby": "f-key-hint",
    }),
    h(
      "p",
      { class: "hint", id: "f-key-hint" },
      "npm start prints the local stack's key, and a link that signs in with it. The key stays in this tab only.",
    ),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  return { title: "Sign in", el: h("section", null, h("h1", { tabindex: -1 }, "Sign in to spoteval"), form) };
}
