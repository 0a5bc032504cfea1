// Where vLLM-on-Neuron's compiled artifacts live in S3. vLLM on Neuron does not recompile when its
// configuration changes (it loads whatever NEURON_COMPILED_ARTIFACTS holds), so the key covers every
// field that changes the artifacts: a field missing from it would silently load wrong artifacts.
import { createHash } from "node:crypto";
import { backendStacks } from "./backends.ts";
import type { RunSpec } from "./schemas.ts";
import type { VllmConfig } from "./serving.ts";

export type CompiledArtifactsFields = {
  model: { id: string; revision: string; dtype: string };
  /** The engine image (tag, or digest when known): another compiler version compiles differently. */
  image: string;
  /** Every field of the servers' configuration, spread whole so a new one cannot be left out. */
  vllm: VllmConfig;
};

export function compiledArtifactsFields(
  spec: RunSpec,
  image: string,
  vllm: VllmConfig,
): CompiledArtifactsFields {
  return {
    model: { id: spec.model.id, revision: spec.model.revision, dtype: spec.model.dtype },
    image,
    vllm: { ...vllm },
  };
}

/** JSON with keys sorted at every depth, so equal configurations hash equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The S3 prefix of one configuration's artifacts: compiled/vllm-neuron/<sha256 of every field>/ */
export function compiledArtifactsPrefix(fields: CompiledArtifactsFields): string {
  return `compiled/vllm-neuron/${createHash("sha256").update(canonical(fields)).digest("hex")}/`;
}

/**
 * Written last when a configuration's artifacts are saved: a set without it was cut short (an instance
 * reclaimed mid-upload) and is neither restored nor counted as compiled.
 */
export const compiledArtifactsMarker = (prefix: string) => `${prefix}spoteval-saved.json`;

/** The vllm-neuron engine image, part of the key: the deployment's, else the image it is built FROM. */
export const vllmNeuronImage = (configured?: string) => configured || backendStacks["vllm-neuron"].baseImage;
