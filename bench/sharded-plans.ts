// Modelled, not measured: open-llm-leaderboard-v1 for Mistral-7B planned on 1, 2, 4 and 8 inf2.xlarge
// and on one inf2.48xlarge, by the same planner `spoteval plan` runs. Every minute and dollar comes from
// core/throughput.ts (published figures and the scaling guesses it names) and core/instances.ts prices at
// Spot; no hardware measured any of it.
import { planShardedRun } from "../core/planner.ts";
import { EvaluationRequest, type InstanceType, toRunSpec } from "../core/schemas.ts";
import { NEURONX_HARNESS_REFERENCE, SCALING_GUESSES, throughputTable } from "../core/throughput.ts";

export const SHARDED_MODEL = "mistralai/Mistral-7B-v0.1";
export const SHARDED_SUITE = "open-llm-leaderboard-v1";
/**
 * The published recipe's harness (756eeb6 on neuronx) for every task: gsm8k would otherwise go to
 * vllm-neuron, which needs a second instance and cannot compile a 7B model on inf2.xlarge's 16 GiB of
 * host memory, so a single inf2.xlarge could not run the suite at all.
 */
export const SHARDED_HARNESS = "756eeb6";

export type ShardedLayout = {
  instanceType: InstanceType;
  maxInstances: number;
  /** Shards the planner used (fewer than allowed when another would not shorten the run). */
  shards: number;
  minutes: number;
  usd: number;
  baseline: { minutes: number; usd: number };
  /** The longest shard's tasks: what bounds the wall-clock (one task is never split). */
  slowest: string[];
};

export const shardedLayouts: [InstanceType, number][] = [
  ["inf2.xlarge", 1],
  ["inf2.xlarge", 2],
  ["inf2.xlarge", 4],
  ["inf2.xlarge", 8],
  ["inf2.48xlarge", 1],
];

export function shardedPlanFigures(): ShardedLayout[] {
  return shardedLayouts.map(([instanceType, maxInstances]) => {
    const spec = toRunSpec(
      EvaluationRequest.parse({
        model: { id: SHARDED_MODEL },
        suite: SHARDED_SUITE,
        harness: { revision: SHARDED_HARNESS },
        capacity: { instanceTypes: [instanceType], maxInstances },
      }),
    );
    const { shards, baseline } = planShardedRun(spec);
    const hours = shards.map((s) => s.candidates[0].expectedHours);
    const slowest = shards[hours.indexOf(Math.max(...hours))];
    return {
      instanceType,
      maxInstances,
      shards: shards.length,
      minutes: Math.round(Math.max(...hours) * 600) / 10,
      usd: Math.round(shards.reduce((s, p) => s + p.candidates[0].expectedCostUsd, 0) * 100) / 100,
      baseline,
      slowest: slowest.tasks ?? [],
    };
  });
}

/** Where the figures come from, for the bench's notes. */
export const shardedPlanSources = () =>
  [
    `Sharded plans are MODELLED, not measured: no hardware ran them. ${SHARDED_SUITE} for ${SHARDED_MODEL} on the published recipe's harness (${SHARDED_HARNESS}, every task on neuronx), planned by core/planner.ts.`,
    `Sources: neuronx ${NEURONX_HARNESS_REFERENCE.secondsPerGenerativeDoc.toFixed(2)} s per generated gsm8k document on inf2.48xlarge (the published Inferentia2 benchmark, DESIGN.md), a loglikelihood document a tenth of that (a guess); ${throughputTable.length} published throughput rows (${[...new Set(throughputTable.map((r) => r.source))].join("; ")}); task sizes from the harness's YAML and a real mmlu run's n-samples (core/tasks.ts); on-demand prices us-east-1 at Spot 30% of them; guesses: ${SCALING_GUESSES.join("; ")}.`,
  ].join(" ");
