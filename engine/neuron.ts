// How many NeuronCores this instance has: `neuron-ls --json-output`, or counting /dev/neuron* devices
// (2 cores per Inferentia2 chip). The tensor-parallel degree follows from it; no user passes it.
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { promisify } from "node:util";

export const CORES_PER_DEVICE = 2;

export async function detectNeuronCores(
  options: { neuronLs?: string; devDir?: string } = {},
): Promise<{ cores: number; source: string }> {
  try {
    const { stdout } = await promisify(execFile)(options.neuronLs ?? "neuron-ls", ["--json-output"], {
      timeout: 30_000,
    });
    const devices = JSON.parse(stdout) as { nc_count?: number }[];
    const cores = devices.reduce((sum, d) => sum + (d.nc_count ?? CORES_PER_DEVICE), 0);
    if (cores > 0) return { cores, source: "neuron-ls" };
  } catch {
    // neuron-ls missing or failing: fall back to the device files
  }
  const entries = await readdir(options.devDir ?? "/dev").catch(() => [] as string[]);
  const devices = entries.filter((e) => /^neuron\d+$/.test(e)).length;
  return { cores: devices * CORES_PER_DEVICE, source: "/dev/neuron*" };
}

/**
 * The tensor-parallel degree for the harness: every core, rounded down to a degree the Neuron
 * runtime supports for decoder models (1, 2, 8, 12, 24, 32).
 */
export function tensorParallelDegree(cores: number): number {
  const supported = [32, 24, 12, 8, 2, 1];
  return supported.find((d) => d <= cores) ?? 1;
}
