// Reads the harness's stderr (logs and tqdm bars) into a progress report: phase, done/total, rate, ETA.
import type { Progress } from "../core/schemas.ts";

/** Log lines that announce a phase before evaluation starts (huggingface_hub, optimum-neuron, lm-eval). */
const phases: [RegExp, Progress["phase"]][] = [
  [/Downloading|Fetching \d+ files|huggingface_hub|snapshot_download/i, "download"],
  [/neuronx-cc|Compil(ing|e|ation)|Compiler status|\.neff\b/i, "compile"],
  [/Loading (the )?(model|checkpoint|neuron)|Building the neuron|load_state_dict|to_neuron/i, "load"],
];

// "Running generate_until requests:  45%|████▌     | 594/1319 [12:06<14:45,  1.22s/it]"
const bar =
  /(?:Running (\w+) requests)?[^|\r\n]*?\d+%\|[^|]*\|\s*(\d+)\/(\d+)\s*\[([\d:]+)<([\d:?]+),\s*([\d.?]+)\s*(s\/it|it\/s)?\]/;

const seconds = (clock: string) =>
  clock.includes("?") ? undefined : clock.split(":").reduce((total, part) => total * 60 + Number(part), 0);

export type ProgressState = { progress: Progress; phaseSeen: Set<string> };

/** Fold one line of harness output into the progress so far; returns the new progress. */
export function readProgress(line: string, current: Progress, task?: string): Progress {
  const m = bar.exec(line);
  if (m) {
    const [, , done, total, , left, rate, unit] = m;
    const r = Number(rate);
    const perSecond = Number.isFinite(r) && r > 0 ? (unit === "s/it" ? 1 / r : r) : undefined;
    const eta = seconds(left);
    return {
      phase: "evaluate",
      ...(task ? { task } : {}),
      done: Number(done),
      total: Number(total),
      ...(perSecond !== undefined ? { ratePerSecond: Math.round(perSecond * 1000) / 1000 } : {}),
      ...(eta !== undefined ? { etaSeconds: eta } : {}),
    };
  }
  if (current.phase === "evaluate") return current;
  for (const [pattern, phase] of phases) {
    if (pattern.test(line)) return { phase, done: 0, total: 0 };
  }
  return current;
}

/** Split a stream of output chunks into lines; tqdm redraws with \r, so \r ends a line too. */
export function lineSplitter(onLine: (line: string) => void) {
  let partial = "";
  return {
    push(chunk: string) {
      const parts = (partial + chunk).split(/\r\n|\r|\n/);
      partial = parts.pop() ?? "";
      for (const p of parts) if (p.trim()) onLine(p);
    },
    end() {
      if (partial.trim()) onLine(partial);
      partial = "";
    },
  };
}
