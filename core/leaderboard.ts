// The leaderboard as stored items: one per board (task, metric, filter) and model and n-shot, holding
// the latest SUCCEEDED run's value. RecordMetrics writes them conditionally (an older run never
// overwrites a newer one), so GET /leaderboard reads one item per model, whatever the history holds.
// "Latest" is the run created last (the order every listing uses), not the one that finished last.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, GetCommand, PutCommand, paginateQuery, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ParityRow, Verdict } from "./parity.ts";
import type { MetricRow } from "./results.ts";
import type { Run, RunStore } from "./run-store.ts";

export type BoardQuery = { task: string; metric: string; filter: string; numFewshot?: number };

export type LeaderboardEntry = {
  task: string;
  metric: string;
  filter: string;
  numFewshot: number | string | null;
  modelId: string;
  value: number;
  stderr: number | string | null;
  higherIsBetter: boolean | null;
  runId: string;
  /** The run's createdAt#runId: what "newer" means for the conditional write. */
  runOrder: string;
  finishedAt: string;
  simulated: boolean;
  /** This score's parity verdict in its run (written with the entry, in the same step). */
  parity?: Verdict;
};

export type LeaderboardRow = {
  rank: number;
  model: string;
  numFewshot: number | string | null;
  value: number;
  stderr: number | string | null;
  higherIsBetter: boolean;
  runId: string;
  finishedAt: string;
  simulated: boolean;
  parity?: Verdict;
  /** Whether this score drifted from its reference (core/parity.ts). */
  drift: boolean;
};

/**
 * Whether a run's values may stand on the leaderboard. The one place to say so: a run marked drifting
 * (or deleted) stops counting here, then withdrawFromLeaderboard puts the next run in its place.
 */
export const countsOnLeaderboard = (run: Run): boolean => run.status === "SUCCEEDED";

const boardPk = (q: { task: string; metric: string; filter: string }) =>
  `BOARD#${q.task}#${q.metric}#${q.filter}`;
const entrySk = (modelId: string, numFewshot: number | string | null) =>
  `MODEL#${modelId}#SHOT#${numFewshot ?? "-"}`;
const entryKey = (e: Pick<LeaderboardEntry, "task" | "metric" | "filter" | "modelId" | "numFewshot">) => ({
  PK: boardPk(e),
  SK: entrySk(e.modelId, e.numFewshot),
});
export const runOrder = (run: Pick<Run, "createdAt" | "runId">) => `${run.createdAt}#${run.runId}`;

/** The stored form of a leaderboard entry. */
export const leaderboardItem = (entry: LeaderboardEntry) => ({
  ...entryKey(entry),
  kind: "leaderboard",
  ...entry,
});

export function entriesOf(
  run: Run,
  rows: MetricRow[],
  finishedAt: string,
  simulated: boolean,
): LeaderboardEntry[] {
  return rows
    .filter((r): r is MetricRow & { value: number } => typeof r.value === "number")
    .map((r) => {
      const verdict = run.parity?.rows.find(
        (p) => p.task === r.task && p.metric === r.metric && p.filter === r.filter,
      )?.verdict;
      return {
        task: r.task,
        metric: r.metric,
        filter: r.filter,
        numFewshot: r.numFewshot,
        modelId: run.spec.model.id,
        value: r.value,
        stderr: r.stderr,
        higherIsBetter: r.higherIsBetter,
        runId: run.runId,
        runOrder: runOrder(run),
        finishedAt,
        simulated,
        ...(verdict ? { parity: verdict } : {}),
      };
    });
}

/** Run `fn` over `items`, at most `width` at a time (a run has tens of metrics; mmlu alone has 57+). */
async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/**
 * Put the run's values on the leaderboard, each conditional on no newer run holding the entry. Safe to
 * repeat (a retried RecordMetrics rewrites its own entries). Returns how many entries it holds now.
 */
