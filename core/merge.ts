// Shards' results files -> the one results file `lm_eval --tasks <request>` would have written on one
// machine: task numbers as the shards measured them, every group recomputed by the harness's own rules
// (lm_eval/evaluator.py, evaluator_utils.py and api/metrics.py at the release the layout stands for).
import { ResultsInvalid } from "./errors.ts";
import { definitionEra, detectLayout, type Layout, layoutRank } from "./harness-layout.ts";
import type { ResultsFile } from "./results.ts";
import { leaves, type TaskNode, taskTree } from "./task-groups.ts";

type Dict = Record<string, unknown>;
type GroupNode = Extract<TaskNode, { kind: "group" }>;

/** What produced a shard. The pipeline knows all of it; offline, what the file itself says is used. */
export type ShardOrigin = {
  name?: string;
  harness?: string | null;
  backend?: string | null;
  image?: string | null;
};

export type Shard = {
  file: ResultsFile;
  /**
   * Documents per task counted in the shard's samples files. Needed only for releases that write no
   * `n-samples` (0.4.1): a group's weights are the documents actually evaluated, so `limit` is honoured.
   */
  documents?: Record<string, number>;
  origin?: ShardOrigin;
};

/** A merged results file: the harness's keys in the harness's order. */
export type MergedResults = ResultsFile & Dict;

type Leaf = {
  name: string;
  shard: number;
  alias: string;
  /** metric,filter keys and their stderr keys, in the shard's order. */
  metrics: [string, unknown][];
  size: number;
  version: unknown;
  nShot: unknown;
  higherIsBetter: Record<string, boolean | null> | null;
  nSamples: { original: number; effective: number } | null;
  config: unknown;
};

type Aggregated = { metrics: [string, unknown][]; size: number };

const isMetricKey = (key: string) => key.includes(",");
const isStderrKey = (key: string) => key.includes("_stderr,");
const stderrKeyOf = (key: string) => key.replace(",", "_stderr,");
const indent = (depth: number) => (depth > 0 ? `${" ".repeat(depth)}- ` : "");
const byName = (a: TaskNode, b: TaskNode) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** lm_eval's aggregate_subtask_metrics: the mean of the subtasks' values, weighted by their sizes. */
export function weightedMean(values: number[], sizes: number[], weightBySize = true): number {
  const weights = weightBySize ? sizes : sizes.map(() => 1);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * weights[i];
  return sum / weights.reduce((a, b) => a + b, 0);
}

/** lm_eval's pooled_sample_stderr: sqrt( sum((n_i-1) se_i^2 n_i) / (sum n_i - k) / sum n_i ). */
export function pooledStderr(stderrs: number[], sizes: number[]): number {
  let pooled = 0;
  for (let i = 0; i < stderrs.length; i++) pooled += (sizes[i] - 1) * stderrs[i] ** 2 * sizes[i];
  const total = sizes.reduce((a, b) => a + b, 0);
  return Math.sqrt(pooled / (total - sizes.length) / total);
}

function higherIsBetterOf(file: ResultsFile, task: string): Record<string, boolean | null> | null {
  const recorded = file.higher_is_better?.[task];
  if (recorded) return recorded;
  // 0.4.1 writes no higher_is_better, but each task's config lists it per metric.
  const config = (file as Dict).configs as Record<string, { metric_list?: Dict[] }> | undefined;
  const list = config?.[task]?.metric_list;
  if (!list) return null;
  return Object.fromEntries(
    list
      .filter((m) => typeof m.metric === "string" && typeof m.higher_is_better === "boolean")
      .map((m) => [m.metric as string, m.higher_is_better as boolean]),
  );
}

