// The benchmarks' in-process road to dynalite answers as the HTTP one does (items, paging, conditional
// failures as the SDK's own error), sends nothing over a socket while installed, and is undone cleanly.
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { inProcessDynamo } from "../../bench/in-process-dynamo.ts";
import { createRunsTable } from "../../local/serverless-config.ts";
import { projectRoot } from "../../local/stack.ts";

describe("bench/in-process-dynamo: dynalite without HTTP", () => {
  const server = dynalite({ createTableMs: 0 }) as Server;
  let client: DynamoDBClient;
  let db: DynamoDBDocumentClient;
  let overHttp = 0;
  const table = "in-process-test";
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    server.on("request", () => overHttp++);
    const { port } = server.address() as { port: number };
    client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    db = DynamoDBDocumentClient.from(client);
    await createRunsTable(client, projectRoot, table);
    await waitUntilTableExists({ client, maxWaitTime: 20, minDelay: 1, maxDelay: 1 }, { TableName: table });
  });
  after(async () => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** The same calls, answered the same way, whichever road they take. */
  const calls = async (prefix: string) => {
    for (let i = 0; i < 5; i++)
      await db.send(
        new PutCommand({ TableName: table, Item: { PK: `${prefix}#A`, SK: `ITEM#${i}`, n: i, tags: ["x"] } }),
      );
    const got = await db.send(new GetCommand({ TableName: table, Key: { PK: `${prefix}#A`, SK: "ITEM#3" } }));
    const pages: unknown[][] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": `${prefix}#A` },
          Limit: 2,
          ExclusiveStartKey: start,
        }),
      );
      pages.push((page.Items ?? []).map((x) => x.n));
      start = page.LastEvaluatedKey;
    } while (start);
    const refused = await db
      .send(
        new UpdateCommand({
          TableName: table,
          Key: { PK: `${prefix}#A`, SK: "ITEM#0" },
          UpdateExpression: "SET n = :n",
          ConditionExpression: "n = :was",
          ExpressionAttributeValues: { ":n": 9, ":was": 7 },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    assert.ok(refused instanceof ConditionalCheckFailedException, String(refused));
    return { item: { ...got.Item, PK: undefined }, pages, refused: refused.name, old: refused.Item?.n };
  };

  it("answers as HTTP does, without a request on the socket, until undone", async () => {
    const before = overHttp;
    const viaHttp = await calls("HTTP");
    assert.ok(overHttp > before, "the HTTP road reaches the server's socket");
    const undo = inProcessDynamo(db, server);
    const seen = overHttp;
    const direct = await calls("DIRECT");
    assert.equal(overHttp, seen, "nothing went over HTTP while installed");
    assert.deepEqual(direct, viaHttp);
    undo();
    await db.send(new GetCommand({ TableName: table, Key: { PK: "DIRECT#A", SK: "ITEM#1" } }));
    assert.equal(overHttp, seen + 1, "undone: back on HTTP");
  });
});
