// What an EC2 launch error means, decided by its error code alone (never by its message): no capacity
// (retry, climb the ladder), an account quota or a bad launch request (fail the run at once, saying
// what to change), or a passing fault of the service (retry with the same client token).
import {
  AwsUnavailable,
  CapacityMisconfigured,
  CapacityUnavailable,
  QuotaExceeded,
  type SpotevalError,
  Throttled,
} from "../errors.ts";

/** "No capacity right now": retried with backoff, each retry a rung further down the ladder. */
export const CAPACITY_CODES = new Set([
  "InsufficientInstanceCapacity",
  "InsufficientCapacity",
  "UnfulfillableCapacity",
  "MaxSpotInstanceCountExceeded",
  "SpotMaxPriceTooLow",
  "InsufficientHostCapacity",
  "InsufficientReservedInstanceCapacity",
]);

export const QUOTA_CODES = new Set(["VcpuLimitExceeded", "InstanceLimitExceeded", "MaxFleetCountExceeded"]);

/** The launch request itself is wrong: template, subnet, AMI, security group, profile, permissions. */
export const CONFIGURATION_CODES = new Set([
  "InvalidLaunchTemplateId.NotFound",
  "InvalidLaunchTemplateId.Malformed",
  "InvalidLaunchTemplateId.VersionNotFound",
  "InvalidLaunchTemplateName.NotFoundException",
  "InvalidLaunchTemplateName.MalformedException",
  "InvalidSubnetID.NotFound",
  "InvalidSubnetID.Malformed",
  "InvalidSubnet",
  "InvalidAMIID.NotFound",
  "InvalidAMIID.Malformed",
  "InvalidAMIID.Unavailable",
  "InvalidGroup.NotFound",
  "InvalidSecurityGroupID.NotFound",
  "InvalidBlockDeviceMapping",
  "InvalidInstanceType",
  "InvalidFleetConfiguration",
  "InvalidParameter",
  "InvalidParameterValue",
  "InvalidParameterCombination",
  "MissingParameter",
  "Unsupported",
  "UnsupportedOperation",
  "UnauthorizedOperation",
  "AuthFailure",
  "OptInRequired",
  "PendingVerification",
]);

/** EC2's request-rate refusals (token buckets per API and account): nothing was done, try later. */
export const THROTTLE_CODES = new Set([
  "RequestLimitExceeded",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
]);

/** Throttling, the service's own faults and timeouts: what the SDK retried and may still clear up. */
export const TRANSIENT_CODES = new Set([
  ...THROTTLE_CODES,
  "InternalError",
  "InternalFailure",
  "ServiceUnavailable",
  "Unavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
]);

export type LaunchError = { code: string; message: string; serverFault?: boolean };

/**
 * One error for a launch's errors. A quota anywhere wins (nothing else will launch either); then
 * all-capacity; then any configuration code; then throttling and 5xx (`serverFault`: the SDK's
 * `$fault`, so an unlisted 5xx code counts too). Anything else keeps its own code as its name: it
 * fails the run as what it is, not as a misconfiguration.
 */
export function classifyLaunchErrors(errors: LaunchError[], what: string): SpotevalError | Error {
  const codes = [...new Set(errors.map((e) => e.code))];
  const detail = errors.map((e) => `${e.code}: ${e.message}`).join("; ");
  const transient = (e: LaunchError) => TRANSIENT_CODES.has(e.code) || e.serverFault === true;
  if (!codes.length) return new AwsUnavailable(`EC2 launched nothing and gave no reason (${what}); retrying`);
  const quota = codes.find((c) => QUOTA_CODES.has(c));
  if (quota) {
    const market = what.startsWith("on-demand")
      ? "Running On-Demand Inf instances"
      : "All Inf Spot Instance Requests";
    return new QuotaExceeded(
      `${quota}: ${detail}. Raise the EC2 service quota "${market}" (vCPUs) in this region: inf2.xlarge needs 4, inf2.48xlarge 192.`,
    );
  }
  if (codes.every((c) => CAPACITY_CODES.has(c))) return new CapacityUnavailable(`no ${what}: ${detail}`);
  if (codes.some((c) => CONFIGURATION_CODES.has(c))) {
    return new CapacityMisconfigured(
      `the launch request was refused (${detail}). Check the deploy parameters: subnets, the AMI SSM parameter, the launch template and the instance profile.`,
    );
  }
  if (codes.every((c) => THROTTLE_CODES.has(c)))
    return new Throttled(`EC2 refused the launch for request rate (${detail}); retrying later`);
  if (errors.every((e) => transient(e) || CAPACITY_CODES.has(e.code))) {
    return new AwsUnavailable(
      `EC2 did not answer the launch (${detail}); retrying with the same client token`,
    );
  }
  const unknown = new Error(`EC2 refused the launch: ${detail}`);
  unknown.name = codes.find((c) => !CAPACITY_CODES.has(c) && !TRANSIENT_CODES.has(c)) ?? codes[0];
  return unknown;
}

/** An SDK exception as a launch error: its name is the service's error code. */
export function launchErrorOf(error: unknown): LaunchError {
  const e = error as Error & { $fault?: string; code?: string };
  return {
    code: e.name && e.name !== "Error" ? e.name : (e.code ?? "Unknown"),
    message: e.message,
    serverFault: e.$fault === "server",
  };
}

/**
 * Any EC2 call: a refusal for request rate that outlasted the SDK's retries becomes Throttled, which
 * the state machine retries with a long backoff instead of failing the run (npm run bench, figure 6).
 */
export function throttledOr(error: unknown, action: string): unknown {
  const code = (error as Error).name;
  return THROTTLE_CODES.has(code) ? new Throttled(`EC2 ${action}: ${code}, retried later`) : error;
}
