// Splits a real results file into the shard files the harness writes when run on a plain list of
// subtasks (each subtask its own root, no group rows), so a merge can be checked against the original.
import type { ResultsFile } from "../../core/results.ts";

type Dict = Record<string, unknown>;

const pick = (source: unknown, keys: string[]) =>
  source && typeof source === "object"
    ? Object.fromEntries(keys.filter((k) => k in source).map((k) => [k, (source as Dict)[k]]))
    : undefined;

/** The tasks of a results file that are not groups. */
export function leafTasks(file: ResultsFile): string[] {
  const groups = new Set([
    ...Object.keys(file.groups ?? {}),
    ...Object.entries(file.group_subtasks ?? {})
      .filter(([, children]) => children.length > 0)
      .map(([name]) => name),
  ]);
  return Object.keys(file.results).filter((name) => !groups.has(name));
}

/**
 * One shard file per list of tasks, as the same harness release would have written it: each task's
 * entry with its alias at top level, its own versions, n-shot, configs, higher_is_better and n-samples.
 */
export function splitIntoShards(file: ResultsFile, taskLists: string[][]): ResultsFile[] {
  const source = file as Dict;
  return taskLists.map((tasks) => {
    const shard: Dict = {
      results: Object.fromEntries(
        tasks.map((t) => {
          const entry = file.results[t];
          const alias = typeof entry.alias === "string" ? entry.alias.replace(/^\s*- /, "") : undefined;
          return [t, alias === undefined ? entry : { ...entry, alias }];
        }),
      ),
    };
    if (file.group_subtasks) shard.group_subtasks = Object.fromEntries(tasks.map((t) => [t, []]));
    for (const key of ["configs", "versions", "n-shot", "higher_is_better", "n-samples"])
      if (source[key]) shard[key] = pick(source[key], tasks);
    for (const key of ["config", "git_hash", "date", "model_name", "task_hashes"])
      if (key in source) shard[key] = source[key];
    return shard as ResultsFile;
  });
}

/** Deal tasks round-robin into `count` lists, like a planner spreading subtasks over instances. */
export function deal(tasks: string[], count: number): string[][] {
  const lists: string[][] = Array.from({ length: count }, () => []);
  tasks.forEach((task, i) => {
    lists[i % count].push(task);
  });
  return lists.filter((l) => l.length > 0);
}
