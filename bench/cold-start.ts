// Benchmark 3: Lambda cold start. Every function in serverless.yml is bundled twice: as the deployment
// bundles it (serverless.yml custom.esbuild: minified, tree-shaken, its plugins) and as the baseline
// (same entry and settings, no minification, no tree-shaking). Each bundle is then imported in a fresh
// Node process, as a Lambda cold start does, and the import is timed inside that process.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readServerlessConfig } from "../local/serverless-config.ts";
import { bundleLambda } from "../scripts/lambda-bundle.ts";
import { median } from "./stats.ts";

const run = promisify(execFile);

export type BundleFigures = {
  function: string;
  bytes: number;
  importMs: number;
  baselineBytes: number;
  baselineImportMs: number;
};

/** Median import time of a bundle over `times` fresh processes, measured inside each. */
async function importMs(file: string, times: number): Promise<number> {
  const probe = `const t=performance.now();await import(${JSON.stringify(file)});console.log(performance.now()-t)`;
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], {
      // What Lambda's environment holds; the handlers read the rest of their configuration lazily.
      env: { PATH: process.env.PATH, AWS_REGION: "us-east-1", SPOTEVAL_TABLE: "t", SPOTEVAL_BUCKET: "b" },
    });
    samples.push(Number(stdout.trim()));
  }
  return median(samples);
}

export async function coldStart(
  root: string,
  options: {
    times?: number;
    baselineTimes?: number;
    only?: string[];
    onFunction?: (f: BundleFigures) => void;
  } = {},
) {
  const config = readServerlessConfig(root);
  const dir = await mkdtemp(join(tmpdir(), "spoteval-bench-"));
  const times = options.times ?? 5;
  const baselineTimes = options.baselineTimes ?? 3;
  const figures: BundleFigures[] = [];
  try {
    for (const [name, fn] of Object.entries(config.functions)) {
      if (options.only && !options.only.includes(name)) continue;
      const deployed = await bundleLambda(root, fn.module, { outfile: join(dir, `${name}.mjs`) });
      const baseline = await bundleLambda(root, fn.module, {
        outfile: join(dir, `${name}.baseline.mjs`),
        optimized: false,
      });
      const f = {
        function: name,
        bytes: deployed.bytes,
        importMs: await importMs(deployed.outfile, times),
        baselineBytes: baseline.bytes,
        baselineImportMs: await importMs(baseline.outfile, baselineTimes),
      };
      figures.push(f);
      options.onFunction?.(f);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}
