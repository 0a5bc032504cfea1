// Test support: the real local stack on free ports, an API client, and polling (never a fixed sleep).
import { SFNClient } from "@aws-sdk/client-sfn";
import type { PipelineDeps } from "../../core/pipeline.ts";
import { artifactDeps, capacityDeps } from "../../functions/runtime.ts";
import { type Stack, type StackOptions, startStack } from "../../local/stack.ts";

/** Every dependency of every step, as the handlers build them from the environment the stack sets. */
export const pipelineDeps = (): PipelineDeps => ({ ...capacityDeps(), ...artifactDeps() });

/** The local stack on free ports, with an API client and a Step Functions client pointed at it. */
export async function testStack(
  options: StackOptions = {},
): Promise<Stack & { api: ReturnType<typeof apiClient>; sfn: SFNClient }> {
  const stack = await startStack({ port: 0, simulatedSeconds: 1, waitMs: 100, retryMs: 0, ...options });
  const sfn = localSfn(stack.urls.StepFunctions);
  return {
    ...stack,
    api: apiClient(stack.urls.API, stack.apiKey),
    sfn,
    stop: async () => {
      sfn.destroy();
      await stack.stop();
    },
  };
}

export const localSfn = (endpoint: string) =>
  new SFNClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });

/** The ARN of the execution of a run (executions are named after their run). */
export const executionArnOf = (stack: Stack, runId: string) =>
  `${stack.stateMachineArn.replace(":stateMachine:", ":execution:")}:${runId}`;

export function apiClient(base: string, key: string) {
  return async (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    const response = await fetch(`${base}${path}`, {
      ...rest,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...rest.headers },
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // markdown, csv or empty
    }
    return {
      status: response.status,
      headers: response.headers,
      body: body as Record<string, unknown> & unknown[] & string,
    };
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sampleRequest = (modelId: string, extra: Record<string, unknown> = {}) => ({
  model: { id: modelId, parameters: 7.24e9 },
  tasks: ["gsm8k"],
  numFewshot: 5,
  limit: 40,
  ...extra,
});
