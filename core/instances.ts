// The inf2 instance types: accelerators, host memory and on-demand price (DESIGN.md reference figures;
// host memory from the EC2 instance type pages).
import type { InstanceType } from "./schemas.ts";

/** Inferentia2: 2 NeuronCores and 32 GiB of device memory per chip. */
export const GIB_PER_CHIP = 32;
export const CORES_PER_CHIP = 2;
export const GIB_PER_CORE = GIB_PER_CHIP / CORES_PER_CHIP;

export const instanceShapes: Record<
  InstanceType,
  { chips: number; vcpus: number; hostMemoryGiB: number; onDemandPricePerHour: number }
> = {
  // On-demand prices, us-east-1.
  "inf2.xlarge": { chips: 1, vcpus: 4, hostMemoryGiB: 16, onDemandPricePerHour: 0.7582 },
  "inf2.8xlarge": { chips: 1, vcpus: 32, hostMemoryGiB: 128, onDemandPricePerHour: 1.9679 },
  "inf2.24xlarge": { chips: 6, vcpus: 96, hostMemoryGiB: 384, onDemandPricePerHour: 6.4906 },
  "inf2.48xlarge": { chips: 12, vcpus: 192, hostMemoryGiB: 768, onDemandPricePerHour: 12.9813 },
};

export const coresOf = (type: InstanceType) => instanceShapes[type].chips * CORES_PER_CHIP;

/** Spot has been seen 70-87% below on-demand; plan with the cautious end. */
export const EXPECTED_SPOT_FRACTION = 0.3;
