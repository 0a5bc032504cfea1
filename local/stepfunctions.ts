// Step Functions on a laptop: aws-local-stepfunctions runs the real ASL file, each Task mapped to the
// handler serverless.yml names for it, behind the Step Functions JSON API (so @aws-sdk/client-sfn and
// `aws stepfunctions --endpoint-url` work unchanged). aws-local-stepfunctions has no callback tasks, so
// this module adds the one the definition uses: arn:aws:states:::lambda:invoke.waitForTaskToken with
// $$.Task.Token, TimeoutSeconds(Path) and HeartbeatSeconds(Path), answered by SendTaskSuccess,
// SendTaskFailure and SendTaskHeartbeat on the JSON API.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type RunOptions, StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";

type Overrides = NonNullable<RunOptions["overrides"]>;
type LocalHandler = NonNullable<Overrides["taskResourceLocalHandlers"]>[string];
/** The event log entries aws-local-stepfunctions yields (its type is not exported). */
type EventLog = {
  type: string;
  timestamp: number;
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: unknown;
  state: { name: string; type: string; input: unknown; output?: unknown };
  retry: { attempt: number };
};

export type TaskHandler = (input: unknown) => Promise<unknown>;

export type LocalStateMachineOptions = {
  name: string;
  definition: StateMachineDefinition;
  /** Handler per serverless function name; Tasks reach them through their Resource placeholder. */
  handlers: Record<string, TaskHandler>;
  functionForResource: (resource: string) => string | undefined;
  /**
   * Milliseconds every Wait state waits instead of its Seconds (tests use 0 or a few ms). A wait for a
   * task token then times out this long after its Lambda returned, instead of its TimeoutSeconds after
   * it started, so a handler that plays virtual time can act before the timeout.
   */
  waitMs?: number;
  /** Milliseconds every Retry waits instead of its interval. */
  retryMs?: number;
};

type HistoryEvent = {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [detail: string]: unknown;
};

export type LocalExecution = {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  history: HistoryEvent[];
  abort: () => void;
  done: Promise<void>;
};

class ServiceError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

const REGION = "us-east-1";
const ACCOUNT = "000000000000";

/** The one service integration the definition may use (DESIGN.md): a Lambda invoked with a task token. */
export const CALLBACK_RESOURCE = "arn:aws:states:::lambda:invoke.waitForTaskToken";
/** Where the callback parameters the library cannot evaluate travel, beside FunctionName and Payload. */
const LOCAL = "spotevalLocalCallback";
const TOKEN_SLOT = "<task token>";
const TOKEN = /^AQ[A-Za-z0-9_-]{86}$/;
const newTaskToken = () => `AQ${randomBytes(64).toString("base64url")}`;

type CallbackState = {
  Type: "Task";
  Resource: string;
  Parameters?: { FunctionName?: string; Payload?: unknown };
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  HeartbeatSeconds?: number;
  HeartbeatSecondsPath?: string;
};
type CallbackInput = {
  FunctionName: string;
  Payload: unknown;
  [LOCAL]: { executionArn: string; timeoutSeconds?: number; heartbeatSeconds?: number };
};

/** A task waiting for its token: how it ends, and the timers that end it otherwise. */
type PendingTask = {
  executionArn: string;
  succeed: (output: unknown) => void;
  fail: (error: Error) => void;
  timeout?: NodeJS.Timeout;
  heartbeat?: { ms: number; timer?: NodeJS.Timeout };
};

const statesError = (name: string, message: string) => Object.assign(new Error(message), { name });

