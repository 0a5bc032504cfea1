// What this machine can run for `npm start -- --engine NAME`: the tools each backend needs (found on
// PATH, else what to install), and the devices detected for it (NeuronCores through neuron-ls, NVIDIA
// GPUs through nvidia-smi, else the CPU for hf), as the local provider's slots: one run per slot.
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import type { DeviceSlot } from "../core/capacity/local-process.ts";
import { DEFAULT_HARNESS_REVISION } from "../core/schemas.ts";
import { detectNeuronCores } from "../engine/neuron.ts";

export const ENGINES = ["simulated", "hf", "neuronx", "vllm-neuron"] as const;
export type EngineName = (typeof ENGINES)[number];

const TOOLS: Record<EngineName, string[]> = {
  simulated: [],
  hf: ["lm_eval"],
  neuronx: ["lm_eval", "neuron-ls"],
  "vllm-neuron": ["vllm", "neuron-ls", "lm_eval"],
};

const HOW_TO_INSTALL: Record<string, (engine: EngineName) => string> = {
  lm_eval: (engine) =>
    engine === "neuronx"
      ? `pip install "lm_eval @ git+https://github.com/EleutherAI/lm-evaluation-harness@${DEFAULT_HARNESS_REVISION}" "optimum-neuron==0.0.17" (on the Hugging Face Neuron DLAMI, or as engine/Dockerfile does)`
      : engine === "vllm-neuron"
        ? `pip install "lm_eval[api]==0.4.8"`
        : `pip install "lm_eval[hf] @ git+https://github.com/EleutherAI/lm-evaluation-harness@${DEFAULT_HARNESS_REVISION}"`,
  "neuron-ls": () =>
    "the AWS Neuron tools: run on an inf2 instance with the Neuron DLAMI, or install aws-neuronx-tools from the Neuron apt repository (https://awsdocs-neuron.readthedocs-hosted.com) and put /opt/aws/neuron/bin on PATH",
  vllm: () =>
    "vLLM with the Neuron plugin: pip install vllm-neuron (github.com/vllm-project/vllm-neuron), or use the public.ecr.aws/neuron/pytorch-inference-vllm-neuronx image",
};

/** The first executable called `name` on PATH. */
export async function findOnPath(name: string, path = process.env.PATH ?? ""): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export type Machine = {
  engine: EngineName;
  /** Absolute paths of the tools the backend runs. */
  tools: Record<string, string>;
  /** One run per slot; undefined for the simulated engine, which needs no device. */
  slots?: DeviceSlot[];
  /** One line on what was detected, for the start banner. */
  summary: string;
};

/** A backend that cannot run here: what is missing and how to get it. */
export class MachineUnfit extends Error {
  override name = "MachineUnfit";
}

async function nvidiaGpus(nvidiaSmi: string): Promise<{ index: string; name: string }[]> {
  try {
    const { stdout } = await promisify(execFile)(
      nvidiaSmi,
      ["--query-gpu=index,name", "--format=csv,noheader"],
      { timeout: 30_000 },
    );
    return stdout
      .split("\n")
      .map((line) => line.split(",").map((s) => s.trim()))
      .filter(([index]) => index !== undefined && /^\d+$/.test(index))
      .map(([index, name]) => ({ index: index as string, name: name ?? "GPU" }));
  } catch {
    return [];
  }
}

/** Check the backend's tools and detect the devices it may use; throws MachineUnfit when it cannot run. */
export async function detectMachine(engine: EngineName, path = process.env.PATH): Promise<Machine> {
  if (engine === "simulated")
    return { engine, tools: {}, summary: "no model runs and the scores are not real" };
  const tools: Record<string, string> = {};
  const missing: string[] = [];
  for (const tool of TOOLS[engine]) {
    const found = await findOnPath(tool, path);
    if (found) tools[tool] = found;
    else missing.push(`  ${tool}: ${HOW_TO_INSTALL[tool]?.(engine) ?? "install it and put it on PATH"}`);
  }
  if (missing.length)
    throw new MachineUnfit(
      `--engine ${engine} needs tools this machine does not have on PATH:\n${missing.join("\n")}`,
    );

  if (engine === "hf") {
    const nvidiaSmi = await findOnPath("nvidia-smi", path);
    const gpus = nvidiaSmi ? await nvidiaGpus(nvidiaSmi) : [];
    if (gpus.length) {
      const slots = gpus.map((g) => ({
        id: `gpu${g.index}`,
        label: `GPU ${g.index}`,
        env: { CUDA_VISIBLE_DEVICES: g.index, HF_DEVICE: "cuda" },
      }));
      const names = [...new Set(gpus.map((g) => g.name))].join(", ");
      return {
        engine,
        tools,
        slots,
        summary: `${gpus.length} NVIDIA GPU${gpus.length === 1 ? "" : "s"} (${names}, from nvidia-smi): ${gpus.length} run${gpus.length === 1 ? "" : "s"} at a time, one GPU each; more wait in a queue`,
      };
    }
    return {
      engine,
      tools,
      slots: [{ id: "cpu", label: "the CPU", env: { HF_DEVICE: "cpu" } }],
      summary: "no NVIDIA GPU found (nvidia-smi): the CPU, one run at a time; more wait in a queue",
    };
  }

  // neuronx and vllm-neuron size tensor parallelism to every NeuronCore neuron-ls reports: one run holds them all.
  const { cores } = await detectNeuronCores({ neuronLs: tools["neuron-ls"] as string });
  if (cores === 0)
    throw new MachineUnfit(
      `--engine ${engine} needs NeuronCores, and neuron-ls reports none: run it on an inf2 or trn instance`,
    );
  return {
    engine,
    tools,
    slots: [{ id: "neuron", label: "the NeuronCores", env: {} }],
    summary: `${cores} NeuronCores (from neuron-ls): one run at a time on all of them; more wait in a queue`,
  };
}

/** The environment the stack gives local instances for this backend. */
export function engineEnvironment(machine: Machine): Record<string, string> {
  if (machine.engine === "simulated") return {};
  return {
    ENGINE_BACKEND: machine.engine,
    // A real evaluation takes minutes to hours: a heartbeat every 2 s is plenty.
    ENGINE_HEARTBEAT_SECONDS: "2",
    LOCAL_DEVICE_SLOTS: JSON.stringify(machine.slots ?? []),
    ...(machine.tools.lm_eval ? { LM_EVAL_COMMAND: JSON.stringify([machine.tools.lm_eval]) } : {}),
    ...(machine.tools["neuron-ls"] ? { NEURON_LS: machine.tools["neuron-ls"] } : {}),
    ...(machine.tools.vllm ? { VLLM_COMMAND: JSON.stringify([machine.tools.vllm]) } : {}),
  };
}
