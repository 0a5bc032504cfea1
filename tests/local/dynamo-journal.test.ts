// DynamoDB data across a restart without a native module: the writes dynalite acknowledged, journaled
// and replayed into a new in-memory dynalite, give back the same items; refused writes leave no trace;
// a journal cut short by a kill mid-append still loads; one this table cannot take is named as such.
import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { newRunId } from "../../core/ids.ts";
import { parseResults, uniqueRows } from "../../core/results.ts";
import { RunStore } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { JournalUnreadable, journalWrites, restoreJournal } from "../../local/dynamo-journal.ts";
import { createRunsTable } from "../../local/serverless-config.ts";
import { projectRoot } from "../../local/stack.ts";

const table = "runs";
const scratch = await mkdtemp(join(tmpdir(), "spoteval-journal-"));
after(() => rm(scratch, { recursive: true, force: true }));

/** A fresh in-memory dynalite with the table serverless.yml declares. */
async function dynamo() {
  const server = dynalite({ createTableMs: 0 }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const client = new DynamoDBClient({
    endpoint: url,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  await createRunsTable(client, projectRoot, table);
  const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    server,
    url,
    store: new RunStore(db, table),
    items: async () =>
      ((await db.send(new ScanCommand({ TableName: table }))).Items ?? []).sort((a, b) =>
        `${a.PK}${a.SK}`.localeCompare(`${b.PK}${b.SK}`),
      ),
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const newRun = () => {
  const now = new Date().toISOString();
  return {
    runId: newRunId(),
    status: "QUEUED" as const,
    version: 1,
    spec: toRunSpec(EvaluationRequest.parse({ model: { id: "org/model" }, tasks: ["gsm8k"] })),
    createdAt: now,
    updatedAt: now,
    attempts: 0,
  };
};

describe("the DynamoDB journal", () => {
  it("gives back, after a restart, exactly the items the acknowledged writes left", async () => {
    const file = join(scratch, "a", "journal.jsonl");
    const first = await dynamo();
    await restoreJournal(file, first.url, table);
    journalWrites(first.server, file);
    const run = newRun();
    await first.store.createRun(run);
    await first.store.transition(run.runId, "PLANNING");
    await first.store.transition(run.runId, "ACQUIRING", { attempts: 1 });
    await first.store.openAttempt({
      runId: run.runId,
      attempt: 1,
      status: "LAUNCHING",
      clientToken: "t",
      launchTries: 1,
      startedAt: new Date().toISOString(),
    });
    // Refused (the attempt is LAUNCHING, not RUNNING): nothing to journal.
    assert.equal(await first.store.updateAttempt(run.runId, 1, ["RUNNING"], { status: "FINISHED" }), false);
    // mmlu: 57 subjects and their groups, written 25 to a BatchWriteItem.
    const mmlu = await readFile(join(projectRoot, "tests/fixtures/lm-eval/llama3-8b-mmlu.json"), "utf8");
    assert.ok((await first.store.putMetrics(run.runId, "org/model", uniqueRows(parseResults(mmlu)))) > 25);
    const before = await first.items();
    await first.close();

    const second = await dynamo();
    assert.equal(await restoreJournal(file, second.url, table), before.length);
    assert.deepEqual(await second.items(), before);
    assert.equal((await second.store.getAttempt(run.runId, 1))?.status, "LAUNCHING");
    await second.close();

    // Compacted: a third start reads the rewritten journal to the same items.
    const third = await dynamo();
    await restoreJournal(file, third.url, table);
    assert.deepEqual(await third.items(), before);
    await third.close();
  });

  it("loads a journal whose last line a kill cut short (that write was never acknowledged)", async () => {
    const file = join(scratch, "b", "journal.jsonl");
    const first = await dynamo();
    await restoreJournal(file, first.url, table);
    journalWrites(first.server, file);
    await first.store.createRun(newRun());
    const before = await first.items();
    await first.close();
    await appendFile(file, '{"op":"PutItem","body":{"TableName":"ru');

    const second = await dynamo();
    await restoreJournal(file, second.url, table);
    assert.deepEqual(await second.items(), before);
    assert.doesNotMatch(await readFile(file, "utf8"), /"ru$/, "the cut line is gone after compaction");
    await second.close();
  });

  it("names a journal this table cannot take instead of failing obscurely", async () => {
    const file = join(scratch, "c", "journal.jsonl");
    await rm(join(scratch, "c"), { recursive: true, force: true });
    const db = await dynamo();
    await restoreJournal(join(scratch, "c", "unused.jsonl"), db.url, table);
    await writeFile(
      file,
      `${JSON.stringify({ op: "PutItem", body: { TableName: "another-table", Item: { id: { S: "x" } } } })}\n`,
    );
    await assert.rejects(restoreJournal(file, db.url, table), (error: Error) => {
      assert.ok(error instanceof JournalUnreadable);
      assert.match(
        error.message,
        /journal\.jsonl:1 \(PutItem\) does not apply to the table this spoteval defines/,
      );
      return true;
    });
    await db.close();
  });
});
