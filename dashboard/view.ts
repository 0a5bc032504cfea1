// What a view is, and the polling that keeps a live view current.
import { ApiError } from "./api.ts";
import { h } from "./dom.ts";

export type View = { title: string; el: HTMLElement; stop?: () => void };

/**
 * Runs `tick` now and again `everyMs` after each one ends, until it returns false or the view stops.
 * A hidden tab does not poll. An unreachable or failing API is retried; a 4xx answer ends the polling.
 */
export function poll(tick: () => Promise<boolean>, everyMs: number, notice: Notice): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    if (stopped) return;
    let again = true;
    if (!document.hidden) {
      try {
        again = await tick();
        notice.clear();
      } catch (error) {
        if (error instanceof ApiError && error.status < 500) {
          // The request itself is wrong (a filter the API refuses, a run that does not exist): say
          // so and stop; a refused key has already sent the page back to sign-in.
          if (error.status !== 401) notice.show(problemText(error));
          again = false;
        } else notice.show(`Could not reach the API (${(error as Error).message}); retrying.`);
      }
    }
    if (!stopped && again) timer = setTimeout(run, everyMs);
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** One line a view uses to say something went wrong, read out by screen readers when it changes. */
export class Notice {
  readonly el = h("p", { class: "notice", role: "status", hidden: true });
  show(text: string) {
    if (this.el.textContent !== text) this.el.textContent = text;
    this.el.hidden = false;
  }
  clear() {
    if (!this.el.hidden) {
      this.el.hidden = true;
      this.el.textContent = "";
    }
  }
}

export const problemText = (error: unknown) =>
  error instanceof ApiError
    ? `${error.problem.title ?? `HTTP ${error.status}`}: ${error.message}`
    : String((error as Error).message ?? error);
