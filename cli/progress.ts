// A one-line progress bar for a run, as the terminal shows it while the run moves through the pipeline.
export type RunView = {
  status: string;
  phase?: string;
  progress?: {
    phase: string;
    task?: string;
    done: number;
    total: number;
    etaSeconds?: number;
    waitingFor?: string;
  };
  attempts?: { attempt: number }[];
  /** A run of several shards: each one's own view. */
  shards?: (Omit<RunView, "shards"> & { shard: number; of: number; instanceType?: string })[];
};

const WIDTH = 30;

export function progressLine(run: RunView): string {
  const p = run.progress;
  const fraction = p && p.total > 0 ? p.done / p.total : run.status === "SUCCEEDED" ? 1 : 0;
  const filled = Math.round(fraction * WIDTH);
  const bar = `${"█".repeat(filled)}${"░".repeat(WIDTH - filled)}`;
  const attempt = run.attempts?.length ? ` attempt ${run.attempts.length}` : "";
  const phase = p?.phase ?? run.phase ?? "";
  const counts = p && p.total > 0 ? ` ${p.done}/${p.total}` : "";
  const eta =
    p?.etaSeconds !== undefined && p.phase === "evaluate" ? ` eta ${formatSeconds(p.etaSeconds)}` : "";
  const task = p?.task ? ` ${p.task}` : "";
  const waiting = p?.waitingFor ? ` for ${p.waitingFor}` : "";
  return `${run.status.padEnd(11)} ${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%${attempt} ${phase}${task}${counts}${eta}${waiting}`.trimEnd();
}

/** The run's line, then one per shard (a run of several shards). */
export function progressLines(run: RunView): string[] {
  return [
    progressLine(run),
    ...(run.shards ?? []).map(
      (s) => `  shard ${s.shard}/${s.of}${s.instanceType ? ` ${s.instanceType}` : ""} ${progressLine(s)}`,
    ),
  ];
}

export function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`;
}

const FINAL = ["SUCCEEDED", "FAILED", "CANCELLED"];

/**
 * Poll a run until it is final, showing its progress line: redrawn in place on a terminal, else
 * printed when it changes (ETA ticks alone do not print a new line). Returns the final view.
 */
export async function follow<R extends RunView>(fetchRun: () => Promise<R>, intervalMs: number): Promise<R> {
  const tty = process.stdout.isTTY;
  const key = (lines: string[]) => lines.map((line) => line.replace(/ eta .*/, "")).join("\n");
  let last: string[] = [];
  for (;;) {
    const run = await fetchRun();
    const lines = progressLines(run);
    // On a terminal, redraw the block in place: back to its first line, each line cleared.
    if (tty)
      process.stdout.write(
        `${last.length > 1 ? `\x1b[${last.length - 1}A` : ""}\r${lines.map((l) => `\x1b[2K${l}`).join("\n")}`,
      );
    else if (key(lines) !== key(last)) console.log(lines.join("\n"));
    last = lines;
    if (FINAL.includes(run.status)) {
      if (tty) process.stdout.write("\n");
      return run;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
