// EC2 Spot capacity for Inferentia2: one instant CreateFleet per launch (price-capacity-optimized,
// overrides across types x subnets), a ladder from the cheapest-to-finish type to every type to
// on-demand, errors classified into what to retry and what to change, release by tag.
import {
  CreateFleetCommand,
  type CreateFleetCommandOutput,
  DescribeInstancesCommand,
  DescribeSpotPriceHistoryCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  type Instance as Ec2Instance,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { CapacityMisconfigured, CapacityUnavailable, QuotaExceeded } from "../errors.ts";
import { instanceShapes } from "../planner.ts";
import type { InstanceType } from "../schemas.ts";
import type {
  CapacityProvider,
  Instance,
  InstanceState,
  LaunchRequest,
  ManagedInstance,
  ReleaseOptions,
} from "./provider.ts";

/** Tag keys: plain words (IMDS exposes instance tags to the engine, and '/' is not allowed there). */
export const TAGS = {
  managedBy: "spoteval-managed-by",
  runId: "spoteval-run-id",
  attempt: "spoteval-attempt",
} as const;

/** Codes that mean "no capacity right now": retried with backoff, then the next rung of the ladder. */
const CAPACITY_CODES = new Set([
  "InsufficientInstanceCapacity",
  "InsufficientCapacity",
  "UnfulfillableCapacity",
  "MaxSpotInstanceCountExceeded",
  "SpotMaxPriceTooLow",
  "InsufficientHostCapacity",
  "InsufficientReservedInstanceCapacity",
]);
const QUOTA_CODES = new Set(["VcpuLimitExceeded", "InstanceLimitExceeded", "MaxFleetCountExceeded"]);

export type Ec2ProviderConfig = {
  ec2: EC2Client;
  launchTemplateId: string;
  launchTemplateVersion?: string;
  subnetIds: string[];
  /** Value of the managed-by tag: IAM conditions and the janitor key on it. */
  managedBy: string;
  now?: () => Date;
};

type Rung = { market: "spot" | "on-demand"; types: "best" | "all" };

/**
 * The ladder: each launch that found no capacity moves one rung down: Spot of the cheapest-to-finish
 * type in every allowed zone, then Spot of every type that fits, then on-demand if the request allows.
 */
export function ladder(allowOnDemand: boolean): Rung[] {
  const rungs: Rung[] = [
    { market: "spot", types: "best" },
    { market: "spot", types: "all" },
  ];
  if (allowOnDemand) rungs.push({ market: "on-demand", types: "all" });
  return rungs;
}

export class Ec2SpotProvider implements CapacityProvider {
  readonly name = "ec2";
  readonly config: Ec2ProviderConfig;
  private subnets?: Promise<{ subnetId: string; zone: string }[]>;

  constructor(config: Ec2ProviderConfig) {
    this.config = config;
  }

  private subnetZones() {
    this.subnets ??= this.config.ec2
      .send(new DescribeSubnetsCommand({ SubnetIds: this.config.subnetIds }))
      .then((out) =>
        (out.Subnets ?? []).map((s) => ({
          subnetId: s.SubnetId as string,
          zone: s.AvailabilityZone as string,
        })),
      )
      .catch((error) => {
        this.subnets = undefined;
        throw error;
      });
    return this.subnets;
  }

  async launch(request: LaunchRequest): Promise<Instance> {
    const rungs = ladder(request.allowOnDemand);
    const rung = rungs[Math.min((request.launchTry ?? 1) - 1, rungs.length - 1)];
    const zones = request.availabilityZones;
    const subnets = (await this.subnetZones()).filter((s) => !zones || zones.includes(s.zone));
    if (!subnets.length) {
      throw new CapacityMisconfigured(
        `no configured subnet is in ${request.availabilityZones?.join(", ")}; deploy with subnets in those zones or drop capacity.availabilityZones`,
      );
    }
    const types = rung.types === "best" ? request.candidates.slice(0, 1) : request.candidates;
    const tags = [
      { Key: TAGS.managedBy, Value: this.config.managedBy },
      { Key: TAGS.runId, Value: request.runId },
      { Key: TAGS.attempt, Value: String(request.attempt) },
    ];
    const spot = rung.market === "spot";
    let out: CreateFleetCommandOutput;
    try {
      out = await this.config.ec2.send(
        new CreateFleetCommand({
          Type: "instant",
          ClientToken: request.clientToken,
          TargetCapacitySpecification: {
            TotalTargetCapacity: 1,
            DefaultTargetCapacityType: rung.market,
            ...(spot ? { SpotTargetCapacity: 1 } : { OnDemandTargetCapacity: 1 }),
          },
          ...(spot
            ? {
                SpotOptions: {
                  AllocationStrategy: "price-capacity-optimized",
                  MinTargetCapacity: 1,
                  SingleInstanceType: true,
                },
              }
            : {
                OnDemandOptions: {
                  AllocationStrategy: "lowest-price",
                  MinTargetCapacity: 1,
                  SingleInstanceType: true,
                },
              }),
          LaunchTemplateConfigs: [
            {
              LaunchTemplateSpecification: {
                LaunchTemplateId: this.config.launchTemplateId,
                Version: this.config.launchTemplateVersion ?? "$Latest",
              },
              Overrides: types.flatMap((t) =>
                subnets.map((s) => ({
                  InstanceType: t.instanceType as never,
                  SubnetId: s.subnetId,
                  ...(spot && request.maxSpotPrice !== undefined
                    ? { MaxPrice: String(request.maxSpotPrice) }
                    : {}),
                })),
              ),
            },
          ],
          TagSpecifications: [
            { ResourceType: "instance", Tags: tags },
            { ResourceType: "fleet", Tags: tags },
          ],
        }),
      );
    } catch (error) {
      throw classify([{ code: (error as Error).name, message: (error as Error).message }], rung);
    }
    const launched = out.Instances?.find((i) => i.InstanceIds?.length);
    if (!launched) {
      throw classify(
        (out.Errors ?? []).map((e) => ({ code: e.ErrorCode ?? "Unknown", message: e.ErrorMessage ?? "" })),
        rung,
      );
    }
    const instanceId = launched.InstanceIds?.[0] as string;
    const instanceType = launched.InstanceType as string;
    const subnetId = launched.LaunchTemplateAndOverrides?.Overrides?.SubnetId;
    const zone =
      launched.LaunchTemplateAndOverrides?.Overrides?.AvailabilityZone ??
      subnets.find((s) => s.subnetId === subnetId)?.zone ??
      "unknown";
    const market = launched.Lifecycle === "on-demand" ? "on-demand" : "spot";
    return {
      instanceId,
      instanceType,
      availabilityZone: zone,
      market,
      pricePerHour: await this.price(instanceType, zone, market),
      launchedAt: (this.config.now?.() ?? new Date()).toISOString(),
    };
  }

  /** The price paid: the current Spot price for the type and zone, or the on-demand price. */
  async price(instanceType: string, zone: string, market: "spot" | "on-demand"): Promise<number> {
    const onDemand = instanceShapes[instanceType as InstanceType]?.onDemandPricePerHour ?? 0;
    if (market === "on-demand") return onDemand;
    const out = await this.config.ec2.send(
      new DescribeSpotPriceHistoryCommand({
        InstanceTypes: [instanceType as never],
        AvailabilityZone: zone,
        ProductDescriptions: ["Linux/UNIX"],
        StartTime: this.config.now?.() ?? new Date(),
        MaxResults: 1,
      }),
    );
    const price = Number(out.SpotPriceHistory?.[0]?.SpotPrice);
    return Number.isFinite(price) && price > 0 ? price : onDemand;
  }

  async describe(instanceIds: string[]): Promise<InstanceState[]> {
    const found = await this.instances({ InstanceIds: instanceIds }).catch((error: Error) => {
      if (error.name === "InvalidInstanceID.NotFound") return [];
      throw error;
    });
    return instanceIds.map((id) => {
      const i = found.find((x) => x.InstanceId === id);
      return i ? stateOf(i) : { instanceId: id, state: "unknown", reason: "EC2 does not know this instance" };
    });
  }

  async releaseRun(runId: string, options: ReleaseOptions = {}): Promise<string[]> {
    const live = await this.instances({
      Filters: [
        { Name: `tag:${TAGS.runId}`, Values: [runId] },
        { Name: `tag:${TAGS.managedBy}`, Values: [this.config.managedBy] },
        { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] },
      ],
    });
    const ids = live.map((i) => i.InstanceId as string).filter((id) => !options.except?.includes(id));
    if (!ids.length) return [];
    const out = await this.config.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    const confirmed = new Set(
      (out.TerminatingInstances ?? [])
        .filter((t) => ["shutting-down", "terminated"].includes(t.CurrentState?.Name ?? ""))
        .map((t) => t.InstanceId),
    );
    const unconfirmed = ids.filter((id) => !confirmed.has(id));
    if (unconfirmed.length) throw new Error(`EC2 did not confirm termination of ${unconfirmed.join(", ")}`);
    return ids;
  }

  async listManaged(): Promise<ManagedInstance[]> {
    const all = await this.instances({
      Filters: [
        { Name: `tag:${TAGS.managedBy}`, Values: [this.config.managedBy] },
        {
          Name: "instance-state-name",
          Values: ["pending", "running", "stopping", "stopped", "shutting-down"],
        },
      ],
    });
    return all.map((i) => ({
      runId: "",
      attempt: 0,
      ...stateOf(i),
      launchedAt: (i.LaunchTime ?? new Date(0)).toISOString(),
    }));
  }

  private async instances(
    input: ConstructorParameters<typeof DescribeInstancesCommand>[0],
  ): Promise<Ec2Instance[]> {
    const found: Ec2Instance[] = [];
    let NextToken: string | undefined;
    do {
      const out = await this.config.ec2.send(
        new DescribeInstancesCommand({ ...input, ...(NextToken ? { NextToken } : {}) }),
      );
      for (const r of out.Reservations ?? []) found.push(...(r.Instances ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
    return found;
  }
}

function stateOf(i: Ec2Instance): InstanceState {
  const name = i.State?.Name ?? "unknown";
  const state = (
    ["pending", "running", "shutting-down", "terminated", "stopped"].includes(name)
      ? name
      : name === "stopping"
        ? "stopped"
        : "unknown"
  ) as InstanceState["state"];
  const reason = i.StateReason?.Message ?? i.StateReason?.Code;
  const tag = (key: string) => i.Tags?.find((t) => t.Key === key)?.Value;
  const runId = tag(TAGS.runId);
  return {
    instanceId: i.InstanceId as string,
    state,
    ...(reason && state !== "running" ? { reason } : {}),
    ...(runId ? { runId, attempt: Number(tag(TAGS.attempt) ?? 0) } : {}),
  };
}

/** One error class per fleet outcome; the message says what happened per code, and what to change. */
function classify(errors: { code: string; message: string }[], rung: Rung): Error {
  const codes = [...new Set(errors.map((e) => e.code))];
  const detail =
    errors.map((e) => `${e.code}: ${e.message}`).join("; ") || "EC2 launched nothing and gave no reason";
  if (codes.length && codes.every((c) => CAPACITY_CODES.has(c))) {
    return new CapacityUnavailable(
      `no ${rung.market} inf2 capacity (${rung.types === "best" ? "cheapest type" : "every type"}): ${detail}`,
    );
  }
  const quota = codes.find((c) => QUOTA_CODES.has(c));
  if (quota) {
    return new QuotaExceeded(
      `${quota}: ${detail}. Raise the EC2 service quota "${rung.market === "spot" ? "All Inf Spot Instance Requests" : "Running On-Demand Inf instances"}" (vCPUs) in this region: inf2.xlarge needs 4, inf2.48xlarge 192.`,
    );
  }
  return new CapacityMisconfigured(
    `the launch request was refused (${detail}). Check the deploy parameters: subnets, the AMI SSM parameter, the launch template and the instance profile.`,
  );
}
