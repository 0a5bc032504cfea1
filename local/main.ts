// npm start: the embedded local stack, and the sample evaluation from the published Inferentia2
// benchmark run through it. `--once` exits when the run has finished (non-zero if it failed).
// `--engine hf|neuronx|vllm-neuron` runs that backend on this machine's devices instead of the simulated
// engine; `--data DIR` keeps runs, metrics and results across restarts (default under the home folder).
import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { follow, type RunView } from "../cli/progress.ts";
import { DataDirUnusable, defaultDataDir, resetDataDir } from "./data-dir.ts";
import { JournalUnreadable } from "./dynamo-journal.ts";
import { detectMachine, ENGINES, type EngineName, engineEnvironment, MachineUnfit } from "./machine.ts";
import { STOPPED_REASON } from "./recovery.ts";
import { DEFAULT_PORT, type Stack, startStack } from "./stack.ts";

const USAGE = `usage: npm start -- [--engine ${ENGINES.join("|")}] [--data DIR] [--reset [--yes]] [--once]
                    [--model ID] [--tasks a,b] [--limit N] [--no-sample]`;

const usage = (message: string): never => {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
};

function parseOptions() {
  try {
    return parseArgs({
      options: {
        once: { type: "boolean", default: false },
        engine: { type: "string", default: "simulated" },
        data: { type: "string" },
        reset: { type: "boolean", default: false },
        yes: { type: "boolean", default: false },
        sample: { type: "boolean", default: true },
        model: { type: "string" },
        tasks: { type: "string" },
        limit: { type: "string" },
      },
      allowNegative: true,
    }).values;
  } catch (error) {
    return usage((error as Error).message);
  }
}
const values = parseOptions();
if (!(ENGINES as readonly string[]).includes(values.engine))
  usage(`--engine must be one of ${ENGINES.join(", ")}`);
const engine = values.engine as EngineName;
const limit = values.limit === undefined ? undefined : Number(values.limit);
if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
  usage("--limit must be a positive integer");
const port = process.env.SPOTEVAL_PORT ? Number(process.env.SPOTEVAL_PORT) : DEFAULT_PORT;
if (!Number.isInteger(port) || port < 0 || port > 65532)
  throw new Error("SPOTEVAL_PORT must be a port number");

// What the backend needs, checked before anything starts: a missing tool is exit 2 and nothing to stop.
const machine = await detectMachine(engine).catch((error: Error) => {
  if (!(error instanceof MachineUnfit)) throw error;
  console.error(error.message);
  process.exit(2);
});
const dataDir = resolve(values.data ?? defaultDataDir());

if (values.reset) {
  if (!values.yes) {
    if (!process.stdin.isTTY)
      usage(`--reset deletes every run, metric and results file in ${dataDir}: confirm with --yes`);
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await prompt.question(`Delete every run, metric and results file in ${dataDir}? [y/N] `);
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      console.log("Nothing deleted.");
      process.exit(1);
    }
  }
  await resetDataDir(dataDir).catch((error: Error) => {
    console.error(error.message);
    process.exit(2);
  });
  console.log(`Emptied ${dataDir}`);
}

const sample = {
  model: {
    id: values.model ?? "mistralai/Mistral-7B-v0.1",
    revision: "main",
    dtype: "bfloat16",
    ...(values.model ? {} : { parameters: 7.24e9 }),
  },
  tasks: values.tasks ? values.tasks.split(",").map((t) => t.trim()) : ["gsm8k"],
  numFewshot: 5,
  batchSize: 1,
  ...(limit !== undefined ? { limit } : {}),
  labels: { source: "npm-start-sample" },
};

let stack: Stack;
try {
  stack = await startStack({
    port,
    dataDir,
    // Long enough to open the printed dashboard link and watch the sample evaluate (SIMULATED_SECONDS).
    simulatedSeconds: Number(process.env.SIMULATED_SECONDS ?? 40),
    ...(process.env.SPOTEVAL_API_KEY ? { apiKey: process.env.SPOTEVAL_API_KEY } : {}),
    env: engineEnvironment(machine),
  });
} catch (error) {
  if (!(error instanceof DataDirUnusable || error instanceof JournalUnreadable)) throw error;
  console.error(error.message);
  process.exit(2);
}
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(code);
};
process.on("SIGINT", () => void stop(130));
process.on("SIGTERM", () => void stop(143));

for (const [name, url] of Object.entries(stack.urls)) {
  console.log(`${name}: ${url}`);
  if (name === "API") console.log(`Dashboard: ${url}/#key=${encodeURIComponent(stack.apiKey)}`);
}
console.log(`API key: ${stack.apiKey}`);
console.log(`Table: ${stack.table}`);
console.log(`Bucket: ${stack.bucket}`);
console.log(`StateMachine: ${stack.stateMachineArn}`);
console.log(`Data: ${dataDir} (runs, metrics and results survive a restart; --data DIR for another folder)`);
console.log(`Engine: ${engine} (${machine.summary})`);
if (stack.endedAtStart.length)
  console.log(
    `Ended ${stack.endedAtStart.length} run(s) the last stack left in flight (${STOPPED_REASON}): ${stack.endedAtStart.join(", ")}`,
  );
console.log("");

const api = async (path: string, init: RequestInit = {}) => {
  const response = await fetch(`${stack.urls.API}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json", ...init.headers },
  });
  return response;
};

if (!values.sample) {
  if (values.once) await stop(0);
  console.log("The local stack is serving; Ctrl-C stops it.");
} else {
  console.log(
    `Submitting ${sample.model.id} on ${sample.tasks.join(",")} (${sample.numFewshot}-shot, batch size ${sample.batchSize}${limit ? `, limit ${limit}` : ""})`,
  );
  if (engine === "simulated")
    console.log(
      "SIMULATED: the local stack runs the simulated engine; no model is evaluated and the scores are not real.",
    );
  else console.log(`Evaluating for real with the ${engine} backend on this machine.`);
  const accepted = await api("/evaluations", { method: "POST", body: JSON.stringify(sample) });
  const { runId } = (await accepted.json()) as { runId: string };
  if (accepted.status !== 202) {
    console.error(`submit failed: HTTP ${accepted.status}`);
    await stop(1);
  }
  console.log(`Run ${runId} accepted`);

  type Run = RunView & { reason?: string; results?: string; costUsd?: number };
  const run = await follow(async () => (await (await api(`/evaluations/${runId}`)).json()) as Run, 250);

  console.log("");
  if (run.status === "SUCCEEDED") {
    console.log(await (await api(`/evaluations/${runId}?format=markdown`)).text());
    console.log("");
  }
  console.log(`Run: ${runId}`);
  console.log(`Status: ${run.status}${run.reason ? ` (${run.reason})` : ""}`);
  if (run.results)
    console.log(
      `Raw results: ${run.results} (served at ${stack.urls.S3}/${run.results.replace(/^s3:\/\//, "")})`,
    );
  console.log(
    `Details: curl -H 'Authorization: Bearer ${stack.apiKey}' ${stack.urls.API}/evaluations/${runId}`,
  );

  if (values.once) await stop(run.status === "SUCCEEDED" ? 0 : 1);
  console.log("\nThe local stack keeps serving; Ctrl-C stops it.");
}
