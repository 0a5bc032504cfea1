// The engine runner an instance starts: load the run, restore the harness's request cache on a later
// attempt, run the backend while heartbeating progress into the attempt item and watching for a Spot
// notice, upload results to S3, and record how the attempt ended.
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type Artifacts, artifactKeys } from "../core/artifacts.ts";
import { asProvenance, type EngineRecord, engineLine } from "../core/engine-record.ts";
import type { RunStore } from "../core/run-store.ts";
import { isFinal, type Progress } from "../core/schemas.ts";
import type { Backend } from "./backends/backend.ts";
import type { Notice } from "./imds.ts";
import { downloadFile, uploadFile } from "./s3-files.ts";

export type RunnerDeps = {
  store: RunStore;
  artifacts: Artifacts;
  backend: Backend;
  heartbeatSeconds: number;
  log: (line: string) => void;
  /** Spot notices (IMDS on EC2); polled every noticeSeconds. */
  notices?: { poll: () => Promise<Notice | undefined>; everySeconds: number };
  /** Downloads an s3:// model into a folder and returns the folder that holds its config.json. */
  fetchModel?: (uri: string, dir: string) => Promise<string>;
  /** Environment the harness gets (HF token, compile cache); never logged. */
  harnessEnv?: Record<string, string>;
  /** Recorded on the attempt: what produced its numbers (image, harness revision, Neuron SDK). */
  provenance?: Record<string, string>;
  now?: () => Date;
  /**
   * Replace before the reclaim: a resumed attempt may start while the interrupted one is still saving
   * its request cache; it waits at most this long for that save to end or that instance to be gone.
   */
  cacheWaitSeconds?: number;
};

export type RunnerOutcome = {
  status: "FINISHED" | "FAILED" | "INTERRUPTED" | "STOPPED";
  reason: string;
  resultsKey?: string;
};

class Stop extends Error {
  readonly outcome: "FAILED" | "INTERRUPTED" | "STOPPED";
  constructor(outcome: "FAILED" | "INTERRUPTED" | "STOPPED", reason: string) {
    super(reason);
    this.outcome = outcome;
  }
}