function collectLeaves(names: string[], shards: Shard[], groupNames: Set<string>): Map<string, Leaf> {
  const wanted = new Set(names);
  const found = new Map<string, Leaf>();
  shards.forEach((shard, index) => {
    const { file } = shard;
    const label = shard.origin?.name ?? `shard ${index + 1}`;
    for (const [name, entry] of Object.entries(file.results)) {
      if (groupNames.has(name)) continue; // a group row: recomputed from the leaves, never copied
      if (!wanted.has(name))
        throw new ResultsInvalid(`${label} has ${name}, which the request does not include`);
      if (found.has(name))
        throw new ResultsInvalid(`${name} is in two shards (${found.get(name)?.shard} and ${index + 1})`);
      const nSamples = file["n-samples"]?.[name] ?? null;
      const size = nSamples?.effective ?? shard.documents?.[name];
      if (size === undefined)
        throw new ResultsInvalid(
          `${label} records no n-samples for ${name} and no samples file was counted: a group's weights need it`,
        );
      const limit = (file.config as { limit?: unknown } | undefined)?.limit;
      found.set(name, {
        name,
        shard: index + 1,
        alias: typeof entry.alias === "string" ? entry.alias.replace(/^\s*- /, "") : name,
        metrics: Object.entries(entry).filter(([key]) => isMetricKey(key)),
        size,
        version: file.versions?.[name] ?? null,
        nShot: file["n-shot"]?.[name] ?? null,
        higherIsBetter: higherIsBetterOf(file, name),
        // Without n-samples, the original count is known only when nothing was limited.
        nSamples:
          nSamples ?? (limit === null || limit === undefined ? { original: size, effective: size } : null),
        config: ((file as Dict).configs as Dict | undefined)?.[name],
      });
    }
  });
  const missing = names.filter((name) => !found.has(name));
  if (missing.length) throw new ResultsInvalid(`no shard has results for ${missing.join(", ")}`);
  return found;
}

/** One group's numbers from its members' (leaves', or before 0.4.4 direct children's) numbers. */
function aggregate(node: GroupNode, members: Aggregated[], layout: Layout): Aggregated {
  const size = members.reduce((a, m) => a + m.size, 0);
  const spec = node.definition.aggregate;
  if (spec === null) return { metrics: [], size };
  const present = [...new Set(members.flatMap((m) => m.metrics.map(([k]) => k)))].filter(
    (k) => !isStderrKey(k),
  );
  const plan: { key: string; weightBySize: boolean }[] =
    spec === "every-metric"
      ? present.map((key) => ({ key, weightBySize: true }))
      : spec.flatMap((agg) => {
          const filters =
            agg.filters ??
            (layout.era === "group"
              ? present
                  .filter((k) => k.startsWith(`${agg.metric},`))
                  .map((k) => k.slice(agg.metric.length + 1))
              : ["none"]);
          return [...filters]
            .sort()
            .map((f) => ({ key: `${agg.metric},${f}`, weightBySize: agg.weightBySize }))
            .filter(({ key }) => present.includes(key));
        });
  const metrics: [string, unknown][] = [];
  for (const { key, weightBySize } of plan) {
    const having = members.filter((m) => m.metrics.some(([k]) => k === key));
    const value = (m: Aggregated, k: string) => m.metrics.find(([x]) => x === k)?.[1];
    const sizes = having.map((m) => m.size);
    const values = having.map((m) => value(m, key) as number);
    const stderrs = having.map((m) => value(m, stderrKeyOf(key)));
    metrics.push([key, weightedMean(values, sizes, weightBySize)]);
    metrics.push([
      stderrKeyOf(key),
      stderrs.every((s) => typeof s === "number") ? pooledStderr(stderrs as number[], sizes) : "N/A",
    ]);
  }
  return { metrics, size };
}

type Computed = Map<string, Aggregated>;

function computeGroups(roots: TaskNode[], found: Map<string, Leaf>, layout: Layout): Computed {
  const computed: Computed = new Map();
  const numbersOf = (node: TaskNode): Aggregated => {
    if (node.kind === "task") {
      const leaf = found.get(node.name) as Leaf;
      return { metrics: leaf.metrics, size: leaf.size };
    }
    const children = node.children.map(numbersOf);
    // From 0.4.4 a group pools all its leaves (mmlu: the 57 subjects), the rule DESIGN.md states. Up to
    // 0.4.3 the harness pooled a group's direct children (mmlu: the four categories), which the real
    // late-0.4.2 files in tests/fixtures reproduce to 1e-18 and the leaf rule misses by ~6e-8.
    const members =
      layout.era === "legacy"
        ? children
        : leaves(node).map((name) => ({
            metrics: found.get(name)?.metrics ?? [],
            size: found.get(name)?.size ?? 0,
          }));
    const result = aggregate(node, members, layout);
    computed.set(node.name, result);
    return result;
  };
  roots.forEach(numbersOf);
  return computed;
}

