// Callback delivery against a real HTTP receiver on 127.0.0.1 (on the allowlist, as a local receiver
// must be) and a real store (dynalite): signed, retried with backoff for a bounded time, redirects not
// followed, a slow receiver cut off, a name that turns inward between submit and send refused, and
// every try recorded on the run.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type CallbackDeps, deliverCallback } from "../../core/callback.ts";
import type { CallbackPolicy } from "../../core/callback-target.ts";
import { newRunId } from "../../core/ids.ts";
import { verifySignature } from "../../core/registry.ts";
import type { Run } from "../../core/run-store.ts";
import { EvaluationRequest, toRunSpec } from "../../core/schemas.ts";
import { testStore } from "../support/dynamo.ts";

const store = testStore();
const SECRET = "callback-secret";

type Received = { path: string; headers: IncomingMessage["headers"]; body: string };
const received: Received[] = [];
/** What the receiver does per path: an answer per try (the last one repeats). */
const behaviour: Record<string, ((res: ServerResponse) => void)[]> = {};
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => {
    body += c;
  });
  req.on("end", () => {
    const path = req.url ?? "/";
    received.push({ path, headers: req.headers, body });
    const plan = behaviour[path] ?? [(r) => r.writeHead(204).end()];
    const tries = received.filter((x) => x.path === path).length;
    plan[Math.min(tries, plan.length) - 1](res);
  });
});
let base: string;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const dns: Record<string, string[]> = {};
const policy: CallbackPolicy = {
  schemes: ["https", "http"],
  allowedHosts: ["127.0.0.1"],
  resolve: async (host) => dns[host] ?? [],
};
const deps = (extra: Partial<CallbackDeps> = {}): CallbackDeps => ({
  store: store(),
  policy,
  secret: SECRET,
  backoffMs: 10,
  ...extra,
});

async function finishedRun(callbackUrl: string): Promise<Run> {
  const spec = toRunSpec(EvaluationRequest.parse({ model: { id: "org/cb" }, tasks: ["gsm8k"], callbackUrl }));
  const now = new Date().toISOString();
  const run: Run = {
    runId: newRunId(Date.now()),
    status: "QUEUED",
    version: 1,
    spec,
    createdAt: now,
    updatedAt: now,
    attempts: 0,
  };
  await store().createRun(run);
  return store().transition(run.runId, "FAILED", {
    reason: "EngineFailed: harness error",
    costUsd: 0.42,
  });
}

describe("callback delivery", () => {
  it("POSTs the run's summary once, signed like the registry webhook, and records it on the run", async () => {
    const run = await finishedRun(`${base}/ok`);
    const deliveries = await deliverCallback(deps(), run.runId);
    assert.deepEqual(
      deliveries.map((d) => [d.outcome, d.status]),
      [["delivered", 204]],
    );
    const [got] = received.filter((r) => r.path === "/ok");
    const summary = JSON.parse(got.body);
    assert.equal(summary.runId, run.runId);
    assert.equal(summary.status, "FAILED");
    assert.equal(summary.reason, "EngineFailed: harness error");
    assert.equal(summary.costUsd, 0.42);
    assert.deepEqual(summary.metrics, []);
    verifySignature(
      {
        timestamp: got.headers["x-spoteval-timestamp"] as string,
        signature: got.headers["x-spoteval-signature"] as string,
      },
      got.body,
      SECRET,
    );
    assert.equal((await store().getRun(run.runId))?.callbackDeliveries?.length, 1);
    await deliverCallback(deps(), run.runId);
    assert.equal(
      received.filter((r) => r.path === "/ok").length,
      1,
      "a retried FinishRun sends nothing again",
    );
  });

  it("retries 5xx and 429 with backoff until the receiver takes it", async () => {
    behaviour["/flaky"] = [
      (r) => r.writeHead(503).end(),
      (r) => r.writeHead(429).end(),
      (r) => r.writeHead(200).end(),
    ];
    const run = await finishedRun(`${base}/flaky`);
    const deliveries = await deliverCallback(deps(), run.runId);
    assert.deepEqual(
      deliveries.map((d) => [d.outcome, d.status]),
      [
        ["failed", 503],
        ["failed", 429],
        ["delivered", 200],
      ],
    );
    const stored = (await store().getRun(run.runId))?.callbackDeliveries ?? [];
    assert.equal(stored.length, 3);
  });

  it("stops retrying when the time budget is spent", async () => {
    behaviour["/down"] = [(r) => r.writeHead(500).end()];
    const run = await finishedRun(`${base}/down`);
    const deliveries = await deliverCallback(
      deps({ backoffMs: 100, budgetMs: 1_000, timeoutMs: 200 }),
      run.runId,
    );
    assert.ok(deliveries.length >= 2 && deliveries.length <= 4, `bounded tries: ${deliveries.length}`);
    assert.ok(deliveries.every((d) => d.outcome === "failed"));
  });

  it("does not follow a redirect, nor retry a 4xx", async () => {
    behaviour["/moved"] = [
      (r) => r.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end(),
    ];
    behaviour["/gone"] = [(r) => r.writeHead(410).end()];
    const moved = await finishedRun(`${base}/moved`);
    const [redirect] = await deliverCallback(deps(), moved.runId);
    assert.equal(redirect.outcome, "failed");
    assert.match(redirect.error ?? "", /redirect not followed/);
    assert.equal(received.filter((r) => r.path === "/moved").length, 1);
    const gone = await finishedRun(`${base}/gone`);
    assert.equal((await deliverCallback(deps(), gone.runId)).length, 1);
  });

  it("cuts off a receiver that does not answer within the timeout", async () => {
    behaviour["/slow"] = [() => undefined];
    const run = await finishedRun(`${base}/slow`);
    const deliveries = await deliverCallback(deps({ timeoutMs: 150, budgetMs: 400 }), run.runId);
    assert.ok(deliveries.length >= 1);
    assert.match(deliveries[0].error ?? "", /no answer within 0\.15 s/);
  });

  it("refuses at send time a name that now resolves inward (DNS rebinding), sending nothing", async () => {
    dns["rebind.example.com"] = ["93.184.216.34"]; // what it resolved to at submit
    const run = await finishedRun(`http://rebind.example.com:${new URL(base).port}/rebind`);
    dns["rebind.example.com"] = ["127.0.0.1"]; // and at send
    const deliveries = await deliverCallback(deps(), run.runId);
    assert.deepEqual(
      deliveries.map((d) => d.outcome),
      ["refused"],
    );
    assert.match(deliveries[0].error ?? "", /resolves to 127\.0\.0\.1, which is a loopback address/);
    assert.equal(received.filter((r) => r.path === "/rebind").length, 0);
    assert.equal((await store().getRun(run.runId))?.callbackDeliveries?.[0].outcome, "refused");
  });

  it("sends nothing for a run that is not final or has no callback", async () => {
    const spec = toRunSpec(
      EvaluationRequest.parse({ model: { id: "org/cb" }, tasks: ["gsm8k"], callbackUrl: `${base}/early` }),
    );
    const now = new Date().toISOString();
    const runId = newRunId(Date.now());
    await store().createRun({
      runId,
      status: "QUEUED",
      version: 1,
      spec,
      createdAt: now,
      updatedAt: now,
      attempts: 0,
    });
    assert.deepEqual(await deliverCallback(deps(), runId), []);
    assert.equal(received.filter((r) => r.path === "/early").length, 0);
  });
});
