// Every route over real HTTP against the local stack: cancel, formats, model results, leaderboard,
// OpenAPI, read-only keys, webhooks and registry events, and a table of bad requests that must each
// get a 4xx problem and write nothing.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { hashKey } from "../../core/auth.ts";
import { s3Client } from "../../core/aws.ts";
import { sign } from "../../core/registry.ts";
import { runStore } from "../../functions/runtime.ts";
import { apiClient, sampleRequest, testStack, waitFor } from "../support/stack.ts";

const RW = "se_read_write_key";
const RO = "se_read_only_key";
const stack = await testStack({
  apiKey: RW,
  simulatedSeconds: 2,
  env: {
    API_KEY_HASHES: `${hashKey(RW)}:rw,${hashKey(RO)}:ro`,
    HF_WEBHOOK_SECRET: "hub-secret",
    REGISTRY_WEBHOOK_SECRET: "registry-secret",
    WATCHED_MODELS: "org/watched",
    DEFAULT_TASKS: "gsm8k",
    CALLBACK_SECRET: "callback-secret",
    // The receiver below, by name: the allowlist is the only way to a loopback address.
    CALLBACK_ALLOWED_HOSTS: "localhost",
  },
});
const api = stack.api;
const readOnly = apiClient(stack.urls.API, RO);
after(() => stack.stop());

const allRuns = async () => (await runStore().listRuns({ limit: 1000 })).runs;
const finished = (runId: string) =>
  waitFor(`run ${runId} to end`, async () => {
    const r = await runStore().getRun(runId);
    return r && ["SUCCEEDED", "FAILED", "CANCELLED"].includes(r.status) ? r : undefined;
  });
const submit = async (model: string, extra: Record<string, unknown> = {}) => {
  const res = await api("/evaluations", { method: "POST", json: sampleRequest(model, extra) });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.runId as string;
};

describe("cancel", () => {
  it("cancels a running run: capacity released, CANCELLED; cancelling again is 409", async () => {
    const runId = await submit("org/to-cancel");
    await waitFor("the engine to run", async () =>
      (await runStore().listAttempts(runId))[0]?.heartbeatAt ? true : undefined,
    );
    const res = await api(`/evaluations/${runId}`, { method: "DELETE" });
    assert.equal(res.status, 202);
    assert.equal(res.body.cancelRequested, true);
    const run = await finished(runId);
    assert.equal(run.status, "CANCELLED");
    const again = await api(`/evaluations/${runId}`, { method: "DELETE" });
    assert.equal(again.status, 409);
    assert.equal((await api("/evaluations/0000000000aaaaaaaaaaaaaaaa", { method: "DELETE" })).status, 404);
  });
});

