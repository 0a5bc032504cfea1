// Least privilege, proven on what would be deployed: `serverless package` builds the template, its
// intrinsic functions are resolved for an example account, and each role's identity policies are
// evaluated (tests/support/iam.ts) against what its function may and may not do. A function in
// serverless.yml without a role of its own fails here, so every function added later is covered.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { readServerlessConfig } from "../../local/serverless-config.ts";
import { projectRoot } from "../../local/stack.ts";
import { account, resolve, type Template } from "../support/cloudformation.ts";
import { evaluate, type IamRequest, type PolicyDocument } from "../support/iam.ts";

const { partition: p, region: r, accountId: a } = account;
const stage = "dev";
const managedBy = `spoteval-${stage}`;
const modelBuckets = ["acme-models", "acme-finetunes"];

let dir: string;
let template: Template;
const config = readServerlessConfig(projectRoot);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "spoteval-iam-"));
  await promisify(execFile)(
    join(projectRoot, "node_modules/.bin/serverless"),
    ["package", "--stage", stage, "--package", dir, `--param=modelBuckets=${modelBuckets.join(",")}`],
    {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        SLS_TELEMETRY_DISABLED: "1",
        SLS_NOTIFICATIONS_MODE: "off",
        SLS_DEPRECATION_DISABLE: "*",
      },
      timeout: 300_000,
    },
  );
  template = JSON.parse(await readFile(join(dir, "cloudformation-template-update-stack.json"), "utf8"));
});
after(() => rm(dir, { recursive: true, force: true }));

const arnOf = (id: string) => {
  const { arn } = { arn: resolve(template, { "Fn::GetAtt": [id, "Arn"] }) as string };
  return arn;
};
const logicalId = (fn: string) => `${fn[0].toUpperCase()}${fn.slice(1)}LambdaFunction`;

/** The role a function runs as (its logical id), from the packaged function's Role. */
function roleOf(fn: string): string {
  const role = template.Resources[logicalId(fn)]?.Properties?.Role as
    | { "Fn::GetAtt"?: [string, string] }
    | undefined;
  const id = role?.["Fn::GetAtt"]?.[0];
  assert.ok(id, `function ${fn} has a role from this template`);
  return id;
}

/** Every identity policy of a role: inline, and AWS::IAM::Policy resources attached to it. */
function policiesOf(roleId: string): PolicyDocument[] {
  const role = resolve(template, template.Resources[roleId]) as {
    Properties: { Policies?: { PolicyDocument: PolicyDocument }[]; ManagedPolicyArns?: string[] };
  };
  assert.deepEqual(
    role.Properties.ManagedPolicyArns ?? [],
    [],
    `${roleId}: no managed policy (its statements could not be evaluated here)`,
  );
  const attached = Object.values(template.Resources)
    .filter((x) => x.Type === "AWS::IAM::Policy" || x.Type === "AWS::IAM::ManagedPolicy")
    .map((x) => resolve(template, x) as { Properties: { Roles?: string[]; PolicyDocument: PolicyDocument } })
    .filter((x) => x.Properties.Roles?.includes(resolve(template, { Ref: roleId }) as string))
    .map((x) => x.Properties.PolicyDocument);
  return [...(role.Properties.Policies ?? []).map((x) => x.PolicyDocument), ...attached];
}

const may = (fn: string, request: IamRequest) => evaluate(policiesOf(roleOf(fn)), request) === "Allow";
const mayRole = (roleId: string, request: IamRequest) => evaluate(policiesOf(roleId), request) === "Allow";

const table = () => arnOf("RunsTable");
const bucket = () => arnOf("ArtifactsBucket");
const instance = `arn:${p}:ec2:${r}:${a}:instance/i-0123456789abcdef0`;
const fleet = `arn:${p}:ec2:${r}:${a}:fleet/fleet-0123`;
const stateMachine = `arn:${p}:states:${r}:${a}:stateMachine:spoteval-${stage}-evaluation`;
const ours = { "aws:ResourceTag/spoteval-managed-by": managedBy };
const theirs = { "aws:ResourceTag/spoteval-managed-by": "spoteval-prod" };

