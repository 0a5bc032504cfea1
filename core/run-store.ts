// The run store: one DynamoDB table, keys prefixed by kind. Every state change is a conditional write,
// so a late or duplicated Lambda can neither move a run backwards nor lose an update.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import type { BackendStack, NeuronBackend } from "./backends.ts";
import type { EngineRecord } from "./engine-record.ts";
import { Conflict, InvalidRequest, NotFound, StaleTransition } from "./errors.ts";
import type { MetricRow } from "./results.ts";
import type { RunParity } from "./run-parity.ts";
import type { AttemptStatus, Progress, RunSpec, RunStatus } from "./schemas.ts";
import { isFinal } from "./schemas.ts";
import type { VllmConfig } from "./serving.ts";

export type Plan = {
  /** The engine backend that scores the tasks (absent on plans made before there were two: neuronx). */
  backend?: NeuronBackend;
  tasks?: string[];
  /** The harness revision the backend runs for this run (its own unless the request named another). */
  harnessRevision?: string;
  stack?: BackendStack;
  /** vllm-neuron: what every server is started with (and what its compiled artifacts depend on). */
  vllm?: VllmConfig;
  notes?: string[];
  requiredMemoryGiB: number;
  candidates: {
    instanceType: string;
    chips: number;
    /** Cores per model copy: every core (neuronx), or each vLLM server's tensor-parallel degree. */
    tpDegree: number;
    /** Servers on disjoint core slices (vllm-neuron); 1 for neuronx. */
    replicas?: number;
    onDemandPricePerHour: number;
    expectedHours: number;
    expectedCostUsd: number;
  }[];
};

export type Run = {
  runId: string;
  status: RunStatus;
  version: number;
  spec: RunSpec;
  createdAt: string;
  updatedAt: string;
  reason?: string;
  error?: { name: string; message: string };
  plan?: Plan;
  executionArn?: string;
  attempts: number;
  resultsKey?: string;
  costUsd?: number;
  simulated?: boolean;
  cancelRequested?: boolean;
  deadline?: string;
  /** The run's scores checked against its references, once its metrics are recorded. */
  parity?: RunParity;
  callbackDeliveries?: CallbackDelivery[];
  /** What produced the numbers, as the engine recorded it (backend, image, versions, TP, replicas, B, L). */
  engine?: EngineRecord;
  /**
   * A run split across instances: its shards' plans as the submit made them, then the shard runs the
   * Plan step created from them (one per plan, in order). Absent on a run of one shard.
   */
  shardPlans?: Plan[];
  shards?: string[];
  /** A shard run: the run it is part of, and its place there. Shards are not listed on their own. */
  parentRunId?: string;
  shard?: number;
  /** A failed run whose finished shards' metrics were kept: they cover only some of its tasks. */
  partial?: { tasks: string[]; missing: string[] };
};

/** One try at delivering a run's callback, as GET /evaluations/{id} shows it. */
export type CallbackDelivery = {
  at: string;
  outcome: "delivered" | "failed" | "refused";
  status?: number;
  error?: string;
  /** Whether a later try may succeed (timeouts, 5xx, 429), as decided for this one. */
  retry?: boolean;
  ms: number;
};

export type Attempt = {
  runId: string;
  attempt: number;
  status: AttemptStatus;
  clientToken: string;
  launchTries: number;
  instanceId?: string;
  instanceType?: string;
  availabilityZone?: string;
  market?: string;
  pricePerHour?: number;
  startedAt: string;
  launchedAt?: string;
  heartbeatAt?: string;
  progress?: Progress;
  resultsKey?: string;
  logKey?: string;
  endedAt?: string;
  endReason?: string;
  costUsd?: number;
  backend?: string;
  simulated?: boolean;
  /** What produced the numbers: harness revision, optimum-neuron, engine image, NeuronCores. */
  provenance?: Record<string, string>;
  /**
   * The task token of the state machine's current wait on this attempt (core/wake.ts). A credential
   * to end that wait: never logged, never part of an API answer.
   */
  waitToken?: string;
  /** When a Spot interruption warning for its instance arrived (the reclaim follows two minutes later). */
  warnedAt?: string;
  /** When its engine, told of the interruption, finished saving the request cache (whatever it saved). */
  cacheSavedAt?: string;
  /** When its instance was seen shutting down or terminated. */
  instanceGoneAt?: string;
};

