// What clients see of a run: one shape for the API, the CLI and the local runner.
import { type EngineRecord, engineLine } from "./engine-record.ts";
import { parityMarkdown } from "./parity.ts";
import { type MetricRow, printTables, tablesFromRows } from "./results.ts";
import type { RunParity } from "./run-parity.ts";
import type { Attempt, Run, StoredMetric } from "./run-store.ts";

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

export function runDetail(run: Run, attempts: Attempt[], metrics: StoredMetric[], resultsUri?: string) {
  const current = attempts.at(-1);
  return {
    ...runSummary(run),
    spec: run.spec,
    plan: run.plan,
    ...(run.error ? { error: run.error } : {}),
    cancelRequested: Boolean(run.cancelRequested),
    phase: current?.progress?.phase ?? (current ? "boot" : undefined),
    progress: current?.progress,
    costSoFarUsd: attempts.reduce((sum, a) => sum + (a.costUsd ?? 0), 0),
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
    simulated: Boolean(run.simulated) || attempts.some((a) => a.simulated),
    ...(resultsUri ? { results: resultsUri } : {}),
    ...(run.spec.callbackUrl
      ? { callback: { url: run.spec.callbackUrl, deliveries: run.callbackDeliveries ?? [] } }
      : {}),
    metrics: metrics.map(publicMetric),
    ...(run.parity ? { parity: run.parity } : {}),
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
  about: { engine?: EngineRecord; parity?: RunParity } = {},
): string {
  const parts = [
    ...(simulated ? [SIMULATED_NOTE] : []),
    ...(about.engine ? [engineLine(about.engine)] : []),
    printTables(tablesFromRows(metrics)),
    ...(about.parity ? [parityMarkdown(about.parity)] : []),
  ];
  return parts.join("\n\n");
}

export const SIMULATED_NOTE =
  "SIMULATED: these numbers come from spoteval's simulated engine, not from a model.";
