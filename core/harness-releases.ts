// Which lm-evaluation-harness release wrote a results file, and which of make_table's rules prints it.
// Facts read from the harness repository at each tag (lm_eval/utils.py make_table, evaluator.py,
// loggers/evaluation_tracker.py); the rules themselves are reimplemented in core/results.ts.

/**
 * The ways make_table has printed, oldest first. A release whose printing differs from its
 * neighbour's has its own rule; releases that print alike share one.
 * - 0.4.0-0.4.2: the file's own order, metrics in file order, no higher-is-better column.
 * - 0.4.3: tasks and metrics sorted by name, an arrow column, "N/A" stderr and version as plain text.
 * - 0.4.4-0.4.11: the file's own order (the harness wrote it in print order, aliases pre-indented),
 *   metrics sorted, "   N/A" stderr, "    N/A" version, a blank n-shot where the file has none.
 * - 0.4.12: `_build_hierarchy_info`: group_subtasks roots (sorted) with their children (sorted,
 *   indented by depth), then every key outside any hierarchy (sorted); name, sample_len and
 *   sample_count are not metrics. 0.5.0.dev1 prints the same way.
 */
export const tableRules = ["0.4.0-0.4.2", "0.4.3", "0.4.4-0.4.11", "0.4.12"] as const;
export type TableRule = (typeof tableRules)[number];
export const newestRule: TableRule = "0.4.12";

/** Tagged releases, in release order, with their commit and printing rule. */
export const knownReleases: { version: string; commit: string; rule: TableRule }[] = [
  { version: "0.4.0", commit: "c9bbec6e7de418b9082379da82797522eb173054", rule: "0.4.0-0.4.2" },
  { version: "0.4.1", commit: "a0a2fec8dc0c7da009029640d3316cb1091ee1c1", rule: "0.4.0-0.4.2" },
  { version: "0.4.2", commit: "4600d6bf73ba2cf7037ae7feada03315839ef185", rule: "0.4.0-0.4.2" },
  { version: "0.4.3", commit: "3fa4fd725c8a428710109f1d6c14eda37e95baea", rule: "0.4.3" },
  { version: "0.4.4", commit: "543617fef9ba885e87f8db8930fbbff1d4e2ca49", rule: "0.4.4-0.4.11" },
  { version: "0.4.5", commit: "0845b588303f1f59af98dd1c5bdbd78a9e75a1e2", rule: "0.4.4-0.4.11" },
  { version: "0.4.6", commit: "9d36354e6422db94c374dc476c093b1495370983", rule: "0.4.4-0.4.11" },
  { version: "0.4.7", commit: "4c26a9c176ecfb40b369503ce211e356bb800fdc", rule: "0.4.4-0.4.11" },
  { version: "0.4.8", commit: "6d2abda4fd171e68a8789330c4149e37c1ca0bda", rule: "0.4.4-0.4.11" },
  { version: "0.4.9", commit: "452749513f817315042df9286241a61051392470", rule: "0.4.4-0.4.11" },
  { version: "0.4.9.1", commit: "d021bf846218f1bb3bdc0603864789329476d464", rule: "0.4.4-0.4.11" },
  { version: "0.4.9.2", commit: "ad3f4d0cad1cfcdb815f1e795f7947e49ed9f2e9", rule: "0.4.4-0.4.11" },
  { version: "0.4.10", commit: "f7d0b116146bd616b59d0b991549120f197369a4", rule: "0.4.4-0.4.11" },
  { version: "0.4.11", commit: "27988a293647d5853e48edea291640b4af54740c", rule: "0.4.4-0.4.11" },
  { version: "0.4.12", commit: "6d642546f4688648fced259eb3302efd36ece5af", rule: "0.4.12" },
  { version: "0.5.0.dev1", commit: "b0561c5e015697c6200edae7510f082b1dcc6462", rule: "0.4.12" },
];

/** Untagged commits that runs are known to pin, placed by `git describe` in the harness repository. */
const knownCommits: { commit: string; release: string; rule: TableRule | null; family: Family }[] = [
  // The published Inferentia2 recipe's pin: v0.4.1-13-g756eeb6f0, printed as 0.4.1 and 0.4.2 print.
  {
    commit: "756eeb6f0aee59fc624c81dcb0e334c1263d80e3",
    release: "0.4.1+756eeb6",
    rule: "0.4.0-0.4.2",
    family: "0.4",
  },
  // The Open LLM Leaderboard v1's pin (0.3 line): its results are not 0.4.x results.
  {
    commit: "b281b0921b636bc36ad05c0b0b0763bd6dd43463",
    release: "b281b09 (Open LLM Leaderboard v1)",
    rule: null,
    family: "0.3",
  },
];

/** Harness families whose numbers are comparable among themselves only. */
export type Family = "0.3" | "0.4" | "0.5";

export type HarnessRelease = {
  /** The release as far as it is known: "0.4.12", "0.4.10.dev0", "0.4.3-0.4.8", "unknown". */
  release: string;
  /** Where the release was read from. */
  from: "lm_eval_version" | "git_hash" | "layout";
  family: Family;
  /** The make_table rule the file prints with. */
  rule: TableRule;
  /** False when no known rule is certain for this file: it prints with `rule` and says so. */
  exact: boolean;
};

