// The EC2 Spot provider at the SDK boundary (aws-sdk-client-mock): request shape, the ladder, every
// error class, the price paid, and release by tag.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  CreateFleetCommand,
  DescribeInstancesCommand,
  DescribeSpotPriceHistoryCommand,
  DescribeSubnetsCommand,
  EC2Client,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { Ec2SpotProvider, TAGS } from "../../core/capacity/ec2.ts";
import { classifyLaunchErrors } from "../../core/capacity/ec2-errors.ts";
import type { LaunchRequest } from "../../core/capacity/provider.ts";
import {
  AwsUnavailable,
  CapacityMisconfigured,
  CapacityUnavailable,
  QuotaExceeded,
  Throttled,
} from "../../core/errors.ts";
import { modelDiskGiB } from "../../core/root-volume.ts";

const ec2 = mockClient(EC2Client);
afterEach(() => ec2.reset());

const provider = () =>
  new Ec2SpotProvider({
    ec2: new EC2Client({ region: "us-east-1" }),
    launchTemplateId: "lt-0abc",
    subnetIds: ["subnet-a", "subnet-b"],
    managedBy: "spoteval-test",
    now: () => new Date("2026-11-28T10:00:00Z"),
  });

const request = (extra: Partial<LaunchRequest> = {}): LaunchRequest => ({
  runId: "01m8gqqhta9dqa30s72mcrajz9",
  attempt: 2,
  clientToken: "01m8gqqhta9dqa30s72mcrajz9-2-1",
  launchTry: 1,
  candidates: [
    { instanceType: "inf2.xlarge", tpDegree: 2 },
    { instanceType: "inf2.8xlarge", tpDegree: 2 },
  ],
  allowOnDemand: false,
  engineEnv: {},
  ...extra,
});

function subnets() {
  ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: [
      { SubnetId: "subnet-a", AvailabilityZone: "us-east-1a" },
      { SubnetId: "subnet-b", AvailabilityZone: "us-east-1b" },
    ],
  });
}
function launched(lifecycle: "spot" | "on-demand" = "spot", type = "inf2.xlarge") {
  ec2.on(CreateFleetCommand).resolves({
    FleetId: "fleet-1",
    Instances: [
      {
        InstanceIds: ["i-0123"],
        InstanceType: type as never,
        Lifecycle: lifecycle,
        LaunchTemplateAndOverrides: { Overrides: { SubnetId: "subnet-b", InstanceType: type as never } },
      },
    ],
  });
}
const fleetInput = () => ec2.commandCalls(CreateFleetCommand)[0].args[0].input;

