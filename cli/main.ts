// spoteval, the command line. `parse-results` reads an lm-eval results file offline.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { SpotevalError } from "../core/errors.ts";
import { metricsCsv } from "../core/formats.ts";
import { harnessTables, parseResults, printTables, uniqueRows } from "../core/results.ts";
import { mergeResultsCommand } from "./merge-results.ts";
import { parityCommand } from "./parity.ts";

import { planCommand } from "./plan.ts";
import { follow, type RunView } from "./progress.ts";
import { referenceCommand } from "./reference.ts";

const usage = `usage: spoteval parse-results FILE [--format markdown|json|csv]

  Reads an lm-evaluation-harness results file (any 0.3 / 0.4.x layout) and prints one row per task,
  metric and filter (json, csv), or the same tables lm_eval prints (markdown, the default).`;

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, runFailed: 1, usage: 2, rejected: 3, unreachable: 4 } as const;

class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function client() {
  const base = process.env.SPOTEVAL_URL ?? "http://127.0.0.1:4510";
  const key = process.env.SPOTEVAL_API_KEY;
  return async (path: string, init: RequestInit = {}): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`${base.replace(/\/$/, "")}${path}`, {
        ...init,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          "content-type": "application/json",
          ...init.headers,
        },
      });
    } catch (error) {
      throw new ApiError(0, `cannot reach ${base}: ${(error as Error).message} (set SPOTEVAL_URL)`);
    }
    if (res.status >= 400) {
      const body = await res.text();
      let detail = body;
      try {
        detail = (JSON.parse(body) as { detail?: string }).detail ?? body;
      } catch {
        // not problem+json
      }
      throw new ApiError(res.status, `HTTP ${res.status}: ${detail}`);
    }
    return res;
  };
}

type Run = RunView & { runId: string; reason?: string; partial?: { missing: string[] } };

async function watch(api: ReturnType<typeof client>, runId: string, intervalMs: number): Promise<number> {
  const run = await follow(
    async () => (await (await api(`/evaluations/${runId}`)).json()) as Run,
    intervalMs,
  );
  if (run.status !== "SUCCEEDED") console.log(`${run.status}: ${run.reason ?? ""}`);
  // A failed run of several shards keeps the finished shards' metrics: shown, marked partial.
  if (run.status === "SUCCEEDED" || run.partial)
    console.log(`\n${await (await api(`/evaluations/${runId}?format=markdown`)).text()}`);
  return run.status === "SUCCEEDED" ? EXIT.ok : EXIT.runFailed;
}

const apiUsage = `usage: spoteval <command> [options]     (SPOTEVAL_URL, SPOTEVAL_API_KEY; npm start prints both)

  submit --model ID (--tasks a,b | --suite NAME) [--num-fewshot N] [--limit N] [--batch-size N]
         [--revision REV] [--dtype D] [--parameters N] [--max-instances N] [--deadline-minutes M]
         [--idempotency-key K] [--watch]
  submit --file request.json [--watch]
  status RUN_ID
  watch RUN_ID                 live progress, then the result table; exit 1 if the run did not succeed
  results RUN_ID [--format markdown|json|csv]
  cancel RUN_ID
  leaderboard --task T --metric M [--filter F] [--format markdown|json|csv]
  parse-results FILE [--format markdown|json|csv]
  merge-results --tasks LIST FILE... [--format json|markdown|csv]   shard results -> one lm_eval results file
  reference add RESULTS.json --label L [--samples S.jsonl ...]   upload a parity reference (e.g. a GPU run)
  parity RESULTS.json [--reference REF.json] [--samples S.jsonl --reference-samples R.jsonl] [--format json|markdown]
  plan --model ID (--tasks a,b | --suite NAME) [--instance-type T] [--format json|text]
                               offline: backends, instances, commands, time and cost (spoteval plan --help)
  local emit-registry-event FILE      deliver an EventBridge event to the running local stack

exit codes: 0 ok, 1 run failed or cancelled, 2 usage, 3 request rejected (4xx), 4 server unreachable or 5xx`;