/** Compare PEP 440-ish versions (release numbers, then .devN before the release itself). */
function versionKey(version: string): number[] | null {
  const match = /^v?(\d+(?:\.\d+)*)(?:\.?dev(\d+))?/.exec(version.trim());
  if (!match) return null;
  const parts = match[1].split(".").map(Number);
  while (parts.length < 4) parts.push(0);
  // A dev build sorts before its release: dev N -> N, the release itself -> +infinity.
  parts.push(match[2] === undefined ? Number.POSITIVE_INFINITY : Number(match[2]));
  return parts;
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const [x, y] = [a[i] ?? 0, b[i] ?? 0];
    if (x !== y) return x < y ? -1 : 1; // never subtract: two releases' +infinity would give NaN
  }
  return 0;
}

const familyOf = (version: string): Family =>
  version.startsWith("0.3") ? "0.3" : version.startsWith("0.5") ? "0.5" : "0.4";

/**
 * The rule for a named version: a tag's own rule; a version between two known releases that print
 * alike prints like them (0.4.13.dev0 sits between 0.4.12 and 0.5.0.dev1); anything else prints with
 * the nearest newer rule, or the newest known one, and is not exact.
 */
export function ruleForVersion(version: string): { rule: TableRule; exact: boolean } {
  const key = versionKey(version);
  if (!key) return { rule: newestRule, exact: false };
  const keys = knownReleases.map((r) => versionKey(r.version) as number[]);
  const at = keys.findIndex((k) => compareVersions(k, key) === 0);
  if (at >= 0) return { rule: knownReleases[at].rule, exact: true };
  const after = keys.findIndex((k) => compareVersions(k, key) > 0);
  if (after === -1) return { rule: newestRule, exact: false };
  if (after === 0) return { rule: knownReleases[0].rule, exact: false };
  const [before, next] = [knownReleases[after - 1], knownReleases[after]];
  return { rule: next.rule, exact: before.rule === next.rule };
}

/** The fields of a results file that tell its release. */
export type ReleaseClues = {
  lm_eval_version?: unknown;
  git_hash?: unknown;
  results: Record<string, Record<string, unknown>>;
  groups?: Record<string, Record<string, unknown>>;
  group_subtasks?: Record<string, string[]>;
  higher_is_better?: unknown;
  "n-samples"?: unknown;
};

/** The release of a results file: its lm_eval_version, else its git_hash, else its layout. */
export function identifyRelease(file: ReleaseClues): HarnessRelease {
  if (typeof file.lm_eval_version === "string" && versionKey(file.lm_eval_version)) {
    const { rule, exact } = ruleForVersion(file.lm_eval_version);
    return {
      release: file.lm_eval_version,
      from: "lm_eval_version",
      family: familyOf(file.lm_eval_version),
      rule,
      exact,
    };
  }
  if (typeof file.git_hash === "string" && /^[0-9a-f]{7,40}$/i.test(file.git_hash)) {
    const hash = file.git_hash.toLowerCase();
    const tag = knownReleases.find((r) => r.commit.startsWith(hash));
    if (tag)
      return {
        release: tag.version,
        from: "git_hash",
        family: familyOf(tag.version),
        rule: tag.rule,
        exact: true,
      };
    const pinned = knownCommits.find((c) => c.commit.startsWith(hash));
    if (pinned)
      return {
        release: pinned.release,
        from: "git_hash",
        family: pinned.family,
        rule: pinned.rule ?? newestRule,
        exact: pinned.rule !== null,
      };
  }
  return releaseFromLayout(file);
}

/**
 * What the layout alone says. 0.3 files have no filters; 0.4.0-0.4.2 carry neither
 * higher_is_better nor n-samples; 0.4.12 and later put name and sample_len in every task; files from 0.4.9 on name their version, so a 0.4.3+ layout
 * without one and without the 0.4.12 keys is 0.4.3-0.4.8, which spans two rules.
 */
export function releaseFromLayout(file: ReleaseClues): HarnessRelease {
  const entries = Object.values(file.results);
  const filtered = entries.some((dict) => Object.keys(dict).some((k) => k.includes(",")));
  if (!filtered && entries.length > 0)
    return { release: "0.3 layout", from: "layout", family: "0.3", rule: newestRule, exact: false };
  if (file.higher_is_better === undefined && file["n-samples"] === undefined)
    return { release: "0.4.0-0.4.2", from: "layout", family: "0.4", rule: "0.4.0-0.4.2", exact: true };
  if (entries.some((dict) => "sample_len" in dict || "name" in dict))
    return { release: "0.4.12 or later", from: "layout", family: "0.4", rule: "0.4.12", exact: true };
  return { release: "0.4.3-0.4.8", from: "layout", family: "0.4", rule: "0.4.4-0.4.11", exact: false };
}

/** The comment line printed above a table whose release has no certain rule. */
export function releaseNote(release: HarnessRelease): string | undefined {
  if (release.exact) return undefined;
  return `<!-- spoteval: lm-eval release ${release.release} (read from ${release.from}) has no table rule spoteval knows for certain; printed with the ${release.rule} rule -->`;
}
