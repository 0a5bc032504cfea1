// Benchmark 5: query cost against a long history. Runs are seeded straight into the table (as the store
// writes them: run, metric and leaderboard items), then GET /leaderboard's and GET /models/{id}/results'
// core functions are timed on the local stack (dynalite) and their read units counted from the items
// they read. "Before" is the leaderboard as it was until this change: page through every SUCCEEDED
// run, keep each model's latest, read its metric (kept here, not in the product, as the baseline).
import type { Server } from "node:http";
import { DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { newRunId } from "../core/ids.ts";
import { entriesOf, leaderboardItem, readLeaderboard } from "../core/leaderboard.ts";
import { modelResults } from "../core/queries.ts";
import type { MetricRow } from "../core/results.ts";
import { metricItem, RUN_SHARDS, type Run, RunStore, runItem } from "../core/run-store.ts";
import { EvaluationRequest, type RunStatus, toRunSpec } from "../core/schemas.ts";
import { createRunsTable } from "../local/serverless-config.ts";
import { projectRoot } from "../local/stack.ts";
import { inProcessDynamo } from "./in-process-dynamo.ts";
import { meteredClient, type ReadMeter } from "./read-units.ts";
import { median } from "./stats.ts";

export const BOARD = { task: "gsm8k", metric: "exact_match", filter: "strict-match" };
const START = Date.parse("2026-01-01T00:00:00Z");
/** Each model's newest runs that get their metric items (a deep page of model results reads 120). */
const METRICS_PER_MODEL = 150;

/** A run's seeded score: fixed by its id, so its metric item and its board entry agree. */
const seededScore = (runId: string) => 0.3 + (Number.parseInt(runId.slice(-4), 36) % 1000) / 10_000;

const metricRow = (value: number): MetricRow => ({
  task: BOARD.task,
  displayName: BOARD.task,
  isGroup: false,
  table: "results",
  order: 0,
  version: 3,
  filter: BOARD.filter,
  numFewshot: 5,
  metric: BOARD.metric,
  value,
  stderr: 0.0134,
  higherIsBetter: true,
  nSamples: null,
});

/** What seeding wrote so far: how many runs, and each model's latest SUCCEEDED run (its board entry). */
export type History = { runs: number; models: number; latest: Map<string, Run> };

/**
 * Add `count` runs to the table, round-robin over `models` models, one a minute of history: 90%
 * SUCCEEDED, 7% FAILED, 3% CANCELLED, marked simulated. Metric items are written for each model's
 * newest METRICS_PER_MODEL runs of the batch only: they are the only ones any measured query reads
 * (DynamoDB bills the items a request reads, not the ones beside them), and writing 100,000 of them
 * into dynalite would take minutes of the bench's five.
 */
export async function seedHistory(
  db: DynamoDBDocumentClient,
  table: string,
  history: History,
  count: number,
): Promise<History> {
  const spec = (model: string) =>
    toRunSpec(
      EvaluationRequest.parse({ model: { id: model }, tasks: [BOARD.task], labels: { bench: "history" } }),
    );
  const specs = new Map<string, ReturnType<typeof spec>>();
  const items: Record<string, unknown>[] = [];
  for (let i = history.runs; i < history.runs + count; i++) {
    const model = `bench/history-${i % history.models}`;
    if (!specs.has(model)) specs.set(model, spec(model));
    const at = new Date(START + i * 60_000).toISOString();
    const status: RunStatus = i % 100 < 90 ? "SUCCEEDED" : i % 100 < 97 ? "FAILED" : "CANCELLED";
    const run: Run = {
      runId: newRunId(START + i * 60_000),
      status,
      version: 6,
      spec: specs.get(model) as Run["spec"],
      createdAt: at,
      updatedAt: at,
      attempts: 1,
      reason: status === "SUCCEEDED" ? "evaluation finished and metrics recorded" : "seeded history",
      costUsd: 0.12,
      simulated: true,
    };
    items.push(runItem(run));
    if (status === "SUCCEEDED" && history.runs + count - i <= METRICS_PER_MODEL * history.models) {
      const row = metricRow(seededScore(run.runId));
      items.push(metricItem(run.runId, model, row));
    }
    if (status === "SUCCEEDED") history.latest.set(model, run);
  }
  // The board as RecordMetrics leaves it: each model's latest SUCCEEDED run.
  for (const run of history.latest.values()) {
    const row = metricRow(seededScore(run.runId));
    for (const entry of entriesOf(run, [row], run.updatedAt, true)) items.push(leaderboardItem(entry));
  }
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let pending = (batches[next++] as Record<string, unknown>[]).map((Item) => ({ PutRequest: { Item } }));
      while (pending.length) {
        const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (out.UnprocessedItems?.[table] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  history.runs += count;
  return history;
}

/**
 * The leaderboard before this change: every SUCCEEDED run read (page by page, as it was, one status
 * partition after another now that they are sharded: the same items, the same read units), each
 * model's latest kept, its metric fetched.
 */
export async function leaderboardBefore(store: RunStore, limit = 50) {
  const latest = new Map<string, Run>();
  for (let shard = 0; shard < RUN_SHARDS; shard++) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await store.db.send(
        new QueryCommand({
          TableName: store.table,
          IndexName: "byStatus",
          KeyConditionExpression: "GSI2PK = :pk",
          ExpressionAttributeValues: { ":pk": `STATUS#SUCCEEDED#${shard}` },
          ScanIndexForward: false,
          Limit: 100,
          ExclusiveStartKey: start,
        }),
      );
      for (const run of (page.Items ?? []) as Run[]) {
        const held = latest.get(run.spec.model.id);
        if (!held || held.createdAt < run.createdAt) latest.set(run.spec.model.id, run);
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
  const rows: { model: string; value: number }[] = [];
  for (const [model, run] of latest) {
    const m = await store.getMetric(run.runId, BOARD.task, BOARD.metric, BOARD.filter);
    if (typeof m?.value === "number") rows.push({ model, value: m.value });
  }
  return rows.sort((a, b) => b.value - a.value).slice(0, limit);
}

export type QueryFigure = { ms: number; readUnits: number; requests: number; items: number };

/** Median latency over `times` calls, and the read units of one call. */
async function timed(
  db: DynamoDBDocumentClient,
  table: string,
  times: number,
  query: (store: RunStore) => Promise<unknown>,
): Promise<QueryFigure> {
  const meter: ReadMeter = { readUnits: 0, requests: 0, items: 0 };
  await query(new RunStore(meteredClient(db, meter), table));
  const ms: number[] = [];
  const store = new RunStore(db, table);
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await query(store);
    ms.push(performance.now() - t0);
  }
  return { ms: median(ms), ...meter };
}

export type HistoryFigures = {
  runs: number;
  models: number;
  leaderboard: QueryFigure;
  leaderboardBefore: QueryFigure;
  modelResults: QueryFigure;
  /** A page from deep in a model's history, through cursors (what a client paging back reads per page). */
  modelResultsDeepPage: QueryFigure;
  /** The stored leaderboard ranks exactly what the full scan of history ranks. */
  agrees: boolean;
};

/** Time the queries at the history seeded so far. */
export async function measureQueries(
  db: DynamoDBDocumentClient,
  table: string,
  history: History,
  options: { times: number; before: boolean },
): Promise<HistoryFigures> {
  const model = "bench/history-0";
  const leaderboard = await timed(db, table, options.times, (s) =>
    readLeaderboard(s, { ...BOARD, limit: 50 }),
  );
  const store = new RunStore(db, table);
  // Ranked alike: the same rows in the same order (ties by model name, as readLeaderboard breaks them).
  const ranked = (rows: { model: string; value: number }[]) =>
    [...rows]
      .sort((a, b) => b.value - a.value || a.model.localeCompare(b.model))
      .map((r) => `${r.model}=${r.value}`);
  const now = ranked((await readLeaderboard(store, { ...BOARD, limit: 50 })).rows);
  let then = now;
  // A call takes seconds at 100,000 runs: metered once (its rows kept for the comparison), timed once.
  const before = options.before
    ? await timed(db, table, 1, async (s) => {
        then = ranked(await leaderboardBefore(s));
      })
    : { ms: Number.NaN, readUnits: Number.NaN, requests: 0, items: 0 };
  const results = await timed(db, table, options.times, (s) => modelResults(s, model, { limit: 20 }));
  // Five pages in, then time the sixth page alone.
  let cursor: (string | null)[] | undefined;
  for (let i = 0; i < 5; i++)
    cursor = (await modelResults(store, model, { limit: 20, ...(cursor ? { cursor } : {}) })).cursor;
  const deep = await timed(db, table, options.times, (s) =>
    modelResults(s, model, { limit: 20, ...(cursor ? { cursor } : {}) }),
  );
  return {
    runs: history.runs,
    models: history.models,
    agrees: now.join() === then.join(),
    leaderboard,
    leaderboardBefore: before,
    modelResults: results,
    modelResultsDeepPage: deep,
  };
}

/**
 * Benchmark 5: one table per history size (each seeded from empty, as a deployment that grew to it),
 * on a DynamoDB of the local stack's kind (dynalite, the table serverless.yml declares); then, once
 * `quiet` resolves (nothing else competing for the CPU), each query timed on each.
 */
export async function historyBenchmark(options: {
  sizes: number[];
  models: number;
  times: number;
  quiet: () => Promise<unknown>;
  say: (line: string) => void;
}): Promise<HistoryFigures[]> {
  const server = dynalite({ createTableMs: 0 }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  try {
    const histories: { table: string; history: History }[] = [];
    // Seeding is not timed: it reaches dynalite without HTTP (bench/in-process-dynamo.ts); the queries are
    // timed over HTTP, as the local stack serves them.
    const direct = inProcessDynamo(db, server);
    for (const size of options.sizes) {
      const table = `history-${size}`;
      await createRunsTable(client, projectRoot, table);
      await waitUntilTableExists({ client, maxWaitTime: 20, minDelay: 1, maxDelay: 1 }, { TableName: table });
      const history: History = { runs: 0, models: options.models, latest: new Map() };
      const t0 = performance.now();
      for (let done = 0; done < size; done += 10_000)
        await seedHistory(db, table, history, Math.min(10_000, size - done));
      options.say(`  history: ${size} runs seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      histories.push({ table, history });
    }
    direct();
    await options.quiet();
    const figures: HistoryFigures[] = [];
    for (const { table, history } of histories) {
      figures.push(await measureQueries(db, table, history, { times: options.times, before: true }));
      const f = figures.at(-1) as HistoryFigures;
      options.say(
        `  history: ${history.runs} runs: leaderboard ${f.leaderboard.ms.toFixed(0)} ms (before ${f.leaderboardBefore.ms.toFixed(0)} ms), model results ${f.modelResults.ms.toFixed(0)} ms`,
      );
    }
    return figures;
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
