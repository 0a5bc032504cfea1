// The engine's Neuron backends, each a pinned stack, and which one may score which task: a task that
// needs prompt logprobs never goes to a server that returns none (vLLM on Neuron), so no score is ever
// silently wrong. Engine images (engine/Dockerfile*) pin the same versions; a test keeps them equal.
import { InvalidRequest } from "./errors.ts";
import type { ModelShape } from "./model-size.ts";
import { DEFAULT_HARNESS_REVISION, type RunSpec, type TaskSpec } from "./schemas.ts";
import { needsLogprobs, taskFacts } from "./tasks.ts";

export const neuronBackends = ["neuronx", "vllm-neuron"] as const;
export type NeuronBackend = (typeof neuronBackends)[number];

export type BackendStack = {
  /** The image the engine image is built FROM (engine/Dockerfile's or Dockerfile.vllm-neuron's base). */
  baseImage: string;
  neuronSdk: string;
  /** The harness the image installs: a git commit (neuronx) or a release (vllm-neuron). */
  harness: { version: string; revision: string };
  /** argv that starts the harness in the image. */
  harnessCommand: string[];
  /** argv of pip in the harness's own virtualenv, to install another revision at boot (vllm-neuron). */
  harnessPip?: string[];
  /** argv of python in that virtualenv, to read the harness's task registry (vllm-neuron). */
  harnessPython?: string[];
  optimumNeuron?: string;
  vllm?: string;
  vllmNeuron?: string;
};

export const backendStacks: Record<NeuronBackend, BackendStack> = {
  // The published recipe's path: a pinned, tested triple (harness 756eeb6 = lm-eval 0.4.1,
  // optimum-neuron 0.0.17, Neuron SDK 2.16); transformers-neuronx ended with SDK 2.26.
  neuronx: {
    baseImage: "public.ecr.aws/neuron/pytorch-inference-neuronx:1.13.1-neuronx-py310-sdk2.16.1-ubuntu20.04",
    neuronSdk: "2.16.1",
    harness: { version: "0.4.1", revision: DEFAULT_HARNESS_REVISION },
    harnessCommand: ["python", "-m", "lm_eval"],
    optimumNeuron: "0.0.17",
  },
  // Today's stack: vLLM 0.16 with the vllm-neuron plugin 0.5.x on NxD Inference, Neuron SDK 2.31
  // (aws-neuron/deep-learning-containers README); the harness as an API client, pinned as AWS's own
  // NxD Inference accuracy recipe pins it.
  "vllm-neuron": {
    baseImage:
      "public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.16.0-neuronx-py312-sdk2.31.1-ubuntu24.04",
    neuronSdk: "2.31.1",
    harness: { version: "0.4.8", revision: "v0.4.8" },
    // Its own CPU virtualenv, so neither the harness nor vLLM disturbs the other's packages.
    harnessCommand: ["/opt/lm-eval/bin/lm_eval"],
    harnessPip: ["/opt/lm-eval/bin/pip"],
    harnessPython: ["/opt/lm-eval/bin/python"],
    vllm: "0.16.0",
    vllmNeuron: "0.5",
  },
};

/**
 * Architectures (Hugging Face model_type) optimum-neuron 0.0.17 compiles for causal LM through
 * transformers-neuronx: the only ones the neuronx backend can load.
 */
export const NEURONX_ARCHITECTURES = ["bloom", "gpt2", "llama", "mistral", "opt"] as const;

/** The first harness release with `local-completions` (lm_eval/models/api_models.py). */
export const FIRST_API_CLIENT_RELEASE = "0.4.4";

