// AWS's published limits, modelled in virtual time for benchmark 6 (and its small version in npm test).
// SIMULATED: nothing here calls AWS. The figures are AWS's published defaults (us-east-1):
//
// - EC2 request token buckets (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html):
//   mutating actions (CreateFleet) 50 tokens, refill 5/s; non-mutating (Describe*) 100, 20/s;
//   unfiltered and unpaginated DescribeInstances 50, 10/s; TerminateInstances 100, 5/s per request and
//   1,000, 20/s per instance (resource bucket). A refused call is RequestLimitExceeded.
// - The SDK's standard retries on a throttle (@smithy/core retry): 3 attempts, a delay of
//   random() x 2^attempts x 500 ms, at most 20 s.
// - Step Functions, Standard workflows (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html):
//   StartExecution 1,300 tokens, refill 300/s; StateTransition 5,000, refill 1,500/s.
// - Lambda: 1,000 concurrent executions per account and Region (the default quota); an invocation over
//   it is refused with TooManyRequestsException, which Step Functions sees as Lambda.TooManyRequestsException.
// - DynamoDB: 1,000 write units and 3,000 read units a second per partition (base table and each GSI).
// - Spot capacity: pools per instance type and zone that run out (sizes chosen for the scenario).
import { TAGS } from "../core/capacity/ec2.ts";
import { spotPerHour } from "./prices.ts";
import { itemBytes } from "./read-units.ts";
import { TokenBucket, type VirtualClock } from "./virtual-time.ts";

export const LIMITS = {
  ec2: {
    CreateFleet: [50, 5],
    DescribeInstances: [100, 20],
    DescribeInstancesUnfiltered: [50, 10],
    DescribeSpotPriceHistory: [100, 20],
    DescribeSubnets: [100, 20],
    TerminateInstances: [100, 5],
    TerminateInstancesResource: [1000, 20],
  },
  stepFunctions: { StartExecution: [1300, 300], StateTransition: [5000, 1500] },
  lambdaConcurrency: 1000,
  dynamoPartitionWcu: 1000,
  sdk: { maxAttempts: 3, throttleBaseMs: 500, maxDelayMs: 20_000 },
} as const;

/** A refusal as the SDK raises it: the error's name is the service's code. */
export class ServiceError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The SDK's standard retry on throttling, in virtual time: up to 3 attempts, then the error surfaces. */
export async function withSdkRetries<T>(
  clock: VirtualClock,
  buckets: TokenBucket[],
  code: string,
  call: () => T | Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (buckets.every((b) => b.take())) return call();
    if (attempt >= LIMITS.sdk.maxAttempts)
      throw new ServiceError(
        code,
        `Request limit exceeded (${buckets.map((b) => b.name).join(", ")}; simulated)`,
      );
    const ms = Math.min(LIMITS.sdk.maxDelayMs, Math.random() * 2 ** attempt * LIMITS.sdk.throttleBaseMs);
    await clock.sleep(ms / 1000);
  }
}

type SimInstance = {
  InstanceId: string;
  InstanceType: string;
  zone: string;
  SubnetId: string;
  state: "running" | "shutting-down" | "terminated";
  reason?: string;
  Tags: { Key: string; Value: string }[];
  LaunchTime: Date;
};

export type SpotPools = Record<string, number>;

/**
 * EC2 at the SDK boundary: the commands Ec2SpotProvider sends (CreateFleet, DescribeInstances,
 * DescribeSpotPriceHistory, DescribeSubnets, TerminateInstances), each through its token buckets and the
 * SDK's retries, against Spot pools of limited size per instance type and zone. SIMULATED.
 */
export class SimulatedEc2 {
  readonly buckets: Record<string, TokenBucket>;
  readonly instances = new Map<string, SimInstance>();
  /** Spot launches refused for want of capacity, and when that first happened. */
  capacityRefusals = 0;
  firstCapacityRefusalAt?: number;
  private readonly fleets = new Map<string, unknown>();
  private readonly used = new Map<string, number>();
  private next = 0;
  private readonly clock: VirtualClock;
  private readonly pools: SpotPools;
  private readonly subnets: { SubnetId: string; AvailabilityZone: string }[];
  private readonly onLaunch: (runId: string, attempt: number, instanceId: string) => void;