describe("Ec2SpotProvider.launch", () => {
  it("tags the instance with its attempt's backend and that backend's image, which user-data reads", async () => {
    subnets();
    launched();
    ec2.on(DescribeSpotPriceHistoryCommand).resolves({ SpotPriceHistory: [{ SpotPrice: "0.2275" }] });
    const images = { neuronx: "acct.dkr.ecr/spoteval:neuronx", "vllm-neuron": "acct.dkr.ecr/spoteval:vllm" };
    const withImages = new Ec2SpotProvider({ ...provider().config, engineImages: images });
    await withImages.launch(request({ backend: "vllm-neuron" }));
    const tags = fleetInput().TagSpecifications?.find((t) => t.ResourceType === "instance")?.Tags ?? [];
    const tag = (key: string) => tags.find((t) => t.Key === key)?.Value;
    assert.equal(tag(TAGS.backend), "vllm-neuron");
    assert.equal(tag(TAGS.image), "acct.dkr.ecr/spoteval:vllm");

    ec2.resetHistory();
    await assert.rejects(
      new Ec2SpotProvider({ ...provider().config, engineImages: { neuronx: images.neuronx } }).launch(
        request({ backend: "vllm-neuron" }),
      ),
      (e: Error) => e instanceof CapacityMisconfigured && /engineImageVllmNeuron/.test(e.message),
    );
    assert.equal(ec2.commandCalls(CreateFleetCommand).length, 0, "nothing launched without an image");
  });

  it("asks for one instant, price-capacity-optimized Spot instance across types x subnets, tagged and idempotent", async () => {
    subnets();
    launched();
    ec2.on(DescribeSpotPriceHistoryCommand).resolves({ SpotPriceHistory: [{ SpotPrice: "0.2275" }] });
    const instance = await provider().launch(request({ launchTry: 2, maxSpotPrice: 0.5 }));

    const input = fleetInput();
    assert.equal(input.Type, "instant");
    assert.equal(input.ClientToken, "01m8gqqhta9dqa30s72mcrajz9-2-1");
    assert.equal(input.TargetCapacitySpecification?.TotalTargetCapacity, 1);
    assert.equal(input.TargetCapacitySpecification?.DefaultTargetCapacityType, "spot");
    assert.equal(input.SpotOptions?.AllocationStrategy, "price-capacity-optimized");
    assert.deepEqual(
      input.LaunchTemplateConfigs?.[0].Overrides?.map(
        (o) => `${o.InstanceType}@${o.SubnetId}<=${o.MaxPrice}`,
      ),
      [
        "inf2.xlarge@subnet-a<=0.5",
        "inf2.xlarge@subnet-b<=0.5",
        "inf2.8xlarge@subnet-a<=0.5",
        "inf2.8xlarge@subnet-b<=0.5",
      ],
    );
    assert.equal(input.LaunchTemplateConfigs?.[0].LaunchTemplateSpecification?.LaunchTemplateId, "lt-0abc");
    for (const type of ["instance", "fleet"]) {
      const tags = input.TagSpecifications?.find((t) => t.ResourceType === type)?.Tags;
      assert.deepEqual(tags, [
        { Key: TAGS.managedBy, Value: "spoteval-test" },
        { Key: TAGS.runId, Value: "01m8gqqhta9dqa30s72mcrajz9" },
        { Key: TAGS.attempt, Value: "2" },
      ]);
    }
    assert.deepEqual(instance, {
      instanceId: "i-0123",
      instanceType: "inf2.xlarge",
      availabilityZone: "us-east-1b",
      market: "spot",
      pricePerHour: 0.2275,
      launchedAt: "2026-11-28T10:00:00.000Z",
    });
    const price = ec2.commandCalls(DescribeSpotPriceHistoryCommand)[0].args[0].input;
    assert.deepEqual(
      [price.InstanceTypes, price.AvailabilityZone, price.ProductDescriptions],
      [["inf2.xlarge"], "us-east-1b", ["Linux/UNIX"]],
    );
  });

  it("sizes the gp3 root volume from the model on every override, never below the deployment's floor", async () => {
    subnets();
    launched();
    ec2.on(DescribeSpotPriceHistoryCommand).resolves({ SpotPriceHistory: [{ SpotPrice: "0.2275" }] });
    const roots = async (parameters: number, dtype: "bfloat16" | "float32", floor?: number) => {
      ec2.resetHistory();
      const p = new Ec2SpotProvider({
        ...provider().config,
        ...(floor !== undefined ? { rootVolumeFloorGiB: floor } : {}),
      });
      await p.launch(request({ modelDiskGiB: modelDiskGiB({ parameters, dtype }) }));
      const overrides = fleetInput().LaunchTemplateConfigs?.[0].Overrides ?? [];
      assert.equal(overrides.length, 2, "the best type in both subnets");
      for (const o of overrides) {
        assert.deepEqual(o.BlockDeviceMappings?.[0], {
          DeviceName: "/dev/sda1",
          Ebs: {
            VolumeSize: overrides[0].BlockDeviceMappings?.[0].Ebs?.VolumeSize,
            VolumeType: "gp3",
            Encrypted: true,
            DeleteOnTermination: true,
          },
        });
      }
      return overrides[0].BlockDeviceMappings?.[0].Ebs?.VolumeSize;
    };
    // Mistral-7B in bf16: 13.5 GiB of weights -> 100 + 2 x 13.5 x 1.2 = 132.4 -> 140, below the floor.
    assert.equal(await roots(7.24e9, "bfloat16"), 300);
    assert.equal(await roots(7.24e9, "bfloat16", 100), 140);
    // Llama-2-70B in bf16: 128.4 GiB -> 100 + 308.2 -> 410; in fp32 twice the weights -> 720.
    assert.equal(await roots(68.98e9, "bfloat16"), 410);
    assert.equal(await roots(68.98e9, "float32", 500), 720);

    ec2.resetHistory();
    await provider().launch(request());
    const plain = fleetInput().LaunchTemplateConfigs?.[0].Overrides ?? [];
    assert.ok(
      plain.every((o) => o.BlockDeviceMappings === undefined),
      "no model size: the template's volume",
    );
  });

  it("climbs the ladder: the best type first, then every type, then on-demand only when allowed", async () => {
    subnets();
    launched("on-demand", "inf2.8xlarge");
    const types = () => [
      ...new Set(
        ec2
          .commandCalls(CreateFleetCommand)
          .at(-1)
          ?.args[0].input.LaunchTemplateConfigs?.[0].Overrides?.map((o) => o.InstanceType),
      ),
    ];
    await provider().launch(request({ launchTry: 1 }));
    assert.deepEqual(types(), ["inf2.xlarge"]);
    await provider().launch(request({ launchTry: 2 }));
    assert.deepEqual(types(), ["inf2.xlarge", "inf2.8xlarge"]);
    await provider().launch(request({ launchTry: 3 }));
    assert.equal(
      ec2.commandCalls(CreateFleetCommand).at(-1)?.args[0].input.TargetCapacitySpecification
        ?.DefaultTargetCapacityType,
      "spot",
      "never on-demand unless allowed",
    );
    const onDemand = await provider().launch(request({ launchTry: 3, allowOnDemand: true }));
    const input = ec2.commandCalls(CreateFleetCommand).at(-1)?.args[0].input;
    assert.equal(input?.TargetCapacitySpecification?.DefaultTargetCapacityType, "on-demand");
    assert.equal(input?.SpotOptions, undefined);
    assert.equal(onDemand.market, "on-demand");
    assert.equal(onDemand.pricePerHour, 1.9679, "the on-demand price of inf2.8xlarge");
  });

  it("launches only in the zones the request allows, and says so when no subnet is there", async () => {
    subnets();
    launched();
    ec2.on(DescribeSpotPriceHistoryCommand).resolves({ SpotPriceHistory: [] });
    await provider().launch(request({ availabilityZones: ["us-east-1a"] }));
    assert.deepEqual(
      fleetInput().LaunchTemplateConfigs?.[0].Overrides?.map((o) => o.SubnetId),
      ["subnet-a"],
    );
    await assert.rejects(
      provider().launch(request({ availabilityZones: ["us-east-1f"] })),
      CapacityMisconfigured,
    );
  });

  for (const code of [
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "UnfulfillableCapacity",
    "MaxSpotInstanceCountExceeded",
    "SpotMaxPriceTooLow",
  ]) {
    it(`treats ${code} as no capacity (retry, then the next rung)`, async () => {
      subnets();
      ec2.on(CreateFleetCommand).resolves({
        Instances: [],
        Errors: [
          {
            ErrorCode: code,
            ErrorMessage: "There is no Spot capacity available",
            LaunchTemplateAndOverrides: {},
          },
        ],
      });
      await assert.rejects(
        provider().launch(request()),
        (e: Error) => e instanceof CapacityUnavailable && e.message.includes(code),
      );
    });
  }

  it("fails fast on the vCPU quota, naming the quota to raise", async () => {
    subnets();
    ec2.on(CreateFleetCommand).resolves({
      Errors: [
        {
          ErrorCode: "VcpuLimitExceeded",
          ErrorMessage: "You have requested more vCPU capacity than your current vCPU limit of 0",
        },
      ],
    });
    await assert.rejects(
      provider().launch(request()),
      (e: Error) => e instanceof QuotaExceeded && /All Inf Spot Instance Requests/.test(e.message),
    );
  });

  it("fails fast on a bad launch request, saying which parameters to check", async () => {
    subnets();
    ec2
      .on(CreateFleetCommand)
      .resolves({ Errors: [{ ErrorCode: "InvalidLaunchTemplateId.NotFound", ErrorMessage: "not found" }] });
    await assert.rejects(
      provider().launch(request()),
      (e: Error) => e instanceof CapacityMisconfigured && /launch template/.test(e.message),
    );
    const denied = new Error("You are not authorized to perform this operation.");
    denied.name = "UnauthorizedOperation";
    ec2.on(CreateFleetCommand).rejects(denied);
    await assert.rejects(provider().launch(request()), CapacityMisconfigured);
    const full = new Error("Insufficient capacity.");
    full.name = "InsufficientInstanceCapacity";
    ec2.on(CreateFleetCommand).rejects(full);
    await assert.rejects(provider().launch(request()), CapacityUnavailable);
  });

  it("turns EC2's request-rate refusals into Throttled, which the state machine retries, on every call", async () => {
    subnets();
    const limited = () =>
      Object.assign(new Error("Request limit exceeded."), { name: "RequestLimitExceeded" });
    ec2.on(CreateFleetCommand).rejects(limited());
    await assert.rejects(
      provider().launch(request()),
      (e: Error) =>
        e instanceof Throttled &&
        e.name === "Throttled" &&
        /CreateFleet: RequestLimitExceeded/.test(e.message),
    );
    ec2.on(DescribeInstancesCommand).rejects(limited());
    await assert.rejects(provider().describe(["i-1"]), Throttled);
    await assert.rejects(provider().releaseRun("r"), Throttled);
  });
});

