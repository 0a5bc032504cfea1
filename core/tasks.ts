// What each common harness task asks of a model: its output type (can it be scored from generated text,
// or does it need prompt logprobs?), how many documents it scores, and the generative variant the
// harness offers when it needs logprobs. Routing and time estimates read this table; any other task is
// planned as generative, and the engine reads its output type from the harness's own task registry on
// the instance (engine/task-registry.ts) before sending it anywhere.
//
// Source of every row: the task's YAML in EleutherAI/lm-evaluation-harness, lm_eval/tasks/<dir>/
// (`output_type:` and the split the harness scores), as of the 0.4.x releases. Document counts are the
// sizes of the scored split on the Hugging Face Hub dataset the YAML names.

/** The harness's `output_type` values (lm_eval/api/task.py ALL_OUTPUT_TYPES). */
export const outputTypes = [
  "generate_until",
  "loglikelihood",
  "multiple_choice",
  "loglikelihood_rolling",
] as const;
export type OutputType = (typeof outputTypes)[number];

/** Only generate_until is scored from generated text; the others need the prompt's logprobs. */
export const needsLogprobs = (type: OutputType) => type !== "generate_until";

export type TaskFacts = {
  outputType: OutputType;
  /** Documents in the scored split (a group: the sum over its leaves). */
  docs: number;
  /** Where the row comes from, inside lm-evaluation-harness. */
  source: string;
  /** A generative task the harness offers for the same questions, for a backend without logprobs. */
  generativeVariant?: string;
  /** generate_until: the tokens a typical answer takes (a guess from the task's max_gen_toks and stops). */
  outputTokens?: number;
};

const mc = (docs: number, source: string, generativeVariant?: string): TaskFacts => ({
  outputType: "multiple_choice",
  docs,
  source,
  ...(generativeVariant ? { generativeVariant } : {}),
});
const gen = (docs: number, source: string, outputTokens: number): TaskFacts => ({
  outputType: "generate_until",
  docs,
  source,
  outputTokens,
});

export const taskTable: Record<string, TaskFacts> = {
  gsm8k: gen(1319, "lm_eval/tasks/gsm8k/gsm8k.yaml", 160),
  gsm8k_cot: gen(1319, "lm_eval/tasks/gsm8k/gsm8k-cot.yaml", 200),
  mmlu_flan_n_shot_generative: gen(14042, "lm_eval/tasks/mmlu/flan_n_shot/generative/", 4),
  arc_challenge_chat: gen(1172, "lm_eval/tasks/arc/arc_challenge_chat.yaml", 16),
  truthfulqa_gen: gen(817, "lm_eval/tasks/truthfulqa/truthfulqa_gen.yaml", 64),
  ifeval: gen(541, "lm_eval/tasks/ifeval/ifeval.yaml", 400),
  humaneval: gen(164, "lm_eval/tasks/humaneval/humaneval.yaml", 200),
  mbpp: gen(500, "lm_eval/tasks/mbpp/mbpp.yaml", 150),
  bbh_cot_fewshot: gen(6511, "lm_eval/tasks/bbh/cot_fewshot/", 200),
  arc_challenge: mc(1172, "lm_eval/tasks/arc/arc_challenge.yaml", "arc_challenge_chat"),
  arc_easy: mc(2376, "lm_eval/tasks/arc/arc_easy.yaml"),
  hellaswag: mc(10042, "lm_eval/tasks/hellaswag/hellaswag.yaml"),
  mmlu: mc(14042, "lm_eval/tasks/mmlu/default/ (group of 57 subjects)", "mmlu_flan_n_shot_generative"),
  winogrande: mc(1267, "lm_eval/tasks/winogrande/default.yaml"),
  truthfulqa_mc1: mc(817, "lm_eval/tasks/truthfulqa/truthfulqa_mc1.yaml", "truthfulqa_gen"),
  truthfulqa_mc2: mc(817, "lm_eval/tasks/truthfulqa/truthfulqa_mc2.yaml", "truthfulqa_gen"),
  piqa: mc(1838, "lm_eval/tasks/piqa/piqa.yaml"),
  boolq: mc(3270, "lm_eval/tasks/super_glue/boolq/default.yaml"),
  lambada_openai: {
    outputType: "loglikelihood",
    docs: 5153,
    source: "lm_eval/tasks/lambada/lambada_openai.yaml",
  },
  wikitext: {
    outputType: "loglikelihood_rolling",
    docs: 62,
    source: "lm_eval/tasks/wikitext/wikitext.yaml",
  },
};

/**
 * mmlu's 57 subjects (lm_eval/tasks/mmlu/default/mmlu_<subject>.yaml): documents in each subject's test
 * split of cais/mmlu, as the harness itself counted them in a real run's `n-samples`
 * (tests/fixtures/lm-eval/powerbot-8b-mmlu.json; a test keeps them equal and summing to mmlu's 14,042).
 * A sharded plan splits mmlu into these, so its subjects may go to different instances.
 */
export const mmluSubjectDocs: Record<string, number> = {
  abstract_algebra: 100,
  anatomy: 135,
  astronomy: 152,
  business_ethics: 100,
  clinical_knowledge: 265,
  college_biology: 144,
  college_chemistry: 100,
  college_computer_science: 100,
  college_mathematics: 100,
  college_medicine: 173,
  college_physics: 102,
  computer_security: 100,
  conceptual_physics: 235,
  econometrics: 114,
  electrical_engineering: 145,
  elementary_mathematics: 378,
  formal_logic: 126,
  global_facts: 100,
  high_school_biology: 310,
  high_school_chemistry: 203,
  high_school_computer_science: 100,
  high_school_european_history: 165,
  high_school_geography: 198,
  high_school_government_and_politics: 193,
  high_school_macroeconomics: 390,
  high_school_mathematics: 270,
  high_school_microeconomics: 238,
  high_school_physics: 151,
  high_school_psychology: 545,
  high_school_statistics: 216,
  high_school_us_history: 204,
  high_school_world_history: 237,
  human_aging: 223,
  human_sexuality: 131,
  international_law: 121,
  jurisprudence: 108,
  logical_fallacies: 163,
  machine_learning: 112,
  management: 103,
  marketing: 234,
  medical_genetics: 100,
  miscellaneous: 783,
  moral_disputes: 346,
  moral_scenarios: 895,
  nutrition: 306,
  philosophy: 311,
  prehistory: 324,
  professional_accounting: 282,
  professional_law: 1534,
  professional_medicine: 272,
  professional_psychology: 612,
  public_relations: 110,
  security_studies: 245,
  sociology: 201,
  us_foreign_policy: 100,
  virology: 166,
  world_religions: 171,
};

for (const [subject, docs] of Object.entries(mmluSubjectDocs))
  taskTable[`mmlu_${subject}`] = mc(docs, `lm_eval/tasks/mmlu/default/mmlu_${subject}.yaml`);

/** Facts about a task, or undefined when only the harness on the instance knows them. */
export const taskFacts = (name: string): TaskFacts | undefined =>
  Object.hasOwn(taskTable, name) ? taskTable[name] : undefined;

/** Documents to plan with when a task is not in the table (a guess, said so where it is shown). */
export const UNKNOWN_TASK_DOCS = 1000;

/** How many documents a run scores of a task, after its `limit` (a count, or a fraction below 1). */
export function scoredDocs(name: string, limit: number | undefined): number {
  const docs = taskFacts(name)?.docs ?? UNKNOWN_TASK_DOCS;
  if (limit === undefined) return docs;
  return Math.max(1, Math.min(docs, Math.floor(limit < 1 ? docs * limit : limit)));
}