async function apiCommand(command: string, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      tasks: { type: "string" },
      suite: { type: "string" },
      "num-fewshot": { type: "string" },
      limit: { type: "string" },
      "batch-size": { type: "string" },
      revision: { type: "string" },
      dtype: { type: "string" },
      parameters: { type: "string" },
      "max-instances": { type: "string" },
      "deadline-minutes": { type: "string" },
      "idempotency-key": { type: "string" },
      file: { type: "string" },
      watch: { type: "boolean" },
      format: { type: "string", default: "markdown" },
      task: { type: "string" },
      metric: { type: "string" },
      filter: { type: "string" },
      interval: { type: "string", default: "1000" },
    },
  });
  const api = client();
  const id = positionals[0];
  const needId = () => {
    if (!id || !/^[0-9a-z]{26}$/.test(id)) throw new ApiError(-1, `${command} needs a run id`);
    return id;
  };
  const num = (v?: string) => (v === undefined ? undefined : Number(v));
  switch (command) {
    case "submit": {
      const body = values.file
        ? JSON.parse(await readFile(values.file, "utf8"))
        : {
            model: {
              id: values.model,
              ...(values.revision ? { revision: values.revision } : {}),
              ...(values.dtype ? { dtype: values.dtype } : {}),
              ...(values.parameters ? { parameters: Number(values.parameters) } : {}),
            },
            ...(values.tasks ? { tasks: values.tasks.split(",") } : {}),
            ...(values.suite ? { suite: values.suite } : {}),
            ...(values["num-fewshot"] ? { numFewshot: num(values["num-fewshot"]) } : {}),
            ...(values.limit ? { limit: num(values.limit) } : {}),
            ...(values["batch-size"] ? { batchSize: num(values["batch-size"]) } : {}),
            ...(values["max-instances"] || values["deadline-minutes"]
              ? {
                  capacity: {
                    ...(values["max-instances"] ? { maxInstances: num(values["max-instances"]) } : {}),
                    ...(values["deadline-minutes"]
                      ? { deadlineMinutes: num(values["deadline-minutes"]) }
                      : {}),
                  },
                }
              : {}),
          };
      if (!values.file && !values.model) throw new ApiError(-1, "submit needs --model (or --file)");
      const res = await api("/evaluations", {
        method: "POST",
        body: JSON.stringify(body),
        headers: values["idempotency-key"] ? { "idempotency-key": values["idempotency-key"] } : {},
      });
      const { runId } = (await res.json()) as { runId: string };
      console.log(runId);
      return values.watch ? watch(api, runId, Number(values.interval)) : EXIT.ok;
    }
    case "status":
      console.log(JSON.stringify(await (await api(`/evaluations/${needId()}`)).json(), null, 2));
      return EXIT.ok;
    case "watch":
      return watch(api, needId(), Number(values.interval));
    case "results":
      console.log(await (await api(`/evaluations/${needId()}?format=${values.format}`)).text());
      return EXIT.ok;
    case "cancel": {
      const res = (await (await api(`/evaluations/${needId()}`, { method: "DELETE" })).json()) as {
        status: string;
      };
      console.log(`cancel requested (run is ${res.status}); capacity is released and the run ends CANCELLED`);
      return EXIT.ok;
    }
    case "leaderboard": {
      if (!values.task || !values.metric) throw new ApiError(-1, "leaderboard needs --task and --metric");
      const q = new URLSearchParams({
        task: values.task,
        metric: values.metric,
        format: values.format,
        ...(values.filter ? { filter: values.filter } : {}),
      });
      console.log(await (await api(`/leaderboard?${q}`)).text());
      return EXIT.ok;
    }
    case "local": {
      if (id !== "emit-registry-event" || !positionals[1])
        throw new ApiError(-1, "local emit-registry-event FILE");
      const event = await readFile(positionals[1], "utf8");
      console.log(await (await api("/_local/events", { method: "POST", body: event })).text());
      return EXIT.ok;
    }
    default:
      throw new ApiError(-1, `unknown command: ${command}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "merge-results") return mergeResultsCommand(rest);
  if (command === "parity") return parityCommand(rest);
  if (command === "reference") {
    try {
      return await referenceCommand(rest, client());
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      console.error(error.message);
      return error.status >= 400 && error.status < 500 ? EXIT.rejected : EXIT.unreachable;
    }
  }
  if (command === "plan") return planCommand(rest);
  if (command !== "parse-results") {
    if (!command || command === "help" || command === "--help") {
      console.error(apiUsage);
      return EXIT.usage;
    }
    try {
      return await apiCommand(command, rest);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      console.error(error.status === -1 ? `${error.message}\n\n${apiUsage}` : error.message);
      if (error.status === -1) return EXIT.usage;
      return error.status >= 400 && error.status < 500 ? EXIT.rejected : EXIT.unreachable;
    }
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { format: { type: "string", default: "markdown" } },
  });
  const format = values.format;
  if (positionals.length !== 1 || !["markdown", "json", "csv"].includes(format)) {
    console.error(usage);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(positionals[0], "utf8");
  } catch (error) {
    console.error(`cannot read ${positionals[0]}: ${(error as Error).message}`);
    return 1;
  }
  try {
    const file = parseResults(text);
    if (format === "markdown") {
      console.log(printTables(harnessTables(file)));
    } else {
      const rows = uniqueRows(file);
      console.log(format === "json" ? JSON.stringify(rows, null, 2) : metricsCsv(rows));
    }
    return 0;
  } catch (error) {
    if (error instanceof SpotevalError) {
      console.error(`${positionals[0]}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