export async function runEngine(deps: RunnerDeps, runId: string, attempt: number): Promise<RunnerOutcome> {
  const { store, artifacts } = deps;
  const now = () => deps.now?.() ?? new Date();
  const run = await store.mustGetRun(runId);
  if (isFinal(run.status) || run.cancelRequested) {
    return { status: "STOPPED", reason: `run is ${run.cancelRequested ? "cancelled" : run.status}` };
  }
  const simulated = deps.backend.name === "simulated";
  const claimedProvenance: Record<string, string> = {
    ...(run.spec.harnessRevision ? { harnessRevision: run.spec.harnessRevision } : {}),
    ...deps.provenance,
  };
  const claimed = await store.updateAttempt(runId, attempt, ["LAUNCHING", "RUNNING"], {
    status: "RUNNING",
    heartbeatAt: now().toISOString(),
    backend: deps.backend.name,
    simulated,
    progress: { phase: "boot", done: 0, total: 0 },
    provenance: claimedProvenance,
  });
  if (!claimed) {
    // Warned before it even started: there is nothing to save, and the next attempt need not wait.
    if ((await store.getAttempt(runId, attempt))?.warnedAt)
      await store.updateAttempt(runId, attempt, ["INTERRUPTED"], { cacheSavedAt: now().toISOString() });
    return { status: "STOPPED", reason: `attempt ${attempt} is no longer open` };
  }

  const abort = new AbortController();
  const stop = (outcome: Stop["outcome"], reason: string) => {
    if (!abort.signal.aborted) abort.abort(new Stop(outcome, reason));
  };
  let progress: Progress = { phase: "boot", done: 0, total: 0 };
  const logLines: string[] = [];
  const log = (line: string) => {
    logLines.push(line);
    if (logLines.length > 500) logLines.shift();
    deps.log(line);
  };
  const work = await mkdtemp(join(tmpdir(), `spoteval-${runId}-${attempt}-`));
  const outputDir = join(work, "output");
  const cacheDir = join(work, "cache");
  await mkdir(outputDir, { recursive: true });
  await mkdir(cacheDir, { recursive: true });

  // Heartbeat: progress into the attempt item; stop when the run is over, cancelled, or past its deadline.
  const beat = async () => {
    const alive = await store.updateAttempt(runId, attempt, ["RUNNING"], {
      heartbeatAt: now().toISOString(),
      progress,
    });
    const current = await store.getRun(runId);
    const mine = alive ? undefined : await store.getAttempt(runId, attempt);
    // Interrupted from outside (the Spot warning's rule): save the cache like an own notice would.
    if (mine?.status === "INTERRUPTED" && mine.warnedAt && !mine.cacheSavedAt)
      stop("INTERRUPTED", mine.endReason ?? "Spot interruption warning");
    else if (!alive) stop("STOPPED", "attempt closed by the pipeline");
    else if (!current || isFinal(current.status)) stop("STOPPED", `run is ${current?.status ?? "gone"}`);
    else if (current.cancelRequested) stop("STOPPED", "run cancelled");
    else if (current.deadline && now().getTime() > Date.parse(current.deadline))
      stop("FAILED", `run deadline ${current.deadline} passed`);
  };
  const heartbeat = setInterval(
    () => beat().catch((e) => log(`heartbeat failed: ${(e as Error).message}`)),
    deps.heartbeatSeconds * 1000,
  );
  const watcher = deps.notices
    ? setInterval(() => {
        deps.notices
          ?.poll()
          .then(
            (n) =>
              n &&
              stop(
                "INTERRUPTED",
                `${n.kind === "rebalance" ? "rebalance recommendation" : "Spot interruption notice"}: ${n.detail}`,
              ),
          )
          .catch((e) => log(`instance metadata: ${(e as Error).message}`));
      }, deps.notices.everySeconds * 1000)
    : undefined;

  try {
    if (attempt > 1) {
      const previous = await previousSave(deps, runId, attempt - 1);
      if (previous !== "nothing to wait for") log(`attempt ${attempt - 1}'s request cache: ${previous}`);
      const restored = await restoreCache(artifacts, runId, cacheDir);
      log(`resuming: restored ${restored} request-cache file(s) from attempt ${attempt - 1}`);
    }
    let modelPath: string | undefined;
    if (run.spec.model.id.startsWith("s3://") && deps.fetchModel) {
      progress = { phase: "download", done: 0, total: 0 };
      modelPath = await deps.fetchModel(run.spec.model.id, join(work, "model"));
      log(`model: ${run.spec.model.id} downloaded to ${modelPath}`);
    }
    const result = await deps.backend.run({
      spec: run.spec,
      ...(modelPath ? { modelPath } : {}),
      ...(run.plan ? { plan: run.plan } : {}),
      runId,
      attempt,
      outputDir,
      cacheDir,
      env: {
        ...deps.harnessEnv,
        NEURON_COMPILE_CACHE_URL: `s3://${artifacts.bucket}/${artifactKeys.neuronCache()}`,
        // A compile killed midway is cached as failed; a later attempt must retry it.
        ...(attempt > 1 ? { NEURON_CC_FLAGS: "--retry_failed_compilation" } : {}),
      },
      onProgress: (p) => {
        progress = p;
      },
      progress: () => progress,
      log,
      signal: abort.signal,
    });
    progress = { ...progress, phase: "upload" };
    const resultsKey = artifactKeys.results(runId, attempt, basename(result.resultsFile));
    await artifacts.putText(resultsKey, await withEngineRecord(result.resultsFile, result.engine));
    for (const file of result.sampleFiles) {
      await uploadFile(artifacts, artifactKeys.results(runId, attempt, basename(file)), file, {
        contentType: "application/jsonl",
      });
    }
    // The engine writes only its attempt; RecordMetrics copies the record to the run from the results file.
    if (result.engine) log(engineLine(result.engine));
    await store.updateAttempt(runId, attempt, ["RUNNING"], {
      status: "FINISHED",
      ...(result.engine ? { provenance: { ...claimedProvenance, ...asProvenance(result.engine) } } : {}),
      resultsKey,
      heartbeatAt: now().toISOString(),
      progress: { ...progress, phase: "done" },
    });
    log(`results: ${artifacts.uri(resultsKey)}${result.simulated ? " (SIMULATED)" : ""}`);
    return { status: "FINISHED", reason: "evaluation finished", resultsKey };
  } catch (error) {
    const stopped = abort.signal.reason instanceof Stop ? abort.signal.reason : undefined;
    if (stopped?.outcome === "STOPPED") {
      log(`stopping: ${stopped.message}`);
      return { status: "STOPPED", reason: stopped.message };
    }
    if (stopped?.outcome === "INTERRUPTED") {
      // Say so first, so the pipeline requests the replacement at once (replace before the reclaim),
      // then save what the harness has answered so far, so the next attempt resumes from it.
      await store.updateAttempt(runId, attempt, ["RUNNING"], {
        status: "INTERRUPTED",
        endReason: stopped.message,
        warnedAt: now().toISOString(),
      });
      const saved = await saveCache(artifacts, runId, cacheDir).catch((e) => {
        log(`could not save the request cache: ${(e as Error).message}`);
        return 0;
      });
      await store.updateAttempt(runId, attempt, ["RUNNING", "INTERRUPTED"], {
        cacheSavedAt: now().toISOString(),
      });
      log(`interrupted: ${stopped.message}; saved ${saved} request-cache file(s)`);
      return { status: "INTERRUPTED", reason: stopped.message };
    }
    const reason = stopped?.message ?? (error as Error).message;
    const logKey = artifactKeys.log(runId, attempt);
    await artifacts
      .putText(logKey, `${logLines.join("\n")}\n${reason}\n`, "text/plain")
      .catch(() => undefined);
    await store.updateAttempt(runId, attempt, ["RUNNING"], { status: "FAILED", endReason: reason, logKey });
    log(`failed: ${reason}`);
    return { status: "FAILED", reason };
  } finally {
    clearInterval(heartbeat);
    if (watcher) clearInterval(watcher);
    await rm(work, { recursive: true, force: true });
  }
}

