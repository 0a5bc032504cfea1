// Benchmark 5 in a process of its own (`npm run bench` starts it beside the transitions runs): it seeds
// its tables at once, on the other core, and times the queries only when the parent writes "quiet" on
// its stdin (nothing else is running by then). Progress goes to stderr; the figures, as one JSON line
// starting {"history", to stdout.
import { parseArgs } from "node:util";
import { historyBenchmark } from "./history.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    models: { type: "string", default: "50" },
    times: { type: "string", default: "7" },
  },
});
const quiet = new Promise<void>((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => {
    text += chunk;
    if (text.includes("quiet")) resolve();
  });
  process.stdin.on("end", () => resolve());
});
const figures = await historyBenchmark({
  sizes: values.sizes.split(",").map(Number),
  models: Number(values.models),
  times: Number(values.times),
  quiet: () => quiet,
  say: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${JSON.stringify({ history: figures })}\n`);
process.exit(0);
