// The local capacity provider: an "instance" is a child process running the engine runner,
// released by ending it. Same contract as EC2: tagged by run, idempotent by client token. With device
// slots (a real backend on this machine), each instance holds one slot while it runs; launches that
// find none free wait in a queue, as pending instances, instead of oversubscribing the devices.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { setPriority } from "node:os";
import * as z from "zod/mini";
import { CapacityUnavailable } from "../errors.ts";
import { forgetGroup, recordGroup } from "./process-records.ts";
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
  /** Absent while the instance waits in the queue for a device slot. */
  child?: ChildProcess;
  state: InstanceState["state"];
  reason?: string;
  exited: Promise<void>;
  markExited: () => void;
  output: string[];
  provider: LocalProcessProvider;
  engineEnv: Record<string, string>;
  slot?: DeviceSlot;
  bootingSince?: string;
};

/** One device of this machine a run can hold: a GPU, the NeuronCores, or the CPU. */
export const DeviceSlot = z.object({
  id: z.string(),
  /** What a queued run waits for, as a person reads it ("GPU 0", "the NeuronCores", "the CPU"). */
  label: z.string(),
  /** Environment that pins the engine to this slot (CUDA_VISIBLE_DEVICES, HF_DEVICE). */
  env: z.record(z.string(), z.string()),
});
export type DeviceSlot = z.infer<typeof DeviceSlot>;

export type LocalProcessOptions = {
  /** argv of the engine runner, e.g. [process.execPath, "engine/main.ts"]. */
  command: string[];
  /** Environment every instance gets (endpoints, table, bucket, backend); the request adds run and attempt. */
  env: Record<string, string>;
  cwd?: string;
  /** Called with each line the engine prints, for a local log. */
  onOutput?: (instanceId: string, line: string) => void;
  /** This machine's devices: one running instance per slot, the rest queued. Unset: no limit. */
  slots?: DeviceSlot[];
  /** Where to record each engine's process group, for the next stack to end what outlived this one. */
  recordsDir?: string;
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

  /** Launches waiting for a slot, oldest first. */
  private readonly queue: LocalInstance[] = [];
  private readonly busy = new Map<string, LocalInstance>();

  async launch(request: LaunchRequest): Promise<Instance> {
    const existing = byToken.get(request.clientToken);
    if (existing) return publicView(instances.get(existing) as LocalInstance);
    const candidate = request.candidates[0];
    if (!candidate) throw new CapacityUnavailable("no instance type to launch");
    const instanceId = `i-local${randomBytes(6).toString("hex")}`;
    let markExited = () => {};
    const instance: LocalInstance = {
      instanceId,
      instanceType: candidate.instanceType,
      availabilityZone: "local",
      market: "local",
      pricePerHour: 0,
      launchedAt: new Date().toISOString(),
      runId: request.runId,
      attempt: request.attempt,
      state: "pending",
      output: [],
      exited: new Promise<void>((resolve) => {
        markExited = resolve;
      }),
      markExited: () => markExited(),
      provider: this,
      engineEnv: request.engineEnv,
    };
    instances.set(instanceId, instance);
    byToken.set(request.clientToken, instanceId);
    this.queue.push(instance);
    this.startQueued();
    return publicView(instance);
  }

  /** Start queued instances while a slot is free (every one at once without slots). */
  private startQueued() {
    for (;;) {
      const next = this.queue[0];
      if (!next) return;
      const slot = this.options.slots?.find((s) => !this.busy.has(s.id));
      if (this.options.slots && !slot) return;
      this.queue.shift();
      this.start(next, slot);
    }
  }

  /** Where a queued instance stands, as describe reports it. */
  queued(instance: LocalInstance): InstanceState["queue"] {
    const ahead = this.queue.indexOf(instance) + this.busy.size;
    const devices = (this.options.slots ?? []).map((s) => s.label).join(", ");
    return { ahead, waitingFor: `${devices}: ${ahead} run${ahead === 1 ? "" : "s"} ahead` };
  }

  private dequeue(instance: LocalInstance) {
    const i = this.queue.indexOf(instance);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private start(instance: LocalInstance, slot: DeviceSlot | undefined) {
    const [file, ...args] = this.options.command;
    const child = spawn(file, args, {
      cwd: this.options.cwd,
      env: {
        PATH: process.env.PATH ?? "",
        ...this.options.env,
        ...slot?.env,
        ...instance.engineEnv,
        INSTANCE_ID: instance.instanceId,
      },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: release ends the engine and the harness it started, together.
      detached: true,
    });
    // Instances are other machines in AWS; here they share the cores with the control plane, so they
    // run at the lowest priority (nice 19) and cannot starve the handlers: at nice 10, 100 engines
    // booting at once still left the handlers a tenth of the CPU and past their 30 s deadline.
    const pid = child.pid;
    const { recordsDir } = this.options;
    if (pid) {
      reaper().watch(pid);
      if (recordsDir)
        void recordGroup(recordsDir, pid, instance.runId, instance.attempt).catch(() => undefined);
      try {
        setPriority(pid, 19);
      } catch {
        // not permitted here: run at the same priority
      }
    }
    instance.child = child;
    instance.state = "running";
    instance.bootingSince = new Date().toISOString();
    if (slot) {
      instance.slot = slot;
      this.busy.set(slot.id, instance);
    }
    const exited = () => {
      instance.state = "terminated";
      if (instance.slot && this.busy.get(instance.slot.id) === instance) this.busy.delete(instance.slot.id);
      // An instance that shut down has nothing left running: end what the engine left in its group.
      if (pid) void endGroup(pid).then(() => (recordsDir ? forgetGroup(recordsDir, pid) : undefined));
      instance.markExited();
      this.startQueued();
    };
    child.once("exit", (code, signal) => {
      instance.reason ??= signal ? `ended by ${signal}` : `engine exited with code ${code}`;
      exited();
    });
    child.once("error", (error) => {
      instance.reason = `engine could not start: ${error.message}`;
      exited();
    });
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
          this.options.onOutput?.(instance.instanceId, line);
        }
      });
    }
  }

  /** A queued instance leaves the queue without ever running. */
  cancelQueued(instance: LocalInstance, reason: string) {
    this.dequeue(instance);
    instance.reason ??= reason;
    instance.state = "terminated";
    instance.markExited();
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
    return instances.get(instanceId)?.child?.pid;
  }

  output(instanceId: string): string[] {
    return [...(instances.get(instanceId)?.output ?? [])];
  }
}

