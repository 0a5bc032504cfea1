// Benchmarks 1 and 4 on the embedded local stack, every stage real (HTTP API, submit, Step Functions
// running the real definition, the deployed handlers, dynalite, s3rver, the engine in its own process)
// with the simulated engine doing zero evaluation work, so what is measured is the pipeline itself.
import { setTimeout as sleep } from "node:timers/promises";
import { runStore } from "../functions/runtime.ts";
import type { Stack } from "../local/stack.ts";
import { percentile } from "./stats.ts";

const request = (i: number) => ({
  model: { id: `bench/zero-work-${i % 10}`, parameters: 7.24e9 },
  tasks: ["gsm8k"],
  limit: 10,
  labels: { bench: "true" },
});

/** How often the client asks whether the metrics are there: adds up to this much to each figure. */
export const CLIENT_POLL_MS = 20;

async function post(stack: Stack, i: number) {
  const response = await fetch(`${stack.urls.API}/evaluations`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(request(i)),
  });
  const acceptedAt = Date.now();
  const body = (await response.json()) as { runId?: string };
  if (response.status !== 202 || !body.runId) throw new Error(`POST /evaluations: ${response.status}`);
  return { runId: body.runId, acceptedAt };
}

/** Poll GET /evaluations/{id} until it is final; the time the metrics were first there. */
async function queryable(stack: Stack, runId: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(`${stack.urls.API}/evaluations/${runId}`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    const at = Date.now();
    const run = (await response.json()) as { status: string; metrics?: unknown[] };
    if (run.status === "SUCCEEDED" && run.metrics?.length) return at;
    if (["FAILED", "CANCELLED"].includes(run.status)) throw new Error(`run ${runId} ended ${run.status}`);
    await sleep(CLIENT_POLL_MS);
  }
  throw new Error(`run ${runId} not done in ${timeoutMs} ms`);
}

export type OverheadFigures = {
  runs: number;
  /** POST accepted -> engine process spawned on its "instance". */
  startMs: { p50: number; p99: number };
  /** Engine's final heartbeat (results written, attempt FINISHED) -> metrics returned over HTTP. */
  finishMs: { p50: number; p99: number };
};

/** Benchmark 1: one run at a time, so each figure is the pipeline's own latency, not queueing. */
export async function overhead(
  stack: Stack,
  runs: number,
  onRun?: (i: number) => void,
): Promise<OverheadFigures> {
  const start: number[] = [];
  const finish: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { runId, acceptedAt } = await post(stack, i);
    const seenAt = await queryable(stack, runId);
    const [attempt] = await runStore().listAttempts(runId);
    if (!attempt?.launchedAt || !attempt.heartbeatAt || attempt.status !== "FINISHED")
      throw new Error(`run ${runId}: attempt not finished as expected`);
    start.push(Date.parse(attempt.launchedAt) - acceptedAt);
    finish.push(seenAt - Date.parse(attempt.heartbeatAt));
    onRun?.(i + 1);
  }
  const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) });
  return { runs, startMs: stats(start), finishMs: stats(finish) };
}

export type ThroughputFigures = {
  runs: number;
  succeeded: number;
  wallSeconds: number;
  runsPerSecond: number;
  /** Per Task state of the definition: time between entering and leaving it, over all runs. */
  stages: { stage: string; count: number; p50Ms: number; p99Ms: number; totalSeconds: number }[];
  slowest: string;
};

/** Benchmark 4: `runs` submitted at once; finished runs per second and where the time went. */
export async function throughput(stack: Stack, runs: number): Promise<ThroughputFigures> {
  const started = Date.now();
  const posted = await Promise.all(Array.from({ length: runs }, (_, i) => post(stack, 1000 + i)));
  // Each client waits for its run's execution to end, then asks once: a hundred clients polling every
  // 20 ms would spend the stack's CPU on GETs and slow the very runs they wait for.
  const results = await Promise.allSettled(
    posted.map(async (p) => {
      await [...stack.stepFunctions.executions.values()].find((e) => e.name === p.runId)?.done;
      return queryable(stack, p.runId, 240_000);
    }),
  );
  const wallSeconds = (Date.now() - started) / 1000;
  const succeeded = results.filter((r) => r.status === "fulfilled").length;
  const durations = new Map<string, number[]>();
  for (const p of posted) {
    const execution = [...stack.stepFunctions.executions.values()].find((e) => e.name === p.runId);
    const entered = new Map<string, number>();
    // Task states only: the work; Waits, Choices and ends take no time of their own.
    for (const e of (execution?.history ?? []).filter((x) => x.type.startsWith("TaskState"))) {
      const name = (e.stateEnteredEventDetails as { name?: string } | undefined)?.name;
      const left = (e.stateExitedEventDetails as { name?: string } | undefined)?.name;
      if (name) entered.set(name, e.timestamp);
      if (left && entered.has(left)) {
        const list = durations.get(left) ?? [];
        list.push((e.timestamp - (entered.get(left) as number)) * 1000);
        durations.set(left, list);
      }
    }
  }
  const stages = [...durations]
    .map(([stage, ms]) => ({
      stage,
      count: ms.length,
      p50Ms: Math.round(percentile(ms, 50)),
      p99Ms: Math.round(percentile(ms, 99)),
      totalSeconds: Math.round(ms.reduce((a, b) => a + b, 0) / 100) / 10,
    }))
    .sort((a, b) => b.totalSeconds - a.totalSeconds);
  return {
    runs,
    succeeded,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    runsPerSecond: Math.round((succeeded / wallSeconds) * 100) / 100,
    stages,
    slowest: stages[0]?.stage ?? "none",
  };
}
