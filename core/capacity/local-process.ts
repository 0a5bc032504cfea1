// The local capacity provider: an "instance" is a child process running the engine runner,
// released by ending it. Same contract as EC2: tagged by run, idempotent by client token.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { setPriority } from "node:os";
import { CapacityUnavailable } from "../errors.ts";
import type {
  CapacityProvider,
  Instance,
  InstanceState,
  LaunchRequest,
  ManagedInstance,
  ReleaseOptions,
} from "./provider.ts";

type LocalInstance = Instance & {
  runId: string;
  attempt: number;
  child: ChildProcess;
  state: InstanceState["state"];
  reason?: string;
  exited: Promise<void>;
  output: string[];
};

export type LocalProcessOptions = {
  /** argv of the engine runner, e.g. [process.execPath, "engine/main.ts"]. */
  command: string[];
  /** Environment every instance gets (endpoints, table, bucket, backend); the request adds run and attempt. */
  env: Record<string, string>;
  cwd?: string;
  /** Called with each line the engine prints, for a local log. */
  onOutput?: (instanceId: string, line: string) => void;
};

const OUTPUT_LINES_KEPT = 200;

/**
 * Every local instance of this process, whichever provider launched it, as an account sees all its
 * EC2 instances: any provider can describe and release any of them, and a leak check sees them all.
 */
const instances = new Map<string, LocalInstance>();
const byToken = new Map<string, string>();

export class LocalProcessProvider implements CapacityProvider {
  readonly name = "local";

  /** Instances whose process is still alive, across all providers in this process. */
  static alive(): ManagedInstance[] {
    return [...instances.values()].filter((i) => i.state !== "terminated").map(managed);
  }

  /** End every local instance (the local stack is stopping). */
  static async releaseEverything(): Promise<void> {
    await Promise.all(
      [...instances.values()].map((i) => terminate(i, "local stack stopped", "SIGTERM", true)),
    );
  }

  readonly options: LocalProcessOptions;

  constructor(options: LocalProcessOptions) {
    this.options = options;
  }

  async launch(request: LaunchRequest): Promise<Instance> {
    const existing = byToken.get(request.clientToken);
    if (existing) return publicView(instances.get(existing) as LocalInstance);
    const candidate = request.candidates[0];
    if (!candidate) throw new CapacityUnavailable("no instance type to launch");
    const instanceId = `i-local${randomBytes(6).toString("hex")}`;
    const [file, ...args] = this.options.command;
    const child = spawn(file, args, {
      cwd: this.options.cwd,
      env: {
        PATH: process.env.PATH ?? "",
        ...this.options.env,
        ...request.engineEnv,
        INSTANCE_ID: instanceId,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Instances are other machines in AWS; here they share the cores with the control plane, so they
    // run at the lowest priority (nice 19) and cannot starve the handlers: at nice 10, 100 engines
    // booting at once still left the handlers a tenth of the CPU and past their 30 s deadline.
    if (child.pid) {
      try {
        setPriority(child.pid, 19);
      } catch {
        // not permitted here: run at the same priority
      }
    }
    const instance: LocalInstance = {
      instanceId,
      instanceType: candidate.instanceType,
      availabilityZone: "local",
      market: "local",
      pricePerHour: 0,
      launchedAt: new Date().toISOString(),
      runId: request.runId,
      attempt: request.attempt,
      child,
      state: "running",
      output: [],
      exited: new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          instance.state = "terminated";
          instance.reason ??= signal ? `ended by ${signal}` : `engine exited with code ${code}`;
          resolve();
        });
        child.once("error", (error) => {
          instance.state = "terminated";
          instance.reason = `engine could not start: ${error.message}`;
          resolve();
        });
      }),
    };
    for (const stream of [child.stdout, child.stderr]) {
      let partial = "";
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        const lines = (partial + chunk).split(/\r|\n/);
        partial = lines.pop() ?? "";
        for (const line of lines) {
          if (!line) continue;
          instance.output.push(line);
          if (instance.output.length > OUTPUT_LINES_KEPT) instance.output.shift();
          this.options.onOutput?.(instanceId, line);
        }
      });
    }
    instances.set(instanceId, instance);
    byToken.set(request.clientToken, instanceId);
    return publicView(instance);
  }

  async describe(instanceIds: string[]): Promise<InstanceState[]> {
    return instanceIds.map((instanceId) => {
      const instance = instances.get(instanceId);
      return instance ? managed(instance) : { instanceId, state: "unknown", reason: "no such instance" };
    });
  }

  async releaseRun(runId: string, options: ReleaseOptions = {}): Promise<string[]> {
    // Like EC2's release: only what still runs (shutting down or terminated is nothing to release).
    const mine = [...instances.values()].filter(
      (i) =>
        i.runId === runId &&
        i.state !== "terminated" &&
        i.state !== "shutting-down" &&
        !options.except?.includes(i.instanceId),
    );
    await Promise.all(mine.map((i) => terminate(i, "released by spoteval")));
    return mine.map((i) => i.instanceId);
  }

  async listManaged(): Promise<ManagedInstance[]> {
    return [...instances.values()].map(managed);
  }

  /** Like a Spot reclaim: the instance disappears without its engine finishing. */
  static async reclaim(instanceId: string): Promise<void> {
    const instance = instances.get(instanceId);
    if (instance) await terminate(instance, "Server.SpotInstanceTermination: reclaimed", "SIGKILL");
  }

  /** The process id behind a local instance (for tests of how it runs). */
  pidOf(instanceId: string): number | undefined {
    return instances.get(instanceId)?.child.pid;
  }

  output(instanceId: string): string[] {
    return [...(instances.get(instanceId)?.output ?? [])];
  }
}

/**
 * Like TerminateInstances: signal the instance and return once it is shutting down; it is killed
 * outright if still there after a grace period. `untilGone` waits for the process to exit.
 */
async function terminate(
  instance: LocalInstance,
  reason: string,
  signal: NodeJS.Signals = "SIGTERM",
  untilGone = false,
) {
  if (instance.state !== "terminated" && instance.state !== "shutting-down") {
    instance.reason ??= reason;
    instance.state = "shutting-down";
    instance.child.kill(signal);
    const timer = setTimeout(() => instance.child.kill("SIGKILL"), 5000);
    void instance.exited.then(() => clearTimeout(timer));
  }
  if (untilGone) await instance.exited;
}

const managed = (i: LocalInstance): ManagedInstance => ({
  instanceId: i.instanceId,
  state: i.state,
  runId: i.runId,
  attempt: i.attempt,
  launchedAt: i.launchedAt,
  ...(i.reason ? { reason: i.reason } : {}),
});

const publicView = (i: LocalInstance): Instance => ({
  instanceId: i.instanceId,
  instanceType: i.instanceType,
  availabilityZone: i.availabilityZone,
  market: i.market,
  pricePerHour: i.pricePerHour,
  launchedAt: i.launchedAt,
});