const functions = Object.keys(config.functions);
const readHandlers = config.routes.filter((x) => x.method === "GET").map((x) => x.functionName);
/** The capacity and release steps, the janitor and the safety net for dead executions. */
const terminators = ["acquireCapacity", "releaseCapacity", "janitor", "onExecutionEnded"];
const submitters = ["submitEvaluation", "huggingfaceWebhook", "registryWebhook", "onRegistryEvent"];

const ec2Actions = [
  "ec2:TerminateInstances",
  "ec2:StopInstances",
  "ec2:RunInstances",
  "ec2:CreateFleet",
  "ec2:CreateTags",
  "ec2:DescribeInstances",
  "ec2:ModifyInstanceAttribute",
];
const statesActions = ["states:StartExecution", "states:StopExecution", "states:SendTaskSuccess"];
const tableWrites = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:TransactWriteItems",
];

describe("a role per function", () => {
  it("gives every function in serverless.yml a role of its own", () => {
    const seen = new Map<string, string>();
    for (const fn of functions) {
      const role = roleOf(fn);
      assert.notEqual(role, "IamRoleLambdaExecution", `${fn} runs as the shared default role`);
      assert.equal(template.Resources[role]?.Type, "AWS::IAM::Role", `${fn}'s role is in the template`);
      assert.equal(seen.get(role), undefined, `${fn} shares ${role} with ${seen.get(role)}`);
      seen.set(role, fn);
    }
    const profiles = Object.values(template.Resources).filter((x) => x.Type === "AWS::IAM::InstanceProfile");
    for (const profile of profiles) {
      for (const role of (profile.Properties?.Roles as { Ref: string }[]) ?? []) {
        assert.equal(seen.get(role.Ref), undefined, `the instance profile uses ${seen.get(role.Ref)}'s role`);
      }
    }
  });

  it("grants no role a '*' or 'service:*' action", () => {
    const roles = Object.entries(template.Resources).filter(([, x]) => x.Type === "AWS::IAM::Role");
    for (const [id] of roles) {
      for (const policy of policiesOf(id)) {
        for (const s of [policy.Statement].flat()) {
          assert.equal(s.NotAction, undefined, `${id}: no NotAction`);
          for (const action of [s.Action ?? []].flat()) {
            assert.ok(!/^(\*|[\w-]+:\*)$/.test(action), `${id} grants ${action}`);
          }
        }
      }
    }
  });
});

describe("the read handlers (GET routes)", () => {
  it("include every route the API reads from", () => {
    for (const fn of ["getEvaluation", "leaderboard", "listEvaluations", "modelResults", "openapi"]) {
      assert.ok(readHandlers.includes(fn), `${fn} serves a GET route`);
    }
  });

  it("read runs and the API keys, and nothing that serves only the public document", () => {
    for (const fn of ["getEvaluation", "leaderboard", "listEvaluations", "modelResults"]) {
      assert.ok(may(fn, { action: "dynamodb:GetItem", resource: table() }), `${fn} reads a run`);
      assert.ok(may(fn, { action: "dynamodb:Query", resource: `${table()}/index/byModel` }), `${fn} queries`);
      assert.ok(
        may(fn, {
          action: "ssm:GetParameter",
          resource: `arn:${p}:ssm:${r}:${a}:parameter/spoteval/${stage}/api-keys`,
        }),
        `${fn} reads the API key hashes`,
      );
    }
    assert.ok(!may("openapi", { action: "dynamodb:GetItem", resource: table() }));
  });

  it("call no EC2, no Step Functions, and write nothing", () => {
    for (const fn of readHandlers) {
      for (const action of ec2Actions) {
        for (const resource of ["*", instance, fleet]) {
          for (const context of [ours, theirs, {}]) {
            assert.ok(!may(fn, { action, resource, context }), `${fn} may ${action} on ${resource}`);
          }
        }
      }
      for (const action of statesActions) {
        assert.ok(!may(fn, { action, resource: stateMachine }), `${fn} may ${action}`);
      }
      for (const action of tableWrites) {
        assert.ok(!may(fn, { action, resource: table() }), `${fn} may ${action}`);
      }
      for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:GetObject"]) {
        assert.ok(!may(fn, { action, resource: `${bucket()}/runs/x/results.json` }), `${fn} may ${action}`);
      }
      assert.ok(!may(fn, { action: "iam:PassRole", resource: arnOf("EngineRole") }));
    }
  });
});