describe("results in every format, per model, and ranked", () => {
  it("answers JSON, CSV and markdown by ?format= or Accept", async () => {
    const runId = await submit("org/formats");
    await finished(runId);
    const csv = await api(`/evaluations/${runId}?format=csv`);
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    assert.match(csv.body, /^task,is_group,version,filter,n_shot,metric,value,stderr,higher_is_better/);
    const md = await api(`/evaluations/${runId}`, { headers: { accept: "text/markdown" } });
    assert.match(md.body, /\|Tasks\|Version\|/);
    const js = await api(`/evaluations/${runId}`);
    assert.equal((js.body.metrics as unknown[]).length, 2);
    const weighted = await api(`/evaluations/${runId}`, {
      headers: { accept: "application/json, text/csv;q=0.1" },
    });
    assert.match(weighted.headers.get("content-type") ?? "", /^application\/json/, "q-values honoured");
  });

  it("lists every finished run of a model with its metrics, newest first", async () => {
    const a = await submit("org/model-results");
    await finished(a);
    const b = await submit("org/model-results", { limit: 20 });
    await finished(b);
    const res = await api(`/models/${encodeURIComponent("org/model-results")}/results`);
    assert.equal(res.status, 200);
    const runs = res.body.runs as unknown as { runId: string; metrics: unknown[] }[];
    assert.deepEqual(
      runs.map((r) => r.runId),
      [b, a],
    );
    assert.ok(runs.every((r) => r.metrics.length === 2));
    const csv = await api(`/models/${encodeURIComponent("org/model-results")}/results?format=csv`);
    assert.equal(csv.body.trim().split("\n").length, 5, "header and 2 metrics per run");
    assert.match(csv.body, /^run_id,task,/);
  });

  it("ranks the latest finished run of each model by the metric", async () => {
    const ids = [await submit("org/board-a"), await submit("org/board-b"), await submit("org/board-c")];
    for (const id of ids) await finished(id);
    const res = await api("/leaderboard?task=gsm8k&metric=exact_match&filter=strict-match");
    const rows = res.body.rows as unknown as {
      rank: number;
      model: string;
      value: number;
      simulated: boolean;
    }[];
    const ours = rows.filter((r) => r.model.startsWith("org/board-"));
    assert.equal(ours.length, 3);
    const values = rows.map((r) => r.value);
    assert.deepEqual(
      values,
      [...values].sort((x, y) => y - x),
      "higher is better: descending",
    );
    assert.deepEqual(
      rows.map((r) => r.rank),
      rows.map((_, i) => i + 1),
    );
    assert.ok(rows.every((r) => r.simulated));
    const md = await api("/leaderboard?task=gsm8k&metric=exact_match&filter=strict-match&format=markdown");
    assert.match(md.body, /^\|rank\|model\|value\|stderr\|/);
  });

  it("pages every list route with an opaque cursor and a bounded limit", async () => {
    const model = "org/paged";
    const ids = [await submit(model), await submit(model), await submit(model)];
    for (const id of ids) await finished(id);
    const walk = async (path: string, field: string, key = "runId") => {
      const seen: string[] = [];
      let next: string | undefined;
      let pages = 0;
      do {
        const res = await api(
          `${path}${path.includes("?") ? "&" : "?"}limit=2${next ? `&cursor=${next}` : ""}`,
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const items = res.body[field] as unknown as Record<string, string>[];
        assert.ok(items.length <= 2);
        seen.push(...items.map((i) => i[key] as string));
        next = res.body.next as string | undefined;
        pages++;
      } while (next && pages < 50);
      return seen;
    };
    const m = encodeURIComponent(model);
    assert.deepEqual(await walk(`/evaluations?model=${m}`, "items"), [...ids].reverse());
    assert.deepEqual(await walk(`/models/${m}/results`, "runs"), [...ids].reverse());
    const board = await walk(
      "/leaderboard?task=gsm8k&metric=exact_match&filter=strict-match",
      "rows",
      "model",
    );
    assert.equal(board.filter((x) => x === model).length, 1, "one row per model across pages");
    assert.equal(new Set(board).size, board.length);
    assert.equal((await api("/evaluations?cursor=bm90LWEtY3Vyc29y")).status, 400);
    assert.equal((await api(`/models/${m}/results?limit=101`)).status, 400);
  });

  it("serves the OpenAPI document without a key", async () => {
    const res = await fetch(`${stack.urls.API}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: { EvaluationRequest: { properties: object } } };
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(
      doc.paths["/evaluations"] && doc.paths["/leaderboard"] && doc.paths["/models/{modelId}/results"],
    );
    assert.ok("model" in doc.components.schemas.EvaluationRequest.properties);
  });
});

describe("security", () => {
  it("lets a read-only key read but not submit or cancel", async () => {
    assert.equal((await readOnly("/evaluations")).status, 200);
    const post = await readOnly("/evaluations", { method: "POST", json: sampleRequest("org/ro") });
    assert.equal(post.status, 403);
    assert.equal(
      (await readOnly("/evaluations/0000000000aaaaaaaaaaaaaaaa", { method: "DELETE" })).status,
      403,
    );
  });

  it("answers each of these bad requests with a 4xx problem that says what to fix, and writes nothing", async () => {
    const before = (await allRuns()).length;
    const ok = sampleRequest("org/fine");
    const post = (json: unknown, headers: Record<string, string> = {}) => ({ method: "POST", json, headers });
    const cases: [string, string, RequestInit & { json?: unknown }, number][] = [
      ["no body", "/evaluations", { method: "POST" }, 400],
      ["malformed JSON", "/evaluations", { method: "POST", body: "{" }, 400],
      ["JSON array", "/evaluations", post([ok]), 400],
      ["JSON string", "/evaluations", post("gsm8k"), 400],
      [
        "form body",
        "/evaluations",
        { method: "POST", body: "a=b", headers: { "content-type": "application/x-www-form-urlencoded" } },
        400,
      ],
      ["unknown top-level field", "/evaluations", post({ ...ok, priority: 1 }), 400],
      ["unknown model field", "/evaluations", post({ ...ok, model: { id: "org/m", token: "x" } }), 400],
      ["unknown capacity field", "/evaluations", post({ ...ok, capacity: { spot: true } }), 400],
      ["missing model", "/evaluations", post({ tasks: ["gsm8k"] }), 400],
      ["model not an object", "/evaluations", post({ ...ok, model: "org/m" }), 400],
      ["empty model id", "/evaluations", post({ ...ok, model: { id: "" } }), 400],
      ["model id without org", "/evaluations", post({ ...ok, model: { id: "justname" } }), 400],
      ["model id traversal", "/evaluations", post({ ...ok, model: { id: "../../etc/passwd" } }), 400],
      ["model id with spaces", "/evaluations", post({ ...ok, model: { id: "org/my model" } }), 400],
      ["model id with shell", "/evaluations", post({ ...ok, model: { id: "org/m;rm -rf" } }), 400],
      ["s3 location uppercase bucket", "/evaluations", post({ ...ok, model: { id: "s3://Bucket/x" } }), 400],
      ["bad revision", "/evaluations", post({ ...ok, model: { id: "org/m", revision: "main;ls" } }), 400],
      ["bad dtype", "/evaluations", post({ ...ok, model: { id: "org/m", dtype: "int4" } }), 400],
      ["negative parameters", "/evaluations", post({ ...ok, model: { id: "org/m", parameters: -1 } }), 400],
      [
        "parameters as string",
        "/evaluations",
        post({ ...ok, model: { id: "org/m", parameters: "7b" } }),
        400,
      ],
      ["no tasks nor suite", "/evaluations", post({ model: { id: "org/m" } }), 400],
      ["tasks and suite", "/evaluations", post({ ...ok, suite: "open-llm-leaderboard-v1" }), 400],
      ["unknown suite", "/evaluations", post({ model: { id: "org/m" }, suite: "mine" }), 400],
      ["empty task list", "/evaluations", post({ ...ok, tasks: [] }), 400],
      ["task with slash", "/evaluations", post({ ...ok, tasks: ["../x"] }), 400],
      ["task with comma", "/evaluations", post({ ...ok, tasks: ["gsm8k,mmlu"] }), 400],
      ["task not a string", "/evaluations", post({ ...ok, tasks: [5] }), 400],
      [
        "too many tasks",
        "/evaluations",
        post({ ...ok, tasks: Array.from({ length: 65 }, (_, i) => `t${i}`) }),
        400,
      ],
      ["fractional n-shot", "/evaluations", post({ ...ok, numFewshot: 1.5 }), 400],
      ["negative n-shot", "/evaluations", post({ ...ok, numFewshot: -1 }), 400],
      ["zero limit", "/evaluations", post({ ...ok, limit: 0 }), 400],
      ["batch size 0", "/evaluations", post({ ...ok, batchSize: 0 }), 400],
      ["batch size text", "/evaluations", post({ ...ok, batchSize: "auto" }), 400],
      ["harness revision not a commit", "/evaluations", post({ ...ok, harness: { revision: "main" } }), 400],
      [
        "unknown instance type",
        "/evaluations",
        post({ ...ok, capacity: { instanceTypes: ["p5.48xlarge"] } }),
        400,
      ],
      [
        "bad availability zone",
        "/evaluations",
        post({ ...ok, capacity: { availabilityZones: ["mars-1a"] } }),
        400,
      ],
      ["negative max price", "/evaluations", post({ ...ok, capacity: { maxSpotPrice: -0.1 } }), 400],
      ["callback not a URL", "/evaluations", post({ ...ok, callbackUrl: "not a url" }), 400],
      ["callback ftp", "/evaluations", post({ ...ok, callbackUrl: "ftp://example.com/x" }), 400],
      [
        "callback http://127.0.0.1/hook",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://127.0.0.1/hook" }),
        400,
      ],
      [
        "callback http://2130706433/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://2130706433/" }),
        400,
      ],
      [
        "callback http://0177.0.0.1/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://0177.0.0.1/" }),
        400,
      ],
      [
        "callback http://0x7f.0.0.1/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://0x7f.0.0.1/" }),
        400,
      ],
      ["callback http://[::1]/", "/evaluations", post({ ...ok, callbackUrl: "http://[::1]/" }), 400],
      [
        "callback http://[::ffff:127.0.0.1]/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://[::ffff:127.0.0.1]/" }),
        400,
      ],
      [
        "callback http://169.254.169.254/latest/meta-data/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://169.254.169.254/latest/meta-data/" }),
        400,
      ],
      [
        "callback http://[::ffff:a9fe:a9fe]/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://[::ffff:a9fe:a9fe]/" }),
        400,
      ],
      ["callback http://10.0.0.1/", "/evaluations", post({ ...ok, callbackUrl: "http://10.0.0.1/" }), 400],
      [
        "callback http://172.16.0.1/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://172.16.0.1/" }),
        400,
      ],
      [
        "callback http://192.168.0.1/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://192.168.0.1/" }),
        400,
      ],
      [
        "callback http://100.64.0.1/",
        "/evaluations",
        post({ ...ok, callbackUrl: "http://100.64.0.1/" }),
        400,
      ],
      ["callback http://[fd00::1]/", "/evaluations", post({ ...ok, callbackUrl: "http://[fd00::1]/" }), 400],
      ["callback http://[fe80::1]/", "/evaluations", post({ ...ok, callbackUrl: "http://[fe80::1]/" }), 400],
      ["callback http://224.0.0.1/", "/evaluations", post({ ...ok, callbackUrl: "http://224.0.0.1/" }), 400],
      ["callback http://0.0.0.0/", "/evaluations", post({ ...ok, callbackUrl: "http://0.0.0.0/" }), 400],
      ["callback http://[::]/", "/evaluations", post({ ...ok, callbackUrl: "http://[::]/" }), 400],
      [
        "callback https://user:pw@example.com/",
        "/evaluations",
        post({ ...ok, callbackUrl: "https://user:pw@example.com/" }),
        400,
      ],
      ["label value not a string", "/evaluations", post({ ...ok, labels: { team: 1 } }), 400],
      ["label key with space", "/evaluations", post({ ...ok, labels: { "my team": "x" } }), 400],
      ["oversized body", "/evaluations", post({ ...ok, labels: { a: "x".repeat(70_000) } }), 400],
      ["bad idempotency key", "/evaluations", post(ok, { "idempotency-key": "has space" }), 400],
      [
        "model too large for any instance",
        "/evaluations",
        post({ ...ok, model: { id: "org/m", parameters: 1e12 } }),
        422,
      ],
      [
        "model too large for pinned types",
        "/evaluations",
        post({
          ...ok,
          model: { id: "org/m", parameters: 70e9 },
          capacity: { instanceTypes: ["inf2.xlarge"] },
        }),
        422,
      ],
      ["no key", "/evaluations", { method: "POST", json: ok, headers: { authorization: "" } }, 401],
      [
        "basic auth",
        "/evaluations",
        { method: "POST", json: ok, headers: { authorization: "Basic dTpw" } },
        401,
      ],
      ["bad run id", "/evaluations/not-a-run", {}, 400],
      ["bad run id on cancel", "/evaluations/NOT0000000000000000000000A", { method: "DELETE" }, 400],
      ["bad status filter", "/evaluations?status=DONE", {}, 400],
      ["bad limit", "/evaluations?limit=1000", {}, 400],
      ["model and status together", "/evaluations?model=org/m&status=QUEUED", {}, 400],
      ["forged cursor", "/evaluations?cursor=eyJQSyI6MX0", {}, 400],
      ["bad model id in path", "/models/not%20a%20model/results", {}, 400],
      ["leaderboard without task", "/leaderboard?metric=acc", {}, 400],
      ["leaderboard bad metric", "/leaderboard?task=gsm8k&metric=a%20b", {}, 400],
      ["unknown format", "/leaderboard?task=gsm8k&metric=acc&format=xml", {}, 400],
    ];
    assert.ok(cases.length >= 40);
    for (const [what, path, init, status] of cases) {
      const res = await api(path, init);
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      assert.match(res.headers.get("content-type") ?? "", /application\/problem\+json/, what);
      assert.equal(typeof res.body.detail, "string", what);
      assert.ok(
        !/stack|at .*\.ts:\d+/.test(res.body.detail as string),
        `${what}: no internals in the message`,
      );
    }
    assert.equal((await allRuns()).length, before, "no request above wrote a run");
  });
});

describe("callbacks", () => {
  it("names why a callback target is refused at submit", async () => {
    for (const [url, why] of [
      ["http://169.254.169.254/latest/meta-data/", /link-local/],
      ["http://0x7f.0.0.1/", /loopback/],
      ["http://[::ffff:10.0.0.1]/", /private/],
      ["http://localhost.:9/", /loopback|does not resolve/],
    ] as const) {
      const res = await api("/evaluations", {
        method: "POST",
        json: sampleRequest("org/m", { callbackUrl: url }),
      });
      assert.equal(res.status, 400, url);
      assert.match(res.body.detail as string, why, url);
    }
  });

  it("POSTs the signed summary when the run ends, and GET /evaluations/{id} shows the delivery", async () => {
    const got: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        got.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const port = (receiver.address() as AddressInfo).port;
      const runId = await submit("org/callback", { callbackUrl: `http://localhost:${port}/done` });
      const run = await finished(runId);
      assert.equal(run.status, "SUCCEEDED");
      const shown = await waitFor("the delivery to be recorded", async () => {
        const res = await api(`/evaluations/${runId}`);
        const callback = res.body.callback as { url: string; deliveries: { outcome: string }[] } | undefined;
        return callback?.deliveries.length ? callback : undefined;
      });
      assert.equal(shown.url, `http://localhost:${port}/done`);
      assert.deepEqual(
        shown.deliveries.map((d) => d.outcome),
        ["delivered"],
      );
      assert.equal(got.length, 1);
      const summary = JSON.parse(got[0].body);
      assert.equal(summary.runId, runId);
      assert.equal(summary.status, "SUCCEEDED");
      assert.equal(summary.metrics.length, 2);
      assert.equal(typeof summary.costUsd, "number");
      assert.equal(
        got[0].headers["x-spoteval-signature"],
        sign("callback-secret", got[0].headers["x-spoteval-timestamp"] as string, got[0].body),
      );
    } finally {
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});

describe("webhooks and registry events", () => {
  const hub = (sha: string, repo = "org/watched") => ({
    event: { action: "update", scope: "repo.content" },
    repo: { type: "model", name: repo, headSha: sha },
    updatedRefs: [{ ref: "refs/heads/main", oldSha: "0", newSha: sha }],
  });
  const hook = (body: unknown, secret = "hub-secret") =>
    fetch(`${stack.urls.API}/webhooks/huggingface`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-webhook-secret": secret },
      body: JSON.stringify(body),
    });

  it("starts one run per new main commit of a watched Hub repo, pinned to it", async () => {
    assert.equal((await hook(hub("abc123"), "wrong")).status, 401);
    const first = await hook(hub("abc123"));
    assert.equal(first.status, 202);
    const { runId } = (await first.json()) as { runId: string };
    const again = await hook(hub("abc123"));
    assert.equal(again.status, 200, "a redelivered webhook starts nothing new");
    assert.equal(((await again.json()) as { runId: string }).runId, runId);
    const ignored = await hook(hub("def456", "org/not-watched"));
    assert.deepEqual(await ignored.json(), { ignored: "org/not-watched is not watched" });
    const run = await runStore().mustGetRun(runId);
    assert.equal(run.spec.model.revision, "abc123");
    assert.deepEqual(
      run.spec.tasks.map((t) => t.name),
      ["gsm8k"],
      "the deployment's default tasks",
    );
  });

  it("accepts a signed registry webhook once, and refuses bad or replayed signatures", async () => {
    const body = JSON.stringify({ model: { id: "org/registry-hook" }, tasks: ["gsm8k"], limit: 10 });
    const send = (timestamp: string, signature: string) =>
      fetch(`${stack.urls.API}/webhooks/registry`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-spoteval-timestamp": timestamp,
          "x-spoteval-signature": signature,
        },
        body,
      });
    const now = String(Math.floor(Date.now() / 1000));
    assert.equal((await send(now, sign("wrong", now, body))).status, 401);
    const old = String(Math.floor(Date.now() / 1000) - 600);
    assert.equal(
      (await send(old, sign("registry-secret", old, body))).status,
      401,
      "outside the 5-minute window",
    );
    const ok = await send(now, sign("registry-secret", now, body));
    assert.equal(ok.status, 202);
    const again = await send(now, sign("registry-secret", now, body));
    assert.equal(((await again.json()) as { created: boolean }).created, false);
    assert.equal((await allRuns()).filter((r) => r.spec.model.id === "org/registry-hook").length, 1);
  });

  it("starts exactly one run per SageMaker approval and per ModelRegistered event, however often delivered", async () => {
    // The package is there: a submit checks an s3:// model before it records a run.
    await s3Client().send(new CreateBucketCommand({ Bucket: "models-bucket" }));
    await s3Client().send(
      new PutObjectCommand({ Bucket: "models-bucket", Key: "llm/3/model.tar.gz", Body: "a package" }),
    );
    const approval = {
      id: "3b2c7d1e-0000-4000-8000-000000000001",
      source: "aws.sagemaker",
      "detail-type": "SageMaker Model Package State Change",
      detail: {
        ModelPackageArn: "arn:aws:sagemaker:us-east-1:123456789012:model-package/llm/3",
        ModelPackageGroupName: "llm",
        ModelApprovalStatus: "Approved",
        InferenceSpecification: { Containers: [{ ModelDataUrl: "s3://models-bucket/llm/3/model.tar.gz" }] },
        CustomerMetadataProperties: { "spoteval:tasks": "gsm8k", "spoteval:parameters": "7000000000" },
      },
    };
    const registered = {
      id: "evt-0001",
      source: "acme.registry",
      "detail-type": "ModelRegistered",
      detail: { model: { id: "org/registered" }, tasks: ["gsm8k"], limit: 5 },
    };
    for (const event of [approval, approval, registered, registered]) {
      const res = await api("/_local/events", { method: "POST", json: event });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const runs = await allRuns();
    assert.equal(runs.filter((r) => r.spec.model.id === "s3://models-bucket/llm/3/model.tar.gz").length, 1);
    assert.equal(runs.filter((r) => r.spec.model.id === "org/registered").length, 1);
    const rejected = await api("/_local/events", {
      method: "POST",
      json: { ...registered, id: "evt-2", detail: { model: { id: "bad id" } } },
    });
    assert.match(JSON.stringify(rejected.body), /InvalidRequest|valid evaluation/);
  });
});
