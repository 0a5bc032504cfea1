// npm run chaos -- --runs N --seed S [--shards K]: the chaos suite, printing its figures on the last line and
// exiting non-zero if any run is stuck, lost or duplicated, or any instance leaked.
import { parseArgs } from "node:util";
import { figuresLine, runChaos } from "./chaos.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "50" },
    seed: { type: "string", default: "1" },
    shards: { type: "string", default: "1" },
    concurrency: { type: "string", default: "8" },
    quiet: { type: "boolean", default: false },
    faults: { type: "string", default: "on" },
  },
});
const figures = await runChaos({
  runs: Number(values.runs),
  seed: Number(values.seed),
  shards: Number(values.shards),
  concurrency: Number(values.concurrency),
  faults: values.faults !== "off",
  log: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
});
console.log(`faults injected: ${JSON.stringify(figures.faults)}`);
for (const p of figures.problems) console.log(`problem: ${p}`);
console.log(`wall_s=${figures.wall_s}`);
console.log(figuresLine(figures));
process.exit(figures.stuck + figures.leaked + figures.lost + figures.duplicated > 0 ? 1 : 0);
