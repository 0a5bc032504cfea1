// One virtual clock shared by many simulated runs, and the token buckets AWS throttles with.
//
// Every participant (a run's execution) does real work (the real handlers, dynalite, s3rver) and parks
// whenever it waits in virtual time: a Wait state, a retry's backoff, a Lambda's duration, an SDK retry.
// When every participant is parked, the clock jumps to the earliest wake-up and wakes everyone due then.
// Wake-ups are rounded up to whole seconds, so runs due in the same second do their real work together
// (AWS's token buckets refill per second anyway).

type Sleeper = { at: number; wake: () => void };

export class VirtualClock {
  /** Seconds since the epoch, virtual. */
  now: number;
  private active = 0;
  private readonly sleepers: Sleeper[] = [];

  constructor(start: number) {
    this.now = start;
  }

  /** A participant starts: the clock will not move until it parks or leaves. */
  join() {
    this.active++;
  }

  leave() {
    this.active--;
    this.advanceIfIdle();
  }

  sleep(seconds: number): Promise<void> {
    return this.until(this.now + seconds);
  }

  /** Park until virtual time `at` (rounded up to the next whole second). */
  until(at: number): Promise<void> {
    const due = Math.ceil(at);
    if (due <= this.now) return Promise.resolve();
    const woken = new Promise<void>((wake) => {
      let lo = 0;
      let hi = this.sleepers.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((this.sleepers[mid] as Sleeper).at <= due) lo = mid + 1;
        else hi = mid;
      }
      this.sleepers.splice(lo, 0, { at: due, wake });
    });
    this.active--;
    this.advanceIfIdle();
    return woken;
  }

  private advanceIfIdle() {
    if (this.active > 0 || !this.sleepers.length) return;
    const at = (this.sleepers[0] as Sleeper).at;
    this.now = Math.max(this.now, at);
    while (this.sleepers.length && (this.sleepers[0] as Sleeper).at <= at) {
      this.active++;
      (this.sleepers.shift() as Sleeper).wake();
    }
  }

  get parked() {
    return this.sleepers.length;
  }
}

/** AWS's token bucket: `capacity` tokens, `refillPerSecond` added back each second, one per call. */
export class TokenBucket {
  readonly name: string;
  readonly capacity: number;
  readonly refillPerSecond: number;
  private tokens: number;
  private at: number;
  private readonly clock: VirtualClock;
  /** Calls refused, and the first virtual time one was. */
  throttled = 0;
  firstThrottledAt?: number;
  /** Fewest tokens ever left, to say how close a bucket that never refused came. */
  lowest: number;

  constructor(clock: VirtualClock, name: string, capacity: number, refillPerSecond: number) {
    this.clock = clock;
    this.name = name;
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    this.tokens = capacity;
    this.lowest = capacity;
    this.at = clock.now;
  }

  take(): boolean {
    const now = this.clock.now;
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * this.refillPerSecond);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.lowest = Math.min(this.lowest, this.tokens);
      return true;
    }
    this.throttled++;
    this.firstThrottledAt ??= now;
    return false;
  }
}
