// The embedded stack: DynamoDB (dynalite), S3 (s3rver), Step Functions (aws-local-stepfunctions behind
// its JSON API), the HTTP API and the local capacity provider, all on 127.0.0.1, all from serverless.yml.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { StateMachineDefinition } from "aws-local-stepfunctions";
import dynalite from "dynalite";
import S3rver from "s3rver";
import { hashKey, newApiKey } from "../core/auth.ts";
import { LocalProcessProvider } from "../core/capacity/local-process.ts";
import { endLeftovers } from "../core/capacity/process-records.ts";
import { capacityDeps } from "../functions/runtime.ts";
import { dataPaths, type Lock, lockDataDir, openDataDir } from "./data-dir.ts";
import { journalWrites, restoreJournal } from "./dynamo-journal.ts";
import { LocalEventBus } from "./eventbridge.ts";
import { type HttpHandler, LocalGateway, lambdaContext } from "./gateway.ts";
import { endRunsInFlight } from "./recovery.ts";
import { createRunsTable, functionForResource, readServerlessConfig } from "./serverless-config.ts";
import { LocalStepFunctions, type TaskHandler } from "./stepfunctions.ts";

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_PORT = 4510;

export type StackOptions = {
  /** First of four ports (API, DynamoDB, S3, Step Functions); 0 picks free ones. */
  port?: number;
  apiKey?: string;
  /** Seconds the simulated engine takes for the whole evaluation. */
  simulatedSeconds?: number;
  /** Extra environment for handlers and engines (e.g. STALL_SECONDS). */
  env?: Record<string, string>;
  /** Milliseconds a Wait / Retry waits locally instead of its seconds (undefined: as written). */
  waitMs?: number;
  retryMs?: number;
  /** Seconds between local janitor sweeps (the deployment's schedule is 10 minutes). */
  janitorSeconds?: number;
  /** Replace the handler of a serverless function (tests wrap capacity faults, or lose events, this way). */
  handlers?: Record<string, TaskHandler>;
  /**
   * Keep DynamoDB and S3 data in this folder across restarts (one stack per folder); runs left in flight
   * by a stack that stopped are ended at start. Unset: in memory and a temporary folder, gone at stop.
   */
  dataDir?: string;
};

export type Stack = {
  urls: { API: string; DynamoDB: string; S3: string; StepFunctions: string };
  apiKey: string;
  stateMachineArn: string;
  bucket: string;
  table: string;
  stepFunctions: LocalStepFunctions;
  /** DynamoDB (dynalite), in this process: benchmarks that count rather than time reach it without HTTP. */
  dynamo: Server;
  /**
   * The default event bus: PutEvents on the API port, delivered by the rules of serverless.yml, and
   * every event kept (`seen`) so a person or a test can see what a deployment would have put there.
   */
  events: LocalEventBus;
  stop: () => Promise<void>;
  /** Runs a stopped stack had left in flight, ended at this start (with a data folder). */
  endedAtStart: string[];
};

const listen = (server: Server, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });

/**
 * The engine as its image runs it: engine/main.ts bundled by esbuild with the Dockerfile's flags. A
 * local "instance" then starts in ~0.25 s of CPU instead of ~1 s of loading TypeScript module by module,
 * which is what limits how many runs a laptop can take at once.
 */
