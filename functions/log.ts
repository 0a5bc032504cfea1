// Structured logs: one JSON object per line, carrying the invocation's request id and, when the
// invocation concerns a run, its run id. Deployed functions use Lambda's JSON log format
// (scripts/serverless-json-logs.cjs), which wraps each object with timestamp, level and requestId;
// the request id is in the object too, so the local stack's lines carry it as well. Our own and not
// Powertools Logger: that adds ~30 ms to every cold start, against a 150 ms budget (npm run bench).
import { AsyncLocalStorage } from "node:async_hooks";

type Scope = { requestId?: string; runId?: string };
const scope = new AsyncLocalStorage<Scope>();

/** Run `fn` with every log line inside it carrying this request id (and run id, when known). */
export const withLogScope = <T>(fields: Scope, fn: () => Promise<T>): Promise<T> =>
  scope.run({ ...fields }, fn);

/** Name the run the current invocation concerns, once it is known (a submit learns it midway). */
export function logRun(runId: string) {
  const current = scope.getStore();
  if (current) current.runId = runId;
}

type Level = "INFO" | "WARN" | "ERROR";
const write: Record<Level, (line: unknown) => void> = {
  INFO: (line) => console.info(line),
  WARN: (line) => console.warn(line),
  ERROR: (line) => console.error(line),
};

function emit(level: Level, message: string, fields: Record<string, unknown>) {
  const { requestId, runId } = scope.getStore() ?? {};
  write[level]({ level, message, requestId, ...(runId ? { runId } : {}), ...fields });
}

export const log = {
  info: (message: string, fields: Record<string, unknown> = {}) => emit("INFO", message, fields),
  warn: (message: string, fields: Record<string, unknown> = {}) => emit("WARN", message, fields),
  error: (message: string, fields: Record<string, unknown> = {}) => emit("ERROR", message, fields),
};