function walk(roots: TaskNode[], order: "printed" | "legacy-loaded" | "defined") {
  const out: { node: TaskNode; depth: number }[] = [];
  const visit = (node: TaskNode, depth: number) => {
    out.push({ node, depth });
    if (node.kind === "group") {
      const children =
        order === "printed"
          ? [...node.children].sort(byName)
          : order === "legacy-loaded"
            ? [...node.children].reverse()
            : node.children;
      for (const child of children) visit(child, depth + 1);
    }
  };
  for (const root of [...roots].sort(byName)) visit(root, 0);
  return out;
}

/** Groups children first (0.4.12's aggregation and results order), roots sorted as lm_eval sorts them. */
function childrenFirst(roots: TaskNode[]): GroupNode[] {
  const out: GroupNode[] = [];
  const visit = (node: TaskNode) => {
    if (node.kind !== "group") return;
    node.children.forEach(visit);
    if (!out.includes(node)) out.push(node);
  };
  [...roots].sort(byName).forEach(visit);
  return out;
}

function sortedObject<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Merge shards into one results file for `request` (task and group names, as given to `--tasks`). */
export function mergeShards(request: string[], shards: Shard[]): MergedResults {
  if (shards.length === 0) throw new ResultsInvalid("no shards to merge");
  const layouts = shards.map((s) => detectLayout(s.file));
  const newest = layouts.reduce((best, l, i) => (layoutRank(l) > layoutRank(layouts[best]) ? i : best), 0);
  const layout = layouts[newest];
  // lm_eval sorts the names given to --tasks (utils.pattern_match) before loading them.
  const roots = taskTree([...new Set(request)].sort(), definitionEra(layout));
  const groupNodes = walk(roots, "defined")
    .map((e) => e.node)
    .filter((n): n is GroupNode => n.kind === "group");
  const leafNames = [...new Set(roots.flatMap(leaves))];
  const found = collectLeaves(leafNames, shards, new Set(groupNodes.map((g) => g.name)));
  const computed = computeGroups(roots, found, layout);
  const aggregates = (name: string) => (computed.get(name)?.metrics.length ?? 0) > 0;

  // results and groups: the printed order (sorted at every level), aliases indented by depth up to 0.4.11.
  const results: Record<string, Dict> = {};
  const groups: Record<string, Dict> = {};
  if (layout.era === "group") {
    // 0.4.12: tasks in load order, then groups children-first; aliases plain.
    for (const name of leafNames) {
      const leaf = found.get(name) as Leaf;
      results[name] = { name, alias: leaf.alias, sample_len: leaf.size, ...Object.fromEntries(leaf.metrics) };
    }
    for (const node of childrenFirst(roots)) {
      const numbers = computed.get(node.name) as Aggregated;
      const entry: Dict = { alias: node.definition.alias ?? node.name, name: node.name };
      if (aggregates(node.name)) {
        entry.sample_len = numbers.size;
        Object.assign(entry, Object.fromEntries(numbers.metrics));
        entry.sample_count = Object.fromEntries(
          numbers.metrics.filter(([k]) => !isStderrKey(k)).map(([k]) => [k, numbers.size]),
        );
        groups[node.name] = entry;
      }
      results[node.name] = entry;
    }
  } else {
    for (const { node, depth } of walk(roots, "printed")) {
      if (node.kind === "task") {
        const leaf = found.get(node.name) as Leaf;
        results[node.name] = { alias: indent(depth) + leaf.alias, ...Object.fromEntries(leaf.metrics) };
        continue;
      }
      const alias = indent(depth) + (node.definition.alias ?? node.name);
      const metrics = Object.fromEntries(computed.get(node.name)?.metrics ?? []);
      let entry: Dict;
      if (layout.era === "legacy")
        // A group alias came from its subtasks' configs, before the metrics; without one it is added last.
        entry = node.definition.alias ? { alias, ...metrics } : { ...metrics, alias };
      else entry = aggregates(node.name) ? { ...metrics, alias } : { " ": " ", alias };
      results[node.name] = entry;
      if (aggregates(node.name)) groups[node.name] = { ...entry };
    }
  }

  const out: Dict = { results };
  if (Object.keys(groups).length) out.groups = groups;
  if (layout.groupSubtasks) out.group_subtasks = groupSubtasks(roots, layout);
  out.configs = sortedObject(
    leafNames.map((n) => [n, found.get(n)?.config] as [string, unknown]).filter(([, c]) => c !== undefined),
  );
  out.versions = sortedObject([
    ...leafNames.map((n) => [n, found.get(n)?.version] as [string, unknown]),
    ...groupVersions(groupNodes, layout, aggregates),
  ]);
  out["n-shot"] = sortedObject([
    ...leafNames.map((n) => [n, found.get(n)?.nShot] as [string, unknown]),
    ...groupNShots(roots, found, layout),
  ]);
  if (layout.higherIsBetter) out.higher_is_better = sortedObject(higherIsBetter(roots, found, layout));
  if (layout.nSamples) {
    const order = layout.era === "legacy" ? walk(roots, "legacy-loaded") : walk(roots, "defined");
    out["n-samples"] = Object.fromEntries(
      order
        .filter((e) => e.node.kind === "task")
        .map((e) => [e.node.name, found.get(e.node.name)?.nSamples] as [string, unknown])
        .filter(([, n]) => n),
    );
  }
  // The rest (model, dates, environment) from the newest shard; `config` also names every shard.
  const {
    results: _r,
    groups: _g,
    group_subtasks: _s,
    configs: _c,
    versions: _v,
    samples: _x,
    ...rest
  } = shards[newest].file as Dict;
  for (const key of ["n-shot", "higher_is_better", "n-samples"]) delete rest[key];
  out.config = {
    ...((rest.config as Dict | undefined) ?? {}),
    shards: shards.map((shard, i) => describeShard(shard, layouts[i], found, i + 1)),
  };
  delete rest.config;
  const hashes = shards.map((s) => (s.file as Dict).task_hashes as Dict | undefined).filter(Boolean);
  if (hashes.length) rest.task_hashes = Object.assign({}, ...hashes);
  const simulated = shards.filter((s) => s.file.spoteval).map((s) => s.file.spoteval?.simulated === true);
  if (simulated.length) rest.spoteval = { ...(rest.spoteval as Dict), simulated: simulated.includes(true) };
  return { ...out, ...rest } as MergedResults;
}