describe("EC2 power", () => {
  it("lets only the capacity and release steps, the janitor and the execution safety net terminate", () => {
    for (const fn of functions) {
      const allowed = may(fn, { action: "ec2:TerminateInstances", resource: instance, context: ours });
      assert.equal(allowed, terminators.includes(fn), `${fn} ${allowed ? "may" : "may not"} terminate`);
    }
  });

  it("lets them terminate only instances tagged as this deployment's", () => {
    for (const fn of terminators) {
      assert.ok(!may(fn, { action: "ec2:TerminateInstances", resource: instance, context: theirs }), fn);
      assert.ok(!may(fn, { action: "ec2:TerminateInstances", resource: instance, context: {} }), fn);
      assert.ok(!may(fn, { action: "ec2:StopInstances", resource: instance, context: ours }), fn);
    }
  });

  it("lets only AcquireCapacity launch, only with this deployment's tag, passing only the engine's role to EC2", () => {
    const tagged = { "aws:RequestTag/spoteval-managed-by": managedBy };
    for (const fn of functions) {
      const launches = may(fn, { action: "ec2:CreateFleet", resource: fleet, context: tagged });
      assert.equal(launches, fn === "acquireCapacity", `${fn} ${launches ? "may" : "may not"} launch`);
      const passes = may(fn, {
        action: "iam:PassRole",
        resource: arnOf("EngineRole"),
        context: { "iam:PassedToService": "ec2.amazonaws.com" },
      });
      assert.equal(
        passes,
        fn === "acquireCapacity",
        `${fn} ${passes ? "may" : "may not"} pass the engine role`,
      );
    }
    for (const context of [{ "aws:RequestTag/spoteval-managed-by": "spoteval-prod" }, {}]) {
      assert.ok(!may("acquireCapacity", { action: "ec2:CreateFleet", resource: fleet, context }));
      assert.ok(!may("acquireCapacity", { action: "ec2:RunInstances", resource: instance, context }));
    }
    assert.ok(may("acquireCapacity", { action: "ec2:RunInstances", resource: instance, context: tagged }));
    assert.ok(
      !may("acquireCapacity", {
        action: "iam:PassRole",
        resource: arnOf("EngineRole"),
        context: { "iam:PassedToService": "lambda.amazonaws.com" },
      }),
    );
    assert.ok(
      !may("acquireCapacity", {
        action: "iam:PassRole",
        resource: `arn:${p}:iam::${a}:role/Admin`,
        context: { "iam:PassedToService": "ec2.amazonaws.com" },
      }),
    );
  });
});

