// What clients see of a run: one shape for the API, the CLI and the local runner.
import { type EngineRecord, engineLine } from "./engine-record.ts";
import { parityMarkdown } from "./parity.ts";
import { type MetricRow, printTables, tablesFromRows } from "./results.ts";
import type { RunParity } from "./run-parity.ts";
import type { Attempt, Run, StoredMetric } from "./run-store.ts";
import type { Progress } from "./schemas.ts";
import { costOf } from "./shards.ts";

export function runSummary(run: Run) {
  return {
    runId: run.runId,
    status: run.status,
    model: run.spec.model,
    tasks: run.spec.tasks,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    ...(run.reason ? { reason: run.reason } : {}),
    ...(run.costUsd !== undefined ? { costUsd: run.costUsd } : {}),
    simulated: Boolean(run.simulated),
    links: { self: `/evaluations/${run.runId}` },
  };
}

/** A shard of a run as GET /evaluations/{id} shows it: its own run and attempts. */
export type ShardView = { run: Run; attempts: Attempt[] };

export function runDetail(
  run: Run,
  attempts: Attempt[],
  metrics: StoredMetric[],
  resultsUri?: string,
  shards: ShardView[] = [],
) {
  const current = attempts.at(-1);
  const every = [...attempts, ...shards.flatMap((s) => s.attempts)];
  const progress = shards.length ? shardsProgress(shards) : current?.progress;
  return {
    ...runSummary(run),
    spec: run.spec,
    plan: run.plan,
    ...(run.error ? { error: run.error } : {}),
    ...(run.partial ? { partial: run.partial } : {}),
    cancelRequested: Boolean(run.cancelRequested),
    phase: progress?.phase ?? (current ? "boot" : undefined),
    progress,
    costSoFarUsd: costOf(every),
    ...(shards.length
      ? { shards: shards.map((s) => shardDetail(s, run.shards?.length ?? shards.length)) }
      : {}),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      status: a.status,
      instanceId: a.instanceId,
      instanceType: a.instanceType,
      availabilityZone: a.availabilityZone,
      market: a.market,
      pricePerHour: a.pricePerHour,
      startedAt: a.startedAt,
      endedAt: a.endedAt,
      endReason: a.endReason,
      costUsd: a.costUsd,
      heartbeatAt: a.heartbeatAt,
      backend: a.backend,
      simulated: a.simulated,
    })),
    simulated: Boolean(run.simulated) || every.some((a) => a.simulated),
    ...(resultsUri ? { results: resultsUri } : {}),
    ...(run.spec.callbackUrl
      ? { callback: { url: run.spec.callbackUrl, deliveries: run.callbackDeliveries ?? [] } }
      : {}),
    metrics: metrics.map(publicMetric),
    ...(run.parity ? { parity: run.parity } : {}),
  };
}

/** One shard: what it runs, where, how far it is, what it has cost. */
function shardDetail({ run, attempts }: ShardView, count: number) {
  const current = attempts.at(-1);
  return {
    shard: (run.shard ?? 0) + 1,
    of: count,
    runId: run.runId,
    status: run.status,
    backend: run.plan?.backend,
    tasks: run.plan?.tasks ?? run.spec.tasks.map((t) => t.name),
    ...(run.reason ? { reason: run.reason } : {}),
    instanceType: current?.instanceType ?? run.plan?.candidates[0]?.instanceType,
    phase: current?.progress?.phase ?? (current ? "boot" : undefined),
    progress: current?.progress,
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      status: a.status,
      instanceId: a.instanceId,
      instanceType: a.instanceType,
      market: a.market,
      endReason: a.endReason,
      costUsd: a.costUsd,
    })),
    costSoFarUsd: costOf(attempts),
  };
}

/**
 * A run's progress from all its shards: documents done and total summed, the ETA the latest shard's
 * (the run ends with it), the phase the least advanced shard's.
 */
export function shardsProgress(shards: ShardView[]): Progress | undefined {
  const order: Progress["phase"][] = [
    "queued",
    "boot",
    "download",
    "compile",
    "load",
    "evaluate",
    "upload",
    "done",
  ];
  const each = shards.map(
    (s) =>
      s.attempts.at(-1)?.progress ??
      ({ phase: s.run.status === "SUCCEEDED" ? "done" : "boot", done: 0, total: 0 } as Progress),
  );
  if (!each.length) return undefined;
  const phase = each.map((p) => p.phase).sort((a, b) => order.indexOf(a) - order.indexOf(b))[0];
  const etas = each.filter((p) => p.etaSeconds !== undefined).map((p) => p.etaSeconds as number);
  const known = each.every((p) => p.total > 0);
  return {
    phase,
    // Until every shard knows its total, a sum would jump back when one learns it.
    done: known ? each.reduce((sum, p) => sum + p.done, 0) : 0,
    total: known ? each.reduce((sum, p) => sum + p.total, 0) : 0,
    ...(etas.length ? { etaSeconds: Math.max(...etas) } : {}),
  };
}

export const publicMetric = (m: StoredMetric) => ({
  task: m.task,
  isGroup: m.isGroup,
  version: m.version,
  filter: m.filter,
  numFewshot: m.numFewshot,
  metric: m.metric,
  value: m.value,
  stderr: m.stderr,
  higherIsBetter: m.higherIsBetter,
  nSamples: m.nSamples,
});

/**
 * The tables lm_eval prints, rebuilt from stored metrics, under the line lm_eval prints above them
 * (what produced the numbers), then the parity table (reference and verdict of every metric) once the
 * run has one; marked when the numbers are simulated.
 */
export function metricsMarkdown(
  metrics: MetricRow[],
  simulated: boolean,
  about: { engine?: EngineRecord; parity?: RunParity; partial?: Run["partial"] } = {},
): string {
  const parts = [
    ...(simulated ? [SIMULATED_NOTE] : []),
    ...(about.partial ? [partialNote(about.partial)] : []),
    ...(about.engine ? [engineLine(about.engine)] : []),
    printTables(tablesFromRows(metrics)),
    ...(about.parity ? [parityMarkdown(about.parity)] : []),
  ];
  return parts.join("\n\n");
}

export const partialNote = (partial: NonNullable<Run["partial"]>) =>
  `PARTIAL: some shards of this run failed; these metrics are those of the shards that finished. Missing: ${partial.missing.join(", ") || "(unknown)"}.`;

export const SIMULATED_NOTE =
  "SIMULATED: these numbers come from spoteval's simulated engine, not from a model.";
