// Reads serverless.yml, the one source of truth for functions, routes, the table and the bucket,
// so the local stack serves exactly what the deployment declares.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { parse } from "yaml";
import * as z from "zod/mini";

const FunctionDef = z.object({
  handler: z.string().check(z.regex(/^[\w/-]+\.\w+$/)),
  events: z.optional(z.array(z.record(z.string(), z.unknown()))),
});
const Config = z.object({
  service: z.string(),
  functions: z.record(z.string(), FunctionDef),
  resources: z.object({
    Resources: z.record(z.string(), z.object({ Type: z.string(), Properties: z.unknown() })),
  }),
});

export type Route = { method: string; path: string; functionName: string };
/** An EventBridge rule of serverless.yml: its event pattern and the function it targets. */
export type EventRule = { functionName: string; pattern: Record<string, unknown> };
export type TableDefinition = {
  AttributeDefinitions: { AttributeName: string; AttributeType: string }[];
  KeySchema: { AttributeName: string; KeyType: string }[];
  GlobalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: string }[];
    Projection: unknown;
  }[];
};

export type ServerlessConfig = {
  root: string;
  service: string;
  functions: Record<string, { handler: string; module: string; exportName: string }>;
  routes: Route[];
  rules: EventRule[];
  table: TableDefinition;
};

export function readServerlessConfig(root: string): ServerlessConfig {
  const raw = Config.parse(parse(readFileSync(join(root, "serverless.yml"), "utf8")));
  const functions: ServerlessConfig["functions"] = {};
  const routes: Route[] = [];
  const rules: EventRule[] = [];
  for (const [name, fn] of Object.entries(raw.functions)) {
    const dot = fn.handler.lastIndexOf(".");
    functions[name] = {
      handler: fn.handler,
      module: join(root, `${fn.handler.slice(0, dot)}.ts`),
      exportName: fn.handler.slice(dot + 1),
    };
    for (const event of fn.events ?? []) {
      const http = event.httpApi as { method: string; path: string } | undefined;
      if (http) routes.push({ method: http.method.toUpperCase(), path: http.path, functionName: name });
      const rule = event.eventBridge as { pattern?: Record<string, unknown> } | undefined;
      if (rule?.pattern) rules.push({ functionName: name, pattern: rule.pattern });
    }
  }
  const tables = Object.values(raw.resources.Resources).filter((r) => r.Type === "AWS::DynamoDB::Table");
  if (tables.length !== 1) throw new Error("serverless.yml must declare exactly one DynamoDB table");
  return {
    root,
    service: raw.service,
    functions,
    routes,
    rules,
    table: tables[0].Properties as TableDefinition,
  };
}

/** Which serverless function a state machine Resource placeholder names: ${PlanFunctionArn} -> plan. */
export function functionForResource(resource: string): string | undefined {
  const match = /^\$\{([A-Z][A-Za-z0-9]*)FunctionArn\}$/.exec(resource);
  return match ? match[1][0].toLowerCase() + match[1].slice(1) : undefined;
}

/** Create the runs table as serverless.yml defines it (keys, indexes), on-demand, under `name`. */
export async function createRunsTable(client: DynamoDBClient, root: string, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PAY_PER_REQUEST",
      ...(readServerlessConfig(root).table as object),
    } as never),
  );
}
