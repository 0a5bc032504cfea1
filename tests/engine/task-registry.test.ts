// The engine's task-registry reader (engine/task-registry.ts) run by a real python3 against a FAKE
// lm_eval.tasks (tests/fixtures/fake-lm-eval-package) with the index shape of lm-evaluation-harness
// 0.4.8: tasks with and without output_type, a python task, a group with inline and overriding entries,
// a tag, an unknown name. Skipped where there is no python3.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { BackendContext } from "../../engine/backends/backend.ts";
import { readTaskTypes } from "../../engine/task-registry.ts";
import { projectRoot } from "../../local/stack.ts";

const python = (() => {
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" });
    return "python3";
  } catch {
    return undefined;
  }
})();

const ctx = (log: string[]) =>
  ({
    env: { PYTHONPATH: join(projectRoot, "tests/fixtures/fake-lm-eval-package") },
    log: (line: string) => log.push(line),
    signal: new AbortController().signal,
  }) as unknown as BackendContext;

describe("reading the harness's task registry", { skip: python ? false : "no python3 here" }, () => {
  it("gives every leaf's output type, the harness's default where the YAML has none, and null for an unknown name", async () => {
    const names = ["acme_gen", "acme_default", "acme_ll", "acme_py", "acme_group", "acme_tag", "acme_nope"];
    const types = await readTaskTypes(ctx([]), [python as string], names);
    assert.deepEqual(types, {
      acme_gen: ["generate_until"],
      acme_default: ["generate_until"],
      acme_ll: ["loglikelihood"],
      acme_py: ["multiple_choice"],
      acme_group: ["generate_until", "multiple_choice", "loglikelihood"],
      acme_tag: ["generate_until", "generate_until"],
      acme_nope: null,
    });
  });

  it("fails with Python's last line when lm_eval cannot be imported", async () => {
    const log: string[] = [];
    const noPackage = { ...ctx(log), env: { PYTHONPATH: "/nonexistent" } } as BackendContext;
    await assert.rejects(
      readTaskTypes(noPackage, [python as string], ["acme_gen"]),
      /could not read the harness's task registry for acme_gen \(exit 1\): ModuleNotFoundError: No module named 'lm_eval'/,
    );
    assert.ok(
      log.some((l) => l.startsWith("[task registry] Traceback")),
      log.join("\n"),
    );
  });
});