export async function bundleEngine(
  dir: string,
  entry = "engine/main.ts",
  outfile = join(dir, "..", `${basename(dir)}-engine.mjs`),
): Promise<string> {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(projectRoot, entry)],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const base = options.port ?? DEFAULT_PORT;
  const at = (offset: number) => (base === 0 ? 0 : base + offset);
  const config = readServerlessConfig(projectRoot);
  const table = `${config.service}-local`;
  const bucket = `${config.service}-local-artifacts`;
  const apiKey = options.apiKey ?? newApiKey();

  const data = options.dataDir ? dataPaths(options.dataDir) : undefined;
  let lock: Lock | undefined;
  if (options.dataDir) {
    lock = await lockDataDir(options.dataDir, base ? { api: `http://127.0.0.1:${base}` } : {});
    await openDataDir(options.dataDir).catch(async (error) => {
      await lock?.release();
      throw error;
    });
  }

  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
  const dynamoUrl = `http://127.0.0.1:${await listen(dynamo, at(1))}`;
  const s3Dir = data?.s3 ?? (await mkdtemp(join(tmpdir(), "spoteval-s3-")));
  const scratch = data ? await mkdtemp(join(tmpdir(), "spoteval-engine-")) : s3Dir;
  const s3 = new S3rver({
    address: "127.0.0.1",
    port: at(2),
    silent: true,
    directory: s3Dir,
    resetOnClose: !data,
  });
  const s3Address = await s3.run();
  const s3Url = `http://127.0.0.1:${s3Address.port}`;

  const stepFunctions = new LocalStepFunctions();
  const sfnUrl = await stepFunctions.listen(at(3));
  const stateMachineName = `${config.service}-local-evaluation`;
  const stateMachineArn = `arn:aws:states:us-east-1:000000000000:stateMachine:${stateMachineName}`;

  // Handlers and engines read configuration from the environment, as Lambda functions do in AWS.
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "S3RVER", // the one key pair s3rver accepts; dynalite takes any
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
    AWS_ENDPOINT_URL_S3: s3Url,
    AWS_ENDPOINT_URL_SFN: sfnUrl,
    SPOTEVAL_TABLE: table,
    SPOTEVAL_BUCKET: bucket,
    STATE_MACHINE_ARN: stateMachineArn,
    CAPACITY_PROVIDER: "local",
    LOCAL_ENGINE_COMMAND: JSON.stringify([process.execPath, await bundleEngine(scratch)]),
    ENGINE_BACKEND: "simulated",
    ENGINE_HEARTBEAT_SECONDS: "0.5",
    SIMULATED_SECONDS: String(options.simulatedSeconds ?? 8),
    API_KEY_HASHES: `${hashKey(apiKey)}:rw`,
    POLL_MIN_SECONDS: "1",
    POLL_MAX_SECONDS: "2",
    // A local engine is a process: up in well under a second, watched closely from launch.
    BOOT_ESTIMATE_SECONDS: "0",
    POLL_WATCH_SECONDS: "5",
    POLL_WATCH_INTERVAL_MS: "100",
    STALL_SECONDS: "30",
    // A warned local instance that does not save its cache has crashed or hangs; wait for it briefly.
    ENGINE_CACHE_WAIT_SECONDS: "5",
    BOOT_SECONDS: "120",
    MAX_ATTEMPTS: "3",
    // No network here: a model without a parameter count is planned as a 7B one.
    MODEL_CONFIG_LOOKUP: "off",
    ...(data ? { LOCAL_PROCESS_RECORDS: data.processes } : {}),
    // Callbacks may use http here; which internal hosts may receive them comes from the environment.
    CALLBACK_SCHEMES: "https,http",
    ...options.env,
  });

  const client = { region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } };
  const ddb = new DynamoDBClient({ ...client, endpoint: dynamoUrl });
  await createRunsTable(ddb, projectRoot, table);
  await waitUntilTableExists(
    { client: ddb, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
    { TableName: table },
  );
  ddb.destroy();
  if (data) {
    await restoreJournal(data.dynamoJournal, dynamoUrl, table);
    journalWrites(dynamo, data.dynamoJournal);
  }
  const s3Client = new S3Client({ ...client, endpoint: s3Url, forcePathStyle: true });
  await s3Client.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: Error) => {
    if (!data || !["BucketAlreadyOwnedByYou", "BucketAlreadyExists"].includes(error.name)) throw error;
  });
  s3Client.destroy();
  // Executions lived in the memory of the stack that stopped: end what its engines left running, then
  // the runs it left in flight.
  if (data) await endLeftovers(data.processes);
  const endedAtStart = data ? await endRunsInFlight(capacityDeps()) : [];

  const modules: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(config.functions)) {
    const mod = (await import(fn.module)) as Record<string, unknown>;
    modules[name] = mod[fn.exportName];
    if (typeof modules[name] !== "function") throw new Error(`${fn.handler} does not export a handler`);
  }
  const taskHandlers: Record<string, TaskHandler> = {};
  for (const [name, handler] of Object.entries(modules)) {
    taskHandlers[name] =
      options.handlers?.[name] ??
      ((input) => (handler as (e: unknown, c: unknown) => Promise<unknown>)(input, lambdaContext(name)));
  }
  const definition = JSON.parse(
    await readFile(join(projectRoot, "statemachine/evaluation.asl.json"), "utf8"),
  ) as StateMachineDefinition;
  stepFunctions.register({
    name: stateMachineName,
    definition,
    handlers: taskHandlers,
    functionForResource,
    ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
  });

  // EventBridge, locally: an execution that ends ABORTED, TIMED_OUT or FAILED reaches the same handler
  // as in AWS, and the janitor runs on a timer as its schedule would.
  const invoke = (name: string, event: unknown) =>
    options.handlers?.[name]
      ? options.handlers[name](event)
      : (modules[name] as (e: unknown, c: unknown) => Promise<unknown>)(event, lambdaContext(name));
  const events = new LocalEventBus(config.rules, invoke);
  stepFunctions.onExecutionEnded = (e) =>
    invoke("onExecutionEnded", {
      version: "0",
      id: crypto.randomUUID(),
      "detail-type": "Step Functions Execution Status Change",
      source: "aws.states",
      time: new Date().toISOString(),
      detail: {
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        input: e.input,
        cause: e.cause ?? null,
      },
    });
  const janitor = setInterval(
    () => {
      invoke("janitor", { source: "aws.events", "detail-type": "Scheduled Event", detail: {} }).catch(
        (error) => console.error(`janitor failed: ${String(error)}`),
      );
    },
    (options.janitorSeconds ?? 60) * 1000,
  );
  janitor.unref();

  // EventBridge's bus, locally: `spoteval local emit-registry-event FILE` posts an event here and it
  // reaches the function whose rule would match it (registry or EC2 events).
  const emit: HttpHandler = async (event) => {
    if (event.headers.authorization !== `Bearer ${apiKey}`)
      return { statusCode: 401, body: "send the local API key" };
    let bus: { "detail-type"?: string; source?: string };
    try {
      bus = JSON.parse(event.body ?? "");
    } catch {
      return { statusCode: 400, body: "the event is not JSON" };
    }
    const target = String(bus["detail-type"]).startsWith("EC2 ") ? "onInstanceEvent" : "onRegistryEvent";
    try {
      const result = await invoke(target, {
        version: "0",
        id: crypto.randomUUID(),
        time: new Date().toISOString(),
        ...bus,
      });
      return {
        statusCode: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ target, result }),
      };
    } catch (error) {
      return {
        statusCode: 400,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ target, error: String(error) }),
      };
    }
  };
  const gateway = new LocalGateway([
    ...config.routes.map((route) => ({ route, handler: modules[route.functionName] as HttpHandler })),
    { route: { method: "POST", path: "/_local/events", functionName: "localEventBus" }, handler: emit },
    {
      route: { method: "GET", path: "/_local/events", functionName: "localEventBusEvents" },
      handler: async (event) =>
        event.headers.authorization === `Bearer ${apiKey}`
          ? {
              statusCode: 200,
              headers: { "content-type": "application/json" },
              body: JSON.stringify(events.seen),
            }
          : { statusCode: 401, body: "send the local API key" },
    },
    {
      route: { method: "POST", path: "/", functionName: "localEventBridge" },
      handler: events.putEventsRoute,
    },
  ]);
  const apiUrl = await gateway.listen(at(0));
  // EventBridge's JSON API answers on the API port (the engine puts EngineFinished there).
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = apiUrl;

  return {
    urls: { API: apiUrl, DynamoDB: dynamoUrl, S3: s3Url, StepFunctions: sfnUrl },
    apiKey,
    stateMachineArn,
    bucket,
    table,
    stepFunctions,
    dynamo,
    endedAtStart,
    events,
    stop: async () => {
      clearInterval(janitor);
      await gateway.close();
      await events.settled();
      await stepFunctions.close();
      await LocalProcessProvider.releaseEverything();
      await s3.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
      if (!data) await rm(s3Dir, { recursive: true, force: true });
      if (data) await rm(scratch, { recursive: true, force: true });
      await rm(`${scratch}-engine.mjs`, { force: true });
      await lock?.release();
    },
  };
}