function describeShard(shard: Shard, layout: Layout, found: Map<string, Leaf>, index: number): Dict {
  const file = shard.file as Dict;
  const config = (file.config as Dict | undefined) ?? {};
  return {
    name: shard.origin?.name ?? `shard ${index}`,
    harness:
      shard.origin?.harness ??
      (file.git_hash as string | undefined) ??
      (file.lm_eval_version as string | undefined) ??
      null,
    layout: layout.releases,
    backend: shard.origin?.backend ?? (config.model as string | undefined) ?? null,
    image: shard.origin?.image ?? null,
    model_args: config.model_args ?? null,
    tasks: [...found.values()].filter((l) => l.shard === index).map((l) => l.name),
  };
}

/** `group_subtasks` as each release builds it (its key order is the order tasks were loaded, reversed). */
function groupSubtasks(roots: TaskNode[], layout: Layout): Record<string, string[]> {
  const entries: [string, string[]][] = [];
  if (layout.era === "group") {
    for (const { node } of walk(roots, "defined"))
      if (node.kind === "group") entries.push([node.name, node.children.map((c) => c.name)]);
    return Object.fromEntries(entries);
  }
  const order = layout.era === "legacy" ? "legacy-loaded" : "defined";
  for (const { node, depth } of walk(roots, order)) {
    if (node.kind === "group") {
      const children = node.children.map((c) => c.name);
      entries.push([node.name, order === "legacy-loaded" ? children.reverse() : children]);
    } else if (depth === 0) entries.push([node.name, []]);
  }
  return Object.fromEntries(entries.reverse());
}