/**
 * Like TerminateInstances: signal the instance's process group (the engine and the harness it started)
 * and return once it is shutting down; the group is killed outright if still there after a grace
 * period. A queued instance simply leaves the queue. `untilGone` waits for the engine to exit.
 */
async function terminate(
  instance: LocalInstance,
  reason: string,
  signal: NodeJS.Signals = "SIGTERM",
  untilGone = false,
) {
  if (instance.state === "pending" && !instance.child) {
    instance.provider.cancelQueued(instance, reason);
  } else if (instance.state !== "terminated" && instance.state !== "shutting-down") {
    instance.reason ??= reason;
    instance.state = "shutting-down";
    const pid = instance.child?.pid;
    if (pid) {
      signalGroup(pid, signal);
      setTimeout(() => signalGroup(pid, "SIGKILL"), 5000).unref();
    }
  }
  if (untilGone) await instance.exited;
}

/** Signal a process group; says whether it was still there. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM what is left in a process group, SIGKILL it after 5 s; resolves once it is empty. */
async function endGroup(pgid: number): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  const deadline = Date.now() + 5000;
  while (signalGroup(pgid, 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  signalGroup(pgid, "SIGKILL");
}

/**
 * Engines outlive a stack that is killed outright (SIGKILL, a crash): nothing runs in the stack then.
 * The reaper is a separate small process that holds the other end of a pipe from this one; when the pipe
 * closes, whatever way this process ended, it ends every engine process group still registered.
 */
const REAPER_SOURCE = `
const groups = new Set();
const alive = (g) => { try { process.kill(-g, 0); return true; } catch { return false; } };
let partial = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  const lines = (partial + chunk).split("\\n");
  partial = lines.pop();
  for (const line of lines) {
    if (line[0] === "+") groups.add(Number(line.slice(1)));
  }
});
// A group is dropped once empty, so a process id the system reuses later is never signalled.
setInterval(() => { for (const g of groups) if (!alive(g)) groups.delete(g); }, 1000);
process.stdin.on("close", () => {
  for (const g of groups) try { process.kill(-g, "SIGTERM"); } catch {}
  const deadline = Date.now() + 5000;
  const check = setInterval(() => {
    const left = [...groups].filter(alive);
    if (left.length && Date.now() < deadline) return;
    for (const g of left) try { process.kill(-g, "SIGKILL"); } catch {}
    process.exit(0);
  }, 100);
});
`;

let reaperProcess: { watch: (pid: number) => void } | undefined;
function reaper() {
  if (reaperProcess) return reaperProcess;
  const child = spawn(process.execPath, ["-e", REAPER_SOURCE], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  child.unref();
  const pipe = child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  pipe?.unref?.();
  pipe?.on("error", () => undefined);
  const send = (line: string) => pipe?.write(`${line}\n`);
  reaperProcess = { watch: (pid) => send(`+${pid}`) };
  return reaperProcess;
}

const managed = (i: LocalInstance): ManagedInstance => {
  const queue = i.state === "pending" ? i.provider.queued(i) : undefined;
  return {
    instanceId: i.instanceId,
    state: i.state,
    runId: i.runId,
    attempt: i.attempt,
    launchedAt: i.launchedAt,
    ...(i.reason ? { reason: i.reason } : {}),
    ...(queue ? { queue, reason: `queued for ${queue.waitingFor}` } : {}),
    ...(i.bootingSince ? { bootingSince: i.bootingSince } : {}),
  };
};

const publicView = (i: LocalInstance): Instance => ({
  instanceId: i.instanceId,
  instanceType: i.instanceType,
  availabilityZone: i.availabilityZone,
  market: i.market,
  pricePerHour: i.pricePerHour,
  launchedAt: i.launchedAt,
});
