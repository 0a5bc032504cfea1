// The Lambda bundles as serverless.yml builds them: the schema plugin (scripts/esbuild-plugins.cjs)
// must not change a byte on the wire nor a field of a parsed answer, and every bundle stays small.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { projectRoot } from "../../local/stack.ts";
import { bundleLambda } from "../../scripts/lambda-bundle.ts";

const run = promisify(execFile);
const RUN = "01jx0000000000000000000000";
const xml = (action: string, body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>${body}</${action}Response>`;
const tags = `<tagSet><item><key>spoteval-managed-by</key><value>spoteval-test</value></item><item><key>spoteval-run-id</key><value>${RUN}</value></item><item><key>spoteval-attempt</key><value>1</value></item></tagSet>`;
const instance = (state: string) =>
  `<item><instanceId>i-0abc</instanceId><instanceType>inf2.xlarge</instanceType><launchTime>2026-11-28T10:00:00.000Z</launchTime><placement><availabilityZone>us-east-1a</availabilityZone></placement><instanceState><code>16</code><name>${state}</name></instanceState>${tags}</item>`;
const answers: Record<string, string> = {
  DescribeSubnets: `<subnetSet><item><subnetId>subnet-1</subnetId><availabilityZone>us-east-1a</availabilityZone></item></subnetSet>`,
  CreateFleet: `<fleetId>fleet-1</fleetId><errorSet/><fleetInstanceSet><item><instanceIds><item>i-0abc</item></instanceIds><instanceType>inf2.xlarge</instanceType><lifecycle>spot</lifecycle><launchTemplateAndOverrides><overrides><instanceType>inf2.xlarge</instanceType><subnetId>subnet-1</subnetId><availabilityZone>us-east-1a</availabilityZone></overrides></launchTemplateAndOverrides></item></fleetInstanceSet>`,
  DescribeSpotPriceHistory: `<spotPriceHistorySet><item><instanceType>inf2.xlarge</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>0.227500</spotPrice><timestamp>2026-11-28T09:00:00.000Z</timestamp><availabilityZone>us-east-1a</availabilityZone></item></spotPriceHistorySet>`,
  DescribeInstances: `<reservationSet><item><reservationId>r-1</reservationId><instancesSet>${instance("running")}</instancesSet></item></reservationSet>`,
  TerminateInstances: `<instancesSet><item><instanceId>i-0abc</instanceId><currentState><code>32</code><name>shutting-down</name></currentState><previousState><code>16</code><name>running</name></previousState></item></instancesSet>`,
};

let endpoint = "";
const requests: string[] = [];
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => {
    body += c;
  });
  req.on("end", () => {
    // DescribeSpotPriceHistory asks from "now": the one field that differs between two runs.
    requests.push(body.replace(/&StartTime=[^&]*/, "&StartTime=(now)"));
    const action = new URLSearchParams(body).get("Action") ?? "";
    res.writeHead(answers[action] ? 200 : 400, { "content-type": "text/xml" });
    res.end(
      answers[action]
        ? xml(action, answers[action])
        : "<Response><Errors><Error><Code>Unknown</Code></Error></Errors></Response>",
    );
  });
});
let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "spoteval-bundle-"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
after(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

async function callsThrough(plugins: boolean) {
  const { outfile, bytes } = await bundleLambda(
    projectRoot,
    join(projectRoot, "tests/fixtures/lambda-bundle/ec2-calls.ts"),
    {
      outfile: join(dir, `ec2-calls.${plugins ? "plugins" : "plain"}.mjs`),
      plugins,
    },
  );
  requests.length = 0;
  const { stdout } = await run(process.execPath, [outfile], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_EC2: endpoint,
    },
  });
  return { bytes, requests: [...requests], output: JSON.parse(stdout) };
}

test("the schema plugin shrinks the EC2 bundle and changes no request and no parsed answer", async () => {
  const plain = await callsThrough(false);
  const slim = await callsThrough(true);
  assert.deepEqual(
    plain.requests.map((r) => new URLSearchParams(r).get("Action")),
    [
      "DescribeSubnets",
      "CreateFleet",
      "DescribeSpotPriceHistory",
      "DescribeInstances",
      "DescribeInstances",
      "TerminateInstances",
    ],
  );
  assert.match(plain.requests[1], /SpotOptions\.AllocationStrategy=price-capacity-optimized/);
  assert.deepEqual(slim.requests, plain.requests);
  assert.deepEqual(slim.output, plain.output);
  assert.equal(slim.output.launched.instanceId, "i-0abc");
  assert.equal(slim.output.launched.pricePerHour, 0.2275);
  assert.deepEqual(slim.output.released, ["i-0abc"]);
  assert.ok(
    slim.bytes < plain.bytes / 2,
    `bundle with the plugin ${slim.bytes} B, without ${plain.bytes} B: the EC2 shapes were not dropped`,
  );
});