const release = /^v?(\d+)\.(\d+)\.(\d+)$/;
const olderThan = (a: string, b: string) => {
  const [x, y] = [release.exec(a), release.exec(b)].map((m) => (m ?? []).slice(1).map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
};
const isNeuronxRevision = (revision: string) =>
  revision.length >= 7 && DEFAULT_HARNESS_REVISION.startsWith(revision);

/** The harness revision a backend runs for a request: its own by default; 400 for one it cannot run. */
export function harnessRevisionFor(backend: NeuronBackend, requested: string | undefined): string {
  const stack = backendStacks[backend];
  if (requested === undefined) return stack.harness.revision;
  if (backend === "neuronx") {
    if (isNeuronxRevision(requested)) return stack.harness.revision;
    throw new InvalidRequest(
      `harness.revision ${requested}: the neuronx backend runs only lm-evaluation-harness ${stack.harness.revision} ` +
        `(lm-eval ${stack.harness.version}, optimum-neuron ${stack.optimumNeuron}, Neuron SDK ${stack.neuronSdk}); omit harness.revision`,
    );
  }
  if (
    isNeuronxRevision(requested) ||
    (release.test(requested) && olderThan(requested, FIRST_API_CLIENT_RELEASE))
  ) {
    throw new InvalidRequest(
      `harness.revision ${requested}: the vllm-neuron backend runs the harness as an API client (local-completions), ` +
        `which lm-evaluation-harness has from ${FIRST_API_CLIENT_RELEASE} on; its image pins ${stack.harness.version}`,
    );
  }
  return requested;
}

export type Route = { backend: NeuronBackend; tasks: TaskSpec[]; notes: string[] };

/**
 * Which backend scores which task. Generative tasks go to vllm-neuron; tasks that need prompt logprobs
 * go to neuronx when it can load the model's architecture, else the request is refused, naming the
 * task and the generative variant the harness offers. A request for neuronx's own harness revision
 * (the published recipe) runs everything on neuronx.
 */
export function routeTasks(spec: RunSpec, shape: ModelShape): Route[] {
  const architecture = shape.architecture;
  const neuronxCanLoad = NEURONX_ARCHITECTURES.some((a) => a === architecture);
  const archSaid = `${architecture ?? "unknown"}${shape.source === "assumed" && architecture ? " (guessed from the model id)" : ""}`;
  const refuse = (why: string) => {
    throw new InvalidRequest(why);
  };
  const recipe = spec.harnessRevision !== undefined && isNeuronxRevision(spec.harnessRevision);
  const routes = new Map<NeuronBackend, Route>();
  const add = (backend: NeuronBackend, task: TaskSpec, note?: string) => {
    const route = routes.get(backend) ?? { backend, tasks: [], notes: [] };
    route.tasks.push(task);
    if (note) route.notes.push(note);
    routes.set(backend, route);
  };
  const refused: string[] = [];
  for (const task of spec.tasks) {
    const facts = taskFacts(task.name);
    if (recipe) {
      if (!neuronxCanLoad)
        refuse(
          `harness.revision ${spec.harnessRevision} runs on the neuronx backend, which cannot load ${spec.model.id} ` +
            `(architecture ${archSaid}; it loads ${NEURONX_ARCHITECTURES.join(", ")}); omit harness.revision to use vllm-neuron`,
        );
      add("neuronx", task);
    } else if (!facts) {
      add(
        "vllm-neuron",
        task,
        `${task.name}: output type not in spoteval's table, planned as generative; the engine reads its output type from the harness's task registry on the instance and refuses it there if it needs prompt logprobs, which vLLM on Neuron does not return`,
      );
    } else if (!needsLogprobs(facts.outputType)) {
      add("vllm-neuron", task);
    } else if (neuronxCanLoad) {
      add(
        "neuronx",
        task,
        `${task.name} (${facts.outputType}) needs prompt logprobs, which vLLM on Neuron does not return: scored on neuronx`,
      );
    } else {
      refused.push(
        `${task.name} (${facts.outputType}) needs prompt logprobs, which vLLM on Neuron does not return, and the neuronx ` +
          `backend cannot load architecture ${archSaid} (it loads ${NEURONX_ARCHITECTURES.join(", ")}); ` +
          (facts.generativeVariant
            ? `use its generative variant ${facts.generativeVariant}`
            : "the harness offers no generative variant of it"),
      );
    }
  }
  if (refused.length) refuse(refused.join("; "));
  return neuronBackends.flatMap((b) => {
    const route = routes.get(b);
    return route ? [route] : [];
  });
}
