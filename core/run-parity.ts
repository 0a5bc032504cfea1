// Every finished run checked against its references: the runs the request names, else the latest
// SUCCEEDED run of the same model and configuration on another backend or instance type, then the
// references users uploaded, then the published scores. A drift is announced as a ParityDrift event.
import type { Artifacts } from "./artifacts.ts";
import { NotFound } from "./errors.ts";
import { markParityOnLeaderboard } from "./leaderboard.ts";
import { compare, DEFAULT_Z, type Measurement, type Parity } from "./parity.ts";
import { publishedReferences } from "./references.ts";
import { filtersOf, type MetricRow, parseResults, type ResultsFile } from "./results.ts";
import type { Run, RunCursor, RunStore } from "./run-store.ts";
import { readSamples, type SamplesFile, taskOfSamplesFile } from "./samples.ts";

/** Where a drift is announced: EventBridge's default bus in AWS, the local bus on a laptop. */
export type ParityEvents = {
  publish(detailType: "ParityDrift", detail: Record<string, unknown>): Promise<void>;
};

/** Uploaded references (POST /references), as measurements. */
export type ReferenceSource = { referencesFor(modelId: string): Promise<Measurement[]> };

export type ParityDeps = {
  store: RunStore;
  artifacts: Artifacts;
  events?: ParityEvents;
  uploaded?: ReferenceSource;
  /** The deployment's threshold; a request's own `parity.z` wins. */
  zThreshold?: number;
};

/** A run's stored parity, with the references it was checked against. */
export type RunParity = Parity & { references: string[]; notes: string[] };

const commit = /^[0-9a-f]{40}$/;

/** A run's metric rows as measurements: the run's model, its pinned revision, the rows' harness family. */
export function measurementsOfRun(run: Run, rows: MetricRow[], samples = new Map<string, SamplesFile>()) {
  return rows.map((row): Measurement => {
    const taskSamples = samples.get(row.task);
    const perDoc = new Map<number, number>();
    const docHashes = new Map<number, string>();
    for (const r of taskSamples?.records ?? []) {
      if (r.filter !== row.filter || !(row.metric in r.metrics)) continue;
      perDoc.set(r.docId, r.metrics[row.metric]);
      if (r.docHash) docHashes.set(r.docId, r.docHash);
    }
    return {
      model: run.spec.model.id,
      ...(commit.test(run.spec.model.revision) ? { revision: run.spec.model.revision } : {}),
      task: row.task,
      version: row.version,
      nShot: row.numFewshot,
      metric: row.metric,
      filter: row.filter,
      family: row.harness?.family ?? "0.4",
      value: row.value,
      stderr: row.stderr,
      ...(row.nSamples ? { n: row.nSamples.effective } : {}),
      source: `run ${run.runId}`,
      ...(perDoc.size ? { perDoc, docHashes } : {}),
    };
  });
}

/**
 * The samples files next to a results file in S3, read with the filters its results list; only
 * those of the given tasks (a real samples file carries every prompt: read only what pairs).
 */
export async function samplesBeside(
  artifacts: Artifacts,
  resultsKey: string,
  file: ResultsFile,
  only: ReadonlySet<string>,
): Promise<Map<string, SamplesFile>> {
  const prefix = resultsKey.slice(0, resultsKey.lastIndexOf("/") + 1);
  const out = new Map<string, SamplesFile>();
  const tasks = Object.keys(file.results).filter((t) => only.has(t));
  if (!tasks.length) return out;
  for (const key of await artifacts.list(prefix)) {
    if (!key.endsWith(".jsonl")) continue;
    const task = taskOfSamplesFile(key, tasks);
    if (task) out.set(task, readSamples(await artifacts.getText(key), { filters: filtersOf(file, task) }));
  }
  return out;
}

/** Reads the run's own samples of some tasks, when a reference has samples to pair them with. */
export type SamplesLoader = (tasks: ReadonlySet<string>) => Promise<Map<string, SamplesFile>>;

/** What makes two runs the same evaluation: tasks and n-shot, limit, harness, model revision and dtype. */
const configurationOf = (r: Run) =>
  JSON.stringify([
    r.spec.tasks,
    r.spec.limit,
    r.spec.harnessRevision,
    r.spec.model.revision,
    r.spec.model.dtype,
  ]);
