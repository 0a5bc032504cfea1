// How many parameters a model has, from its Hugging Face `config.json` when the request does not say:
// decoder-only transformers (Llama, Mistral, Qwen2, Gemma, GPT-NeoX, Mixtral's experts).
import * as z from "zod/mini";

const count = z.int().check(z.positive());
export const ModelConfig = z.looseObject({
  model_type: z.optional(z.string()),
  hidden_size: count,
  num_hidden_layers: count,
  vocab_size: count,
  intermediate_size: z.optional(count),
  num_attention_heads: count,
  num_key_value_heads: z.optional(count),
  head_dim: z.optional(count),
  tie_word_embeddings: z.optional(z.boolean()),
  num_local_experts: z.optional(count),
});
export type ModelConfig = z.infer<typeof ModelConfig>;

/** Architectures whose MLP has a gate (three matrices instead of two). */
const gated = /llama|mistral|mixtral|qwen|gemma|phi3|olmo|deepseek|yi|internlm/i;

export function parametersFromConfig(c: ModelConfig): number {
  const h = c.hidden_size;
  const headDim = c.head_dim ?? h / c.num_attention_heads;
  const kv = (c.num_key_value_heads ?? c.num_attention_heads) * headDim;
  const attention = h * c.num_attention_heads * headDim * 2 + h * kv * 2; // q, o; k, v
  const inner = c.intermediate_size ?? 4 * h;
  const mlp = (gated.test(c.model_type ?? "") ? 3 : 2) * h * inner * (c.num_local_experts ?? 1);
  const perLayer = attention + mlp + 2 * h; // two norms
  const embeddings = c.vocab_size * h * (c.tie_word_embeddings ? 1 : 2);
  return embeddings + c.num_hidden_layers * perLayer + h;
}

export type FetchConfig = (modelId: string, revision: string) => Promise<unknown>;

/** The Hub's config.json for a model revision; undefined when it cannot be had (gated, offline, S3). */
export async function lookupParameters(
  fetchConfig: FetchConfig,
  modelId: string,
  revision: string,
): Promise<number | undefined> {
  return (await lookupShape(fetchConfig, modelId, revision))?.parameters;
}

/** What sizing a model on Neuron needs beyond its parameter count: heads (tensor-parallel degree) and KV cache. */
export type ModelShape = {
  parameters: number;
  /** Hugging Face `model_type` (llama, mistral, ...), when known. */
  architecture?: string;
  attentionHeads: number;
  kvHeads: number;
  /** Bytes of KV cache per token at 2 bytes per element (K and V, every layer). */
  kvBytesPerToken: number;
  /** Where the shape comes from: the model's config.json, or assumed (said so wherever it is shown). */
  source: "config.json" | "assumed";
};

export function shapeFromConfig(c: ModelConfig): ModelShape {
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  return {
    parameters: parametersFromConfig(c),
    ...(c.model_type ? { architecture: c.model_type } : {}),
    attentionHeads: c.num_attention_heads,
    kvHeads,
    kvBytesPerToken: 2 * c.num_hidden_layers * kvHeads * headDim * 2,
    source: "config.json",
  };
}

/** Families whose Hub ids name them: the architecture of a model whose config.json cannot be read. */
const familyInId = /(mixtral|mistral|llama|qwen2|gemma|gpt2|opt|bloom|falcon|phi)/;

/**
 * A model without a readable config.json (offline planning, S3, gated): Mistral-7B's shape (32 layers,
 * 32 heads, 8 KV heads, head dimension 128), its KV cache scaled with the square root of the size, and
 * the architecture guessed from the id. A guess; the plan says so.
 */
export function assumedShape(modelId: string, parameters: number): ModelShape {
  // The last path segment that names something: s3://b/models/mistral-7b/model.tar.gz -> mistral-7b.
  const name = modelId
    .split("/")
    .filter((s) => s && !/\.(tar\.gz|tgz)$/.test(s))
    .at(-1);
  const family = familyInId.exec(name?.toLowerCase() ?? "")?.[1];
  return {
    parameters,
    ...(family ? { architecture: family } : {}),
    attentionHeads: 32,
    kvHeads: 8,
    kvBytesPerToken: Math.round(2 * 32 * 8 * 128 * 2 * Math.sqrt(parameters / 7.24e9)),
    source: "assumed",
  };
}

/** The model's shape from its config.json, or undefined when it cannot be had (as lookupParameters). */
export async function lookupShape(
  fetchConfig: FetchConfig,
  modelId: string,
  revision: string,
): Promise<ModelShape | undefined> {
  if (modelId.startsWith("s3://")) return undefined;
  try {
    const parsed = ModelConfig.safeParse(await fetchConfig(modelId, revision));
    return parsed.success ? shapeFromConfig(parsed.data) : undefined;
  } catch {
    return undefined;
  }
}

export const hubConfig: FetchConfig = async (modelId, revision) => {
  const res = await fetch(
    `https://huggingface.co/${modelId}/resolve/${encodeURIComponent(revision)}/config.json`,
    {
      signal: AbortSignal.timeout(3000),
      headers: process.env.HF_TOKEN ? { authorization: `Bearer ${process.env.HF_TOKEN}` } : {},
    },
  );
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  return res.json();
};