export type StoredMetric = Omit<MetricRow, "displayName"> & {
  displayName: string;
  runId: string;
  modelId: string;
};

const runKey = (runId: string) => ({ PK: `RUN#${runId}`, SK: "RUN" });
const attemptSk = (n: number) => `ATTEMPT#${String(n).padStart(4, "0")}`;
const attemptKey = (runId: string, n: number) => ({ PK: `RUN#${runId}`, SK: attemptSk(n) });
const strip = <T>(item: Record<string, unknown> | undefined): T | undefined => {
  if (!item) return undefined;
  const { PK, SK, kind, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, GSI4PK, GSI4SK, ...rest } = item;
  return rest as T;
};

/**
 * How long a key whose run was never written stays reserved: longer than the timeout of any function
 * that submits (10 s), so the request that wrote the key cannot still be about to write its run.
 */
export const IDEMPOTENCY_GRACE_SECONDS = 30;

/** Which statuses may move to which: forward only, INTERRUPTED loops back through ACQUIRING. */
const allowedFrom: Record<RunStatus, RunStatus[]> = {
  QUEUED: [],
  PLANNING: ["QUEUED"],
  ACQUIRING: ["PLANNING", "INTERRUPTED"],
  // A run of several shards runs once its shards exist; each shard acquires and loops on its own.
  RUNNING: ["ACQUIRING", "PLANNING"],
  INTERRUPTED: ["RUNNING", "ACQUIRING"],
  RECORDING: ["RUNNING"],
  SUCCEEDED: ["RECORDING"],
  FAILED: ["QUEUED", "PLANNING", "ACQUIRING", "RUNNING", "INTERRUPTED", "RECORDING"],
  CANCELLED: ["QUEUED", "PLANNING", "ACQUIRING", "RUNNING", "INTERRUPTED", "RECORDING"],
};

export class RunStore {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async createRun(
    run: Run,
    idempotency?: { key: string; bodyHash: string; ttlSeconds: number },
  ): Promise<Run> {
    if (idempotency) {
      const prior = await this.claimKey(run.runId, idempotency);
      if (prior) return prior;
    }
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: runItem(run),
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
    return run;
  }

  /** Create a run unless it exists (a retried step creating it again gets the stored one back). */
  async createRunOnce(run: Run): Promise<Run> {
    try {
      return await this.createRun(run);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return this.mustGetRun(run.runId);
    }
  }

