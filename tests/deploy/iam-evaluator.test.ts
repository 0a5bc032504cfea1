// The IAM evaluator the role tests rely on, checked against the rules and examples of AWS's IAM User
// Guide ("Policy evaluation logic", "IAM JSON policy elements: Condition operators", "Single-valued
// vs. multivalued context keys", "NotAction").
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { actionMatches, arnMatches, evaluate, type PolicyDocument } from "../support/iam.ts";

const policy = (...Statement: PolicyDocument["Statement"][]): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: Statement.flat(),
});
const bucketObject = "arn:aws:s3:::amzn-s3-demo-bucket/reports/q1.csv";

describe("evaluation logic: explicit deny, then allow, then implicit deny", () => {
  it("denies what no statement allows (implicit deny)", () => {
    const p = policy({
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::amzn-s3-demo-bucket/*",
    });
    assert.equal(evaluate([p], { action: "s3:PutObject", resource: bucketObject }), "ImplicitDeny");
    assert.equal(evaluate([], { action: "s3:GetObject", resource: bucketObject }), "ImplicitDeny");
  });

  it("lets an explicit deny in any policy override an allow in another", () => {
    const allow = policy({ Effect: "Allow", Action: "s3:*", Resource: "*" });
    const deny = policy({ Effect: "Deny", Action: "s3:DeleteObject", Resource: "*" });
    assert.equal(
      evaluate([allow, deny], { action: "s3:DeleteObject", resource: bucketObject }),
      "ExplicitDeny",
    );
    assert.equal(evaluate([allow, deny], { action: "s3:GetObject", resource: bucketObject }), "Allow");
  });

  it("Allow with NotAction allows everything but the listed actions (the user guide's iam:* example)", () => {
    const p = policy({ Effect: "Allow", NotAction: "iam:*", Resource: "*" });
    assert.equal(evaluate([p], { action: "s3:ListBucket", resource: "arn:aws:s3:::b" }), "Allow");
    assert.equal(
      evaluate([p], { action: "iam:CreateUser", resource: "arn:aws:iam::111122223333:user/x" }),
      "ImplicitDeny",
    );
  });

  it("Deny with NotResource denies everywhere but the listed resources", () => {
    const p = policy(
      { Effect: "Allow", Action: "s3:GetObject", Resource: "*" },
      { Effect: "Deny", Action: "s3:GetObject", NotResource: "arn:aws:s3:::amzn-s3-demo-bucket/*" },
    );
    assert.equal(evaluate([p], { action: "s3:GetObject", resource: bucketObject }), "Allow");
    assert.equal(evaluate([p], { action: "s3:GetObject", resource: "arn:aws:s3:::other/x" }), "ExplicitDeny");
  });
});

describe("Action and Resource wildcards", () => {
  it("matches actions with * and ?, case-insensitively", () => {
    assert.ok(actionMatches("s3:Get*", "s3:GetObject"));
    assert.ok(!actionMatches("s3:Get*", "s3:PutObject"));
    assert.ok(actionMatches("iam:*AccessKey*", "iam:CreateAccessKey"));
    assert.ok(actionMatches("ec2:Describe?nstances", "ec2:DescribeInstances"));
    assert.ok(actionMatches("S3:GETOBJECT", "s3:GetObject"));
    assert.ok(actionMatches("*", "states:StartExecution"));
    assert.ok(!actionMatches("ec2:*", "ec2messages:GetMessages"), "a prefix is a whole service name");
  });

  it("matches ARNs segment by segment, case-sensitively", () => {
    assert.ok(arnMatches("arn:aws:s3:::amzn-s3-demo-bucket/*", bucketObject));
    assert.ok(
      !arnMatches("arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket"),
      "not the bucket",
    );
    assert.ok(!arnMatches("arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket-2/x"));
    assert.ok(
      arnMatches(
        "arn:aws:ec2:*:111122223333:instance/*",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc",
      ),
    );
    assert.ok(
      !arnMatches(
        "arn:aws:ec2:*:111122223333:instance/*",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-0abc",
      ),
    );
    assert.ok(!arnMatches("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/x"));
    assert.ok(
      !arnMatches("arn:aws:iam::*", "arn:aws:s3:::bucket"),
      "a wildcard does not reach into the service",
    );
    assert.ok(arnMatches("*", "arn:aws:dynamodb:us-east-1:111122223333:table/t"));
    assert.ok(
      arnMatches(
        "arn:aws:dynamodb:us-east-1:111122223333:table/t/index/*",
        "arn:aws:dynamodb:us-east-1:111122223333:table/t/index/byModel",
      ),
    );
  });
});

describe("conditions", () => {
  const instance = "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc";
  const tagged = policy({
    Effect: "Allow",
    Action: "ec2:TerminateInstances",
    Resource: "*",
    Condition: { StringEquals: { "aws:ResourceTag/Project": "DataAnalytics" } },
  });

  it("StringEquals on a resource tag: the tag must be present and equal (case-sensitive value)", () => {
    const ask = (context: Record<string, string>) =>
      evaluate([tagged], { action: "ec2:TerminateInstances", resource: instance, context });
    assert.equal(ask({ "aws:ResourceTag/Project": "DataAnalytics" }), "Allow");
    assert.equal(ask({ "aws:ResourceTag/Project": "dataanalytics" }), "ImplicitDeny");
    assert.equal(ask({}), "ImplicitDeny", "a missing key makes the condition false");
    assert.equal(
      ask({ "aws:resourcetag/project": "DataAnalytics" }),
      "Allow",
      "key names are case-insensitive",
    );
  });

  it("a negated operator is true when the key is missing (the user guide's rule)", () => {
    const p = policy({
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: { StringNotEquals: { "aws:RequestedRegion": ["us-east-1", "us-west-2"] } },
    });
    assert.equal(evaluate([p], { action: "s3:GetObject", resource: bucketObject }), "ExplicitDeny");
    assert.equal(
      evaluate([p], {
        action: "s3:GetObject",
        resource: bucketObject,
        context: { "aws:RequestedRegion": "us-east-1" },
      }),
      "ImplicitDeny",
    );
  });

  it("values of one key are ORed, keys and operators are ANDed (the user guide's department/role example)", () => {
    const p = policy({
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: {
        StringEquals: {
          "aws:PrincipalTag/department": ["finance", "hr", "legal"],
          "aws:PrincipalTag/role": ["audit", "security"],
        },
        StringLike: { "s3:prefix": "reports/*" },
      },
    });
    const ask = (context: Record<string, string>) =>
      evaluate([p], { action: "s3:GetObject", resource: bucketObject, context });
    const base = {
      "aws:PrincipalTag/department": "hr",
      "aws:PrincipalTag/role": "audit",
      "s3:prefix": "reports/q1",
    };
    assert.equal(ask(base), "Allow");
    assert.equal(ask({ ...base, "aws:PrincipalTag/department": "sales" }), "ImplicitDeny");
    assert.equal(ask({ ...base, "aws:PrincipalTag/role": "dev" }), "ImplicitDeny");
    assert.equal(ask({ ...base, "s3:prefix": "private/q1" }), "ImplicitDeny");
  });

  it("...IfExists is true when the key is missing (the user guide's instance type example)", () => {
    const p = policy({
      Effect: "Allow",
      Action: "ec2:*",
      Resource: "*",
      Condition: { StringLikeIfExists: { "ec2:InstanceType": ["t1.*", "t2.*", "m3.*"] } },
    });
    const ask = (context: Record<string, string>) =>
      evaluate([p], { action: "ec2:RunInstances", resource: instance, context });
    assert.equal(ask({}), "Allow");
    assert.equal(ask({ "ec2:InstanceType": "t2.micro" }), "Allow");
    assert.equal(ask({ "ec2:InstanceType": "m5.large" }), "ImplicitDeny");
  });

  it("Null tests whether a key is present", () => {
    const p = policy({
      Effect: "Deny",
      Action: "ec2:RunInstances",
      Resource: "*",
      Condition: { Null: { "aws:RequestTag/CostCenter": "true" } },
    });
    assert.equal(evaluate([p], { action: "ec2:RunInstances", resource: instance }), "ExplicitDeny");
    assert.equal(
      evaluate([p], {
        action: "ec2:RunInstances",
        resource: instance,
        context: { "aws:RequestTag/CostCenter": "cc-1" },
      }),
      "ImplicitDeny",
    );
  });

  it("ForAllValues is true for a missing key; ForAnyValue is false for it (the user guide's warning)", () => {
    const all = policy({
      Effect: "Allow",
      Action: "dynamodb:GetItem",
      Resource: "*",
      Condition: { "ForAllValues:StringEquals": { "dynamodb:Attributes": ["ID", "Message", "Tags"] } },
    });
    const ask = (p: PolicyDocument, context: Record<string, string[] | string> = {}) =>
      evaluate([p], {
        action: "dynamodb:GetItem",
        resource: "arn:aws:dynamodb:us-east-1:111122223333:table/t",
        context,
      });
    assert.equal(ask(all, { "dynamodb:Attributes": ["ID", "Message"] }), "Allow");
    assert.equal(ask(all, { "dynamodb:Attributes": ["ID", "Secret"] }), "ImplicitDeny");
    assert.equal(ask(all), "Allow", "no key: vacuously true");
    const any = policy({
      Effect: "Allow",
      Action: "dynamodb:GetItem",
      Resource: "*",
      Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["environment", "cost-center"] } },
    });
    assert.equal(ask(any, { "aws:TagKeys": ["owner", "environment"] }), "Allow");
    assert.equal(ask(any, { "aws:TagKeys": ["owner"] }), "ImplicitDeny");
    assert.equal(ask(any), "ImplicitDeny");
  });

  it("ArnLike and Bool", () => {
    const p = policy(
      {
        Effect: "Allow",
        Action: "sns:Publish",
        Resource: "*",
        Condition: { ArnLike: { "aws:SourceArn": "arn:aws:s3:::amzn-s3-demo-*" } },
      },
      { Effect: "Deny", Action: "*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
    );
    const topic = "arn:aws:sns:us-east-1:111122223333:t";
    const ask = (context: Record<string, string>) =>
      evaluate([p], { action: "sns:Publish", resource: topic, context });
    assert.equal(
      ask({ "aws:SourceArn": "arn:aws:s3:::amzn-s3-demo-bucket", "aws:SecureTransport": "true" }),
      "Allow",
    );
    assert.equal(
      ask({ "aws:SourceArn": "arn:aws:s3:::other", "aws:SecureTransport": "true" }),
      "ImplicitDeny",
    );
    assert.equal(
      ask({ "aws:SourceArn": "arn:aws:s3:::amzn-s3-demo-bucket", "aws:SecureTransport": "false" }),
      "ExplicitDeny",
    );
  });

  it("refuses to guess: an operator it does not implement is an error, not a silent false", () => {
    const p = policy({
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { IpAddress: { "aws:SourceIp": "203.0.113.0/24" } },
    });
    assert.throws(() => evaluate([p], { action: "s3:GetObject", resource: bucketObject }), /IpAddress/);
  });
});
