// Test-only faults around the engine, injected from the outside: a backend wrapper and a store wrapper
// that the chaos suite and the state machine path tests use. The product's runner has no fault branch.
import { writeFile } from "node:fs/promises";
import type { RunStore } from "../../core/run-store.ts";
import type { Backend, BackendContext, BackendResult } from "../../engine/backends/backend.ts";

export const engineFaults = ["fail", "crash", "hang", "bad-results"] as const;
export type EngineFault = (typeof engineFaults)[number];

/** "fault" or "fault@attempt": the fault for this attempt, if any. */
export function faultFor(spec: string | undefined, attempt: number): EngineFault | undefined {
  if (!spec) return undefined;
  const [fault, only] = spec.split("@");
  if (!engineFaults.includes(fault as EngineFault)) throw new Error(`unknown engine fault: ${spec}`);
  return only === undefined || Number(only) === attempt ? (fault as EngineFault) : undefined;
}

/**
 * A backend that misbehaves as a real one can: its process dies (crash), its harness errors (fail), it
 * hangs in a device call (hang: see also silentHeartbeats), or it leaves a results file that is not JSON.
 * Crash and fail strike after 1.5 heartbeats, so the pipeline has seen the attempt running.
 */
export class FaultyBackend implements Backend {
  readonly name: string;
  readonly inner: Backend;
  readonly fault: EngineFault;
  readonly afterMs: number;
  constructor(inner: Backend, fault: EngineFault, heartbeatSeconds: number) {
    this.inner = inner;
    this.name = inner.name;
    this.fault = fault;
    this.afterMs = heartbeatSeconds * 1500;
  }

  async run(ctx: BackendContext): Promise<BackendResult> {
    const aborted = () =>
      new Promise<never>((_, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true }),
      );
    switch (this.fault) {
      case "crash":
        setTimeout(() => process.exit(137), this.afterMs).unref();
        return this.inner.run(ctx);
      case "fail": {
        const own = new AbortController();
        ctx.signal.addEventListener("abort", () => own.abort(ctx.signal.reason), { once: true });
        const failed = new Promise<never>((_, reject) =>
          setTimeout(() => {
            own.abort(new Error("simulated harness error"));
            reject(new Error("harness error: simulated harness error"));
          }, this.afterMs).unref(),
        );
        return Promise.race([this.inner.run({ ...ctx, signal: own.signal }), failed]);
      }
      case "hang":
        // A harness stuck in a collective or a device call: no progress until it is killed.
        return aborted();
      case "bad-results": {
        const result = await this.inner.run(ctx);
        await writeFile(result.resultsFile, "{ not json");
        return result;
      }
    }
  }
}

/** A store through which the engine's heartbeats get lost (a hung engine writes none); all else passes. */
export function silentHeartbeats(store: RunStore): RunStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== "updateAttempt") return Reflect.get(target, key, receiver);
      const update = target.updateAttempt.bind(target);
      return (async (...args: Parameters<RunStore["updateAttempt"]>) => {
        const [, , , patch] = args;
        if (!("status" in patch)) return true;
        return update(...args);
      }) as RunStore["updateAttempt"];
    },
  });
}