  /**
   * Point the idempotency key at `runId`, or return the run an earlier request with the same key and
   * body created. The key is written before the run (DynamoDB Local and dynalite have no
   * TransactWriteItems), so a request that died in between leaves a key without a run: after
   * IDEMPOTENCY_GRACE_SECONDS it is taken over, conditionally on still naming the dead run, so of
   * two retries only one starts a run. An expired key (TTL deletes lazily) counts as absent.
   */
  private async claimKey(
    runId: string,
    idempotency: { key: string; bodyHash: string; ttlSeconds: number },
  ): Promise<Run | undefined> {
    for (let tries = 0; tries < 4; tries++) {
      const now = Date.now();
      const existing = await this.idempotent(idempotency.key, now);
      let condition: { ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> };
      if (!existing) {
        condition = {
          ConditionExpression: "attribute_not_exists(PK) OR expires < :now",
          ExpressionAttributeValues: { ":now": Math.floor(now / 1000) },
        };
      } else {
        if (existing.bodyHash !== idempotency.bodyHash) {
          throw new Conflict("this Idempotency-Key was already used with a different request body");
        }
        const prior = await this.getRun(existing.runId);
        if (prior) return prior;
        if (now - (existing.acceptedAt ?? 0) < IDEMPOTENCY_GRACE_SECONDS * 1000) {
          throw new Conflict("a request with this Idempotency-Key is still being accepted; retry shortly");
        }
        condition = {
          ConditionExpression: "runId = :dead",
          ExpressionAttributeValues: { ":dead": existing.runId },
        };
      }
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              PK: `IDEMPOTENCY#${idempotency.key}`,
              SK: "IDEMPOTENCY",
              kind: "idempotency",
              runId,
              bodyHash: idempotency.bodyHash,
              acceptedAt: now,
              expires: Math.floor(now / 1000) + idempotency.ttlSeconds,
            },
            ...condition,
          }),
        );
        return undefined;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Another request claimed or took over the key meanwhile: read it again.
      }
    }
    throw new Conflict("a request with this Idempotency-Key is still being accepted; retry shortly");
  }

  /** The key's item, unless it has expired (DynamoDB's TTL may delete it days later). */
  private async idempotent(key: string, now: number) {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: `IDEMPOTENCY#${key}`, SK: "IDEMPOTENCY" },
        ConsistentRead: true,
      }),
    );
    const item = out.Item as
      | { runId: string; bodyHash: string; acceptedAt?: number; expires: number }
      | undefined;
    return item && item.expires * 1000 > now ? item : undefined;
  }

  async getRun(runId: string): Promise<Run | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: runKey(runId), ConsistentRead: true }),
    );
    return strip<Run>(out.Item);
  }

  async mustGetRun(runId: string): Promise<Run> {
    const run = await this.getRun(runId);
    if (!run) throw new NotFound(`no run ${runId}`);
    return run;
  }

  /**
   * Move a run to `to`, conditional on the version read, so concurrent writers cannot both win.
   * Idempotent: a run already in `to` is returned as it is (a retried Lambda repeats its transition).
   */
  async transition(runId: string, to: RunStatus, set: Partial<Run> = {}): Promise<Run> {
    return this.rewrite(runId, `moving to ${to}`, (run) => {
      if (run.status === to) return undefined;
      if (!allowedFrom[to].includes(run.status)) {
        throw new StaleTransition(`run ${runId} is ${run.status}; it cannot move to ${to}`);
      }
      return { ...run, ...set, status: to };
    });
  }

  /** Change fields of a run that is not final, without changing its status (optimistic on version). */
  async updateRun(runId: string, set: Partial<Omit<Run, "status" | "version">>): Promise<Run> {
    return this.rewrite(runId, "updating", (run) => {
      if (isFinal(run.status)) throw new Conflict(`run ${runId} is already ${run.status}`);
      return { ...run, ...set };
    });
  }

  /**
   * Name a run's shard runs once: a retried Plan step gets the ids the first one wrote, so it creates
   * the same shard runs, never a second set.
   */
  async assignShards(runId: string, ids: string[]): Promise<Run> {
    return this.rewrite(runId, "naming its shards", (run) => {
      if (run.shards) return undefined;
      if (isFinal(run.status)) throw new Conflict(`run ${runId} is already ${run.status}`);
      return { ...run, shards: ids };
    });
  }

  /**
   * Record a run's parity: while its metrics are recorded, or later on a SUCCEEDED run checked
   * again (a new reference). Versioned like every other write.
   */
  async setParity(runId: string, parity: RunParity): Promise<Run> {
    return this.rewrite(runId, "recording its parity", (run) => {
      if (run.status !== "RECORDING" && run.status !== "SUCCEEDED")
        throw new Conflict(`run ${runId} is ${run.status}: only recorded runs have a parity`);
      return { ...run, parity };
    });
  }

  /**
   * Read, change, write back on the condition that nobody wrote in between; on a lost race, read
   * again and retry with jittered backoff. `change` returns undefined when nothing needs writing.
   */
  private async rewrite(runId: string, what: string, change: (run: Run) => Run | undefined): Promise<Run> {
    for (let tries = 0; tries < 12; tries++) {
      if (tries) await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(tries, 6)));
      const run = await this.mustGetRun(runId);
      const changed = change(run);
      if (!changed) return run;
      const next: Run = { ...changed, version: run.version + 1, updatedAt: new Date().toISOString() };
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: runItem(next),
            ConditionExpression: "#v = :v",
            ExpressionAttributeNames: { "#v": "version" },
            ExpressionAttributeValues: { ":v": run.version },
          }),
        );
        return next;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new StaleTransition(`run ${runId} kept changing while ${what}`);
  }

  /**
   * Note the execution that runs the run. Not a state change, so it is conditional only on the run
   * existing: the execution may already have ended the run (a fast failure) before this write.
   */
  async recordExecution(runId: string, executionArn: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: runKey(runId),
        UpdateExpression: "SET executionArn = :arn",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeValues: { ":arn": executionArn },
      }),
    );
  }

  /** Record the tries at delivering the callback of a run (final by then: not a state change). */
  async recordCallbackDeliveries(runId: string, deliveries: CallbackDelivery[]): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: runKey(runId),
        UpdateExpression: "SET callbackDeliveries = :d",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeValues: { ":d": deliveries },
      }),
    );
  }

  /**
   * One page of runs, newest first: of a model, of a model's SUCCEEDED runs (`results`), in a status,
   * or all. Status and all-runs listings are spread over RUN_SHARDS partitions (every run writes to
   * them at each transition); a page merges the shards, reading at most limit + 1 items from each,
   * so its cost follows the page, never the history. `cursor` is where the previous page stopped.
   */
  async listRuns(options: {
    model?: string;
    results?: string;
    status?: RunStatus;
    limit: number;
    cursor?: RunCursor;
  }): Promise<{ runs: Run[]; cursor?: RunCursor }> {
    const [index, gsi, partitions] = options.results
      ? (["byModelResults", "GSI4", [`RESULTS#${options.results}`]] as const)
      : options.model
        ? (["byModel", "GSI1", [`MODEL#${options.model}`]] as const)
        : options.status
          ? (["byStatus", "GSI2", shards(`STATUS#${options.status}`)] as const)
          : (["byCreated", "GSI3", shards("RUNS")] as const);
    const from = options.cursor ?? partitions.map(() => null);
    if (from.length !== partitions.length)
      throw new InvalidRequest("the cursor is not one this listing returned");
    const pages = await Promise.all(
      partitions.map(async (pk, i) => {
        const after = from[i];
        if (after === DONE) return { items: [], more: false };
        const out = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: index,
            KeyConditionExpression: after ? "#pk = :pk AND #sk < :sk" : "#pk = :pk",
            ExpressionAttributeNames: { "#pk": `${gsi}PK`, ...(after ? { "#sk": `${gsi}SK` } : {}) },
            ExpressionAttributeValues: { ":pk": pk, ...(after ? { ":sk": after } : {}) },
            ScanIndexForward: false,
            // One more than a page tells whether this partition has more, without a second query.
            Limit: options.limit + 1,
          }),
        );
        const items = out.Items ?? [];
        return { items: items.slice(0, options.limit), more: items.length > options.limit };
      }),
    );
    const sk = (item: Record<string, unknown>) => item[`${gsi}SK`] as string;
    const merged = pages
      .flatMap((page, shard) => page.items.map((item) => ({ item, shard })))
      .sort((a, b) => (sk(a.item) < sk(b.item) ? 1 : sk(a.item) > sk(b.item) ? -1 : 0))
      .slice(0, options.limit);
    const next: RunCursor = from.map((position, shard) => {
      const taken = merged.filter((m) => m.shard === shard);
      const page = pages[shard] as { items: unknown[]; more: boolean };
      if (position === DONE || (taken.length === page.items.length && !page.more)) return DONE;
      return taken.length ? sk((taken.at(-1) as { item: Record<string, unknown> }).item) : position;
    });
    return {
      runs: merged.map((m) => strip<Run>(m.item) as Run),
      ...(next.every((p) => p === DONE) ? {} : { cursor: next }),
    };
  }

  /** Delete every item stored under a run (run, attempts, metrics), 25 a request. */
  async deleteRunItems(runId: string): Promise<void> {
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": `RUN#${runId}` },
        ProjectionExpression: "PK, SK",
      },
    );
    for await (const out of pages) {
      const keys = (out.Items ?? []).map((k) => ({ DeleteRequest: { Key: { PK: k.PK, SK: k.SK } } }));
      for (let i = 0; i < keys.length; i += 25) {
        let pending: typeof keys | undefined = keys.slice(i, i + 25);
        for (let tries = 0; pending?.length; tries++) {
          if (tries > 8) throw new Error("DynamoDB kept returning unprocessed deletes");
          if (tries) await new Promise((r) => setTimeout(r, 2 ** tries * 25));
          const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
          pending = res.UnprocessedItems?.[this.table] as typeof keys | undefined;
        }
      }
    }
  }

  // ---- attempts ----

  async getAttempt(runId: string, n: number): Promise<Attempt | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: attemptKey(runId, n), ConsistentRead: true }),
    );
    return strip<Attempt>(out.Item);
  }

  async listAttempts(runId: string): Promise<Attempt[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :sk)",
        ExpressionAttributeValues: { ":pk": `RUN#${runId}`, ":sk": "ATTEMPT#" },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((i) => strip<Attempt>(i) as Attempt);
  }

  /** Create attempt n once; a retried caller gets the existing one back. */
  async openAttempt(attempt: Attempt): Promise<Attempt> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...attemptKey(attempt.runId, attempt.attempt), kind: "attempt", ...attempt },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      );
      return attempt;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return (await this.getAttempt(attempt.runId, attempt.attempt)) as Attempt;
    }
  }

  /**
   * Update an attempt only while it is in one of `from`; returns false when it has moved on
   * (the write lost to a newer state and changed nothing).
   */
  async updateAttempt(
    runId: string,
    n: number,
    from: AttemptStatus[],
    set: Partial<Attempt>,
    remove: (keyof Attempt)[] = [],
  ): Promise<boolean> {
    const names: Record<string, string> = { "#status": "status" };
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    for (const [i, [k, v]] of Object.entries(set).entries()) {
      if (v === undefined) continue;
      names[`#a${i}`] = k;
      values[`:a${i}`] = v;
      sets.push(`#a${i} = :a${i}`);
    }
    const removes = remove.map((k, i) => {
      names[`#r${i}`] = k;
      return `#r${i}`;
    });
    from.forEach((s, i) => {
      values[`:f${i}`] = s;
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: attemptKey(runId, n),
          UpdateExpression: [
            sets.length ? `SET ${sets.join(", ")}` : "",
            removes.length ? `REMOVE ${removes.join(", ")}` : "",
          ]
            .filter(Boolean)
            .join(" "),
          ConditionExpression: `attribute_exists(PK) AND #status IN (${from.map((_, i) => `:f${i}`).join(", ")})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Forget a wait token, unless a newer wait has replaced it meanwhile. */
  async clearWaitToken(runId: string, n: number, token: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: attemptKey(runId, n),
          UpdateExpression: "REMOVE waitToken",
          ConditionExpression: "waitToken = :t",
          ExpressionAttributeValues: { ":t": token },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  // ---- metrics ----

  /** Write metric items in batches of 25; keys are deterministic, so a retry rewrites, never duplicates. */
  async putMetrics(runId: string, modelId: string, rows: MetricRow[]): Promise<number> {
    const items = rows.map((row) => ({ PutRequest: { Item: metricItem(runId, modelId, row) } }));
    for (let i = 0; i < items.length; i += 25) {
      let pending: typeof items | undefined = items.slice(i, i + 25);
      for (let tries = 0; pending?.length; tries++) {
        if (tries > 8) throw new Error("DynamoDB kept returning unprocessed metric items");
        if (tries) await new Promise((r) => setTimeout(r, 2 ** tries * 25));
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = out.UnprocessedItems?.[this.table] as typeof items | undefined;
      }
    }
    return items.length;
  }

  async getMetric(
    runId: string,
    task: string,
    metric: string,
    filter: string,
  ): Promise<StoredMetric | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: `RUN#${runId}`, SK: `METRIC#${task}#${metric}#${filter}` },
      }),
    );
    return strip<StoredMetric>(out.Item);
  }

  async listMetrics(runId: string): Promise<StoredMetric[]> {
    const items: StoredMetric[] = [];
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :sk)",
        ExpressionAttributeValues: { ":pk": `RUN#${runId}`, ":sk": "METRIC#" },
      },
    );
    for await (const page of pages) {
      for (const i of page.Items ?? []) items.push(strip<StoredMetric>(i) as StoredMetric);
    }
    return items.sort((a, b) => a.order - b.order);
  }
}

