// npm start: the embedded local stack, and the sample evaluation from the published Inferentia2
// benchmark run through it. `--once` exits when the run has finished (non-zero if it failed).
import { parseArgs } from "node:util";
import { follow, type RunView } from "../cli/progress.ts";
import { DEFAULT_PORT, startStack } from "./stack.ts";

const { values } = parseArgs({ options: { once: { type: "boolean", default: false } } });
const port = process.env.SPOTEVAL_PORT ? Number(process.env.SPOTEVAL_PORT) : DEFAULT_PORT;
if (!Number.isInteger(port) || port < 0 || port > 65532)
  throw new Error("SPOTEVAL_PORT must be a port number");

const sample = {
  model: { id: "mistralai/Mistral-7B-v0.1", revision: "main", dtype: "bfloat16", parameters: 7.24e9 },
  tasks: ["gsm8k"],
  numFewshot: 5,
  batchSize: 1,
  labels: { source: "npm-start-sample" },
};

const stack = await startStack({
  port,
  // Long enough to open the printed dashboard link and watch the sample evaluate (SIMULATED_SECONDS).
  simulatedSeconds: Number(process.env.SIMULATED_SECONDS ?? 40),
  ...(process.env.SPOTEVAL_API_KEY ? { apiKey: process.env.SPOTEVAL_API_KEY } : {}),
});
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
console.log("");

const api = async (path: string, init: RequestInit = {}) => {
  const response = await fetch(`${stack.urls.API}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json", ...init.headers },
  });
  return response;
};

console.log(
  `Submitting ${sample.model.id} on ${sample.tasks.join(",")} (${sample.numFewshot}-shot, batch size ${sample.batchSize})`,
);
console.log(
  "SIMULATED: the local stack runs the simulated engine; no model is evaluated and the scores are not real.",
);
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