function groupVersions(
  groupNodes: GroupNode[],
  layout: Layout,
  aggregates: (name: string) => boolean,
): [string, unknown][] {
  if (layout.era === "group")
    return groupNodes.map((g) => [
      g.name,
      g.definition.version === null ? "N/A" : String(g.definition.version),
    ]);
  if (layout.era === "configurable")
    return groupNodes.filter((g) => aggregates(g.name)).map((g) => [g.name, g.definition.version]);
  // 0.4.0/0.4.1 wrote "N/A" for every group; 0.4.2 and 0.4.3 no group version at all.
  return layout.groupSubtasks ? [] : groupNodes.map((g) => [g.name, "N/A"]);
}

function groupNShots(roots: TaskNode[], found: Map<string, Leaf>, layout: Layout): [string, unknown][] {
  if (layout.era === "configurable") return [];
  const nShot = new Map<string, unknown>([...found.values()].map((l) => [l.name, l.nShot]));
  const out: [string, unknown][] = [];
  if (layout.era === "legacy") {
    // The first subtask's n-shot, read before that subtask (if a group) has one of its own: 0.
    for (const { node } of walk(roots, "legacy-loaded")) {
      if (node.kind !== "group") continue;
      const first = [...node.children].reverse()[0]?.name;
      const value = (first !== undefined ? nShot.get(first) : undefined) ?? 0;
      nShot.set(node.name, value);
      out.push([node.name, value]);
    }
    return out;
  }
  // 0.4.12: a group gets its children's n-shot when they all agree, groups visited parents first.
  for (const { node } of walk(roots, "defined")) {
    if (node.kind !== "group") continue;
    const values = new Set(
      node.children.filter((c) => nShot.has(c.name)).map((c) => JSON.stringify(nShot.get(c.name))),
    );
    if (values.size === 1) {
      const value = JSON.parse([...values][0]);
      nShot.set(node.name, value);
      out.push([node.name, value]);
    }
  }
  return out;
}

function unionHigherIsBetter(maps: (Record<string, boolean | null> | null | undefined)[]) {
  const out: Record<string, boolean | null> = {};
  for (const map of maps)
    for (const [metric, higher] of Object.entries(map ?? {})) {
      if (!(metric in out)) out[metric] = higher;
      else if (out[metric] !== null && out[metric] !== higher) out[metric] = null;
    }
  return out;
}

function higherIsBetter(roots: TaskNode[], found: Map<string, Leaf>, layout: Layout): [string, unknown][] {
  const known = new Map<string, Record<string, boolean | null>>();
  for (const leaf of found.values()) if (leaf.higherIsBetter) known.set(leaf.name, leaf.higherIsBetter);
  const groupsOf = walk(roots, "defined").filter((e) => e.node.kind === "group");
  const out: [string, unknown][] = [...known.entries()];
  if (layout.era === "configurable") {
    // 0.4.4-0.4.11 fill one dict across all groups and give every group that same dict.
    const shared = unionHigherIsBetter(
      groupsOf.flatMap((e) => (e.node.kind === "group" ? e.node.children.map((c) => known.get(c.name)) : [])),
    );
    for (const { node } of groupsOf) out.push([node.name, shared]);
    return out;
  }
  // legacy: each group from its children, children first; 0.4.12: parents first, so a parent whose
  // children are groups gets none.
  const ordered = layout.era === "legacy" ? [...groupsOf].reverse() : groupsOf;
  for (const { node } of ordered) {
    if (node.kind !== "group") continue;
    const union = unionHigherIsBetter(node.children.map((c) => known.get(c.name)));
    if (Object.keys(union).length === 0) continue;
    known.set(node.name, union);
    out.push([node.name, union]);
  }
  return out;
}
