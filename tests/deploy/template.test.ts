// `serverless package` works offline with no AWS credentials, and its CloudFormation template holds
// the functions, routes, state machine, table and bucket that serverless.yml declares.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { DEFAULT_ROOT_VOLUME_GIB, ROOT_DEVICE } from "../../core/root-volume.ts";
import { functionForResource } from "../../local/serverless-config.ts";
import { projectRoot } from "../../local/stack.ts";

type Resource = { Type: string; Properties: Record<string, unknown> };
let dir: string;
let resources: Record<string, Resource>;
let zips: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "spoteval-package-"));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    SLS_TELEMETRY_DISABLED: "1",
    SLS_NOTIFICATIONS_MODE: "off",
    SLS_DEPRECATION_DISABLE: "*",
  };
  await promisify(execFile)(
    join(projectRoot, "node_modules/.bin/serverless"),
    ["package", "--package", dir],
    {
      cwd: projectRoot,
      env,
      timeout: 400_000,
    },
  );
  const template = JSON.parse(await readFile(join(dir, "cloudformation-template-update-stack.json"), "utf8"));
  resources = template.Resources;
  zips = (await readdir(dir)).filter((f) => f.endsWith(".zip"));
});
after(() => rm(dir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe("the packaged deployment", () => {
  it("has one bundled nodejs22.x function per handler", () => {
    const functions = ofType("AWS::Lambda::Function");
    const handlers = functions.map(([, f]) => f.Properties.Handler).sort();
    assert.deepEqual(
      handlers,
      [
        "functions/events/registry-event.handler",
        "functions/http/add-reference.handler",
        "functions/events/engine-event.handler",
        "functions/steps/await-event.handler",
        "functions/http/cancel-evaluation.handler",
        "functions/http/dashboard.handler",
        "functions/http/get-evaluation.handler",
        "functions/http/huggingface-webhook.handler",
        "functions/http/leaderboard.handler",
        "functions/http/model-results.handler",
        "functions/http/openapi.handler",
        "functions/http/registry-webhook.handler",
        "functions/http/list-evaluations.handler",
        "functions/http/submit-evaluation.handler",
        "functions/events/execution-ended.handler",
        "functions/events/instance-event.handler",
        "functions/scheduled/janitor.handler",
        "functions/steps/acquire-capacity.handler",
        "functions/steps/check-engine.handler",
        "functions/steps/collect-shards.handler",
        "functions/steps/end-shard.handler",
        "functions/steps/finish-run.handler",
        "functions/steps/plan.handler",
        "functions/steps/record-metrics.handler",
        "functions/steps/release-capacity.handler",
      ].sort(),
    );
    for (const [, f] of functions) assert.equal(f.Properties.Runtime, "nodejs22.x");
    for (const [id, f] of functions) {
      assert.deepEqual(
        f.Properties.LoggingConfig,
        { LogFormat: "JSON" },
        `${id} logs in Lambda's JSON format`,
      );
    }
    assert.equal(zips.length, functions.length);
  });

  it("routes the HTTP API to its handlers", () => {
    const routes = ofType("AWS::ApiGatewayV2::Route")
      .map(([, r]) => r.Properties.RouteKey)
      .sort();
    assert.deepEqual(routes, [
      "DELETE /evaluations/{runId}",
      "GET /",
      "GET /assets/{file}",
      "GET /evaluations",
      "GET /evaluations/{runId}",
      "GET /favicon.ico",
      "GET /leaderboard",
      "GET /models/{modelId}/results",
      "GET /openapi.json",
      "POST /evaluations",
      "POST /references",
      "POST /webhooks/huggingface",
      "POST /webhooks/registry",
    ]);
  });

  it("deploys the one ASL file as the state machine, every Task pointing at a Lambda (callback tasks by FunctionName)", async () => {
    const [[, machine]] = ofType("AWS::StepFunctions::StateMachine");
    const [text, params] = (
      machine.Properties.DefinitionString as { "Fn::Sub": [string, Record<string, unknown>] }
    )["Fn::Sub"];
    type DeployedState = { Type: string; Resource?: string; Parameters?: { FunctionName?: string } };
    const deployed = JSON.parse(text) as { States: Record<string, DeployedState> };
    const asl = JSON.parse(await readFile(join(projectRoot, "statemachine/evaluation.asl.json"), "utf8"));
    assert.deepEqual(Object.keys(deployed.States), Object.keys(asl.States));
    for (const [name, state] of Object.entries(deployed.States)) {
      if (state.Type !== "Task") continue;
      const callback = state.Resource === "arn:aws:states:::lambda:invoke.waitForTaskToken";
      const invoked = callback ? state.Parameters?.FunctionName : state.Resource;
      const placeholder = /^\$\{(\w+)\}$/.exec(invoked ?? "")?.[1] ?? "";
      const target = params[placeholder] as { "Fn::GetAtt"?: [string, string] } | undefined;
      const written = asl.States[name];
      const fn = functionForResource(callback ? written.Parameters.FunctionName : written.Resource) ?? "";
      const logicalId = `${fn[0].toUpperCase()}${fn.slice(1)}LambdaFunction`;
      assert.deepEqual(target?.["Fn::GetAtt"], [logicalId, "Arn"], `${name} invokes ${logicalId}`);
      assert.ok(resources[logicalId], `${logicalId} exists`);
    }
  });

  it("declares the single table with its keys, indexes and TTL", () => {
    const [[, table]] = ofType("AWS::DynamoDB::Table");
    const p = table.Properties as Record<string, unknown> & {
      GlobalSecondaryIndexes: { IndexName: string }[];
    };
    assert.deepEqual(p.KeySchema, [
      { AttributeName: "PK", KeyType: "HASH" },
      { AttributeName: "SK", KeyType: "RANGE" },
    ]);
    assert.deepEqual(
      p.GlobalSecondaryIndexes.map((i) => i.IndexName),
      ["byModel", "byStatus", "byCreated", "byModelResults"],
    );
    assert.deepEqual(p.TimeToLiveSpecification, { AttributeName: "expires", Enabled: true });
    assert.equal(p.BillingMode, "PAY_PER_REQUEST");
  });

  it("keeps the artifacts bucket private and encrypted", () => {
    const [[, bucket]] = ofType("AWS::S3::Bucket").filter(([id]) => id === "ArtifactsBucket");
    const p = bucket.Properties as {
      PublicAccessBlockConfiguration: Record<string, boolean>;
      BucketEncryption: unknown;
    };
    assert.ok(Object.values(p.PublicAccessBlockConfiguration).every(Boolean));
    assert.ok(p.BucketEncryption);
  });

  it("launches engines with IMDSv2 only, shutdown = terminate, an encrypted root volume and no inbound port", () => {
    const data = resources.EngineLaunchTemplate.Properties.LaunchTemplateData as Record<string, never> & {
      MetadataOptions: Record<string, unknown>;
      BlockDeviceMappings: { Ebs: Record<string, unknown> }[];
      UserData: unknown;
    };
    assert.equal(data.MetadataOptions.HttpTokens, "required");
    assert.equal(data.InstanceInitiatedShutdownBehavior, "terminate");
    assert.equal(data.BlockDeviceMappings[0].Ebs.Encrypted, true);
    // A launch sized from the model overrides this mapping: same device, same default as its floor.
    assert.equal((data.BlockDeviceMappings[0] as { DeviceName?: string }).DeviceName, ROOT_DEVICE);
    assert.equal(Number(data.BlockDeviceMappings[0].Ebs.VolumeSize), DEFAULT_ROOT_VOLUME_GIB);
    assert.equal(data.BlockDeviceMappings[0].Ebs.VolumeType, "gp3");
    const acquire = resources.AcquireCapacityLambdaFunction.Properties as {
      Environment: { Variables: Record<string, unknown> };
    };
    assert.equal(Number(acquire.Environment.Variables.ROOT_VOLUME_GIB), DEFAULT_ROOT_VOLUME_GIB);
    assert.match(String(data.ImageId), /^\{\{resolve:ssm:\/aws\/service\/neuron\//);
    const sg = resources.EngineSecurityGroup.Properties as { SecurityGroupIngress?: unknown[] };
    assert.equal(sg.SecurityGroupIngress, undefined, "no ingress rule");
    const userData = JSON.stringify(data.UserData);
    assert.ok(
      !/hf_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|aws_secret_access_key|password=/i.test(userData),
      "no secret in user-data",
    );
    assert.match(userData, /HF_TOKEN_SECRET_ARN=/, "the engine gets where the token is, not the token");
    assert.match(userData, /spoteval-run-id/);
    // The instance learns its backend and image from its attempt's tags, not from the launch template.
    assert.doesNotMatch(userData, /ENGINE_BACKEND=neuronx/);
    assert.match(userData, /IMAGE=\\"\$\(tag spoteval-image\)\\"/);
    assert.match(userData, /BACKEND=\\"\$\(tag spoteval-backend\)\\"/);
  });

  it("wires the interruption, execution-ended and janitor rules to their handlers", () => {
    const patterns = ofType("AWS::Events::Rule").map(([, r]) =>
      JSON.stringify(r.Properties.EventPattern ?? r.Properties.ScheduleExpression),
    );
    assert.ok(patterns.some((p) => p.includes("EC2 Spot Instance Interruption Warning")));
    assert.ok(patterns.some((p) => p.includes("EC2 Instance State-change Notification")));
    assert.ok(
      patterns.some(
        (p) => p.includes("Step Functions Execution Status Change") && /ABORTED.*TIMED_OUT.*FAILED/.test(p),
      ),
    );
    assert.ok(patterns.some((p) => p.includes("rate(10 minutes)")));
    assert.ok(
      patterns.some((p) => p.includes("SageMaker Model Package State Change") && p.includes("Approved")),
    );
    assert.ok(patterns.some((p) => p.includes("ModelRegistered")));
    assert.ok(patterns.some((p) => p.includes("EngineFinished") && p.includes("spoteval.engine")));
  });

  it("lets the engine put only its own EngineFinished event, and gives it no Step Functions power", () => {
    const text = JSON.stringify(resources.EngineRole);
    const statement = (
      resources.EngineRole.Properties as {
        Policies: { PolicyDocument: { Statement: { Action: string[]; Condition?: unknown }[] } }[];
      }
    ).Policies[0].PolicyDocument.Statement.find((x) => x.Action.includes("events:PutEvents"));
    assert.deepEqual(statement?.Condition, {
      StringEquals: { "events:source": "spoteval.engine", "events:detail-type": "EngineFinished" },
    });
    assert.ok(!text.includes("states:"), "no Step Functions action");
  });
  // What each function's role may do is evaluated in iam-roles.test.ts.
});
