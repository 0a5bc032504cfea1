// The dashboard: a page served by the API at GET /, reading only the public JSON routes with the API key
// the user gives (kept in sessionStorage; `/#key=KEY` signs in, and the fragment never reaches a server).
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { ApiError, getJson, session } from "./api.ts";
import { h } from "./dom.ts";
import type { View } from "./view.ts";
import { leaderboardView } from "./views/leaderboard.ts";
import { modelView } from "./views/model.ts";
import { runView } from "./views/run.ts";
import { runsView } from "./views/runs.ts";
import { signInView } from "./views/sign-in.ts";
import { submitView } from "./views/submit.ts";

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const sessionBox = document.getElementById("session") as HTMLElement;
let current: View | undefined;
let refused: string | undefined;
let firstView = true;

function show(view: View) {
  current?.stop?.();
  current = view;
  main.replaceChildren(view.el);
  document.title = `${view.title} · spoteval`;
  // After a navigation, keyboard and screen reader users start at the new view's heading.
  if (!firstView) view.el.querySelector<HTMLElement>("h1")?.focus();
  firstView = false;
  renderHeader();
}

const section = () => location.hash.replace(/^#\/?/, "").split(/[/?]/)[0] || "runs";

function renderHeader() {
  const links: [string, string][] = [
    ["runs", "Runs"],
    ["leaderboard", "Leaderboard"],
    ...(session.access === "write" ? ([["submit", "Submit"]] as [string, string][]) : []),
  ];
  const signedIn = Boolean(session.key());
  nav.replaceChildren(
    ...(signedIn
      ? links.map(([name, label]) =>
          h(
            "li",
            null,
            h("a", { href: `#/${name}`, "aria-current": section() === name ? "page" : null }, label),
          ),
        )
      : []),
  );
  sessionBox.replaceChildren(
    ...(signedIn
      ? [
          session.access === "read"
            ? h("span", { class: "badge", title: "sees every run; cannot submit or cancel" }, "read-only key")
            : "",
          h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
        ]
      : []),
  );
}

function route() {
  if (location.hash.startsWith("#key=")) {
    void signIn(decodeURIComponent(location.hash.slice("#key=".length)));
    return;
  }
  if (!session.key()) {
    show(signInView(refused, (key) => void signIn(key)));
    return;
  }
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  const arg = decodeURIComponent(rest.join("/"));
  const params = new URLSearchParams(query);
  if (name === "runs" && arg) show(runView(arg));
  else if (name === "models" && arg) show(modelView(arg));
  else if (name === "leaderboard") show(leaderboardView(params));
  else if (name === "submit") show(submitView());
  else show(runsView(params));
}

async function signIn(key: string) {
  session.signIn(key);
  refused = undefined;
  // The key leaves the address bar and the history at once; it lives in this tab's sessionStorage only.
  if (location.hash.startsWith("#key=")) history.replaceState(null, "", `${location.pathname}#/runs`);
  if (await verify()) route();
}

/** One read tells whether the API takes the key, and what it may do (read-only keys cannot submit). */
async function verify(): Promise<boolean> {
  try {
    await getJson("/evaluations?limit=1");
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false; // onRefused has shown why
    return true; // the API is unreachable or failing: the view says so and retries
  }
}

function signOut() {
  session.signOut();
  refused = undefined;
  history.replaceState(null, "", `${location.pathname}#/runs`);
  route();
}

session.onRefused = (error) => {
  if (!session.key()) return;
  session.signOut();
  refused = `The API did not accept this key: ${error.message}. Check the key and sign in again.`;
  show(signInView(refused, (key) => void signIn(key)));
};

// The skip link's #main would be a route here: it moves the focus instead.
document.querySelector(".skip")?.addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", route);
if (session.key() && !location.hash.startsWith("#key=")) {
  if (await verify()) route();
} else route();