/** The payload with every "$$.Task.Token" reference replaced by a literal slot the task fills in. */
function tokenSlots(template: unknown): unknown {
  if (Array.isArray(template)) return template.map(tokenSlots);
  if (!template || typeof template !== "object") return template;
  return Object.fromEntries(
    Object.entries(template).map(([k, v]) =>
      k.endsWith(".$") && v === "$$.Task.Token" ? [k.slice(0, -2), TOKEN_SLOT] : [k, tokenSlots(v)],
    ),
  );
}
function fillToken(payload: unknown, token: string): unknown {
  if (payload === TOKEN_SLOT) return token;
  if (Array.isArray(payload)) return payload.map((v) => fillToken(v, token));
  if (!payload || typeof payload !== "object") return payload;
  return Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, fillToken(v, token)]));
}

export class LocalStepFunctions {
  readonly machines = new Map<
    string,
    { options: LocalStateMachineOptions; machine: StateMachine; created: number }
  >();
  readonly executions = new Map<string, LocalExecution>();
  private server?: Server;
  /** Called when an execution ends ABORTED, TIMED_OUT or FAILED, as EventBridge would be. */
  onExecutionEnded?: (execution: LocalExecution) => Promise<unknown>;
  /** Deliveries of onExecutionEnded still running (close waits for them). */
  private readonly deliveries = new Set<Promise<unknown>>();

