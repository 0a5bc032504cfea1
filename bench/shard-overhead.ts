// What splitting a run costs the pipeline: the same tasks (mmlu's 57 subjects, named one by one so
// that both runs evaluate and record the same 57 tasks) as one shard and as six, on the embedded local stack with every stage real (API, the definition's Map, the handlers,
// dynalite, s3rver, one engine process per shard) and the simulated engine, whose evaluation takes the
// same time on every shard. On inf2 the evaluation itself would divide by the shard count; here only
// the orchestration differs: six launches, six engines, six releases, and the merge.
import { setTimeout as sleep } from "node:timers/promises";
import { mmluSubjectDocs } from "../core/tasks.ts";
import { runStore } from "../functions/runtime.ts";
import type { Stack } from "../local/stack.ts";
import { percentile } from "./stats.ts";

const request = (i: number, maxInstances: number) => ({
  // A model id that names a family the neuronx backend loads: mmlu is routed there.
  model: { id: `bench/llama-shards-${i}`, parameters: 7.24e9 },
  tasks: Object.keys(mmluSubjectDocs).map((subject) => `mmlu_${subject}`),
  numFewshot: 5,
  limit: 1,
  capacity: { maxInstances },
  labels: { bench: "true" },
});

type Measured = { wallMs: number; transitions: number; lambdas: number; shards: number };

async function oneRun(stack: Stack, i: number, maxInstances: number): Promise<Measured> {
  const auth = { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" };
  const response = await fetch(`${stack.urls.API}/evaluations`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify(request(i, maxInstances)),
  });
  const acceptedAt = Date.now();
  const { runId } = (await response.json()) as { runId?: string };
  if (response.status !== 202 || !runId) throw new Error(`POST /evaluations: ${response.status}`);
  const deadline = acceptedAt + 180_000;
  for (;;) {
    const got = await fetch(`${stack.urls.API}/evaluations/${runId}`, { headers: auth });
    const at = Date.now();
    const run = (await got.json()) as { status: string; metrics?: unknown[] };
    if (run.status === "SUCCEEDED" && run.metrics?.length) {
      const execution = [...stack.stepFunctions.executions.values()].find((e) => e.name === runId);
      await execution?.done;
      const history = execution?.history ?? [];
      const stored = await runStore().mustGetRun(runId);
      return {
        wallMs: at - acceptedAt,
        // As AWS bills them: every state entered (Map iterations' states included).
        transitions: history.filter((e) => e.type.endsWith("StateEntered")).length,
        lambdas: history.filter((e) => e.type === "TaskStateEntered").length,
        shards: stored.shards?.length ?? 1,
      };
    }
    if (["FAILED", "CANCELLED"].includes(run.status)) throw new Error(`run ${runId} ended ${run.status}`);
    if (at > deadline) throw new Error(`run ${runId} not done in 180 s`);
    await sleep(50);
  }
}

export type ShardOverheadFigures = {
  pairs: number;
  one: { wallP50Ms: number; transitions: number; lambdas: number };
  six: { wallP50Ms: number; transitions: number; lambdas: number };
  /** The 6-shard run's wall time over the 1-shard run's, median of the pairs measured back to back. */
  ratio: number;
};

/** Pairs of runs, one shard then six, one run at a time, so each measures the pipeline, not queueing. */
export async function shardOverhead(
  stack: Stack,
  pairs: number,
  onPair?: (i: number) => void,
): Promise<ShardOverheadFigures> {
  const one: Measured[] = [];
  const six: Measured[] = [];
  for (let i = 0; i < pairs; i++) {
    one.push(await oneRun(stack, 2 * i, 1));
    six.push(await oneRun(stack, 2 * i + 1, 6));
    if (one.at(-1)?.shards !== 1 || six.at(-1)?.shards !== 6)
      throw new Error(`planned ${one.at(-1)?.shards} and ${six.at(-1)?.shards} shards, not 1 and 6`);
    onPair?.(i + 1);
  }
  const summary = (xs: Measured[]) => ({
    wallP50Ms: percentile(
      xs.map((x) => x.wallMs),
      50,
    ),
    transitions: percentile(
      xs.map((x) => x.transitions),
      50,
    ),
    lambdas: percentile(
      xs.map((x) => x.lambdas),
      50,
    ),
  });
  const ratios = one.map((o, i) => six[i].wallMs / o.wallMs);
  return { pairs, one: summary(one), six: summary(six), ratio: percentile(ratios, 50) };
}