describe("other powers, one holder each", () => {
  it("lets only the submitters start executions, and only of this state machine", () => {
    for (const fn of functions) {
      const starts = may(fn, { action: "states:StartExecution", resource: stateMachine });
      assert.equal(starts, submitters.includes(fn), `${fn} ${starts ? "may" : "may not"} start executions`);
      assert.ok(!may(fn, { action: "states:StartExecution", resource: `${stateMachine}-other` }));
    }
  });

  it("lets only RecordMetrics batch-write metrics, and only it and CollectShards read results files", () => {
    for (const fn of functions) {
      const batch = may(fn, { action: "dynamodb:BatchWriteItem", resource: table() });
      assert.equal(batch, fn === "recordMetrics", fn);
      const reads = may(fn, { action: "s3:GetObject", resource: `${bucket()}/runs/x/results.json` });
      assert.equal(reads, fn === "recordMetrics" || fn === "collectShards", fn);
    }
  });

  it("lets only CollectShards write a run's merged results, and nothing else of the run's files", () => {
    for (const fn of functions) {
      const merged = may(fn, { action: "s3:PutObject", resource: `${bucket()}/runs/x/merged/results.json` });
      assert.equal(merged, fn === "collectShards", fn);
    }
    for (const key of ["runs/x/attempt-1/results.json", "references/x.json", "runs/x/cache/a"])
      assert.ok(!may("collectShards", { action: "s3:PutObject", resource: `${bucket()}/${key}` }), key);
  });

  it("lets only the submitters that take s3:// models read the model buckets, and nothing else of S3", () => {
    const checkers = ["submitEvaluation", "registryWebhook", "onRegistryEvent"];
    for (const fn of functions) {
      for (const name of modelBuckets) {
        const heads = may(fn, {
          action: "s3:GetObject",
          resource: `arn:aws:s3:::${name}/llm/7/model.tar.gz`,
        });
        const lists = may(fn, { action: "s3:ListBucket", resource: `arn:aws:s3:::${name}` });
        assert.equal(heads, checkers.includes(fn), `${fn} ${heads ? "may" : "may not"} read ${name}`);
        assert.equal(lists, checkers.includes(fn), `${fn} ${lists ? "may" : "may not"} list ${name}`);
        assert.ok(!may(fn, { action: "s3:PutObject", resource: `arn:aws:s3:::${name}/x` }), fn);
      }
      assert.ok(!may(fn, { action: "s3:GetObject", resource: "arn:aws:s3:::acme-models-2/x" }), fn);
      assert.ok(!may(fn, { action: "s3:ListBucket", resource: "arn:aws:s3:::acme-models-2" }), fn);
    }
  });

  it("lets only the submitters look for compiled artifacts (list their keys), and nothing else of the bucket", () => {
    const compiled = { "s3:prefix": "compiled/vllm-neuron/k/spoteval-saved.json" };
    for (const fn of functions) {
      const looks = may(fn, { action: "s3:ListBucket", resource: bucket(), context: compiled });
      assert.equal(
        looks,
        submitters.includes(fn),
        `${fn} ${looks ? "may" : "may not"} look for compiled artifacts`,
      );
      if (!submitters.includes(fn)) continue;
      assert.ok(
        !may(fn, { action: "s3:ListBucket", resource: bucket(), context: { "s3:prefix": "runs/" } }),
        fn,
      );
      assert.ok(
        !may(fn, { action: "s3:ListBucket", resource: bucket() }),
        `${fn}: no listing of the whole bucket`,
      );
      assert.ok(!may(fn, { action: "s3:GetObject", resource: `${bucket()}/compiled/vllm-neuron/k/x` }), fn);
      assert.ok(!may(fn, { action: "s3:PutObject", resource: `${bucket()}/compiled/vllm-neuron/k/x` }), fn);
    }
  });

  it("lets no function reach another table, bucket or parameter", () => {
    for (const fn of functions) {
      const other = `arn:${p}:dynamodb:${r}:${a}:table/someone-elses`;
      assert.ok(!may(fn, { action: "dynamodb:GetItem", resource: other }), fn);
      assert.ok(!may(fn, { action: "s3:GetObject", resource: "arn:aws:s3:::someone-elses/x" }), fn);
      assert.ok(
        !may(fn, { action: "ssm:GetParameter", resource: `arn:${p}:ssm:${r}:${a}:parameter/prod/db` }),
        fn,
      );
    }
  });
});