const sameConfiguration = (a: Run, b: Run) => configurationOf(a) === configurationOf(b);

async function whereItRan(store: RunStore, runId: string) {
  const last = (await store.listAttempts(runId)).at(-1);
  return `${last?.backend ?? "?"}/${last?.instanceType ?? "?"}`;
}

/** How many of a model's latest SUCCEEDED runs are searched for a default reference (a bounded read). */
const REFERENCE_SEARCH_PAGES = 10;

/** The latest SUCCEEDED run of the same model and configuration that ran on another backend or instance type. */
export async function defaultReferenceRun(store: RunStore, run: Run): Promise<Run | undefined> {
  const here = await whereItRan(store, run.runId);
  let cursor: RunCursor | undefined;
  let pages = 0;
  do {
    // The model's results index holds only SUCCEEDED runs, newest first.
    const page = await store.listRuns({
      results: run.spec.model.id,
      limit: 50,
      ...(cursor ? { cursor } : {}),
    });
    for (const other of page.runs) {
      if (other.runId === run.runId || other.status !== "SUCCEEDED" || !sameConfiguration(run, other))
        continue;
      if ((await whereItRan(store, other.runId)) !== here) return other;
    }
    cursor = page.cursor;
  } while (cursor && ++pages < REFERENCE_SEARCH_PAGES);
  return undefined;
}

/** Check a run whose metrics were just recorded, store its parity, and announce a drift. */
export async function checkRunParity(
  deps: ParityDeps,
  run: Run,
  rows: MetricRow[],
  loadSamples: SamplesLoader,
): Promise<RunParity> {
  const runTasks = new Set(rows.map((r) => r.task));
  const notes: string[] = [];
  const references: Measurement[] = [];
  const named: string[] = [];
  const asked = run.spec.references ?? [];
  const runs: Run[] = [];
  for (const { runId } of asked) {
    const other = await deps.store.getRun(runId);
    if (other?.status === "SUCCEEDED") runs.push(other);
    else notes.push(`reference run ${runId} is not a SUCCEEDED run`);
  }
  if (!asked.length) {
    const other = await defaultReferenceRun(deps.store, run);
    if (other) runs.push(other);
  }
  for (const other of runs) {
    const otherRows = await deps.store.listMetrics(other.runId);
    let otherSamples = new Map<string, SamplesFile>();
    if (other.resultsKey) {
      try {
        const file = parseResults(await deps.artifacts.getText(other.resultsKey));
        otherSamples = await samplesBeside(deps.artifacts, other.resultsKey, file, runTasks);
      } catch (error) {
        if (!(error instanceof NotFound)) throw error;
        notes.push(`reference run ${other.runId}: its results file is gone; compared without samples`);
      }
    }
    references.push(...measurementsOfRun(other, otherRows, otherSamples));
    named.push(`run ${other.runId}`);
  }
  // A simulated run's numbers are random answers: they are checked against runs only, never
  // against real published or uploaded figures.
  if (run.simulated) notes.push("simulated run: compared with other runs only");
  if (deps.uploaded && !run.simulated) {
    const uploaded = await deps.uploaded.referencesFor(run.spec.model.id);
    references.push(...uploaded);
    for (const source of new Set(uploaded.map((m) => m.source))) named.push(source);
  }
  if (!run.simulated) {
    references.push(...publishedReferences());
    named.push("published scores (shared table)");
  }
  const z = run.spec.parityZ ?? deps.zThreshold ?? DEFAULT_Z;
  const paired = new Set(references.filter((m) => m.perDoc && runTasks.has(m.task)).map((m) => m.task));
  const samples = paired.size ? await loadSamples(paired) : new Map<string, SamplesFile>();
  const parity: RunParity = {
    ...compare(measurementsOfRun(run, rows, samples), references, z),
    references: named,
    notes,
  };
  await deps.store.setParity(run.runId, parity);
  // A run checked again (or later) keeps its leaderboard entries' marks true.
  await markParityOnLeaderboard(deps.store, run, parity.rows);
  if (parity.overall === "drift" && deps.events) {
    await deps.events.publish("ParityDrift", {
      runId: run.runId,
      model: run.spec.model.id,
      zThreshold: z,
      rows: parity.rows.filter((r) => r.verdict === "drift"),
    });
  }
  return parity;
}
