// Where evaluation capacity comes from: EC2 Spot in AWS, child processes on a laptop.
// Every provider tags what it creates with the run, so release can find all of it.

export type LaunchRequest = {
  runId: string;
  attempt: number;
  /** Same token, same launch: a retried caller never starts a second instance. */
  clientToken: string;
  /** 1 for the first launch of this attempt; each launch that found no capacity adds one (the ladder). */
  launchTry?: number;
  candidates: { instanceType: string; tpDegree: number }[];
  allowOnDemand: boolean;
  maxSpotPrice?: number;
  availabilityZones?: string[];
  /** The engine backend the run's plan chose: the instance runs that backend's image. */
  backend?: string;
  /** GiB the run's model takes on the root volume (core/root-volume.ts); the volume is sized from it. */
  modelDiskGiB?: number;
  /** What the engine on the instance needs to find its run (never a secret). */
  engineEnv: Record<string, string>;
};

export type Instance = {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  market: "spot" | "on-demand" | "local";
  pricePerHour: number;
  launchedAt: string;
};

export type InstanceState = {
  instanceId: string;
  state: "pending" | "running" | "shutting-down" | "terminated" | "stopped" | "unknown";
  /** Why it stopped, when it did: Spot reclaim, engine exit, user shutdown. */
  reason?: string;
  /** The run and attempt it was tagged with, when it is one of ours. */
  runId?: string;
  attempt?: number;
  /** A local instance waiting for a device of this machine: it has not started booting. */
  queue?: { ahead: number; waitingFor: string };
  /** When it started booting, if later than its launch (it waited in the queue first). */
  bootingSince?: string;
};

export type ManagedInstance = InstanceState & { runId: string; attempt: number; launchedAt: string };

export type ReleaseOptions = { except?: string[] };

export interface CapacityProvider {
  readonly name: string;
  launch(request: LaunchRequest): Promise<Instance>;
  describe(instanceIds: string[]): Promise<InstanceState[]>;
  /**
   * Terminate every instance tagged with the run, wait until they are gone, return their ids. `except`
   * spares instances that end on their own (a Spot-warned instance saving its cache before the reclaim).
   */
  releaseRun(runId: string, options?: ReleaseOptions): Promise<string[]>;
  listManaged(): Promise<ManagedInstance[]>;
}
