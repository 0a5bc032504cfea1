// Which lm-evaluation-harness release wrote a results file, told from the file itself (the harness
// records no version of its own before 0.4.12), and so which layout and group rules a merge follows.
import type { ResultsFile } from "./results.ts";
import type { Era } from "./task-groups.ts";

export type Layout = {
  /**
   * legacy: up to 0.4.3 (groups pooled over their direct children, aliases indented in the file);
   * configurable: 0.4.4 to 0.4.11 (ConfigurableGroup: pooled over all leaves, aliases indented);
   * group: 0.4.12 on (Group: pooled over all leaves, plain aliases, `name` and `sample_len` per entry).
   */
  era: "legacy" | "configurable" | "group";
  /** Keys the release writes: `group_subtasks` from 0.4.2, `n-samples` from 0.4.3 (and late 0.4.2 commits). */
  groupSubtasks: boolean;
  nSamples: boolean;
  higherIsBetter: boolean;
  /** For printing: the releases this layout stands for. */
  releases: string;
};

const eraRank = { legacy: 0, configurable: 1, group: 2 } as const;

/** Newer layouts rank higher; a merge writes the layout of its newest shard. */
export function layoutRank(layout: Layout): number {
  return (
    eraRank[layout.era] * 8 +
    Number(layout.groupSubtasks) +
    Number(layout.nSamples) * 2 +
    Number(layout.higherIsBetter) * 4
  );
}

/** The definition set (harness revision) whose group YAML applies to a layout. */
export const definitionEra = (layout: Layout): Era => (layout.era === "legacy" ? "legacy" : "current");

function versionOf(text: unknown): [number, number, number] | null {
  const m = typeof text === "string" ? /^(\d+)\.(\d+)\.(\d+)/.exec(text) : null;
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function eraOf(file: ResultsFile): Layout["era"] {
  const version = versionOf((file as { lm_eval_version?: unknown }).lm_eval_version);
  if (version) {
    const [major, minor, patch] = version;
    if (major > 0 || minor > 4 || patch >= 12) return "group";
    return patch >= 4 ? "configurable" : "legacy";
  }
  const entries = Object.values(file.results);
  if (entries.some((entry) => "sample_len" in entry && "name" in entry)) return "group";
  // Task configs named their groups `group:` up to 0.4.3 and `tag:` from 0.4.4 (the group rework).
  const configs = Object.values((file.configs ?? {}) as Record<string, Record<string, unknown>>);
  if (configs.some((config) => "tag" in config)) return "configurable";
  if (configs.some((config) => "group" in config)) return "legacy";
  // No config says: higher_is_better alone is 0.4.3 or later; take the later, more common one.
  return file.higher_is_better ? "configurable" : "legacy";
}

export function detectLayout(file: ResultsFile): Layout {
  const era = eraOf(file);
  const layout = {
    era,
    groupSubtasks: era !== "legacy" || file.group_subtasks !== undefined,
    nSamples: era !== "legacy" || file["n-samples"] !== undefined,
    higherIsBetter: era !== "legacy" || file.higher_is_better !== undefined,
  };
  const releases =
    era === "group"
      ? "0.4.12 or later"
      : era === "configurable"
        ? "0.4.4 to 0.4.11"
        : layout.higherIsBetter
          ? "0.4.3"
          : layout.nSamples
            ? "0.4.2 (a late commit, with n-samples)"
            : layout.groupSubtasks
              ? "0.4.2"
              : "0.4.0 or 0.4.1 (e.g. 756eeb6)";
  return { ...layout, releases };
}
