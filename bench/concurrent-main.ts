// Benchmark 6 in a process of its own (npm run bench starts it beside the other figures: it runs in
// virtual time, so sharing the CPU changes how long it takes, not what it measures). Prints progress
// lines on stderr, and its figures on stdout as one line: FIGURES <json>.
//
//   node bench/concurrent-main.ts [runs]      default 1,000; fewer scale AWS's limits and the pools with them
import { startStack } from "../local/stack.ts";
import { Simulation, scaledScenario, thousandRuns } from "./concurrent-runs.ts";

const runs = Number(process.argv[2] ?? thousandRuns.runs);
const sim = new Simulation(scaledScenario(runs));
const stack = await startStack({
  port: 0,
  waitMs: 0,
  retryMs: 0,
  janitorSeconds: 3600,
  handlers: sim.handlers(),
});
try {
  const figures = await sim.run(stack, (line) => console.error(`  concurrent: ${line}`));
  console.log(`FIGURES ${JSON.stringify(figures)}`);
} finally {
  await stack.stop();
}