describe("the engine's instance role", () => {
  const role = "EngineRole";
  const engine = (request: IamRequest) => mayRole(role, request);

  it("has no EC2, IAM or Step Functions power", () => {
    for (const action of [
      ...ec2Actions,
      "iam:PassRole",
      "iam:CreateRole",
      "iam:AttachRolePolicy",
      "sts:AssumeRole",
      ...statesActions,
    ]) {
      for (const resource of ["*", instance, stateMachine, arnOf("EngineRole")]) {
        for (const context of [ours, {}])
          assert.ok(!engine({ action, resource, context }), `engine may ${action}`);
      }
    }
  });

  it("reaches its bucket prefixes and nothing else of the bucket", () => {
    for (const key of ["runs/0123/results.json", "neuron-cache/llama/model.neff"]) {
      assert.ok(engine({ action: "s3:GetObject", resource: `${bucket()}/${key}` }), key);
      assert.ok(engine({ action: "s3:PutObject", resource: `${bucket()}/${key}` }), key);
    }
    assert.ok(!engine({ action: "s3:GetObject", resource: `${bucket()}/other/secret` }));
    assert.ok(!engine({ action: "s3:PutObject", resource: `${bucket()}/other/x` }));
    assert.ok(!engine({ action: "s3:DeleteObject", resource: `${bucket()}/runs/0123/results.json` }));
    assert.ok(
      engine({
        action: "s3:ListBucket",
        resource: bucket(),
        context: { "s3:prefix": "neuron-cache/llama/" },
      }),
    );
    assert.ok(!engine({ action: "s3:ListBucket", resource: bucket(), context: { "s3:prefix": "other/" } }));
    assert.ok(!engine({ action: "s3:ListBucket", resource: bucket() }), "no listing of the whole bucket");
  });

  it("reads the model buckets the deployment names, and writes none", () => {
    for (const name of modelBuckets) {
      assert.ok(
        engine({ action: "s3:GetObject", resource: `arn:aws:s3:::${name}/llama/model.safetensors` }),
        name,
      );
      assert.ok(engine({ action: "s3:ListBucket", resource: `arn:aws:s3:::${name}` }), name);
      assert.ok(!engine({ action: "s3:PutObject", resource: `arn:aws:s3:::${name}/x` }), name);
    }
    assert.ok(!engine({ action: "s3:GetObject", resource: "arn:aws:s3:::acme-models-2/x" }));
    assert.ok(!engine({ action: "s3:GetObject", resource: "arn:aws:s3:::someone-elses/x" }));
  });

  it("reads and updates items of the runs table only", () => {
    assert.ok(engine({ action: "dynamodb:GetItem", resource: table() }));
    assert.ok(engine({ action: "dynamodb:UpdateItem", resource: table() }));
    assert.ok(!engine({ action: "dynamodb:DeleteItem", resource: table() }));
    assert.ok(!engine({ action: "dynamodb:PutItem", resource: table() }));
    assert.ok(!engine({ action: "dynamodb:GetItem", resource: `arn:${p}:dynamodb:${r}:${a}:table/other` }));
  });

  it("puts events with its own source and detail-type (EngineFinished) on the default bus only", () => {
    const bus = `arn:${p}:events:${r}:${a}:event-bus/default`;
    const own = { "events:source": "spoteval.engine", "events:detail-type": "EngineFinished" };
    assert.ok(engine({ action: "events:PutEvents", resource: bus, context: own }));
    assert.ok(
      !engine({
        action: "events:PutEvents",
        resource: bus,
        context: { ...own, "events:detail-type": "ModelRegistered" },
      }),
      "no other detail-type: the engine cannot start runs through the registry rule",
    );
    assert.ok(
      !engine({ action: "events:PutEvents", resource: bus, context: { "events:source": "aws.ec2" } }),
    );
    assert.ok(!engine({ action: "events:PutEvents", resource: bus }));
    assert.ok(
      !engine({
        action: "events:PutEvents",
        resource: `arn:${p}:events:${r}:${a}:event-bus/other`,
        context: own,
      }),
    );
  });
});
