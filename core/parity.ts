// Score parity: a run's metrics against a reference's, the way a careful person would check them.
// Only identical comparison keys are compared. Independent runs: z = |Δ| / √(se_a² + se_b²),
// consistent when z ≤ the threshold (1.96 by default). When both sides logged their samples, the
// documents are paired and a paired test decides: McNemar's exact test for 0/1 metrics, a paired
// t-test otherwise, at the two-sided level the threshold stands for (0.05 for 1.96).
import type { Family } from "./harness-releases.ts";

/** The whole comparison key: two measurements are comparable only when all of it is equal. */
export type ComparisonKey = {
  model?: string;
  /** The model's revision where known; compared only when both sides know it. */
  revision?: string;
  task: string;
  version: number | string | null;
  nShot: number | string | null;
  metric: string;
  filter: string;
  family: Family;
};

/** One measured metric: a run's, an uploaded file's, or a published figure. */
export type Measurement = ComparisonKey & {
  value: number | string | null;
  stderr: number | string | null;
  /** Documents scored, where known. */
  n?: number;
  source: string;
  /** Per document (doc_id), this metric's value under this filter, when samples were logged. */
  perDoc?: Map<number, number>;
  /** Per document, its doc_hash where the samples carry one: the same id must be the same text. */
  docHashes?: Map<number, string>;
  /** Parts of the key read from context rather than published with the figure. */
  inferred?: string[];
};

export type Verdict = "consistent" | "drift" | "no-reference" | "no-stderr";
export type TestName = "z" | "mcnemar-exact" | "paired-t" | "none";

export type ParityRow = {
  task: string;
  metric: string;
  filter: string;
  nShot: number | string | null;
  value: number | string | null;
  stderr: number | string | null;
  reference: { value: number | string | null; stderr: number | string | null; source: string } | null;
  delta: number | null;
  z: number | null;
  /** The two-sided p-value of the test that decided, when one did. */
  p: number | null;
  test: TestName;
  verdict: Verdict;
  /** Documents compared (paired), or scored (unpaired) where known. */
  n: number | null;
  warnings: string[];
};

export type Parity = { overall: "consistent" | "drift" | "none"; zThreshold: number; rows: ParityRow[] };

export const DEFAULT_Z = 1.96;
/** Below this many documents, normal-theory error bars understate uncertainty (Bowyer et al. 2025). */
export const FEW_DOCUMENTS = 300;

const sameVersion = (a: number | string | null, b: number | string | null) =>
  a !== null && b !== null && (a === b || Number(a) === Number(b));
const sameNShot = (a: number | string | null, b: number | string | null) =>
  a !== null && b !== null && String(a) === String(b);

/** Whether two measurements share the whole comparison key. */
export function sameKey(a: ComparisonKey, b: ComparisonKey): boolean {
  return (
    a.model !== undefined &&
    a.model === b.model &&
    (a.revision === undefined || b.revision === undefined || a.revision === b.revision) &&
    a.task === b.task &&
    sameVersion(a.version, b.version) &&
    sameNShot(a.nShot, b.nShot) &&
    a.metric === b.metric &&
    a.filter === b.filter &&
    a.family === b.family
  );
}

// ---- the statistics ----

/** The standard normal CDF (Abramowitz and Stegun 7.1.26 erf, error below 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** The two-sided level a z threshold stands for: 1.96 -> 0.05. */
export const alphaOf = (z: number) => 2 * (1 - normalCdf(z));

/** McNemar's exact test: two-sided binomial p of the discordant pairs b and c at one half. */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // Sum C(n, i) / 2^n for i <= k in log space, so thousands of documents do not overflow.
  let logC = 0;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    sum += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * sum);
}

