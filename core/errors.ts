// Typed errors. An error's `name` is the exact string the state machine's ErrorEquals matches,
// and `statusCode` is the one HTTP status it maps to.

export class SpotevalError extends Error {
  statusCode = 500;
  /** Extra, safe-to-show detail for HTTP problem responses. */
  details?: unknown;
}

export class InvalidRequest extends SpotevalError {
  override name = "InvalidRequest";
  override statusCode = 400;
  constructor(message: string, details?: unknown) {
    super(message);
    this.details = details;
  }
}

export class Unauthorized extends SpotevalError {
  override name = "Unauthorized";
  override statusCode = 401;
}

export class Forbidden extends SpotevalError {
  override name = "Forbidden";
  override statusCode = 403;
}

export class NotFound extends SpotevalError {
  override name = "NotFound";
  override statusCode = 404;
}

export class Conflict extends SpotevalError {
  override name = "Conflict";
  override statusCode = 409;
}

/** The model fits no instance the request allows: a 4xx at submit time, never a failed run later. */
export class ModelDoesNotFit extends SpotevalError {
  override name = "ModelDoesNotFit";
  override statusCode = 422;
}

/** An s3:// model location that holds no model or that this deployment cannot read: found at submit. */
export class ModelNotReadable extends SpotevalError {
  override name = "ModelNotReadable";
  override statusCode = 422;
}

/** No Spot (or allowed on-demand) capacity right now; the state machine retries with backoff. */
export class CapacityUnavailable extends SpotevalError {
  override name = "CapacityUnavailable";
  override statusCode = 503;
}

/**
 * An AWS API refused the call for its request rate (EC2's RequestLimitExceeded) after the SDK's own
 * retries: nothing happened, so the state machine retries the step later with jittered backoff.
 */
export class Throttled extends SpotevalError {
  override name = "Throttled";
  override statusCode = 503;
}

/** An account limit blocks the launch; retrying will not help, the message says which quota. */
export class QuotaExceeded extends SpotevalError {
  override name = "QuotaExceeded";
}

/** The launch request itself is wrong (bad subnet, AMI, template); fail fast. */
export class CapacityMisconfigured extends SpotevalError {
  override name = "CapacityMisconfigured";
}

/**
 * AWS throttled, failed on its side (5xx) or timed out, after the SDK's own retries: the state
 * machine retries the step (a launch keeps its client token, so a request that did land is not repeated).
 */
export class AwsUnavailable extends SpotevalError {
  override name = "AwsUnavailable";
  override statusCode = 503;
}

export class EngineFailed extends SpotevalError {
  override name = "EngineFailed";
}

export class ResultsInvalid extends SpotevalError {
  override name = "ResultsInvalid";
}

/** A write lost its race: the run moved on, or a late Lambda tried to move it backwards. */
export class StaleTransition extends SpotevalError {
  override name = "StaleTransition";
  override statusCode = 409;
}
