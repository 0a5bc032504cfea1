// The engine runner an instance starts: load the run, run the harness backend, heartbeat progress
// into the attempt item, upload results to S3, record how the attempt ended.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type Artifacts, artifactKeys } from "../core/artifacts.ts";
import type { RunStore } from "../core/run-store.ts";
import { isFinal, type Progress } from "../core/schemas.ts";
import type { Backend } from "./backends/backend.ts";

export type RunnerDeps = {
  store: RunStore;
  artifacts: Artifacts;
  backend: Backend;
  heartbeatSeconds: number;
  log: (line: string) => void;
  /** A fault to inject, for tests of the pipeline around the engine (simulated backend only). */
  fault?: "fail" | "crash" | "hang" | "bad-results";
};

export type RunnerOutcome = {
  status: "FINISHED" | "FAILED" | "STOPPED";
  reason: string;
  resultsKey?: string;
};

export async function runEngine(deps: RunnerDeps, runId: string, attempt: number): Promise<RunnerOutcome> {
  const { store } = deps;
  const run = await store.mustGetRun(runId);
  if (isFinal(run.status) || run.cancelRequested) {
    return { status: "STOPPED", reason: `run is ${run.cancelRequested ? "cancelled" : run.status}` };
  }
  const simulated = deps.backend.name === "simulated";
  const startedAt = new Date().toISOString();
  const claimed = await store.updateAttempt(runId, attempt, ["LAUNCHING", "RUNNING"], {
    status: "RUNNING",
    heartbeatAt: startedAt,
    backend: deps.backend.name,
    simulated,
    progress: { phase: "boot", done: 0, total: 0 },
  });
  if (!claimed) return { status: "STOPPED", reason: `attempt ${attempt} is no longer open` };

  const abort = new AbortController();
  let progress: Progress = { phase: "boot", done: 0, total: 0 };
  let stopReason: string | undefined;
  const logLines: string[] = [];
  const log = (line: string) => {
    logLines.push(line);
    if (logLines.length > 500) logLines.shift();
    deps.log(line);
  };

  // Heartbeat: progress into the attempt item; stop when the run is no longer active.
  const beat = async () => {
    if (deps.fault === "hang") return;
    const alive = await store.updateAttempt(runId, attempt, ["RUNNING"], {
      heartbeatAt: new Date().toISOString(),
      progress,
    });
    const current = await store.getRun(runId);
    if (!alive || !current || isFinal(current.status) || current.cancelRequested) {
      stopReason = !alive
        ? "attempt closed by the pipeline"
        : `run is ${current?.cancelRequested ? "cancelled" : current?.status}`;
      abort.abort();
    }
  };
  const timer = setInterval(() => {
    beat().catch((error) => log(`heartbeat failed: ${(error as Error).message}`));
  }, deps.heartbeatSeconds * 1000);

  const outputDir = await mkdtemp(join(tmpdir(), `spoteval-${runId}-${attempt}-`));
  try {
    if (deps.fault === "crash") setTimeout(() => process.exit(137), deps.heartbeatSeconds * 1500).unref();
    if (deps.fault === "fail")
      setTimeout(
        () => abort.abort(new Error("simulated harness error")),
        deps.heartbeatSeconds * 1500,
      ).unref();
    if (deps.fault === "hang") {
      // A harness stuck in a collective or a device call: no progress, no heartbeat, until killed.
      await new Promise((_, reject) =>
        abort.signal.addEventListener("abort", () => reject(abort.signal.reason)),
      );
    }
    const result = await deps.backend.run({
      spec: run.spec,
      runId,
      attempt,
      outputDir,
      onProgress: (p) => {
        progress = p;
      },
      log,
      signal: abort.signal,
    });
    progress = { ...progress, phase: "upload" };
    const resultsKey = artifactKeys.results(runId, attempt, basename(result.resultsFile));
    const body = deps.fault === "bad-results" ? "{ not json" : await readFile(result.resultsFile);
    await deps.artifacts.putText(resultsKey, body);
    for (const file of result.sampleFiles) {
      await deps.artifacts.putText(
        artifactKeys.results(runId, attempt, basename(file)),
        await readFile(file),
        "application/jsonl",
      );
    }
    clearInterval(timer);
    await store.updateAttempt(runId, attempt, ["RUNNING"], {
      status: "FINISHED",
      resultsKey,
      heartbeatAt: new Date().toISOString(),
      progress: { ...progress, phase: "done" },
    });
    log(`results: ${deps.artifacts.uri(resultsKey)}${result.simulated ? " (SIMULATED)" : ""}`);
    return { status: "FINISHED", reason: "evaluation finished", resultsKey };
  } catch (error) {
    clearInterval(timer);
    if (stopReason) {
      log(`stopping: ${stopReason}`);
      return { status: "STOPPED", reason: stopReason };
    }
    const cause = abort.signal.reason instanceof Error ? abort.signal.reason : error;
    const reason = `harness error: ${(cause as Error).message}`;
    const logKey = artifactKeys.log(runId, attempt);
    await deps.artifacts
      .putText(logKey, `${logLines.join("\n")}\n${reason}\n`, "text/plain")
      .catch(() => undefined);
    await store.updateAttempt(runId, attempt, ["RUNNING"], { status: "FAILED", endReason: reason, logKey });
    log(reason);
    return { status: "FAILED", reason };
  } finally {
    clearInterval(timer);
    await rm(outputDir, { recursive: true, force: true });
  }
}