  constructor(
    clock: VirtualClock,
    options: {
      /** Bucket sizes and refill rates times this (1: as published). */
      scale?: number;
      zones: string[];
      /** Spot instances available per instance type in each zone. */
      poolPerZone: SpotPools;
      onLaunch: (runId: string, attempt: number, instanceId: string) => void;
    },
  ) {
    this.clock = clock;
    this.pools = options.poolPerZone;
    this.onLaunch = options.onLaunch;
    this.subnets = options.zones.map((z, i) => ({ SubnetId: `subnet-sim${i}`, AvailabilityZone: z }));
    this.buckets = Object.fromEntries(
      Object.entries(LIMITS.ec2).map(([name, [size, rate]]) => [
        name,
        new TokenBucket(
          clock,
          `EC2 ${name}`,
          Math.max(1, size * (options.scale ?? 1)),
          rate * (options.scale ?? 1),
        ),
      ]),
    );
  }

  get subnetIds() {
    return this.subnets.map((s) => s.SubnetId);
  }

  /** A Spot reclaim: the instance is gone and its capacity back in the pool. */
  reclaim(instanceId: string) {
    const i = this.instances.get(instanceId);
    if (i && i.state !== "terminated")
      this.terminate(i, "Server.SpotInstanceTermination: Spot reclaim (simulated)");
  }

  running() {
    return [...this.instances.values()].filter((i) => i.state !== "terminated");
  }

