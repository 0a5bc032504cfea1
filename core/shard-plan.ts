// Splitting a run's work into shards: longest work first (LPT) onto the least-loaded shard, per backend,
// then the shard count and instance type per backend: the least wall-clock within maxInstances, or the
// cheapest that meets a deadline. Pure arithmetic on estimated seconds; the planner supplies them.
import { InvalidRequest } from "./errors.ts";

/** Instances a run may use when neither the request nor the deployment says (a deployment parameter's default). */
export const DEFAULT_MAX_INSTANCES = 4;

/** One instance type a backend can use, and what each of its work items takes there. */
export type InstanceOption = {
  instanceType: string;
  /** Expected price per hour (Spot). */
  usdPerHour: number;
  /** Paid once per shard before any document is scored (compiling). */
  overheadHours: number;
  /** Seconds each work item takes on one instance of this type, in the items' order. */
  itemSeconds: number[];
};

export type BackendWork = { backend: string; options: InstanceOption[] };

export type Assignment = {
  backend: string;
  option: InstanceOption;
  /** Item indexes per shard, each shard's in the items' order. */
  shards: number[][];
  /** Each shard's hours (overhead plus its items). */
  hours: number[];
  wallHours: number;
  usd: number;
};

/**
 * Longest processing time first: items by descending seconds (ties: earlier item first) each onto the
 * shard with the least work so far (ties: the lower shard). Never more shards than items.
 */
export function lpt(seconds: number[], shards: number): number[][] {
  const k = Math.max(1, Math.min(shards, seconds.length));
  const order = seconds.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const load = new Array<number>(k).fill(0);
  const bins: number[][] = Array.from({ length: k }, () => []);
  for (const [s, i] of order) {
    const target = load.indexOf(Math.min(...load));
    load[target] += s;
    bins[target].push(i);
  }
  return bins.map((b) => b.sort((x, y) => x - y));
}

export function assign(backend: string, option: InstanceOption, shards: number): Assignment {
  const bins = lpt(option.itemSeconds, shards);
  const hours = bins.map(
    (b) => option.overheadHours + b.reduce((s, i) => s + option.itemSeconds[i], 0) / 3600,
  );
  return {
    backend,
    option,
    shards: bins,
    hours,
    wallHours: Math.max(...hours),
    usd: hours.reduce((s, h) => s + h * option.usdPerHour, 0),
  };
}

const EPSILON = 1e-9;
const instances = (plan: Assignment[]) => plan.reduce((n, a) => n + a.shards.length, 0);
const wall = (plan: Assignment[]) => Math.max(...plan.map((a) => a.wallHours));
const usd = (plan: Assignment[]) => plan.reduce((s, a) => s + a.usd, 0);
const better = (key: (p: Assignment[]) => number[]) => (a: Assignment[], b: Assignment[]) => {
  const [x, y] = [key(a), key(b)];
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i] - y[i]) > EPSILON) return x[i] < y[i];
  return false;
};

/** Every way to give each backend one instance type and 1..n shards, with at most maxInstances in all. */
function combinations(
  backends: BackendWork[],
  maxInstances: number,
  pick: (b: BackendWork) => InstanceOption[],
) {
  const out: Assignment[][] = [];
  // Each backend's assignments are computed once; the walk only combines them.
  const reserveOf = (i: number) => backends.length - i - 1;
  const most = maxInstances - (backends.length - 1);
  const choices = backends.map((b) =>
    pick(b).flatMap((option) =>
      Array.from({ length: Math.min(most, option.itemSeconds.length) }, (_, k) =>
        assign(b.backend, option, k + 1),
      ),
    ),
  );
  const walk = (i: number, left: number, chosen: Assignment[]) => {
    if (i === backends.length) return void out.push(chosen);
    for (const a of choices[i])
      if (a.shards.length <= left - reserveOf(i)) walk(i + 1, left - a.shards.length, [...chosen, a]);
  };
  walk(0, maxInstances, []);
  return out;
}

/** The option a single instance finishes cheapest on (ties: sooner): the planner's usual first choice. */
export function cheapestOption(b: BackendWork): InstanceOption {
  const whole = b.options.map((o) => assign(b.backend, o, 1));
  return whole.reduce((best, a) => (better((p) => [usd(p), wall(p)])([a], [best]) ? a : best)).option;
}

/**
 * The shards of a run. Without a deadline: each backend on the instance type its single-instance plan
 * ranks first, on as many instances (at most maxInstances in all) as shorten the run; ties go to the
 * cheaper, then the fewer. With deadlineMinutes: the cheapest shard counts and instance types whose
 * slowest shard ends within it (ties: sooner, then fewer), or a 400 naming the fastest possible.
 */
export function chooseShards(
  backends: BackendWork[],
  limits: { maxInstances: number; deadlineMinutes?: number },
): Assignment[] {
  if (limits.maxInstances < backends.length)
    throw new InvalidRequest(
      `these tasks need ${backends.length} backends (${backends.map((b) => b.backend).join(", ")}), one instance each at least; ` +
        `capacity.maxInstances is ${limits.maxInstances}`,
    );
  const deadline = limits.deadlineMinutes;
  if (deadline === undefined) {
    const plans = combinations(backends, limits.maxInstances, (b) => [cheapestOption(b)]);
    return plans.reduce((best, p) => (better((x) => [wall(x), usd(x), instances(x)])(p, best) ? p : best));
  }
  const plans = combinations(backends, limits.maxInstances, (b) => b.options);
  const meets = plans.filter((p) => wall(p) * 60 <= deadline + EPSILON);
  if (!meets.length) {
    const fastest = plans.reduce((best, p) => (better((x) => [wall(x), usd(x)])(p, best) ? p : best));
    throw new InvalidRequest(
      `no plan of at most ${limits.maxInstances} instance(s) finishes within ${deadline} minutes: the fastest, ` +
        `${fastest.map((a) => `${a.shards.length} x ${a.option.instanceType} for ${a.backend}`).join(" and ")}, ` +
        `takes about ${Math.ceil(wall(fastest) * 60)} minutes (estimated). Raise capacity.deadlineMinutes or capacity.maxInstances, or allow larger instance types.`,
    );
  }
  return meets.reduce((best, p) => (better((x) => [usd(x), wall(x), instances(x)])(p, best) ? p : best));
}
