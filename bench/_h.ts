import { historyBenchmark } from "./history.ts";
const sizes = process.argv.slice(2).map(Number);
const f = await historyBenchmark({ sizes, models: 50, times: 5, quiet: async () => {}, say: (l) => console.error(l) });
console.log("HIST " + JSON.stringify(f));
