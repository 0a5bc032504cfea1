// The instance's gp3 root volume, sized from the model: a 70B model's files outgrow the launch
// template's default, and a volume too small fails the attempt after the instance is paid for.
//
// The rule, in GiB (weights = parameters x bytes per parameter of the run's dtype):
//   root = max(deployment floor, round up to 10 of
//              SYSTEM_GIB                                the AMI's own files and the engine image pulled and unpacked
//            + weights x COPIES_OF_WEIGHTS x (1 + HEADROOM))
// with two copies of the weights: the model on disk (the Hub download in the harness's cache, the S3
// folder, or a model.tar.gz unpacked: the archive streams through `tar -xz`, so it never lands on disk
// and its unpack room is this copy), and the compiled artifacts (vllm-neuron's NEURON_COMPILED_ARTIFACTS,
// restored from or saved to S3, or neuronx's exported checkpoint and compile cache).
// The floor is the deployment's rootVolumeGiB (the launch template's size, 300 by default), so a
// snapshot larger than the rule's guess never makes a launch fail: the rule only ever grows the volume.
import { bytesPerParameter } from "./serving.ts";

/** The Neuron DLAMI's own files (~60 GiB) and an engine image unpacked (~35 GiB): a guess, kept round. */
export const SYSTEM_GIB = 100;
export const COPIES_OF_WEIGHTS = 2;
export const HEADROOM = 0.2;
/** The root device of the Neuron DLAMI (Ubuntu), as the launch template maps it (serverless.yml). */
export const ROOT_DEVICE = "/dev/sda1";
/** The launch template's size when the deployment does not set rootVolumeGiB (serverless.yml). */
export const DEFAULT_ROOT_VOLUME_GIB = 300;

export type ModelOnDisk = { parameters: number; dtype: keyof typeof bytesPerParameter };

/** GiB the run's model takes on the root volume: its copies of the weights, with headroom. */
export function modelDiskGiB(model: ModelOnDisk): number {
  const weights = (model.parameters * bytesPerParameter[model.dtype]) / 2 ** 30;
  return weights * COPIES_OF_WEIGHTS * (1 + HEADROOM);
}

/** The root volume to launch with: the rule above, never below the deployment's floor. */
export function rootVolumeGiB(modelGiB: number, floorGiB = DEFAULT_ROOT_VOLUME_GIB): number {
  return Math.max(floorGiB, Math.ceil((SYSTEM_GIB + modelGiB) / 10) * 10);
}
