// Model size and task output types decide the hardware: which backend scores each task, which inf2
// sizes fit the model there, at what tensor-parallel degree and with how many replicas, ranked by the
// expected cost to finish the evaluation (not by price per hour).
import { backendStacks, harnessRevisionFor, type NeuronBackend, routeTasks } from "./backends.ts";
import { InvalidRequest, ModelDoesNotFit } from "./errors.ts";
import {
  CORES_PER_CHIP,
  EXPECTED_SPOT_FRACTION,
  GIB_PER_CHIP,
  GIB_PER_CORE,
  instanceShapes,
} from "./instances.ts";
import { assumedShape, type ModelShape } from "./model-size.ts";
import type { Plan } from "./run-store.ts";
import type { InstanceType, RunSpec, TaskSpec } from "./schemas.ts";
import {
  bytesPerParameter,
  COMPILE_HOST_MEMORY_FACTOR,
  servingMemoryGiB,
  VLLM_MAX_MODEL_LEN,
  type VllmConfig,
  vllmBatch,
  vllmConfig,
  vllmTensorParallel,
  weightsGiB,
} from "./serving.ts";
import { type BackendWork, chooseShards, DEFAULT_MAX_INSTANCES } from "./shard-plan.ts";
import { definitionSet, type Era, leaves, taskTree } from "./task-groups.ts";
import { scoredDocs, type TaskFacts, taskFacts } from "./tasks.ts";
import { compileHours, neuronxSecondsPerDoc, SCALING_GUESSES, vllmTokensPerSecond } from "./throughput.ts";

export { CORES_PER_CHIP, EXPECTED_SPOT_FRACTION, GIB_PER_CHIP, instanceShapes } from "./instances.ts";

/**
 * neuronx: device memory beyond the weights: KV cache for the 2048-token compiled sequence at small
 * batch sizes, activations and the Neuron runtime. 20% of the weights plus 2 GiB covers 7B-70B decoder
 * models at batch size <= 4 (Mistral-7B bf16: 13.5 GiB of weights -> 18.2 GiB, one chip).
 */
export const MEMORY_MARGIN = { fractionOfWeights: 0.2, fixedGiB: 2 };
/** neuronx: Neuron compilation without a cached graph (15-60 minutes); assumed once per run. */
export const COMPILE_HOURS = 0.5;
/** When the request gives no parameter count and none can be looked up, assume a 7B model. */
export const DEFAULT_PARAMETERS = 7.24e9;
/** Tokens a generated answer takes when the task is not in the table (a guess). */
const UNKNOWN_OUTPUT_TOKENS = 100;

export function requiredMemoryGiB(parameters: number, dtype: keyof typeof bytesPerParameter): number {
  const weights = (parameters * bytesPerParameter[dtype]) / 2 ** 30;
  return weights * (1 + MEMORY_MARGIN.fractionOfWeights) + MEMORY_MARGIN.fixedGiB;
}

export type PlanOptions = {
  /** The model's shape from its config.json; without it, a 7B-like shape is assumed (and said so). */
  shape?: ModelShape;
  /** vllm-neuron: compiled artifacts for this configuration are already in S3 (no compile on the instance). */
  artifactsCached?: boolean;
  /** Instances the run may use in all when the request does not say (the deployment's parameter). */
  maxInstances?: number;
};

