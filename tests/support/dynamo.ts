// A real DynamoDB (dynalite) with the table serverless.yml declares, for store-level tests.
import type { Server } from "node:http";
import { after, before } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { RunStore } from "../../core/run-store.ts";
import { createRunsTable } from "../../local/serverless-config.ts";
import { projectRoot } from "../../local/stack.ts";

export async function testTable() {
  const server = dynalite({ createTableMs: 0 }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  const table = "runs";
  await createRunsTable(client, projectRoot, table);
  const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    db,
    table,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A run store on its own dynalite for the tests of one file: opened before them, closed after. */
export function testStore(): () => RunStore {
  let store: RunStore | undefined;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    const t = await testTable();
    store = new RunStore(t.db, t.table);
    close = t.close;
  });
  after(() => close?.());
  return () => {
    if (!store) throw new Error("the test store is opened in before()");
    return store;
  };
}