/** The results file with what produced it in its `config` block (spoteval_engine), as uploaded. */
async function withEngineRecord(file: string, engine: EngineRecord | undefined): Promise<Buffer | string> {
  const raw = await readFile(file);
  if (!engine) return raw;
  const parsed = JSON.parse(raw.toString("utf8")) as { config?: Record<string, unknown> };
  parsed.config = { ...parsed.config, spoteval_engine: engine };
  return `${JSON.stringify(parsed, null, 2)}\n`;
}

/**
 * Wait, bounded, while the previous attempt was warned and its engine may still be saving the request
 * cache: until it says the save ended, its instance is gone, or cacheWaitSeconds pass.
 */
async function previousSave(deps: RunnerDeps, runId: string, previous: number): Promise<string> {
  const started = Date.now();
  const limitMs = (deps.cacheWaitSeconds ?? 150) * 1000;
  for (let waited = false; ; waited = true) {
    const a = await deps.store.getAttempt(runId, previous);
    if (!a?.warnedAt) return "nothing to wait for";
    if (a.cacheSavedAt) return waited ? "saved (waited for it)" : "saved";
    if (a.instanceGoneAt) return "its instance is gone";
    if (Date.now() - started >= limitMs) return `still not saved after ${limitMs / 1000} s; going on`;
    await new Promise((r) => setTimeout(r, Math.min(1000, deps.heartbeatSeconds * 1000)));
  }
}

async function saveCache(artifacts: Artifacts, runId: string, dir: string): Promise<number> {
  const files = (await readdir(dir)).filter((f) => !f.startsWith("."));
  for (const f of files) await uploadFile(artifacts, `${artifactKeys.cache(runId)}${f}`, join(dir, f));
  return files.length;
}

async function restoreCache(artifacts: Artifacts, runId: string, dir: string): Promise<number> {
  const keys = await artifacts.list(artifactKeys.cache(runId));
  for (const key of keys) await downloadFile(artifacts, key, join(dir, basename(key)));
  return keys.length;
}