/** ln Γ(x), Lanczos (g = 7, 9 terms). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0];
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularized incomplete beta I_x(a, b), by its continued fraction (modified Lentz). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const front =
    Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x)) / a;
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 0;
  for (let i = 0; i <= 400; i++) {
    const m = Math.floor(i / 2);
    const numerator =
      i === 0
        ? 1
        : i % 2 === 0
          ? (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m))
          : -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + numerator * d;
    d = Math.abs(d) < tiny ? tiny : d;
    d = 1 / d;
    c = 1 + numerator / c;
    c = Math.abs(c) < tiny ? tiny : c;
    const cd = c * d;
    f *= cd;
    if (Math.abs(1 - cd) < 1e-12) break;
  }
  return front * (f - 1);
}

/** Two-sided p of Student's t with df degrees of freedom. */
export function studentTwoSidedP(t: number, df: number): number {
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

type Paired = { test: TestName; p: number; z: number | null; n: number; delta: number };

/** The paired comparison over the documents both sides scored, or why there is none. */
function pairedTest(run: Measurement, ref: Measurement): Paired | string | undefined {
  if (!run.perDoc || !ref.perDoc) return undefined;
  const docs = [...run.perDoc.keys()].filter((d) => ref.perDoc?.has(d));
  if (docs.length < 2) return "fewer than 2 documents in common between the two samples files";
  for (const d of docs) {
    const [x, y] = [run.docHashes?.get(d), ref.docHashes?.get(d)];
    if (x && y && x !== y)
      return `document ${d} differs between the two samples files (doc_hash): not paired`;
  }
  const a = docs.map((d) => run.perDoc?.get(d) as number);
  const b = docs.map((d) => ref.perDoc?.get(d) as number);
  const n = docs.length;
  const diffs = a.map((x, i) => x - b[i]);
  const delta = diffs.reduce((s, x) => s + x, 0) / n;
  const binary = [...a, ...b].every((x) => x === 0 || x === 1);
  const sd = Math.sqrt(diffs.reduce((s, x) => s + (x - delta) ** 2, 0) / (n - 1));
  const z = sd === 0 ? (delta === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.abs(delta) / (sd / Math.sqrt(n));
  if (binary) {
    const onlyRun = diffs.filter((x) => x === 1).length;
    const onlyRef = diffs.filter((x) => x === -1).length;
    return { test: "mcnemar-exact", p: mcnemarExact(onlyRun, onlyRef), z, n, delta };
  }
  const p = sd === 0 ? (delta === 0 ? 1 : 0) : studentTwoSidedP(z, n - 1);
  return { test: "paired-t", p, z, n, delta };
}

const asNumber = (v: number | string | null | undefined) =>
  typeof v === "number" && Number.isFinite(v) ? v : null;

/** One row: the run's measurement against its reference (or none). */
export function compareOne(
  run: Measurement,
  ref: Measurement | undefined,
  zThreshold = DEFAULT_Z,
): ParityRow {
  const base = {
    task: run.task,
    metric: run.metric,
    filter: run.filter,
    nShot: run.nShot,
    value: run.value,
    stderr: run.stderr,
  };
  if (!ref)
    return {
      ...base,
      reference: null,
      delta: null,
      z: null,
      p: null,
      test: "none",
      verdict: "no-reference",
      n: run.n ?? null,
      warnings: [],
    };
  const warnings: string[] = [];
  for (const part of ref.inferred ?? []) warnings.push(`the reference's ${part} was not published with it`);
  const reference = { value: ref.value, stderr: ref.stderr, source: ref.source };
  const [va, vb] = [asNumber(run.value), asNumber(ref.value)];
  const delta = va !== null && vb !== null ? va - vb : null;
  const paired = pairedTest(run, ref);
  if (typeof paired === "string") warnings.push(`${paired}; compared unpaired`);
  if (paired && typeof paired !== "string") {
    if (paired.n < FEW_DOCUMENTS) warnings.push(fewWarning(paired.n));
    return {
      ...base,
      reference,
      delta: paired.delta,
      z: finite(paired.z),
      p: paired.p,
      test: paired.test,
      verdict: paired.p < alphaOf(zThreshold) ? "drift" : "consistent",
      n: paired.n,
      warnings,
    };
  }
  const n = Math.min(run.n ?? Number.POSITIVE_INFINITY, ref.n ?? Number.POSITIVE_INFINITY);
  const scored = Number.isFinite(n) ? n : null;
  if (scored !== null && scored < FEW_DOCUMENTS) warnings.push(fewWarning(scored));
  const [sa, sb] = [asNumber(run.stderr), asNumber(ref.stderr)];
  if (delta === null || sa === null || sb === null)
    return {
      ...base,
      reference,
      delta,
      z: null,
      p: null,
      test: "none",
      verdict: "no-stderr",
      n: scored,
      warnings,
    };
  const combined = Math.sqrt(sa * sa + sb * sb);
  const z = combined === 0 ? (delta === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.abs(delta) / combined;
  return {
    ...base,
    reference,
    delta,
    z: finite(z),
    p: 2 * (1 - normalCdf(z)),
    test: "z",
    verdict: z <= zThreshold ? "consistent" : "drift",
    n: scored,
    warnings,
  };
}

/** An infinite z (both stderrs 0, values apart) is stored as null: JSON and DynamoDB have no infinity. */
const finite = (x: number | null) => (x !== null && Number.isFinite(x) ? x : null);

const fewWarning = (n: number) =>
  `only ${n} documents scored: below ${FEW_DOCUMENTS}, the normal approximation understates the uncertainty`;

/**
 * One row per metric of the run: each against the first reference with the identical key
 * (references in order of preference); a metric only a reference has makes no row.
 */
export function compare(run: Measurement[], references: Measurement[], zThreshold = DEFAULT_Z): Parity {
  const rows = run.map((m) =>
    compareOne(
      m,
      references.find((r) => sameKey(m, r)),
      zThreshold,
    ),
  );
  return { overall: overallOf(rows), zThreshold, rows };
}

export function overallOf(rows: ParityRow[]): Parity["overall"] {
  if (rows.some((r) => r.verdict === "drift")) return "drift";
  return rows.some((r) => r.verdict === "consistent") ? "consistent" : "none";
}

const fmt = (v: number | string | null | undefined, digits = 4) =>
  v === null || v === undefined
    ? ""
    : typeof v === "number"
      ? Number.isFinite(v)
        ? v.toFixed(digits)
        : String(v)
      : v;

/** The parity rows as a markdown table, each reference's source and every warning listed below it. */
export function parityMarkdown(parity: Parity): string {
  const sources: string[] = [];
  const cite = (source: string) => {
    if (!sources.includes(source)) sources.push(source);
    return `[${sources.indexOf(source) + 1}]`;
  };
  const header = "|Tasks|Metric|Filter|n-shot|Value|Stderr|Reference|Ref stderr|Δ|z|Test|Verdict|";
  const lines = [header, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"];
  const notes: string[] = [];
  for (const r of parity.rows) {
    const ref = r.reference;
    lines.push(
      `|${[
        r.task,
        r.metric,
        r.filter,
        r.nShot ?? "",
        fmt(r.value),
        fmt(r.stderr),
        ref ? `${fmt(ref.value)} ${cite(ref.source)}` : "",
        ref ? fmt(ref.stderr) : "",
        fmt(r.delta),
        fmt(r.z, 2),
        r.test === "none" ? "" : r.test,
        r.verdict,
      ].join("|")}|`,
    );
    for (const w of r.warnings) notes.push(`- ${r.task} ${r.metric},${r.filter}: ${w}`);
  }
  const out = [
    `Parity: **${parity.overall}** (consistent when z ≤ ${parity.zThreshold}, or a paired test's p ≥ ${alphaOf(parity.zThreshold).toFixed(3)})`,
    "",
    ...lines,
  ];
  if (sources.length) out.push("", ...sources.map((s, i) => `[${i + 1}] ${s}`));
  if (notes.length) out.push("", ...notes);
  return out.join("\n");
}