  private ended(execution: LocalExecution) {
    if (!this.onExecutionEnded || !["ABORTED", "TIMED_OUT", "FAILED"].includes(execution.status)) return;
    const delivery = this.onExecutionEnded(execution).catch((error) =>
      console.error(`execution-ended delivery for ${execution.name} failed: ${String(error)}`),
    );
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  register(options: LocalStateMachineOptions): string {
    const overrides = this.taskHandlers(options);
    void overrides; // validated eagerly: every Task must map to a handler
    // Placeholders become Lambda ARNs, as the deployment substitutes them; Tasks run the local handlers.
    const definition = JSON.parse(JSON.stringify(callbacksForLibrary(options.definition)), (_key, value) => {
      const fn = typeof value === "string" ? options.functionForResource(value) : undefined;
      return fn ? `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${options.name}-${fn}` : value;
    }) as StateMachineDefinition;
    const machine = new StateMachine(definition);
    const arn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${options.name}`;
    this.machines.set(arn, { options, machine, created: Date.now() / 1000 });
    return arn;
  }

  private taskHandlers(options: LocalStateMachineOptions) {
    const handlers: Record<string, LocalHandler> = {};
    const waits: Record<string, number> = {};
    const retries: Record<string, number> = {};
    for (const [stateName, state] of everyState(options.definition)) {
      if (state.Type === "Wait" && options.waitMs !== undefined) waits[stateName] = options.waitMs;
      if ("Retry" in state && options.retryMs !== undefined) retries[stateName] = options.retryMs;
      if (state.Type !== "Task") continue;
      const callback = state.Resource === CALLBACK_RESOURCE;
      const resource = callback ? ((state as CallbackState).Parameters?.FunctionName ?? "") : state.Resource;
      const fn = options.functionForResource(resource);
      const handler = fn ? options.handlers[fn] : undefined;
      if (!handler) throw new Error(`state ${stateName}: no handler for Resource ${resource}`);
      handlers[stateName] = (callback
        ? this.waitForToken(handler, options.waitMs)
        : handler) as unknown as LocalHandler;
    }
    return { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: retries };
  }

  /** Tokens of tasks still waiting, and tokens whose task has ended (AWS then answers TaskTimedOut). */
  private readonly pending = new Map<string, PendingTask>();
  private readonly spent = new Set<string>();

  /**
   * A waitForTaskToken task: invoke the Lambda with a fresh token in its payload, then wait for
   * SendTaskSuccess / SendTaskFailure, or fail with States.Timeout / States.HeartbeatTimeout.
   */
  private waitForToken(handler: TaskHandler, waitMs: number | undefined): TaskHandler {
    return async (input) => {
      const { Payload, [LOCAL]: local } = input as CallbackInput;
      const token = newTaskToken();
      const ended = new Promise<unknown>((succeed, fail) => {
        this.pending.set(token, { executionArn: local.executionArn, succeed, fail });
      });
      // The wait may end (timeout, heartbeat) while the Lambda still runs: not an unhandled rejection.
      ended.catch(() => undefined);
      const task = this.pending.get(token) as PendingTask;
      const expire = (ms: number) => {
        task.timeout = setTimeout(
          () => task.fail(statesError("States.Timeout", "the task timed out waiting for its token")),
          ms,
        );
      };
      try {
        if (waitMs === undefined && local.timeoutSeconds !== undefined) expire(local.timeoutSeconds * 1000);
        if (local.heartbeatSeconds !== undefined) {
          task.heartbeat = { ms: local.heartbeatSeconds * 1000 };
          this.beat(task);
        }
        // A function error fails the task, as in AWS; its return value is ignored (the token answers).
        await handler(fillToken(Payload, token));
        if (waitMs !== undefined) expire(waitMs);
        return await ended;
      } finally {
        this.retire(token);
      }
    };
  }

  private beat(task: PendingTask) {
    if (!task.heartbeat) return;
    clearTimeout(task.heartbeat.timer);
    task.heartbeat.timer = setTimeout(
      () => task.fail(statesError("States.HeartbeatTimeout", "no heartbeat within HeartbeatSeconds")),
      task.heartbeat.ms,
    );
  }

  private retire(token: string) {
    const task = this.pending.get(token);
    if (!task) return;
    // Settles a wait its execution abandoned (stopped, stack closing); a no-op for one that ended.
    // Left pending, the library's own task timer would keep the process alive for days.
    task.fail(statesError("States.Runtime", "the execution ended while the task waited for its token"));
    clearTimeout(task.timeout);
    clearTimeout(task.heartbeat?.timer);
    this.pending.delete(token);
    this.spent.add(token);
  }

  /** The waiting task a token names, or the error AWS answers for it. */
  private taskOf(token: unknown): PendingTask {
    if (typeof token !== "string" || !TOKEN.test(token))
      throw new ServiceError("InvalidToken", "Invalid Token: 'Invalid token'");
    const task = this.pending.get(token);
    if (task) return task;
    if (this.spent.has(token))
      throw new ServiceError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'");
    throw new ServiceError("TaskDoesNotExist", "Task Does Not Exist: 'Provided task does not exist'");
  }

  startExecution(stateMachineArn: string, name: string | undefined, input: string): LocalExecution {
    const entry = this.machines.get(stateMachineArn);
    if (!entry)
      throw new ServiceError(
        "StateMachineDoesNotExist",
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    const executionName = name ?? crypto.randomUUID();
    if (!/^[\w-]{1,80}$/.test(executionName))
      throw new ServiceError("InvalidName", `Invalid Name: '${executionName}'`);
    const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${entry.options.name}:${executionName}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Same name and input is idempotent, as in AWS; another input is a conflict.
      if (existing.input === input) return existing;
      throw new ServiceError("ExecutionAlreadyExists", `Execution Already Exists: '${executionArn}'`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new ServiceError("InvalidExecutionInput", "Invalid State Machine Execution Input: not JSON");
    }
    const startDate = Date.now() / 1000;
    const run = entry.machine.run(parsed as never, {
      overrides: this.taskHandlers(entry.options),
      noThrowOnAbort: true,
      context: {
        Execution: {
          Id: executionArn,
          Name: executionName,
          StartTime: new Date().toISOString(),
          Input: parsed as never,
        },
      },
    });
    const execution: LocalExecution = {
      executionArn,
      stateMachineArn,
      name: executionName,
      status: "RUNNING",
      input,
      startDate,
      history: [],
      abort: run.abort,
      done: Promise.resolve(),
    };
    const history = (async () => {
      for await (const event of run.eventLogs) this.record(execution, event as unknown as EventLog);
    })();
    execution.done = run.result.then(
      async (output) => {
        await history.catch(() => undefined);
        if (execution.status !== "RUNNING") return;
        execution.status = "SUCCEEDED";
        execution.output = JSON.stringify(output);
        execution.stopDate = Date.now() / 1000;
      },
      async (error: Error & { cause?: { name?: string; message?: string } }) => {
        await history.catch(() => undefined);
        if (execution.status !== "RUNNING") return;
        const timedOut = error.name === "ExecutionTimeoutError";
        execution.status = timedOut ? "TIMED_OUT" : "FAILED";
        const failure = execution.history.findLast((e) => e.type === "ExecutionFailed");
        const details = failure?.executionFailedEventDetails as
          | { error?: string; cause?: string }
          | undefined;
        execution.error = details?.error ?? error.cause?.name ?? error.name;
        execution.cause = details?.cause ?? error.cause?.message ?? error.message;
        execution.stopDate = Date.now() / 1000;
        this.ended(execution);
      },
    );
    this.executions.set(executionArn, execution);
    return execution;
  }

  stopExecution(executionArn: string, error?: string, cause?: string) {
    const execution = this.mustGet(executionArn);
    if (execution.status === "RUNNING") {
      execution.status = "ABORTED";
      execution.stopDate = Date.now() / 1000;
      if (error) execution.error = error;
      if (cause) execution.cause = cause;
      this.push(execution, "ExecutionAborted", {
        executionAbortedEventDetails: { ...(error ? { error } : {}), ...(cause ? { cause } : {}) },
      });
      execution.abort();
      for (const [token, task] of this.pending) if (task.executionArn === executionArn) this.retire(token);
      this.ended(execution);
    }
    return { stopDate: execution.stopDate };
  }

  mustGet(executionArn: string): LocalExecution {
    const execution = this.executions.get(executionArn);
    if (!execution)
      throw new ServiceError("ExecutionDoesNotExist", `Execution Does Not Exist: '${executionArn}'`);
    return execution;
  }

  private push(
    execution: LocalExecution,
    type: string,
    details: Record<string, unknown>,
    timestamp = Date.now(),
  ) {
    const id = execution.history.length + 1;
    execution.history.push({ id, previousEventId: id - 1, timestamp: timestamp / 1000, type, ...details });
  }

  private record(execution: LocalExecution, event: EventLog) {
    const t = event.timestamp;
    switch (event.type) {
      case "ExecutionStarted":
        return this.push(
          execution,
          "ExecutionStarted",
          { executionStartedEventDetails: { input: JSON.stringify(event.input) } },
          t,
        );
      case "ExecutionSucceeded":
        return this.push(
          execution,
          "ExecutionSucceeded",
          { executionSucceededEventDetails: { output: JSON.stringify(event.output) } },
          t,
        );
      case "ExecutionFailed":
        return this.push(
          execution,
          "ExecutionFailed",
          { executionFailedEventDetails: { error: event.Error, cause: String(event.Cause ?? "") } },
          t,
        );
      case "ExecutionTimeout":
        return this.push(execution, "ExecutionTimedOut", {}, t);
      case "StateEntered":
        return this.push(
          execution,
          `${event.state.type}StateEntered`,
          { stateEnteredEventDetails: { name: event.state.name, input: JSON.stringify(event.state.input) } },
          t,
        );
      case "StateExited":
        return this.push(
          execution,
          `${event.state.type}StateExited`,
          {
            stateExitedEventDetails: {
              name: event.state.name,
              output: JSON.stringify(event.state.output ?? null),
            },
          },
          t,
        );
      case "StateFailed":
        return this.push(
          execution,
          event.state.type !== "Task"
            ? `${event.state.type}StateFailed`
            : /^States\.(Heartbeat)?Timeout$/.test(event.Error ?? "")
              ? "TaskTimedOut"
              : "TaskFailed",
          { taskFailedEventDetails: { error: event.Error, cause: String(event.Cause ?? "") } },
          t,
        );
      case "StateRetried":
        return this.push(
          execution,
          "TaskRetried",
          { name: event.state.name, attempt: event.retry.attempt },
          t,
        );
      default:
        return undefined;
    }
  }

  // ---- the Step Functions JSON API ----

  async handle(operation: string, body: Record<string, unknown>): Promise<unknown> {
    const str = (k: string) => (typeof body[k] === "string" ? (body[k] as string) : undefined);
    switch (operation) {
      case "ListStateMachines":
        return {
          stateMachines: [...this.machines].map(([arn, m]) => ({
            stateMachineArn: arn,
            name: m.options.name,
            type: "STANDARD",
            creationDate: m.created,
          })),
        };
      case "DescribeStateMachine": {
        const m = this.machines.get(str("stateMachineArn") ?? "");
        if (!m) throw new ServiceError("StateMachineDoesNotExist", "State Machine Does Not Exist");
        return {
          stateMachineArn: str("stateMachineArn"),
          name: m.options.name,
          status: "ACTIVE",
          definition: JSON.stringify(m.options.definition),
          roleArn: `arn:aws:iam::${ACCOUNT}:role/local`,
          type: "STANDARD",
          creationDate: m.created,
        };
      }
      case "StartExecution": {
        const e = this.startExecution(str("stateMachineArn") ?? "", str("name"), str("input") ?? "{}");
        return { executionArn: e.executionArn, startDate: e.startDate };
      }
      case "DescribeExecution": {
        const e = this.mustGet(str("executionArn") ?? "");
        return {
          executionArn: e.executionArn,
          stateMachineArn: e.stateMachineArn,
          name: e.name,
          status: e.status,
          startDate: e.startDate,
          input: e.input,
          ...(e.stopDate ? { stopDate: e.stopDate } : {}),
          ...(e.output ? { output: e.output } : {}),
          ...(e.error ? { error: e.error } : {}),
          ...(e.cause ? { cause: e.cause } : {}),
        };
      }
      case "StopExecution":
        return this.stopExecution(str("executionArn") ?? "", str("error"), str("cause"));
      case "ListExecutions": {
        const filter = str("statusFilter");
        const all = [...this.executions.values()]
          .filter((e) => e.stateMachineArn === str("stateMachineArn") && (!filter || e.status === filter))
          .sort((a, b) => b.startDate - a.startDate);
        const { items, nextToken } = page(all, body);
        return {
          executions: items.map((e) => ({
            executionArn: e.executionArn,
            stateMachineArn: e.stateMachineArn,
            name: e.name,
            status: e.status,
            startDate: e.startDate,
            ...(e.stopDate ? { stopDate: e.stopDate } : {}),
          })),
          ...(nextToken ? { nextToken } : {}),
        };
      }
      case "SendTaskSuccess": {
        const task = this.taskOf(body.taskToken);
        let output: unknown;
        try {
          output = JSON.parse(str("output") ?? "");
        } catch {
          throw new ServiceError("InvalidOutput", "Invalid Output: the output is not JSON");
        }
        task.succeed(output);
        return {};
      }
      case "SendTaskFailure": {
        const task = this.taskOf(body.taskToken);
        task.fail(statesError(str("error") ?? "", str("cause") ?? ""));
        return {};
      }
      case "SendTaskHeartbeat":
        this.beat(this.taskOf(body.taskToken));
        return {};
      case "GetExecutionHistory": {
        const e = this.mustGet(str("executionArn") ?? "");
        const events = body.reverseOrder ? [...e.history].reverse() : e.history;
        const { items, nextToken } = page(events, body);
        return { events: items, ...(nextToken ? { nextToken } : {}) };
      }
      default:
        throw new ServiceError(
          "UnknownOperationException",
          `${operation} is not served by the local Step Functions`,
        );
    }
  }

  listen(port: number, host = "127.0.0.1"): Promise<string> {
    this.server = createServer((req, res) => {
      void this.serve(req, res);
    });
    return new Promise((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(port, host, () => {
        const address = this.server?.address();
        resolve(`http://${host}:${typeof address === "object" && address ? address.port : port}`);
      });
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse) {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
      res.end(JSON.stringify(payload));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const target = String(req.headers["x-amz-target"] ?? "");
      const operation = target.replace(/^AWSStepFunctions\./, "");
      const body = chunks.length
        ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
        : {};
      reply(200, await this.handle(operation, body));
    } catch (error) {
      if (error instanceof ServiceError)
        reply(error.status, { __type: `com.amazonaws.states#${error.type}`, message: error.message });
      else reply(500, { __type: "com.amazonaws.states#InternalFailure", message: String(error) });
    }
  }

  async close() {
    for (const e of this.executions.values())
      if (e.status === "RUNNING") this.stopExecution(e.executionArn, "LocalStackStopped");
    for (const token of [...this.pending.keys()]) this.retire(token);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * The definition as aws-local-stepfunctions runs it: each callback task's token reference becomes a
 * slot, and its timeouts travel in the task input, because this module, not the library, ends the wait.
 */
type AnyState = StateMachineDefinition["States"][string];
type MapProcessor = { ItemProcessor?: StateMachineDefinition; Iterator?: StateMachineDefinition };

/**
 * Every state of a definition, those of its Map iterations included. The library looks handlers up by
 * state name at every depth, so names are unique across the definition (the definition test says so).
 */
export function everyState(definition: StateMachineDefinition): [string, AnyState][] {
  return Object.entries(definition.States).flatMap(([name, state]): [string, AnyState][] => {
    const inner = state.Type === "Map" ? processorOf(state) : undefined;
    return [[name, state], ...(inner ? everyState(inner) : [])];
  });
}
const processorOf = (state: AnyState) =>
  (state as MapProcessor).ItemProcessor ?? (state as MapProcessor).Iterator;

function callbacksForLibrary(definition: StateMachineDefinition): StateMachineDefinition {
  const states = Object.fromEntries(
    Object.entries(definition.States).map(([name, state]) => {
      const inner = state.Type === "Map" ? processorOf(state) : undefined;
      if (inner) {
        const key = (state as MapProcessor).ItemProcessor ? "ItemProcessor" : "Iterator";
        return [name, { ...state, [key]: callbacksForLibrary(inner) }];
      }
      if (state.Type !== "Task" || state.Resource !== CALLBACK_RESOURCE) return [name, state];
      const {
        TimeoutSeconds,
        TimeoutSecondsPath,
        HeartbeatSeconds,
        HeartbeatSecondsPath,
        Parameters = {},
        ...rest
      } = state as CallbackState;
      const local: Record<string, unknown> = { "executionArn.$": "$$.Execution.Id" };
      if (TimeoutSecondsPath) local["timeoutSeconds.$"] = TimeoutSecondsPath;
      else if (TimeoutSeconds !== undefined) local.timeoutSeconds = TimeoutSeconds;
      if (HeartbeatSecondsPath) local["heartbeatSeconds.$"] = HeartbeatSecondsPath;
      else if (HeartbeatSeconds !== undefined) local.heartbeatSeconds = HeartbeatSeconds;
      return [
        name,
        {
          ...rest,
          Parameters: { ...(tokenSlots(Parameters) as object), [LOCAL]: local },
          // The library's own timer (60 s by default) must not end a wait this module ends (23 days,
          // the longest a Node timer holds).
          TimeoutSeconds: 2_000_000,
        },
      ];
    }),
  );
  return { ...definition, States: states } as StateMachineDefinition;
}

function page<T>(items: T[], body: Record<string, unknown>) {
  const start = Number(body.nextToken ?? 0) || 0;
  const size = Math.min(Number(body.maxResults) || 1000, 1000);
  const slice = items.slice(start, start + size);
  return { items: slice, nextToken: start + size < items.length ? String(start + size) : undefined };
}