  async send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, "");
    const input = command.input as never;
    const b = this.buckets;
    switch (name) {
      case "CreateFleet":
        return withSdkRetries(this.clock, [b.CreateFleet as TokenBucket], "RequestLimitExceeded", () =>
          this.createFleet(input),
        );
      case "DescribeInstances": {
        const { Filters, MaxResults } = input as { Filters?: unknown; MaxResults?: number };
        const bucket = Filters || MaxResults ? b.DescribeInstances : b.DescribeInstancesUnfiltered;
        return withSdkRetries(this.clock, [bucket as TokenBucket], "RequestLimitExceeded", () =>
          this.describeInstances(input),
        );
      }
      case "TerminateInstances":
        return withSdkRetries(
          this.clock,
          [b.TerminateInstances as TokenBucket, b.TerminateInstancesResource as TokenBucket],
          "RequestLimitExceeded",
          () => this.terminateInstances(input),
        );
      case "DescribeSpotPriceHistory":
        return withSdkRetries(
          this.clock,
          [b.DescribeSpotPriceHistory as TokenBucket],
          "RequestLimitExceeded",
          () => {
            const type = (input as { InstanceTypes: string[] }).InstanceTypes[0] as string;
            return { SpotPriceHistory: [{ SpotPrice: spotPerHour(type).toFixed(4), InstanceType: type }] };
          },
        );
      case "DescribeSubnets":
        return withSdkRetries(this.clock, [b.DescribeSubnets as TokenBucket], "RequestLimitExceeded", () => ({
          Subnets: this.subnets,
        }));
      default:
        throw new Error(`SimulatedEc2 does not model ${name}`);
    }
  }

  private createFleet(input: {
    ClientToken: string;
    TargetCapacitySpecification: { DefaultTargetCapacityType: string };
    LaunchTemplateConfigs: { Overrides: { InstanceType: string; SubnetId: string }[] }[];
    TagSpecifications: { ResourceType: string; Tags: { Key: string; Value: string }[] }[];
  }) {
    const seen = this.fleets.get(input.ClientToken);
    if (seen) return seen;
    const overrides = input.LaunchTemplateConfigs.flatMap((c) => c.Overrides);
    const zoneOf = (subnetId: string) =>
      this.subnets.find((s) => s.SubnetId === subnetId)?.AvailabilityZone ?? "?";
    const free = (o: { InstanceType: string; SubnetId: string }) =>
      (this.pools[o.InstanceType] ?? 0) - (this.used.get(`${o.InstanceType}@${zoneOf(o.SubnetId)}`) ?? 0);
    // price-capacity-optimized, roughly: the cheapest type that has capacity, the zone with the most.
    const open = overrides
      .filter((o) => free(o) > 0)
      .sort((a, c) => spotPerHour(a.InstanceType) - spotPerHour(c.InstanceType) || free(c) - free(a));
    const pick = open[0];
    if (!pick || input.TargetCapacitySpecification.DefaultTargetCapacityType !== "spot") {
      this.capacityRefusals++;
      this.firstCapacityRefusalAt ??= this.clock.now;
      const output = {
        Instances: [],
        Errors: [
          {
            ErrorCode: "InsufficientInstanceCapacity",
            ErrorMessage:
              "There is no Spot capacity available that matches your request (simulated pool empty).",
          },
        ],
      };
      return output;
    }
    const zone = zoneOf(pick.SubnetId);
    const key = `${pick.InstanceType}@${zone}`;
    this.used.set(key, (this.used.get(key) ?? 0) + 1);
    const id = `i-sim${(this.next++).toString(16).padStart(12, "0")}`;
    const tags = input.TagSpecifications.find((t) => t.ResourceType === "instance")?.Tags ?? [];
    this.instances.set(id, {
      InstanceId: id,
      InstanceType: pick.InstanceType,
      zone,
      SubnetId: pick.SubnetId,
      state: "running",
      Tags: tags,
      LaunchTime: new Date(this.clock.now * 1000),
    });
    const tag = (k: string) => tags.find((t) => t.Key === k)?.Value ?? "";
    this.onLaunch(tag(TAGS.runId), Number(tag(TAGS.attempt)), id);
    const output = {
      Instances: [
        {
          InstanceIds: [id],
          InstanceType: pick.InstanceType,
          Lifecycle: "spot",
          LaunchTemplateAndOverrides: {
            Overrides: { InstanceType: pick.InstanceType, SubnetId: pick.SubnetId, AvailabilityZone: zone },
          },
        },
      ],
      Errors: [],
    };
    this.fleets.set(input.ClientToken, output);
    return output;
  }

  private describeInstances(input: {
    InstanceIds?: string[];
    Filters?: { Name: string; Values: string[] }[];
  }) {
    // By id when the request names them (InstanceIds or the instance-id filter), else every instance.
    const ids = input.InstanceIds ?? input.Filters?.find((f) => f.Name === "instance-id")?.Values;
    let found = ids
      ? ids.map((id) => this.instances.get(id)).filter((i): i is SimInstance => Boolean(i))
      : [...this.instances.values()];
    for (const f of input.Filters ?? []) {
      if (f.Name === "instance-id") continue;
      if (f.Name === "instance-state-name") found = found.filter((i) => f.Values.includes(i.state));
      else if (f.Name.startsWith("tag:")) {
        const key = f.Name.slice(4);
        found = found.filter((i) => i.Tags.some((t) => t.Key === key && f.Values.includes(t.Value)));
      }
    }
    return {
      Reservations: [
        {
          Instances: found.map((i) => ({
            InstanceId: i.InstanceId,
            InstanceType: i.InstanceType,
            State: { Name: i.state },
            ...(i.reason ? { StateReason: { Code: i.reason, Message: i.reason } } : {}),
            Tags: i.Tags,
            LaunchTime: i.LaunchTime,
            Placement: { AvailabilityZone: i.zone },
          })),
        },
      ],
    };
  }

  private terminate(i: SimInstance, reason: string) {
    i.state = "terminated";
    i.reason = reason;
    const key = `${i.InstanceType}@${i.zone}`;
    this.used.set(key, (this.used.get(key) ?? 1) - 1);
  }

  private terminateInstances(input: { InstanceIds: string[] }) {
    const out = [];
    for (const id of input.InstanceIds) {
      const i = this.instances.get(id);
      if (!i) continue;
      const previous = i.state;
      if (i.state !== "terminated") this.terminate(i, "Client.UserInitiatedShutdown: terminated by spoteval");
      out.push({
        InstanceId: id,
        PreviousState: { Name: previous },
        CurrentState: { Name: "shutting-down" },
      });
    }
    return { TerminatingInstances: out };
  }
}