/** The model's shape as the plan uses it: the request's parameter count wins over any other. */
export function modelShape(spec: RunSpec, shape?: ModelShape): ModelShape {
  const parameters = spec.model.parameters ?? shape?.parameters ?? DEFAULT_PARAMETERS;
  return shape ? { ...shape, parameters } : assumedShape(spec.model.id, parameters);
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The harness's task definitions a backend runs: neuronx pins 0.4.1 (legacy), vllm-neuron a 0.4.4+ release. */
const eraOf = (backend: NeuronBackend): Era => (backend === "neuronx" ? "legacy" : "current");

/** A group's leaf tasks in the harness's definitions (empty for a task that is no group). */
function leafNames(name: string, era: Era): string[] {
  return definitionSet(era).groups[name] ? leaves(taskTree([name], era)[0]) : [];
}

/** One unit of work a shard may take: a task, or one leaf of a requested group (mmlu: a subject). */
export type WorkItem = { task: TaskSpec; group?: string; docs: number; facts?: TaskFacts };

/**
 * The run's work on a backend: a group whose every leaf is in the task table is its leaves, each with
 * its own documents after `limit` (the harness applies limit per leaf); any other task is one item.
 */
export function workItems(spec: RunSpec, tasks: TaskSpec[], backend: NeuronBackend): WorkItem[] {
  return tasks.flatMap((task) => {
    const leafTasks = leafNames(task.name, eraOf(backend));
    if (leafTasks.length && leafTasks.every((name) => taskFacts(name)))
      return leafTasks.map((name) => ({
        task: { name, numFewshot: task.numFewshot },
        group: task.name,
        docs: scoredDocs(name, spec.limit),
        facts: taskFacts(name),
      }));
    return [{ task, docs: scoredDocs(task.name, spec.limit), facts: taskFacts(task.name) }];
  });
}

/** A shard's tasks as the harness is asked for them: a requested task, or a leaf of a requested group. */
export function shardTaskSpecs(spec: RunSpec, names: string[] | undefined): TaskSpec[] {
  if (!names) return spec.tasks;
  return names.map(
    (name) =>
      spec.tasks.find((t) => t.name === name) ?? {
        name,
        numFewshot:
          spec.tasks.find((t) => eraNames.some((era) => leafNames(t.name, era).includes(name)))?.numFewshot ??
          null,
      },
  );
}
const eraNames: Era[] = ["legacy", "current"];

type Candidate = Plan["candidates"][number];
/** One instance type a backend can use: its shape, what a shard pays before scoring, and seconds per item. */
type Rate = Omit<Candidate, "expectedHours" | "expectedCostUsd"> & {
  overheadHours: number;
  seconds: (item: WorkItem) => number;
};
type BackendSetup = { requiredMemoryGiB: number; vllm?: VllmConfig; rates: Rate[] };

function candidate(rate: Rate, items: WorkItem[]): Candidate {
  const { overheadHours, seconds, ...shape } = rate;
  const hours = overheadHours + items.reduce((sum, item) => sum + seconds(item), 0) / 3600;
  return {
    ...shape,
    expectedHours: round(hours, 3),
    expectedCostUsd: round(hours * rate.onDemandPricePerHour * EXPECTED_SPOT_FRACTION, 4),
  };
}

function neuronxSetup(spec: RunSpec, shape: ModelShape, allowed: InstanceType[]): BackendSetup {
  const needed = requiredMemoryGiB(shape.parameters, spec.model.dtype);
  const rates = allowed
    .map((instanceType): Rate => {
      const s = instanceShapes[instanceType];
      const cores = s.chips * CORES_PER_CHIP;
      return {
        instanceType,
        chips: s.chips,
        tpDegree: cores,
        replicas: 1,
        onDemandPricePerHour: s.onDemandPricePerHour,
        overheadHours: COMPILE_HOURS,
        seconds: (item) =>
          item.docs *
          neuronxSecondsPerDoc(
            shape.parameters,
            cores,
            item.facts?.outputType === "generate_until",
            spec.batchSize,
          ),
      };
    })
    .filter((c) => c.chips * GIB_PER_CHIP >= needed);
  if (!rates.length) {
    const biggest = Math.max(...allowed.map((t) => instanceShapes[t].chips * GIB_PER_CHIP));
    throw new ModelDoesNotFit(
      `${spec.model.id} needs about ${needed.toFixed(0)} GiB of accelerator memory in ${spec.model.dtype}; ` +
        `the largest allowed instance has ${biggest} GiB. Allow inf2.24xlarge or inf2.48xlarge, or use a smaller dtype.`,
    );
  }
  return { requiredMemoryGiB: round(needed, 2), rates };
}

function vllmSetup(
  spec: RunSpec,
  shape: ModelShape,
  allowed: InstanceType[],
  options: PlanOptions,
  notes: string[],
): BackendSetup {
  const batch = vllmBatch(spec);
  const maxCores = maxCoresOf(allowed);
  const tp = vllmTensorParallel(shape, spec.model.dtype, batch, VLLM_MAX_MODEL_LEN, maxCores);
  if (tp === undefined) {
    const needed = servingMemoryGiB(shape, spec.model.dtype, batch, VLLM_MAX_MODEL_LEN, maxCores);
    throw new ModelDoesNotFit(
      `${spec.model.id} needs about ${needed.toFixed(0)} GiB of accelerator memory on vLLM (weights and a KV cache for ` +
        `${batch} x ${VLLM_MAX_MODEL_LEN} tokens, ${spec.model.dtype}) at a tensor-parallel degree dividing its ` +
        `${shape.attentionHeads} attention heads; the largest allowed instance has ${maxCores * GIB_PER_CORE} GiB. ` +
        "Allow inf2.48xlarge, a smaller batchSize, or a smaller dtype.",
    );
  }
  const compileHostGiB = weightsGiB(shape, spec.model.dtype) * COMPILE_HOST_MEMORY_FACTOR;
  const rates = allowed.flatMap((instanceType): Rate[] => {
    const s = instanceShapes[instanceType];
    const cores = s.chips * CORES_PER_CHIP;
    if (cores < tp) return [];
    if (!options.artifactsCached && s.hostMemoryGiB < compileHostGiB) {
      notes.push(
        `${instanceType} left out: compiling needs about ${compileHostGiB.toFixed(0)} GiB of host memory, it has ${s.hostMemoryGiB} GiB (usable once the compiled artifacts are in S3)`,
      );
      return [];
    }
    const replicas = Math.floor(cores / tp);
    const rate = replicas * vllmTokensPerSecond(shape.parameters, tp, batch);
    return [
      {
        instanceType,
        chips: s.chips,
        tpDegree: tp,
        replicas,
        onDemandPricePerHour: s.onDemandPricePerHour,
        overheadHours: options.artifactsCached ? 0 : compileHours(shape.parameters),
        seconds: (item) => (item.docs * (item.facts?.outputTokens ?? UNKNOWN_OUTPUT_TOKENS)) / rate,
      },
    ];
  });
  if (!rates.length) {
    throw new ModelDoesNotFit(
      `${spec.model.id} on vllm-neuron needs ${tp} NeuronCores per server and an instance with about ${compileHostGiB.toFixed(0)} GiB ` +
        `of host memory to compile; none of ${allowed.join(", ")} qualifies. Allow inf2.8xlarge or larger.`,
    );
  }
  return {
    requiredMemoryGiB: round(weightsGiB(shape, spec.model.dtype), 2),
    vllm: vllmConfig(spec, tp),
    rates,
  };
}

const maxCoresOf = (allowed: InstanceType[]) =>
  Math.max(...allowed.map((t) => instanceShapes[t].chips * CORES_PER_CHIP));
const allowedTypes = (spec: RunSpec) =>
  spec.capacity.instanceTypes ?? (Object.keys(instanceShapes) as InstanceType[]);

/**
 * The vLLM servers' configuration a plan gives the run's vllm-neuron tasks, as vllmSetup computes it;
 * undefined when no task goes there or the model fits no allowed instance. It is what the compiled
 * artifacts' key is made of, so a submit can look for them before it plans (options.artifactsCached).
 */
export function vllmConfigFor(
  spec: RunSpec,
  options: Pick<PlanOptions, "shape"> = {},
): VllmConfig | undefined {
  const shape = modelShape(spec, options.shape);
  if (!routeTasks(spec, shape).some((r) => r.backend === "vllm-neuron")) return undefined;
  const maxCores = maxCoresOf(allowedTypes(spec));
  const tp = vllmTensorParallel(shape, spec.model.dtype, vllmBatch(spec), VLLM_MAX_MODEL_LEN, maxCores);
  return tp === undefined ? undefined : vllmConfig(spec, tp);
}

const sortByCost = <C extends { expectedCostUsd: number; expectedHours: number }>(cs: C[]) =>
  cs.sort((a, b) => a.expectedCostUsd - b.expectedCostUsd || a.expectedHours - b.expectedHours);

export type ShardedPlan = {
  shards: Plan[];
  /** The same tasks one after the other on one instance per backend (each backend's shards' instance type). */
  baseline: { minutes: number; usd: number };
};

/**
 * The run's shards: each backend's work items split longest-first across instances (a group's leaves
 * may go to different shards, a task never does), the count and instance type per backend chosen by
 * core/shard-plan.ts within capacity.maxInstances (else options.maxInstances, else
 * DEFAULT_MAX_INSTANCES) and capacity.deadlineMinutes. `oneInstancePerBackend`: the baseline, one
 * instance per backend.
 */
export function planShardedRun(
  spec: RunSpec,
  options: PlanOptions & { oneInstancePerBackend?: boolean } = {},
): ShardedPlan {
  const shape = modelShape(spec, options.shape);
  const allowed = allowedTypes(spec);
  const backends = routeTasks(spec, shape).map((route) => {
    const notes = [...route.notes];
    const setup =
      route.backend === "neuronx"
        ? neuronxSetup(spec, shape, allowed)
        : vllmSetup(spec, shape, allowed, options, notes);
    if (shape.source === "assumed")
      notes.push(
        `model shape assumed (no config.json read): ${shape.attentionHeads} attention heads, ${shape.kvHeads} key-value heads, architecture ${shape.architecture ?? "unknown"}`,
      );
    return { route, notes, setup, items: workItems(spec, route.tasks, route.backend) };
  });
  const chosen = chooseShards(
    backends.map(
      (b): BackendWork => ({
        backend: b.route.backend,
        options: b.setup.rates.map((r) => ({
          instanceType: r.instanceType,
          usdPerHour: r.onDemandPricePerHour * EXPECTED_SPOT_FRACTION,
          overheadHours: r.overheadHours,
          itemSeconds: b.items.map(r.seconds),
        })),
      }),
    ),
    {
      maxInstances: options.oneInstancePerBackend
        ? backends.length
        : (spec.capacity.maxInstances ?? options.maxInstances ?? DEFAULT_MAX_INSTANCES),
      ...(spec.capacity.deadlineMinutes !== undefined
        ? { deadlineMinutes: spec.capacity.deadlineMinutes }
        : {}),
    },
  );
  const shards = backends.flatMap((b, i) => {
    const assignment = chosen[i];
    return assignment.shards.map((bin, s): Plan => {
      const items = bin.map((j) => b.items[j]);
      const first = candidate(rateOf(b.setup.rates, assignment.option.instanceType), items);
      const others = b.setup.rates.filter((r) => r.instanceType !== first.instanceType);
      return {
        requiredMemoryGiB: b.setup.requiredMemoryGiB,
        ...(b.setup.vllm ? { vllm: b.setup.vllm } : {}),
        candidates: [first, ...sortByCost(others.map((r) => candidate(r, items)))],
        backend: b.route.backend,
        tasks: shardTaskNames(items, b.items),
        harnessRevision: harnessRevisionFor(b.route.backend, spec.harnessRevision),
        stack: backendStacks[b.route.backend],
        notes: [
          ...b.notes.filter((note) => aboutShard(note, b.route.tasks, items)),
          ...(assignment.shards.length > 1
            ? [
                `shard ${s + 1} of ${assignment.shards.length} on ${b.route.backend}: work split longest first across ${assignment.shards.length} instances (a group's subtasks may be on other shards)`,
              ]
            : []),
          `estimates are guesses carried from published figures: ${SCALING_GUESSES.join("; ")}`,
        ],
      };
    });
  });
  const single = backends.map((b, i) =>
    candidate(rateOf(b.setup.rates, chosen[i].option.instanceType), b.items),
  );
  return {
    shards,
    baseline: {
      minutes: Math.max(...single.map((c) => round(c.expectedHours * 60, 1))),
      usd: round(
        single.reduce((sum, c) => sum + c.expectedCostUsd, 0),
        2,
      ),
    },
  };
}

const rateOf = (rates: Rate[], type: string) => rates.find((r) => r.instanceType === type) as Rate;

/** A note about one requested task (routing) belongs to the shards that run some of it; others to every shard. */
function aboutShard(note: string, requested: TaskSpec[], items: WorkItem[]): boolean {
  const subject = requested.find((t) => note.startsWith(`${t.name} `) || note.startsWith(`${t.name}:`));
  return !subject || items.some((item) => (item.group ?? item.task.name) === subject.name);
}

/** A shard's task names: a requested group whose every leaf landed on this shard is named as the group. */
function shardTaskNames(items: WorkItem[], all: WorkItem[]): string[] {
  const names: string[] = [];
  for (const item of items) {
    const whole =
      item.group !== undefined && all.filter((a) => a.group === item.group).every((a) => items.includes(a));
    const name = whole ? (item.group as string) : item.task.name;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Every shard of the run (capacity.maxInstances, capacity.deadlineMinutes); a run on two backends has at least two. */
export function planShards(spec: RunSpec, options: PlanOptions = {}): Plan[] {
  return planShardedRun(spec, options).shards;
}

/**
 * The plan of a run on one instance (a run stored without one: the Plan step makes it), a deadline
 * still honoured. Tasks that need two backends cannot share one instance: submits plan them as
 * shards (planShardedRun), and here they are a 400 naming the split.
 */
export function planRun(spec: RunSpec, options: PlanOptions = {}): Plan {
  const shards = planShardedRun(spec, { ...options, oneInstancePerBackend: true }).shards;
  if (shards.length > 1) {
    throw new InvalidRequest(
      `these tasks need two backends, so two instances: ${shards.map((s) => `${s.tasks?.join(",")} on ${s.backend}`).join("; ")}`,
    );
  }
  return shards[0];
}

export type { NeuronBackend };
