// The run store: one DynamoDB table, keys prefixed by kind. Every state change is a conditional write,
// so a late or duplicated Lambda can neither move a run backwards nor lose an update.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { Conflict, NotFound, StaleTransition } from "./errors.ts";
import type { MetricRow } from "./results.ts";
import type { AttemptStatus, Progress, RunSpec, RunStatus } from "./schemas.ts";
import { isFinal } from "./schemas.ts";

export type Plan = {
  requiredMemoryGiB: number;
  candidates: {
    instanceType: string;
    chips: number;
    tpDegree: number;
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
  const { PK, SK, kind, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, ...rest } = item;
  return rest as T;
};

/** Which statuses may move to which: forward only, INTERRUPTED loops back through ACQUIRING. */
const allowedFrom: Record<RunStatus, RunStatus[]> = {
  QUEUED: [],
  PLANNING: ["QUEUED"],
  ACQUIRING: ["PLANNING", "INTERRUPTED"],
  RUNNING: ["ACQUIRING"],
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
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              PK: `IDEMPOTENCY#${idempotency.key}`,
              SK: "IDEMPOTENCY",
              kind: "idempotency",
              runId: run.runId,
              bodyHash: idempotency.bodyHash,
              expires: Math.floor(Date.now() / 1000) + idempotency.ttlSeconds,
            },
            ConditionExpression: "attribute_not_exists(PK)",
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const existing = await this.idempotent(idempotency.key);
        if (existing?.bodyHash !== idempotency.bodyHash) {
          throw new Conflict("this Idempotency-Key was already used with a different request body");
        }
        const prior = await this.getRun(existing.runId);
        if (prior) return prior;
        throw new Conflict("a request with this Idempotency-Key is still being accepted; retry shortly");
      }
    }
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...runKey(run.runId), kind: "run", ...indexKeys(run), ...run },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
    return run;
  }

  private async idempotent(key: string) {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: `IDEMPOTENCY#${key}`, SK: "IDEMPOTENCY" },
        ConsistentRead: true,
      }),
    );
    return out.Item as { runId: string; bodyHash: string } | undefined;
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
            Item: { ...runKey(runId), kind: "run", ...indexKeys(next), ...next },
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

  async listRuns(options: {
    model?: string;
    status?: RunStatus;
    limit: number;
    cursor?: Record<string, unknown>;
  }) {
    const [index, pk] = options.model
      ? ["byModel", { name: "GSI1PK", value: `MODEL#${options.model}` }]
      : options.status
        ? ["byStatus", { name: "GSI2PK", value: `STATUS#${options.status}` }]
        : ["byCreated", { name: "GSI3PK", value: "RUNS" }];
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: index,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": pk.name },
        ExpressionAttributeValues: { ":pk": pk.value },
        ScanIndexForward: false,
        Limit: options.limit,
        ExclusiveStartKey: options.cursor,
      }),
    );
    return {
      runs: (out.Items ?? []).map((i) => strip<Run>(i) as Run),
      cursor: out.LastEvaluatedKey,
    };
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
    const items = rows.map((row) => ({
      PutRequest: {
        Item: {
          PK: `RUN#${runId}`,
          SK: `METRIC#${row.task}#${row.metric}#${row.filter}`,
          kind: "metric",
          runId,
          modelId,
          ...row,
        },
      },
    }));
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
    let cursor: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "PK = :pk AND begins_with(SK, :sk)",
          ExpressionAttributeValues: { ":pk": `RUN#${runId}`, ":sk": "METRIC#" },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const i of out.Items ?? []) items.push(strip<StoredMetric>(i) as StoredMetric);
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    return items.sort((a, b) => a.order - b.order);
  }
}

function indexKeys(run: Run) {
  const sk = `${run.createdAt}#${run.runId}`;
  return {
    GSI1PK: `MODEL#${run.spec.model.id}`,
    GSI1SK: sk,
    GSI2PK: `STATUS#${run.status}`,
    GSI2SK: sk,
    GSI3PK: "RUNS",
    GSI3SK: sk,
  };
}
