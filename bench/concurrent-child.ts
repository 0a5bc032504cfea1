// Starts benchmark 6 (bench/concurrent-main.ts) in its own process and hands back its figures.
import { spawn } from "node:child_process";
import { setPriority } from "node:os";
import { join } from "node:path";
import type { ConcurrentFigures } from "./concurrent-runs.ts";

export type { ConcurrentFigures };

export type ConcurrentJob = {
  figures: Promise<ConcurrentFigures>;
  /**
   * The process's scheduling priority (19: only what the machine leaves idle, 0: as the bench's own). Its
   * figures are in virtual time and do not depend on it; a timed figure beside it does.
   */
  nice: (priority: number) => void;
};

export function startConcurrentRuns(root: string, runs: number, say: (line: string) => void): ConcurrentJob {
  const child = spawn(process.execPath, [join(root, "bench/concurrent-main.ts"), String(runs)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line.startsWith("  concurrent:")) say(line);
  });
  const figures = new Promise<ConcurrentFigures>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      const last = out.split("\n").find((l) => l.startsWith("FIGURES ")) ?? "";
      try {
        if (code !== 0) throw new Error(`exited ${code}`);
        resolve(JSON.parse(last.slice("FIGURES ".length)) as ConcurrentFigures);
      } catch (error) {
        reject(new Error(`benchmark 6 failed: ${(error as Error).message}: ${out.slice(-500)}`));
      }
    });
  });
  return {
    figures,
    nice: (priority) => {
      try {
        if (child.pid !== undefined && child.exitCode === null) setPriority(child.pid, priority);
      } catch {
        // Raising a priority back may not be permitted here: the process keeps the one it has.
      }
    },
  };
}