describe("Ec2SpotProvider release and describe", () => {
  it("follows DescribeInstances pages (the SDK's paginator) and terminates what every page lists", async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: "i-1" }] }], NextToken: "page-2" })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: "i-2" }] }] });
    ec2.on(TerminateInstancesCommand).resolves({
      TerminatingInstances: [
        { InstanceId: "i-1", CurrentState: { Name: "shutting-down" } },
        { InstanceId: "i-2", CurrentState: { Name: "shutting-down" } },
      ],
    });
    assert.deepEqual(await provider().releaseRun("01m8gqqhta9dqa30s72mcrajz9"), ["i-1", "i-2"]);
    const calls = ec2.commandCalls(DescribeInstancesCommand);
    assert.equal(calls.length, 2);
    assert.equal(calls[1].args[0].input.NextToken, "page-2");
  });

  it("terminates every live instance tagged with the run and confirms it", async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: "i-1" }, { InstanceId: "i-2" }] }] });
    ec2.on(TerminateInstancesCommand).resolves({
      TerminatingInstances: [
        { InstanceId: "i-1", CurrentState: { Name: "shutting-down" } },
        { InstanceId: "i-2", CurrentState: { Name: "terminated" } },
      ],
    });
    assert.deepEqual(await provider().releaseRun("01m8gqqhta9dqa30s72mcrajz9"), ["i-1", "i-2"]);
    const filters = ec2.commandCalls(DescribeInstancesCommand)[0].args[0].input.Filters;
    assert.deepEqual(filters?.find((f) => f.Name === `tag:${TAGS.runId}`)?.Values, [
      "01m8gqqhta9dqa30s72mcrajz9",
    ]);
    assert.deepEqual(filters?.find((f) => f.Name === `tag:${TAGS.managedBy}`)?.Values, ["spoteval-test"]);
    assert.deepEqual(ec2.commandCalls(TerminateInstancesCommand)[0].args[0].input.InstanceIds, [
      "i-1",
      "i-2",
    ]);
  });

  it("is idempotent: nothing live, nothing terminated", async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    assert.deepEqual(await provider().releaseRun("01m8gqqhta9dqa30s72mcrajz9"), []);
    assert.equal(ec2.commandCalls(TerminateInstancesCommand).length, 0);
  });

  it("fails loudly when EC2 does not confirm a termination", async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: "i-1" }] }] });
    ec2
      .on(TerminateInstancesCommand)
      .resolves({ TerminatingInstances: [{ InstanceId: "i-1", CurrentState: { Name: "running" } }] });
    await assert.rejects(provider().releaseRun("r"), /did not confirm termination of i-1/);
  });

  it("reports a reclaimed Spot instance with its reason and run, and an unknown one as unknown", async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: "i-1",
              State: { Name: "terminated" },
              StateReason: {
                Code: "Server.SpotInstanceTermination",
                Message: "Server.SpotInstanceTermination: Spot instance termination",
              },
              Tags: [
                { Key: TAGS.runId, Value: "01m8gqqhta9dqa30s72mcrajz9" },
                { Key: TAGS.attempt, Value: "3" },
              ],
            },
          ],
        },
      ],
    });
    const [reclaimed, unknown] = await provider().describe(["i-1", "i-9"]);
    // Filtered, so EC2 charges the standard Describe bucket, not the smaller unfiltered one.
    const input = ec2.commandCalls(DescribeInstancesCommand)[0].args[0].input;
    assert.deepEqual(input.Filters, [{ Name: "instance-id", Values: ["i-1", "i-9"] }]);
    assert.equal(input.InstanceIds, undefined, "by filter, not by id");
    assert.deepEqual(reclaimed, {
      instanceId: "i-1",
      state: "terminated",
      reason: "Server.SpotInstanceTermination: Spot instance termination",
      runId: "01m8gqqhta9dqa30s72mcrajz9",
      attempt: 3,
    });
    assert.equal(unknown.state, "unknown");
  });
});