/**
 * Partitions the status and all-runs indexes are spread over. Every run rewrites its item at each
 * transition, and with one partition per status (and one for all runs) a thousand runs starting at once
 * all write to the same index partition; spread over four, each sees a quarter (npm run bench, 6).
 */
export const RUN_SHARDS = 4;

/** Where a listing stopped in each partition: the last index sort key returned, null, or DONE. */
export type RunCursor = (string | null)[];
export const RunCursorSchema = z
  .array(z.nullable(z.string().check(z.maxLength(200))))
  .check(z.maxLength(RUN_SHARDS));
const DONE = "~";

/** A run's shard: a hash of its id, so a run stays in one shard through every transition. */
export function shardOf(runId: string): number {
  let h = 2166136261;
  for (let i = 0; i < runId.length; i++) h = Math.imul(h ^ runId.charCodeAt(i), 16777619);
  return (h >>> 0) % RUN_SHARDS;
}
const shards = (prefix: string) => Array.from({ length: RUN_SHARDS }, (_, i) => `${prefix}#${i}`);

/**
 * The stored form of a run: its keys, its index keys, the run. A shard run has no index keys: it is
 * listed, counted and shown as part of its run, never as a run of its own.
 */
export const runItem = (run: Run) =>
  run.parentRunId
    ? { ...runKey(run.runId), kind: "shard", ...run }
    : { ...runKey(run.runId), kind: "run", ...indexKeys(run), ...run };

/** The stored form of one metric row of a run (deterministic keys: a rewrite never duplicates). */
export const metricItem = (runId: string, modelId: string, row: MetricRow) => ({
  PK: `RUN#${runId}`,
  SK: `METRIC#${row.task}#${row.metric}#${row.filter}`,
  kind: "metric",
  runId,
  modelId,
  ...row,
});

function indexKeys(run: Run) {
  const sk = `${run.createdAt}#${run.runId}`;
  const shard = shardOf(run.runId);
  return {
    GSI1PK: `MODEL#${run.spec.model.id}`,
    GSI1SK: sk,
    GSI2PK: `STATUS#${run.status}#${shard}`,
    GSI2SK: sk,
    GSI3PK: `RUNS#${shard}`,
    GSI3SK: sk,
    // Sparse: only SUCCEEDED runs are in a model's results index, so a page of results is one query.
    ...(run.status === "SUCCEEDED" ? { GSI4PK: `RESULTS#${run.spec.model.id}`, GSI4SK: sk } : {}),
  };
}
