// A run's callback: when the run reaches its final state, its summary is POSTed to callbackUrl, signed
// as the registry webhook is (X-Spoteval-Timestamp, X-Spoteval-Signature), with a 5 s timeout per try,
// no redirect followed, and retries with backoff for a bounded time. The target is checked again
// before every try, after DNS resolution, and the connection goes to the address that was checked
// (a name that resolves elsewhere a moment later is not asked again). Every try is recorded on the run.
import type { RequestOptions } from "node:http";
import type { LookupFunction } from "node:net";
import { type CallbackPolicy, CallbackRefused, checkCallbackTarget } from "./callback-target.ts";
import { sign } from "./registry.ts";
import type { CallbackDelivery, Run, RunStore } from "./run-store.ts";
import { isFinal } from "./schemas.ts";
import { publicMetric } from "./views.ts";

export type CallbackDeps = {
  store: RunStore;
  policy: CallbackPolicy;
  /** Signs every callback; a deployment without it accepts no callbackUrl. */
  secret: string;
  /** Per try (5 s), and for all tries with their backoff (20 s, inside FinishRun's 30 s timeout). */
  timeoutMs?: number;
  budgetMs?: number;
  /** Backoff before try n+1: base * 2^(n-1) (1 s, 2 s, 4 s ...). */
  backoffMs?: number;
};

const TIMEOUT_MS = 5_000;
const BUDGET_MS = 20_000;
const BACKOFF_MS = 1_000;

/** What the receiver gets: the run's outcome, its metrics and cost, and parity when the run has it. */
export async function callbackSummary(store: RunStore, run: Run) {
  const metrics = run.status === "SUCCEEDED" ? await store.listMetrics(run.runId) : [];
  const parity = (run as Run & { parity?: unknown }).parity;
  return {
    runId: run.runId,
    status: run.status,
    reason: run.reason,
    ...(run.error ? { error: run.error } : {}),
    model: run.spec.model,
    tasks: run.spec.tasks,
    costUsd: run.costUsd,
    simulated: Boolean(run.simulated),
    metrics: metrics.map(publicMetric),
    ...(parity !== undefined ? { parity } : {}),
    finishedAt: run.updatedAt,
    labels: run.spec.labels,
    links: { self: `/evaluations/${run.runId}` },
  };
}

/**
 * Deliver the callback of a run that has ended, unless it has none or it was delivered already (a
 * retried FinishRun sends it once). Never throws for the receiver's sake: what happened is recorded.
 */
export async function deliverCallback(deps: CallbackDeps, runId: string): Promise<CallbackDelivery[]> {
  const run = await deps.store.getRun(runId);
  if (!run?.spec.callbackUrl || !isFinal(run.status)) return [];
  if (run.callbackDeliveries?.some((d) => d.outcome === "delivered")) return run.callbackDeliveries;
  const body = JSON.stringify(await callbackSummary(deps.store, run));
  const deliveries: CallbackDelivery[] = [...(run.callbackDeliveries ?? [])];
  const started = Date.now();
  const budget = deps.budgetMs ?? BUDGET_MS;
  const timeout = deps.timeoutMs ?? TIMEOUT_MS;
  for (let n = 1; ; n++) {
    const delivery = await tryOnce(deps, run.spec.callbackUrl, body, timeout);
    deliveries.push(delivery);
    await deps.store.recordCallbackDeliveries(runId, deliveries);
    if (delivery.outcome !== "failed" || !delivery.retry) break;
    const wait = (deps.backoffMs ?? BACKOFF_MS) * 2 ** (n - 1);
    if (Date.now() - started + wait + timeout > budget) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return deliveries;
}

async function tryOnce(deps: CallbackDeps, target: string, body: string, timeoutMs: number) {
  const at = new Date();
  const begun = Date.now();
  const done = (d: Omit<CallbackDelivery, "at" | "ms">): CallbackDelivery => ({
    at: at.toISOString(),
    ms: Date.now() - begun,
    ...d,
  });
  let checked: Awaited<ReturnType<typeof checkCallbackTarget>>;
  try {
    checked = await checkCallbackTarget(target, deps.policy);
  } catch (error) {
    if (error instanceof CallbackRefused)
      return done({ outcome: "refused", error: error.message, retry: false });
    throw error;
  }
  const timestamp = String(Math.floor(at.getTime() / 1000));
  try {
    const status = await post(checked.url, checked.addresses, body, timeoutMs, {
      "content-type": "application/json",
      "user-agent": "spoteval-callback",
      "x-spoteval-timestamp": timestamp,
      "x-spoteval-signature": sign(deps.secret, timestamp, body),
    });
    if (status >= 200 && status < 300) return done({ outcome: "delivered", status });
    if (status >= 300 && status < 400)
      return done({ outcome: "failed", status, error: "redirect not followed", retry: false });
    return done({
      outcome: "failed",
      status,
      error: `the receiver answered ${status}`,
      retry: status >= 500 || status === 408 || status === 429,
    });
  } catch (error) {
    return done({ outcome: "failed", error: (error as Error).message, retry: true });
  }
}

/** One POST to the checked addresses (never a fresh lookup), no redirects, the whole exchange within timeoutMs. */
async function post(
  url: URL,
  addresses: string[],
  body: string,
  timeoutMs: number,
  headers: Record<string, string>,
): Promise<number> {
  const checked = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  const pinned = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, checked);
    else callback(null, checked[0].address, checked[0].family);
  }) as unknown as LookupFunction;
  const options: RequestOptions = {
    method: "POST",
    headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
    lookup: pinned,
  };
  // Loaded when a callback is sent, not at every FinishRun's cold start (TLS is the heavy part).
  const { request: send } =
    url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise<number>((resolve, reject) => {
    const req = send(url, options, (res) => {
      res.resume(); // the answer's body is not read: only its status counts
      resolve(res.statusCode ?? 0);
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    req.on("error", reject);
    req.on("close", () => clearTimeout(timer));
    req.end(body);
  });
}
