// EC2 Spot capacity for Inferentia2: one instant CreateFleet per launch (price-capacity-optimized,
// overrides across types x subnets), a ladder from the cheapest-to-finish type to every type to
// on-demand, errors classified into what to retry and what to change, release by tag.
import {
  CreateFleetCommand,
  type CreateFleetCommandOutput,
  type DescribeInstancesCommand,
  DescribeSpotPriceHistoryCommand,
  type DescribeSpotPriceHistoryCommandOutput,
  DescribeSubnetsCommand,
  type DescribeSubnetsCommandOutput,
  type EC2Client,
  type Instance as Ec2Instance,
  paginateDescribeInstances,
  TerminateInstancesCommand,
  type TerminateInstancesCommandOutput,
} from "@aws-sdk/client-ec2";
import { CapacityMisconfigured, Throttled } from "../errors.ts";
import { instanceShapes } from "../planner.ts";
import { ROOT_DEVICE, rootVolumeGiB } from "../root-volume.ts";
import type { InstanceType } from "../schemas.ts";
import { classifyLaunchErrors, launchErrorOf, throttledOr } from "./ec2-errors.ts";
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
  /** What the instance runs: user-data reads these two, so no launch template fixes a backend. */
  backend: "spoteval-backend",
  image: "spoteval-image",
} as const;

export type Ec2ProviderConfig = {
  ec2: EC2Client;
  launchTemplateId: string;
  launchTemplateVersion?: string;
  subnetIds: string[];
  /** Value of the managed-by tag: IAM conditions and the janitor key on it. */
  managedBy: string;
  /** The engine image of each backend (a deployment parameter each). */
  engineImages?: Record<string, string>;
  /** The launch template's root volume (the deployment's rootVolumeGiB): a model only ever grows it. */
  rootVolumeFloorGiB?: number;
  now?: () => Date;
};

type Rung = { market: "spot" | "on-demand"; types: "best" | "all" };

/**
 * The ladder: each launch that found no capacity moves one rung down: Spot of the cheapest-to-finish
 * type in every allowed zone, then Spot of every type that fits, then on-demand if the request allows.
 */
/** Backend and image tags for an instance; a backend with no image is a deployment error, not a retry. */
function engineTagsFor(images: Record<string, string> | undefined, backend: string | undefined) {
  if (!backend) return [];
  const image = images?.[backend];
  if (!image) {
    throw new CapacityMisconfigured(
      `no engine image is configured for the ${backend} backend; deploy with its image parameter (engineImage, engineImageVllmNeuron)`,
    );
  }
  return [
    { Key: TAGS.backend, Value: backend },
    { Key: TAGS.image, Value: image },
  ];
}

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

  /**
   * Every EC2 call: a refusal for request rate that outlasted the SDK's retries becomes Throttled,
   * which the state machine retries with backoff, instead of failing the run (npm run bench, 6).
   */
  private async send<T>(action: string, command: object): Promise<T> {
    try {
      return (await this.config.ec2.send(command as never)) as T;
    } catch (error) {
      throw throttledOr(error, action);
    }
  }

  private subnetZones() {
    this.subnets ??= this.send<DescribeSubnetsCommandOutput>(
      "DescribeSubnets",
      new DescribeSubnetsCommand({ SubnetIds: this.config.subnetIds }),
    )
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

  private engineTags(backend: string | undefined) {
    return engineTagsFor(this.config.engineImages, backend);
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
      ...this.engineTags(request.backend),
    ];
    const spot = rung.market === "spot";
    // Each override replaces the template's root mapping whole, so it repeats its encryption and type.
    const rootVolume =
      request.modelDiskGiB === undefined
        ? {}
        : {
            BlockDeviceMappings: [
              {
                DeviceName: ROOT_DEVICE,
                Ebs: {
                  VolumeSize: rootVolumeGiB(request.modelDiskGiB, this.config.rootVolumeFloorGiB),
                  VolumeType: "gp3" as const,
                  Encrypted: true,
                  DeleteOnTermination: true,
                },
              },
            ],
          };
    let out: CreateFleetCommandOutput;
    try {
      out = await this.send<CreateFleetCommandOutput>(
        "CreateFleet",
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
                  ...rootVolume,
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
      if (error instanceof Throttled) throw error;
      throw classifyLaunchErrors([launchErrorOf(error)], describeRung(rung));
    }
    const launched = out.Instances?.find((i) => i.InstanceIds?.length);
    if (!launched) {
      throw classifyLaunchErrors(
        (out.Errors ?? []).map((e) => ({ code: e.ErrorCode ?? "Unknown", message: e.ErrorMessage ?? "" })),
        describeRung(rung),
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
    const out = await this.send<DescribeSpotPriceHistoryCommandOutput>(
      "DescribeSpotPriceHistory",
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
    // A filter, not InstanceIds: EC2 charges an unfiltered DescribeInstances to a bucket half the size
    // (50 tokens, 10/s), which a thousand runs' checks empty first (npm run bench, 6).
    const found = await this.instances({ Filters: [{ Name: "instance-id", Values: instanceIds }] }).catch(
      (error: Error) => {
        if (error.name === "InvalidInstanceID.NotFound") return [];
        throw error;
      },
    );
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
    const out = await this.send<TerminateInstancesCommandOutput>(
      "TerminateInstances",
      new TerminateInstancesCommand({ InstanceIds: ids }),
    );
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
    try {
      for await (const page of paginateDescribeInstances({ client: this.config.ec2 }, input ?? {})) {
        for (const r of page.Reservations ?? []) found.push(...(r.Instances ?? []));
      }
    } catch (error) {
      throw throttledOr(error, "DescribeInstances");
    }
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

const describeRung = (rung: Rung) =>
  `${rung.market} inf2 capacity (${rung.types === "best" ? "cheapest type" : "every type"})`;
