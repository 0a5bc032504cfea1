// How the page writes numbers, times and statuses.
import { formatSeconds } from "../cli/progress.ts";
import type { Progress } from "./api.ts";

export { formatSeconds };

/**
 * The API's run statuses, in their order (core/schemas.ts `runStatuses`; not imported, because that
 * module brings zod into the page's bundle: tests/dashboard/bundle.test.ts checks the two agree).
 */
export const runStatuses = [
  "QUEUED",
  "PLANNING",
  "ACQUIRING",
  "RUNNING",
  "INTERRUPTED",
  "RECORDING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
] as const;
export const finalStatuses = ["SUCCEEDED", "FAILED", "CANCELLED"];
export const isFinal = (status: string) => finalStatuses.includes(status);

/** A commit as git abbreviates it; branch and tag names as they are. */
export const shortRevision = (revision: string) =>
  /^[0-9a-f]{40}$/.test(revision) ? revision.slice(0, 7) : revision;

export const usd = (value: number | undefined) =>
  value === undefined ? "" : `$${value < 0.01 && value > 0 ? value.toFixed(4) : value.toFixed(2)}`;

export const num = (value: number | string | null | undefined, digits = 4) =>
  typeof value === "number" ? value.toFixed(digits) : (value ?? "");

export function when(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export const tasksOf = (tasks: { name: string; numFewshot: number | null }[]) =>
  tasks.map((t) => (t.numFewshot === null ? t.name : `${t.name} (${t.numFewshot}-shot)`)).join(", ");

/** The fraction done, from the engine's own progress; a finished run is whole. */
export function fraction(status: string, progress?: { done: number; total: number }): number {
  if (status === "SUCCEEDED") return 1;
  return progress && progress.total > 0 ? Math.min(1, progress.done / progress.total) : 0;
}

/** "evaluate gsm8k 512/1319 · 3.1/s · ETA 2m05s", as the terminal's progress line says it. */
export function progressText(status: string, phase: string | undefined, p: Progress | undefined): string {
  if (isFinal(status)) return status === "SUCCEEDED" ? "done" : "";
  if (!p) return phase ?? "waiting";
  const parts = [[p.phase, p.task].filter(Boolean).join(" ")];
  if (p.total > 0) parts.push(`${p.done}/${p.total}`);
  if (p.ratePerSecond) parts.push(`${p.ratePerSecond.toFixed(1)}/s`);
  if (p.etaSeconds !== undefined && p.phase === "evaluate") parts.push(`ETA ${formatSeconds(p.etaSeconds)}`);
  return parts.join(" · ");
}
