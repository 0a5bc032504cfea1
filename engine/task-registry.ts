// The output types of tasks spoteval's table does not know, read from the harness's own task registry
// on the instance (its TaskManager index and the tasks' YAML, as `lm_eval --tasks list` reads them,
// without loading any dataset), so a task that needs prompt logprobs is never sent to a server that
// returns none.
import { spawn } from "node:child_process";
import { needsLogprobs, type OutputType } from "../core/tasks.ts";
import type { BackendContext } from "./backends/backend.ts";
import { HarnessFailed } from "./backends/harness.ts";
import { lineSplitter } from "./progress.ts";

/**
 * argv[1:] are task, group or tag names; prints {name: [output type of each leaf]} with null for a
 * name the registry does not have. A task's YAML without output_type has the harness's default,
 * generate_until (TaskConfig); a python task has its class's OUTPUT_TYPE.
 */
export const TASK_TYPES_SCRIPT = `
import json, sys
from lm_eval.tasks import TaskManager
tm = TaskManager()
index = tm.task_index
def leaf(config):
    cls = config.get("class")
    return config.get("output_type") or getattr(cls, "OUTPUT_TYPE", None) or "generate_until"
def types(name, seen):
    if name not in index:
        return None
    if name in seen:
        return []
    seen.add(name)
    entry = index[name]
    if entry["type"] in ("group", "tag"):
        subtasks = entry["task"] if entry["task"] != -1 else tm._get_config(name).get("task", [])
        found = []
        for sub in subtasks if isinstance(subtasks, list) else [subtasks]:
            if isinstance(sub, dict):
                t = [sub["output_type"]] if "output_type" in sub else types(sub.get("task"), seen) if sub.get("task") in index else [leaf(sub)]
            else:
                t = types(sub, seen)
            if t is None:
                return None
            found += t
        return found
    return [leaf(tm._get_config(name))]
print(json.dumps({name: types(name, set()) for name in sys.argv[1:]}))
`.trim();

/** Each name's leaf output types as the registry gives them; null for a name it does not have. */
export type TaskTypes = Record<string, string[] | null>;

/** Any leaf not scored from generated text (a type this code does not know counts as such). */
export const typesNeedLogprobs = (types: string[]) => types.some((t) => needsLogprobs(t as OutputType));

/** Reads the registry of the harness in the image (or the revision installed at boot). */
export async function readTaskTypes(
  ctx: BackendContext,
  python: string[],
  names: string[],
): Promise<TaskTypes> {
  const [file, ...pre] = python;
  let stdout = "";
  const tail: string[] = [];
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(file, [...pre, "-c", TASK_TYPES_SCRIPT, ...names], {
      env: { ...process.env, ...ctx.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    const err = lineSplitter((line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    });
    child.stderr?.setEncoding("utf8").on("data", (c: string) => err.push(c));
    child.once("error", (error) => {
      tail.push(error.message);
      resolve(null);
    });
    child.once("close", (exit) => {
      err.end();
      resolve(exit);
    });
  });
  const parsed = (() => {
    try {
      return JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as Record<string, unknown>;
    } catch {
      return undefined;
    }
  })();
  if (code !== 0 || !parsed) {
    for (const line of tail) ctx.log(`[task registry] ${line}`);
    throw new HarnessFailed(
      `could not read the harness's task registry for ${names.join(", ")} (exit ${code ?? "signal"}): ${(tail.at(-1) ?? "").slice(0, 300)}`,
    );
  }
  return Object.fromEntries(
    names.map((name) => {
      const value = parsed[name];
      return [name, Array.isArray(value) ? value.map(String) : null];
    }),
  );
}
