// Published prices, us-east-1, used to put the pipeline's own cost next to the instance's.
// Step Functions Standard: $0.025 per 1,000 state transitions. Lambda on arm64: $0.0000133334 per
// GB-second and $0.20 per million requests. DynamoDB on-demand (after the November 2024 cut): $0.625 per
// million write request units, $0.125 per million read request units. inf2 on-demand from DESIGN.md's
// reference figures; Spot "seen 70-87% below that".
export const prices = {
  transition: 0.025 / 1000,
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  dynamoWrite: 0.625 / 1e6,
  dynamoRead: 0.125 / 1e6,
  onDemandPerHour: {
    "inf2.xlarge": 0.7582,
    "inf2.8xlarge": 1.9679,
    "inf2.24xlarge": 6.4906,
    "inf2.48xlarge": 12.9813,
  } as Record<string, number>,
};

/** Spot at 70% below on-demand: the least of the discounts DESIGN.md quotes. */
export const SPOT_DISCOUNT = 0.7;
export const spotPerHour = (instanceType: string) =>
  (prices.onDemandPerHour[instanceType] as number) * (1 - SPOT_DISCOUNT);

/** Memory the functions run with (serverless.yml): CheckEngine 128 MB, the others 512 MB. */
export const CHECK_ENGINE_GB = 0.125;
export const OTHER_FUNCTION_GB = 0.5;
/** Billed duration assumed per invocation outside a watch (handlers take ~10-50 ms here). */
export const INVOCATION_SECONDS = 0.1;
export const HEARTBEAT_SECONDS = 30;

export type UsageOfRun = {
  transitions: number;
  lambdaInvocations: number;
  checks: number;
  watchSeconds: number;
  instanceSeconds: number;
};

/**
 * What a run costs in AWS besides its instance: transitions, Lambda requests and duration (watches at
 * CheckEngine's memory), DynamoDB (a heartbeat write and run read every 30 s, ~3 reads per check, one
 * read per second of watch, ~15 pipeline writes).
 */
export function orchestrationCost(u: UsageOfRun) {
  const heartbeats = u.instanceSeconds / HEARTBEAT_SECONDS;
  const stepFunctions = u.transitions * prices.transition;
  const lambda =
    u.lambdaInvocations * prices.lambdaRequest +
    ((u.lambdaInvocations - u.checks) * INVOCATION_SECONDS * OTHER_FUNCTION_GB +
      (u.checks * INVOCATION_SECONDS + u.watchSeconds) * CHECK_ENGINE_GB) *
      prices.lambdaGbSecond;
  const dynamo =
    (heartbeats + 15) * prices.dynamoWrite + (heartbeats + 3 * u.checks + u.watchSeconds) * prices.dynamoRead;
  return { stepFunctions, lambda, dynamo, total: stepFunctions + lambda + dynamo };
}
