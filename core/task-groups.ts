// The harness's task groups (e.g. mmlu -> four categories -> 57 subjects), as the tree a request names.
import { harnessTaskGroups } from "./harness-task-groups.ts";

/** One entry of a group's `aggregate_metric_list`. */
export type AggregateMetric = {
  metric: string;
  /** null: the YAML names none (0.4.4-0.4.11 then use ["none"]; 0.4.12 uses every filter the leaves report). */
  filters: string[] | null;
  weightBySize: boolean;
};

export type GroupDefinition = {
  alias: string | null;
  /** Direct children (groups or tasks), in the harness's order (a tag expanded alphabetically). */
  children: string[];
  /** "every-metric": up to 0.4.3 the harness averaged every metric its subtasks reported. */
  aggregate: AggregateMetric[] | "every-metric" | null;
  version: number | string | null;
};

export type DefinitionSet = {
  source: string;
  revision: string;
  releases: string;
  groups: Record<string, GroupDefinition>;
};

export type HarnessTaskGroups = { legacy: DefinitionSet; current: DefinitionSet };

export type Era = keyof HarnessTaskGroups;

export type TaskNode =
  | { kind: "task"; name: string }
  | { kind: "group"; name: string; definition: GroupDefinition; children: TaskNode[] };

export function definitionSet(era: Era): DefinitionSet {
  return harnessTaskGroups[era];
}

/** The tree `lm_eval --tasks <names>` evaluates: a group name expands to its subtree, any other name is a task. */
export function taskTree(names: string[], era: Era): TaskNode[] {
  const { groups } = harnessTaskGroups[era];
  const node = (name: string, path: string[]): TaskNode => {
    const definition = groups[name];
    if (!definition) return { kind: "task", name };
    if (path.includes(name)) throw new Error(`group ${name} contains itself`);
    return {
      kind: "group",
      name,
      definition,
      children: definition.children.map((child) => node(child, [...path, name])),
    };
  };
  return names.map((name) => node(name, []));
}

/** Every leaf task under a node, in the tree's order. */
export function leaves(node: TaskNode): string[] {
  return node.kind === "task" ? [node.name] : node.children.flatMap(leaves);
}
