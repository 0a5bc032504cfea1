// Benchmark 2, the event path on the embedded local stack: every stage real (HTTP API, the definition
// under the local Step Functions with its callback tasks, the deployed handlers, the event bus, the
// engine in its own process), with the deployed polling (first check 230 s after launch, then 30-600 s),
// so what acts within seconds is the event, not a poll. Run in its own process (`node
// bench/event-latency.ts --port N --runs R`, JSON on stdout): handlers read their configuration once
// per process, and the other local benchmarks use the stack's local polling.
import { parseArgs } from "node:util";
import { LocalProcessProvider } from "../core/capacity/local-process.ts";
import { isFinal } from "../core/schemas.ts";
import { capacityDeps, runStore } from "../functions/runtime.ts";
import { createHandler as acquireHandler } from "../functions/steps/acquire-capacity.ts";
import { lambdaContext } from "../local/gateway.ts";
import { type Stack, startStack } from "../local/stack.ts";

export type EventLatencyFigures = {
  runs: number;
  /** Spot warning put on the bus -> the replacement attempt opened by AcquireCapacity. */
  spotToReplacementS: number[];
  /** DELETE /evaluations/{id} answered -> the run's instance released (its attempt closed). */
  cancelToReleaseS: number[];
  /** The engine's last write (attempt FINISHED) -> the state machine entering ReleaseFinished. */
  endSeenS: number[];
};

/** The deployed polling (functions/runtime.ts defaults), so that only events act within seconds. */
export const DEPLOYED_POLLING = {
  POLL_MIN_SECONDS: "30",
  POLL_MAX_SECONDS: "600",
  BOOT_ESTIMATE_SECONDS: "240",
  POLL_WATCH_SECONDS: "20",
  POLL_WATCH_INTERVAL_MS: "1000",
};

const poll = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function post(stack: Stack, model: string) {
  const response = await fetch(`${stack.urls.API}/evaluations`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model: { id: model, parameters: 7.24e9 }, tasks: ["gsm8k"], limit: 10 }),
  });
  const body = (await response.json()) as { runId?: string };
  if (response.status !== 202 || !body.runId) throw new Error(`POST /evaluations: ${response.status}`);
  return body.runId;
}

/** One run: Spot warning on attempt 1, then a cancel of attempt 2; both latencies. */
async function warnThenCancel(stack: Stack, i: number) {
  const runId = await post(stack, `bench/events-spot-${i}`);
  const first = await poll("the first engine's heartbeat", async () => {
    const a = await runStore().getAttempt(runId, 1);
    return a?.heartbeatAt && a.instanceId ? a : undefined;
  });
  const warned = Date.now();
  stack.events.put([
    {
      Source: "aws.ec2",
      DetailType: "EC2 Spot Instance Interruption Warning",
      Detail: JSON.stringify({ "instance-id": first.instanceId, "instance-action": "terminate" }),
    },
  ]);
  const second = await poll("the replacement", async () => runStore().getAttempt(runId, 2));
  await poll("the replacement's heartbeat", async () =>
    (await runStore().getAttempt(runId, 2))?.heartbeatAt ? true : undefined,
  );
  const cancelled = Date.now();
  const response = await fetch(`${stack.urls.API}/evaluations/${runId}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${stack.apiKey}` },
  });
  if (response.status !== 202) throw new Error(`DELETE: ${response.status}`);
  const closed = await poll("the release", async () => {
    const a = await runStore().getAttempt(runId, 2);
    return a?.endedAt ? a : undefined;
  });
  await poll("the run to end", async () => {
    const run = await runStore().getRun(runId);
    return run && isFinal(run.status) ? run : undefined;
  });
  return {
    spot: (Date.parse(second.startedAt) - warned) / 1000,
    cancel: (Date.parse(closed.endedAt as string) - cancelled) / 1000,
  };
}

/** One run to its end: how long after the engine's last write the state machine moved on. */
async function toTheEnd(stack: Stack, i: number) {
  const runId = await post(stack, `bench/events-end-${i}`);
  const run = await poll("the run to end", async () => {
    const r = await runStore().getRun(runId);
    return r && isFinal(r.status) ? r : undefined;
  });
  if (run.status !== "SUCCEEDED") throw new Error(`run ${runId} ended ${run.status}: ${run.reason}`);
  const attempt = await runStore().getAttempt(runId, 1);
  const execution = [...stack.stepFunctions.executions.values()].find((e) => e.name === runId);
  const release = execution?.history.find(
    (e) => (e.stateEnteredEventDetails as { name?: string } | undefined)?.name === "ReleaseFinished",
  );
  if (!attempt?.heartbeatAt || !release) throw new Error(`run ${runId}: no end to measure`);
  return release.timestamp - Date.parse(attempt.heartbeatAt) / 1000;
}

export async function eventLatency(
  stack: Stack,
  runs: number,
  concurrency = 8,
): Promise<EventLatencyFigures> {
  const figures: EventLatencyFigures = { runs, spotToReplacementS: [], cancelToReleaseS: [], endSeenS: [] };
  const pool = async (n: number, one: (i: number) => Promise<void>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) await one(next++);
      }),
    );
  };
  await pool(runs, async (i) => {
    const { spot, cancel } = await warnThenCancel(stack, i);
    figures.spotToReplacementS.push(spot);
    figures.cancelToReleaseS.push(cancel);
  });
  await pool(runs, async (i) => {
    figures.endSeenS.push(await toTheEnd(stack, i));
  });
  return figures;
}

/** Engines that last (a warning and a cancel need a live one) or end at once, by model name. */
const engineSeconds = (model: string) => (model.startsWith("bench/events-spot-") ? "120" : "1");

const { values: args } = parseArgs({
  options: { port: { type: "string", default: "0" }, runs: { type: "string", default: "30" } },
});
if (process.argv[1]?.endsWith("event-latency.ts")) {
  const stack = await startStack({
    port: Number(args.port),
    janitorSeconds: 3600,
    env: DEPLOYED_POLLING,
    handlers: {
      acquireCapacity: async (input) => {
        const run = await runStore().mustGetRun((input as { runId: string }).runId);
        const deps = capacityDeps();
        const local = deps.capacity as LocalProcessProvider;
        const capacity = new LocalProcessProvider({
          ...local.options,
          env: { ...local.options.env, SIMULATED_SECONDS: engineSeconds(run.spec.model.id) },
        });
        return acquireHandler(() => ({ ...deps, capacity }))(input, lambdaContext("acquireCapacity"));
      },
    },
  });
  try {
    const figures = await eventLatency(stack, Number(args.runs));
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await stack.stop();
  }
  process.exit(0);
}