/** Lambda's concurrency quota in virtual time: an invocation over it is refused, as Lambda does. */
export class LambdaConcurrency {
  readonly limit: number;
  inFlight = 0;
  peak = 0;
  throttled = 0;
  firstThrottledAt?: number;
  private readonly clock: VirtualClock;

  constructor(clock: VirtualClock, limit: number = LIMITS.lambdaConcurrency) {
    this.clock = clock;
    this.limit = limit;
  }

  /** Run `body` as one invocation lasting at least `seconds` of virtual time. */
  async invoke<T>(seconds: number, body: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limit) {
      this.throttled++;
      this.firstThrottledAt ??= this.clock.now;
      throw new ServiceError(
        "Lambda.TooManyRequestsException",
        "Rate Exceeded. (concurrency quota, simulated)",
      );
    }
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    const started = this.clock.now;
    try {
      const out = await body();
      await this.clock.until(started + seconds);
      return out;
    } finally {
      this.inFlight--;
    }
  }
}

/**
 * DynamoDB write units per partition and virtual second, for the base table (PK) and each GSI partition
 * a written item lands in. A meter, not a throttle: it says which partition came closest to its limit.
 */
export class PartitionMeter {
  private readonly perSecond = new Map<string, number>();
  private readonly clock: VirtualClock;
  constructor(clock: VirtualClock) {
    this.clock = clock;
  }

  private add(partition: string, units: number) {
    const key = `${partition}|${Math.floor(this.clock.now)}`;
    this.perSecond.set(key, (this.perSecond.get(key) ?? 0) + units);
  }

  /** Count one write request as the document client sends it. */
  write(command: { constructor: { name: string }; input: Record<string, unknown> }) {
    const name = command.constructor.name;
    const items: Record<string, unknown>[] = [];
    if (name === "PutCommand") items.push(command.input.Item as Record<string, unknown>);
    else if (name === "UpdateCommand" || name === "DeleteCommand")
      items.push(command.input.Key as Record<string, unknown>);
    else if (name === "BatchWriteCommand") {
      for (const requests of Object.values(
        command.input.RequestItems as Record<
          string,
          Record<string, { Item?: Record<string, unknown>; Key?: Record<string, unknown> }>[]
        >,
      ))
        for (const r of requests)
          items.push((r.PutRequest?.Item ?? r.DeleteRequest?.Key) as Record<string, unknown>);
    } else return;
    for (const item of items) {
      const units = Math.max(1, Math.ceil(itemBytes(item) / 1024));
      this.add(`table ${String(item.PK)}`, units);
      for (const gsi of ["GSI1", "GSI2", "GSI3", "GSI4"])
        if (typeof item[`${gsi}PK`] === "string") this.add(`${gsi} ${item[`${gsi}PK`] as string}`, units);
    }
  }

  /** The busiest partition-second; and the same for the all-runs index as if it were one partition. */
  peaks() {
    let top = { partition: "", units: 0 };
    const allRuns = new Map<number, number>();
    for (const [key, units] of this.perSecond) {
      const [partition, second] = key.split("|") as [string, string];
      if (units > top.units) top = { partition, units };
      if (partition.startsWith("GSI3 RUNS#"))
        allRuns.set(Number(second), (allRuns.get(Number(second)) ?? 0) + units);
    }
    return { top, allRunsUnsharded: Math.max(0, ...allRuns.values()) };
  }
}

/**
 * State transitions per virtual second through Step Functions' bucket: the fewest tokens left, and the
 * virtual time it would first have refused one (undefined when it never would).
 */
export function transitionBucket(perSecond: Map<number, number>) {
  const [size, rate]: readonly number[] = LIMITS.stepFunctions.StateTransition;
  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  let tokens = size as number;
  let last = seconds[0] ?? 0;
  let lowest = size as number;
  let firstThrottledAt: number | undefined;
  let peak = 0;
  for (const s of seconds) {
    tokens = Math.min(size, tokens + (s - last) * rate);
    last = s;
    const used = perSecond.get(s) ?? 0;
    peak = Math.max(peak, used);
    tokens -= used;
    lowest = Math.min(lowest, tokens);
    if (tokens < 0 && firstThrottledAt === undefined) firstThrottledAt = s;
  }
  return { peakPerSecond: peak, lowest, firstThrottledAt };
}