describe("EC2 launch errors, classified by code only", () => {
  const thrown = (name: string, message: string, fault: "client" | "server" = "client") =>
    Object.assign(new Error(message), { name, $fault: fault, $metadata: {} });

  it("sends RequestLimitExceeded back to the state machine as Throttled (its long backoff), not a misconfiguration", async () => {
    subnets();
    ec2.on(CreateFleetCommand).rejects(thrown("RequestLimitExceeded", "the message says nothing we rely on"));
    await assert.rejects(provider().launch(request()), Throttled);
  });

  for (const [code, fault] of [
    ["InternalError", "server"],
    ["ServiceUnavailable", "server"],
    ["TimeoutError", "client"],
    ["SomeNewServerFault", "server"],
  ] as const) {
    it(`sends ${code} (${fault}) back to the state machine's retry, not a misconfiguration`, async () => {
      subnets();
      ec2.on(CreateFleetCommand).rejects(thrown(code, "the message says nothing we rely on", fault));
      await assert.rejects(provider().launch(request()), AwsUnavailable);
    });
  }

  it("does not read messages: a capacity-sounding message with a configuration code is misconfigured", () => {
    const e = classifyLaunchErrors(
      [{ code: "InvalidSubnetID.NotFound", message: "Insufficient capacity; please retry" }],
      "spot inf2 capacity",
    );
    assert.ok(e instanceof CapacityMisconfigured);
    const t = classifyLaunchErrors(
      [{ code: "RequestLimitExceeded", message: "invalid launch template" }],
      "spot inf2 capacity",
    );
    assert.ok(t instanceof Throttled);
  });

  it("a quota anywhere wins; mixed capacity and throttling retries; an unknown code keeps its name", () => {
    const what = "spot inf2 capacity";
    assert.ok(
      classifyLaunchErrors(
        [
          { code: "InsufficientInstanceCapacity", message: "" },
          { code: "VcpuLimitExceeded", message: "" },
        ],
        what,
      ) instanceof QuotaExceeded,
    );
    assert.ok(
      classifyLaunchErrors(
        [
          { code: "InsufficientInstanceCapacity", message: "" },
          { code: "RequestLimitExceeded", message: "" },
        ],
        what,
      ) instanceof AwsUnavailable,
    );
    const unknown = classifyLaunchErrors([{ code: "SomethingNew", message: "new" }], what);
    assert.equal(unknown.name, "SomethingNew");
    assert.ok(!(unknown instanceof CapacityMisconfigured) && !(unknown instanceof AwsUnavailable));
  });

  it("fleet errors in the answer are classified the same way as thrown ones", async () => {
    subnets();
    ec2
      .on(CreateFleetCommand)
      .resolves({ Errors: [{ ErrorCode: "RequestLimitExceeded", ErrorMessage: "slow down" }] });
    await assert.rejects(provider().launch(request()), Throttled);
  });
});