export async function recordOnLeaderboard(
  store: RunStore,
  run: Run,
  rows: MetricRow[],
  at: { finishedAt: string; simulated: boolean },
): Promise<number> {
  let held = 0;
  await inBatches(entriesOf(run, rows, at.finishedAt, at.simulated), 10, async (entry) => {
    try {
      await store.db.send(
        new PutCommand({
          TableName: store.table,
          Item: leaderboardItem(entry),
          ConditionExpression: "attribute_not_exists(PK) OR runOrder <= :order",
          ExpressionAttributeValues: { ":order": entry.runOrder },
        }),
      );
      held++;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  });
  return held;
}

/**
 * Mark each entry the run still holds with its score's parity verdict, conditionally on the entry
 * being the run's (a newer run's entry is left alone; an entry not written yet is skipped: RecordMetrics
 * writes it with its verdict).
 */
export async function markParityOnLeaderboard(store: RunStore, run: Run, rows: ParityRow[]): Promise<void> {
  await inBatches(rows, 10, async (row) => {
    try {
      await store.db.send(
        new UpdateCommand({
          TableName: store.table,
          Key: entryKey({ ...row, numFewshot: row.nShot, modelId: run.spec.model.id }),
          UpdateExpression: "SET parity = :verdict",
          ConditionExpression: "runId = :run",
          ExpressionAttributeValues: { ":verdict": row.verdict, ":run": run.runId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  });
}

/** Every entry of a board: one item per model and n-shot, however many runs lie behind them. */
async function boardEntries(store: RunStore, q: BoardQuery): Promise<LeaderboardEntry[]> {
  const entries: LeaderboardEntry[] = [];
  const pages = paginateQuery(
    { client: store.db },
    {
      TableName: store.table,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": boardPk(q) },
    },
  );
  for await (const page of pages) for (const item of page.Items ?? []) entries.push(item as LeaderboardEntry);
  return entries;
}

/**
 * The board ranked in the direction higher_is_better says, one row per model: the given n-shot, or
 * each model's latest entry when none is given. `offset` is where the previous page stopped.
 */
export async function readLeaderboard(
  store: RunStore,
  q: BoardQuery & { limit: number; offset?: number },
): Promise<{ rows: LeaderboardRow[]; next?: number }> {
  const latest = new Map<string, LeaderboardEntry>();
  for (const e of await boardEntries(store, q)) {
    if (q.numFewshot !== undefined && e.numFewshot !== q.numFewshot) continue;
    const held = latest.get(e.modelId);
    if (!held || held.runOrder < e.runOrder) latest.set(e.modelId, e);
  }
  const entries = [...latest.values()];
  const higher = entries[0]?.higherIsBetter ?? true;
  entries.sort(
    (a, b) => (higher ? b.value - a.value : a.value - b.value) || a.modelId.localeCompare(b.modelId),
  );
  const offset = q.offset ?? 0;
  const rows = entries.slice(offset, offset + q.limit).map((e, i) => ({
    rank: offset + i + 1,
    model: e.modelId,
    numFewshot: e.numFewshot,
    value: e.value,
    stderr: e.stderr,
    higherIsBetter: e.higherIsBetter ?? true,
    runId: e.runId,
    finishedAt: e.finishedAt,
    simulated: Boolean(e.simulated),
    ...(e.parity ? { parity: e.parity } : {}),
    drift: e.parity === "drift",
  }));
  return { rows, ...(offset + q.limit < entries.length ? { next: offset + q.limit } : {}) };
}

/**
 * Take a run off the leaderboard (it failed after recording, was deleted, or was marked drifting):
 * each entry it holds goes to the model's latest other run that still counts (same task, metric,
 * filter and n-shot), or is removed when there is none. Each write is conditional on the entry still
 * being the withdrawn run's, so a newer run recorded meanwhile keeps its place.
 * `counts` says which runs may replace it (countsOnLeaderboard unless the caller knows better).
 */
export async function withdrawFromLeaderboard(
  store: RunStore,
  run: Run,
  counts: (run: Run) => boolean = countsOnLeaderboard,
): Promise<{ replaced: number; removed: number }> {
  const held: LeaderboardEntry[] = [];
  for (const m of await store.listMetrics(run.runId)) {
    const out = await store.db.send(
      new GetCommand({
        TableName: store.table,
        Key: entryKey({ ...m, modelId: run.spec.model.id }),
        ConsistentRead: true,
      }),
    );
    if ((out.Item as LeaderboardEntry | undefined)?.runId === run.runId)
      held.push(out.Item as LeaderboardEntry);
  }
  const replacements = new Map<string, LeaderboardEntry>();
  const sk = (e: LeaderboardEntry) => `${boardPk(e)}|${entrySk(e.modelId, e.numFewshot)}`;
  let cursor: (string | null)[] | undefined;
  // Walk the model's runs newest first until every held entry has its replacement or history ends.
  while (held.length && replacements.size < held.length) {
    const page = await store.listRuns({
      results: run.spec.model.id,
      limit: 25,
      ...(cursor ? { cursor } : {}),
    });
    for (const other of page.runs) {
      if (other.runId === run.runId || !counts(other)) continue;
      const mine = entriesOf(
        other,
        await store.listMetrics(other.runId),
        other.updatedAt,
        Boolean(other.simulated),
      );
      for (const e of mine) {
        const key = sk(e);
        if (!replacements.has(key) && held.some((h) => sk(h) === key)) replacements.set(key, e);
      }
      if (replacements.size === held.length) break;
    }
    if (!page.cursor) break;
    cursor = page.cursor;
  }
  let replaced = 0;
  let removed = 0;
  for (const entry of held) {
    const next = replacements.get(sk(entry));
    const guard = {
      ConditionExpression: "runId = :withdrawn",
      ExpressionAttributeValues: { ":withdrawn": run.runId },
    };
    try {
      if (next) {
        await store.db.send(
          new PutCommand({
            TableName: store.table,
            Item: leaderboardItem(next),
            ...guard,
          }),
        );
        replaced++;
      } else {
        await store.db.send(new DeleteCommand({ TableName: store.table, Key: entryKey(entry), ...guard }));
        removed++;
      }
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  return { replaced, removed };
}
